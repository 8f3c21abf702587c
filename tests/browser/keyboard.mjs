// What the browser tests share: how far the keyboard reaches.

/// Tabs `count` times through a page: each control reached, and whether it shows a focus
/// ring (into shadow roots too).
export async function tabStops(page, count) {
  const stops = [];
  for (let i = 0; i < count; i++) {
    await page.keyboard.press("Tab");
    const stop = await page.evaluate(() => {
      let e = document.activeElement;
      while (e?.shadowRoot?.activeElement) e = e.shadowRoot.activeElement;
      if (!e || e === document.body) return null;
      const style = getComputedStyle(e);
      return { control: `${e.tagName.toLowerCase()}#${e.id} ${(e.getAttribute("aria-label") ?? e.textContent ?? "").trim().slice(0, 24)}`, ring: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0 };
    });
    if (stop) stops.push(stop);
  }
  return stops;
}
