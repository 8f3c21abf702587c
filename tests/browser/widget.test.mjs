// The widget as a site embeds it: one script tag on a page of another origin (a plain Node
// server here), in headless Chromium. The launcher and its unread count, the offline form
// when nobody is online, a conversation with an agent in the console with the queue
// position, the seen mark, a file, a reload that restores it, an agent's edit, German, axe-core on the open
// and closed widget, and a phone's width. Screenshots go to web/screenshots/.
// Run by scripts/browser-test.sh (API, CHROMIUM and PLAYWRIGHT set by it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:http";
import { tabStops } from "./keyboard.mjs";

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js", { paths: [process.env.PLAYWRIGHT] }), "utf8");
const API = process.env.API;
const SHOTS = new URL("../../web/screenshots/", import.meta.url).pathname;

async function api(method, path, token, body) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${API}${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/// axe-core's serious and critical findings in the widget (its host and shadow root; the
/// test's site is deliberately hostile, red text and unset buttons, and is not checked).
async function violations(page) {
  await page.evaluate(AXE);
  const found = await page.evaluate(async () => (await window.axe.run(document.querySelector("[data-livechat]"))).violations);
  return found.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.help}`);
}

test("a site embeds the widget with one tag and a customer chats through it", { timeout: 120_000 }, async () => {
  mkdirSync(SHOTS, { recursive: true });
  // A channel of this test's own: nobody is online there until the agent says so.
  const channel = `widget-${Date.now()}`;
  const site = createServer((req, res) => {
    const lang = new URL(req.url, "http://x").searchParams.get("lang") ?? "en";
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(`<!doctype html><html lang="${lang}"><head><meta name="viewport" content="width=device-width, initial-scale=1"><title>A shop</title>
      <style>* { color: red !important; } button { all: unset; }</style></head>
      <body><main><h1>A shop</h1><p>Our products.</p></main>
      <script src="${API}/widget.js" data-channel="${channel}" data-lang="${lang}" async></script></body></html>`);
  });
  await new Promise((resolve) => site.listen(0, "127.0.0.1", resolve));
  const SITE = `http://127.0.0.1:${site.address().port}`;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync", "--disable-quic"],
  });
  try {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${SITE}/`);
    const launcher = page.getByRole("button", { name: /chat/i });
    await launcher.waitFor();
    assert.deepEqual(await violations(page), [], "closed");

    // Nobody online: the panel offers the form for a message.
    await launcher.click();
    const offline = page.locator("form.offline");
    await offline.getByLabel("Your e-mail").waitFor();
    await offline.getByLabel("Your name").fill("Jonny");
    await offline.getByLabel("Your e-mail").fill("jonny@example.com");
    await offline.getByLabel("Message").fill("Please call me back");
    await page.getByRole("button", { name: "Send message" }).click();
    await page.getByText("Thank you: we will answer by e-mail.").waitFor();
    assert.deepEqual(await violations(page), [], "open");

    // An agent signs in to the console and comes online in the channel; a new visitor
    // starts a chat.
    const agent = await (await browser.newContext()).newPage();
    await agent.goto(`${API}/agent`);
    await agent.getByRole("button", { name: "Sign in" }).click();
    await agent.getByLabel("User id", { exact: true }).fill("wanda");
    await agent.getByLabel("Name", { exact: true }).fill("Wanda");
    await agent.getByRole("button", { name: "Continue" }).click();
    await agent.getByText("You are online in sales.").waitFor();
    await agent.getByLabel("Channels (comma separated)").fill(channel);
    await agent.getByRole("button", { name: "Set" }).click();
    await agent.getByText(`You are online in ${channel}.`).waitFor();
    const inConsole = (text) => agent.locator("#transcript").getByText(text);
    const visitor = await (await browser.newContext()).newPage();
    await visitor.goto(`${SITE}/`);
    await visitor.getByRole("button", { name: /chat/i }).click();
    // Before starting, the widget says how many wait in the channel's queue: nobody here.
    await visitor.getByText("Nobody is waiting.").waitFor();
    await visitor.locator("form.start").getByLabel("Your name").fill("Vera");
    await visitor.getByRole("button", { name: "Start chat" }).click();
    await visitor.getByText(/^You are (next|number \d+ in the queue)/).waitFor();
    // The agent accepts it from the console's queue.
    await agent.locator("#queue li", { hasText: "Vera" }).getByRole("button", { name: "Accept" }).click();
    await visitor.getByText("Wanda joined the chat.").waitFor();
    const composer = visitor.locator("form.composer").getByLabel("Message");
    await composer.fill("Hello, I need help");
    await composer.press("Enter");
    await visitor.locator("li.mine", { hasText: "Hello, I need help" }).waitFor();
    // The console shows it, which marks it read: the widget says "Seen".
    await inConsole("Vera: Hello, I need help").waitFor();
    await visitor.getByText("Seen").waitFor();
    // The agent types: the widget says so. Each message shows its time.
    await agent.getByLabel("Message", { exact: true }).pressSequentially("Happy", { delay: 20 });
    await visitor.getByText("An agent is typing…").waitFor();
    assert.match(await visitor.locator("li.mine .meta").first().textContent(), /\d{1,2}:\d{2}/);
    // The agent answers while the panel is closed.
    await visitor.keyboard.press("Escape");
    await agent.getByLabel("Message", { exact: true }).fill("Happy to help");
    await agent.getByRole("button", { name: "Send" }).click();
    await visitor.getByRole("button", { name: "Open chat, 1 unread" }).waitFor();
    await visitor.screenshot({ path: `${SHOTS}widget-closed-unread.png` });
    await visitor.getByRole("button", { name: "Open chat, 1 unread" }).click();
    await visitor.getByText("Happy to help").waitFor();
    await visitor.screenshot({ path: `${SHOTS}widget-open.png` });
    assert.deepEqual(await violations(visitor), [], "in a chat");
    // The keyboard reaches the panel's controls, each with a visible focus ring.
    const stops = await tabStops(visitor, 12);
    assert.ok(new Set(stops.map((s) => s.control)).size >= 4, JSON.stringify(stops));
    assert.deepEqual(stops.filter((s) => !s.ring), [], "a visible focus on every stop");

    // A file, and a reload that finds the chat again, each message once.
    await visitor.locator("input.file").setInputFiles({ name: "receipt.txt", mimeType: "text/plain", buffer: Buffer.from("order 1234") });
    await visitor.getByRole("button", { name: "receipt.txt" }).waitFor();
    await agent.locator("#transcript").getByRole("button", { name: /receipt\.txt/ }).waitFor();
    await visitor.reload();
    await visitor.getByRole("button", { name: /chat/i }).click();
    await visitor.getByText("Happy to help").waitFor();
    assert.equal(await visitor.getByText("Hello, I need help").count(), 1, "restored once");
    await visitor.locator("li.mine", { hasText: "Hello, I need help" }).waitFor(); // still the visitor's own
    await visitor.getByRole("button", { name: "receipt.txt" }).waitFor();

    // The agent corrects its answer in the console: the widget shows the new text, marked edited.
    await agent.locator("#transcript").getByRole("button", { name: "Edit “Happy to help”" }).click();
    await agent.getByLabel("Message", { exact: true }).fill("Happy to help you");
    await agent.getByRole("button", { name: "Save" }).click();
    await visitor.getByText("Happy to help you").waitFor();
    await visitor.locator("li", { hasText: "Happy to help you" }).getByText("edited").waitFor();

    // A phone: nothing scrolls sideways.
    await visitor.setViewportSize({ width: 375, height: 700 });
    const wide = await visitor.evaluate(() => document.scrollingElement.scrollWidth);
    assert.ok(wide <= 375, `the page is ${wide} px wide at 375`);
    await visitor.screenshot({ path: `${SHOTS}widget-phone.png` });

    // German, from the tag's data-lang.
    const german = await (await browser.newContext()).newPage();
    await german.goto(`${SITE}/?lang=de`);
    await german.getByRole("button", { name: "Chat öffnen" }).waitFor();
    assert.deepEqual(await violations(german), [], "German");
    // The agent goes offline: the channel has nobody again.
    await agent.getByLabel("Status").selectOption("offline");
    await agent.getByRole("button", { name: "Set" }).click();
    await agent.getByText(`You are offline in ${channel}.`).waitFor();
    assert.equal((await api("GET", `/channels/${channel}/availability`)).body.online, false);
  } finally {
    await browser.close();
    site.close();
  }
});
