// A customer and two agents chat through the local server in headless Chromium: the
// offline form, start, a notification and tone for the agent out of sight, Alt+A to accept,
// back to the queue and accepted again, an invitation declined then joined, messages both
// ways with the typing indicator and its preview, read marks, edits and deletions, an
// internal note and a filtered message the customer never sees, files both ways, reload and
// restore (each message once), a move to another channel, end; the console at a phone's
// width; then the customer's data exported and erased by an administrator. Screenshots go
// to web/screenshots/.
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

/// axe-core's serious and critical findings on a page.
async function violations(page) {
  await page.evaluate(AXE);
  const found = await page.evaluate(async () => (await window.axe.run(document)).violations);
  return found.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
}
const API = process.env.API;
const SHOTS = new URL("../../web/screenshots/", import.meta.url).pathname;

/// A download's bytes, as text.
async function readDownload(download) {
  const chunks = [];
  for await (const chunk of await download.createReadStream()) chunks.push(chunk);
  return Buffer.concat(chunks).toString();
}

test("a customer and an agent chat through the widget and the console", { timeout: 120_000 }, async () => {
  mkdirSync(SHOTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"],
  });
  try {
    const customer = await (await browser.newContext()).newPage();
    const agent = await (await browser.newContext()).newPage();
    const bob = await (await browser.newContext()).newPage();
    const transcript = (page) => page.locator("#transcript");
    // A channel of this test's own: the other browser tests' requests are not in its queue.
    const channel = `desk-${Date.now()}`;
    /// An agent signs in on the provider's page and goes online in the test's channel.
    const signIn = async (page, id, name, admin) => {
      await page.getByLabel("User id", { exact: true }).fill(id);
      await page.getByLabel("Name", { exact: true }).fill(name);
      if (admin) await page.getByLabel("Administrator").check();
      await page.getByRole("button", { name: "Continue" }).click();
      await page.locator("#console").waitFor({ state: "visible" });
      // The console goes online in its default channel first; then in the test's.
      await page.getByText("You are online in sales.").waitFor();
      await page.getByLabel("Channels (comma separated)").fill(channel);
      await page.getByRole("button", { name: "Set" }).click();
      await page.getByText(`You are online in ${channel}.`).waitFor();
    };

    // Nobody is online yet: the widget offers a form for a message, which the agent will find.
    await customer.goto(`${API}/?channel=${channel}`);
    await customer.getByLabel("Name", { exact: true }).fill("Jonny");
    await customer.getByLabel("Your e-mail, for our answer").fill("jonny@example.com");
    await customer.getByLabel("Your message").fill("Call me about my order, please");
    await customer.getByRole("button", { name: "Send message" }).click();
    await customer.getByText("Thank you: we will answer by e-mail.").waitFor();

    // Bob is online, his console out of sight: a new request is a notification (the page's
    // Notification and visibility stand in for the browser's, which headless has not).
    await bob.addInitScript(() => {
      window.notified = [];
      window.Notification = class { static permission = "granted"; constructor(title, o) { window.notified.push(`${title}: ${o.body}`); } };
      window.tones = 0;
      window.AudioContext = class { currentTime = 0; destination = {}; createOscillator() { return { connect() {}, start() { window.tones += 1; }, stop() {} }; } };
      Object.defineProperty(document, "visibilityState", { configurable: true, get: () => (window.hidden ? "hidden" : "visible") });
    });
    await bob.goto(`${API}/agent`);
    await bob.getByRole("button", { name: "Sign in" }).click();
    await signIn(bob, "bob", "Bob", false);
    // His lists were read once (the offline messages come last): a request from now on is new.
    await bob.locator("#offline-messages li", { hasText: "Call me about my order" }).waitFor();
    await bob.evaluate(() => { window.hidden = true; });

    // The customer starts a chat from the widget.
    await customer.getByLabel("Your name").fill("Jonny");
    await customer.getByLabel("What is it about?").fill("My order");
    await customer.getByRole("button", { name: "Start chat" }).click();
    await customer.locator("#chat").waitFor({ state: "visible" });

    // The agent signs in through the identity provider's page (authorization code with
    // PKCE), goes online, sees the request and accepts it. It was sent a link naming
    // another provider: the console ignores it, before and after a reload, and nothing
    // (least of all the code and its verifier) goes to that host.
    const hostile = [];
    const evil = createServer((req, res) => { hostile.push(`${req.method} ${req.url}`); res.writeHead(404).end(); });
    await new Promise((resolve) => evil.listen(0, "127.0.0.1", resolve));
    const evilUrl = `http://127.0.0.1:${evil.address().port}`;
    await agent.goto(`${API}/agent?authority=${encodeURIComponent(evilUrl)}&clientId=stolen`);
    await agent.reload();
    await agent.getByRole("button", { name: "Sign in" }).click();
    await agent.waitForURL(/\/oauth2\/authorize\?/);
    assert.equal(new URL(agent.url()).origin, new URL(API).origin, "the deployment's own provider");
    assert.equal(new URL(agent.url()).searchParams.get("client_id"), "livechat");
    await signIn(agent, "ann", "Ann", true);
    assert.equal(new URL(agent.url()).search, "", "the code is gone from the address");
    assert.deepEqual(hostile, [], "nothing reached the host the link named");
    evil.close();
    // Waiting: the widget says where the customer is in the queue.
    await customer.getByText(/^You are (next|number \d+ in the queue)/).waitFor();
    await agent.locator("#offline-messages li", { hasText: "Call me about my order, please" }).waitFor();
    await bob.waitForFunction(() => window.notified.some((n) => n.includes("New chat request from Jonny")) && window.tones > 0);
    // Alt+A accepts the oldest request in Ann's channels: Jonny's, the only one, shown with
    // how long it has waited.
    await agent.locator("#queue li", { hasText: "Jonny" }).getByText(/waiting (under a minute|\d+ min)/).waitFor();
    await agent.keyboard.press("Alt+A");
    await agent.locator("#chat").waitFor({ state: "visible" });
    await transcript(customer).getByText("Ann joined the chat.").waitFor();
    // Handed back to the queue, the chat waits there again; Alt+A takes it once more.
    await agent.getByRole("button", { name: "Back to the queue" }).click();
    await agent.locator("#chat-status").getByText("Back in the queue.").waitFor();
    await agent.locator("#queue li", { hasText: "Jonny" }).waitFor();
    await agent.keyboard.press("Alt+A");
    await customer.waitForFunction(() => [...document.querySelectorAll("#transcript li")].filter((li) => li.textContent.includes("Ann joined the chat.")).length === 2);
    // The customer pane: who it is, and that nobody vouched for this visitor.
    await agent.locator("#customer-details").getByText("a visitor, not verified").waitFor();
    await agent.locator("#customer-details").getByText("My order").waitFor();
    // Ann invites Bob, offered among the agents online; Bob declines. Asked again, he joins.
    await agent.locator("#agents-online option[value=bob]").waitFor({ state: "attached" });
    const inviteBob = async () => {
      await agent.getByLabel("Invite an agent").fill("bob");
      await agent.getByRole("button", { name: "Invite" }).click();
    };
    await inviteBob();
    await agent.locator("#chat-status").getByText("Invited bob.").waitFor();
    const invitation = bob.locator("#invitations li", { hasText: "Jonny" });
    await invitation.getByRole("button", { name: "Decline" }).click();
    await invitation.waitFor({ state: "detached" });
    await inviteBob();
    await invitation.getByRole("button", { name: "Join" }).click();
    await transcript(bob).getByText("Bob joined the chat.").waitFor();
    await transcript(customer).getByText("Bob joined the chat.").waitFor();
    await bob.keyboard.press("Escape");
    await bob.locator("#chat").waitFor({ state: "hidden" });

    // Escape closes the chat; "My chats" opens it again.
    await agent.keyboard.press("Escape");
    await agent.locator("#chat").waitFor({ state: "hidden" });
    // A message in a chat that is not open counts as new in "My chats".
    await customer.getByLabel("Message", { exact: true }).fill("Are you there?");
    await customer.getByRole("button", { name: "Send" }).click();
    await agent.locator("#mine li", { hasText: "Jonny" }).getByText("— 1 new").waitFor();
    // Bob, out of sight and in another chat, is told of it.
    await bob.waitForFunction(() => window.notified.some((n) => n.includes("Jonny: Are you there?")));
    await agent.locator("#mine li", { hasText: "Jonny" }).getByRole("button", { name: "Open" }).click();
    await agent.locator("#chat").waitFor({ state: "visible" });
    await transcript(agent).getByText("Ann joined the chat.").first().waitFor();

    // Both pages pass axe-core with no serious or critical finding, in a chat.
    assert.deepEqual(await violations(customer), [], "the demo widget page");
    assert.deepEqual(await violations(agent), [], "the console");
    // The keyboard reaches the console's controls, each with a visible focus ring.
    const stops = await tabStops(agent, 30);
    assert.ok(new Set(stops.map((s) => s.control)).size >= 15, JSON.stringify(stops));
    assert.deepEqual(stops.filter((s) => !s.ring), [], "a visible focus on every stop");

    // The agent types: the customer sees the indicator, then the message.
    await agent.getByLabel("Message", { exact: true }).pressSequentially("Hello Jonny", { delay: 20 });
    await customer.getByText("An agent is typing…").waitFor();
    await agent.getByRole("button", { name: "Send" }).click();
    await transcript(customer).getByText("Ann: Hello Jonny").waitFor();

    // The customer answers; the agent sees it typing (pushed on its CometD feed), then the message.
    await customer.getByLabel("Message", { exact: true }).pressSequentially("Where is my parcel?", { delay: 10 });
    await agent.getByText("The customer is typing…").waitFor();
    await agent.getByText("“Where is my parcel", { exact: false }).waitFor(); // the typing preview
    await customer.getByRole("button", { name: "Send" }).click();
    await transcript(agent).getByText("Jonny: Where is my parcel?").waitFor();
    // Read receipts both ways: each side has the other's message in view.
    await transcript(customer).locator("li.mine", { hasText: "Where is my parcel?" }).getByText("Seen").waitFor();
    await transcript(agent).locator("li.mine", { hasText: "Hello Jonny" }).getByText("Seen").waitFor();
    await agent.getByText(/Read: .*Jonny up to #\d+/).waitFor();

    // The customer corrects a message, then withdraws it: the agent sees both, pushed.
    await customer.getByLabel("Message", { exact: true }).fill("Tracking nr 12345?");
    await customer.getByRole("button", { name: "Send" }).click();
    await transcript(agent).getByText("Jonny: Tracking nr 12345?").waitFor();
    await transcript(customer).getByRole("button", { name: "Edit “Tracking nr 12345?”" }).click();
    await customer.getByLabel("Message", { exact: true }).fill("Tracking number 12345?");
    await customer.getByRole("button", { name: "Save" }).click();
    await transcript(agent).getByText("Jonny: Tracking number 12345? (edited)").waitFor();
    await transcript(customer).getByRole("button", { name: "Delete “Tracking number 12345?”" }).click();
    await transcript(agent).getByText("Jonny: message deleted").waitFor();
    await transcript(customer).getByText("This message was deleted.").waitFor();

    // The agent corrects its own message: the customer sees the new text, marked edited.
    await agent.getByLabel("Message", { exact: true }).fill("Let me chek");
    await agent.getByRole("button", { name: "Send" }).click();
    await transcript(customer).getByText("Ann: Let me chek").waitFor();
    await transcript(agent).getByRole("button", { name: "Edit “Let me chek”" }).click();
    await agent.getByLabel("Message", { exact: true }).fill("Let me look into it");
    await agent.getByRole("button", { name: "Save" }).click();
    await transcript(customer).getByText("Ann: Let me look into it (edited)").waitFor();

    // An internal note: the agent sees it, the customer never does.
    await agent.getByLabel("Internal note").check();
    await agent.getByLabel("Message", { exact: true }).fill("VIP customer, be quick");
    await agent.getByRole("button", { name: "Send" }).click();
    await transcript(agent).getByText("VIP customer, be quick").waitFor();
    await agent.getByLabel("Internal note").uncheck();
    // Enter sends.
    await agent.getByLabel("Message", { exact: true }).fill("Let me check");
    await agent.getByLabel("Message", { exact: true }).press("Enter");
    await transcript(customer).getByText("Ann: Let me check").waitFor();
    assert.equal(await transcript(customer).getByText("VIP customer").count(), 0, "the internal note stays with agents");

    // Over push: once the widget's socket is subscribed, it sends no poll while messages flow.
    const polls = [];
    customer.on("request", (r) => { if (r.url().includes("/messages?after=")) polls.push(r.url()); });
    await customer.waitForFunction(() => window.livechat.pushing);
    await customer.waitForTimeout(300); // the one fetch by index that closes the gap
    const pollsBefore = polls.length;
    for (const text of ["Pushed one", "Pushed two"]) {
      await agent.getByLabel("Message", { exact: true }).fill(text);
      await agent.getByRole("button", { name: "Send" }).click();
      await transcript(customer).getByText(`Ann: ${text}`).waitFor();
    }
    assert.equal(polls.length, pollsBefore, "no poll while the socket is up");

    // The socket drops (API Gateway closes it): the widget falls back to polling, then is
    // pushed again, and every message shows exactly once.
    const dropped = await customer.evaluate(() => window.livechat.clientId);
    assert.equal((await fetch(`${API}/_ws/@connections/${dropped}`, { method: "DELETE" })).status, 204);
    await agent.getByLabel("Message", { exact: true }).fill("Are you still there?");
    await agent.getByRole("button", { name: "Send" }).click();
    await transcript(customer).getByText("Ann: Are you still there?").waitFor();
    await customer.waitForFunction((old) => window.livechat.pushing && window.livechat.clientId !== old, dropped);
    await agent.getByLabel("Message", { exact: true }).fill("Back on push");
    await agent.getByRole("button", { name: "Send" }).click();
    await transcript(customer).getByText("Ann: Back on push").waitFor();
    for (const text of ["Pushed one", "Pushed two", "Are you still there?", "Back on push"]) {
      assert.equal(await transcript(customer).getByText(`Ann: ${text}`).count(), 1, text);
    }

    // A filtered message (sendFilteredMessage): the agent reads it, the customer never sees it.
    await customer.evaluate(() => window.livechat.sendFilteredMessage({ message: "My card is 4111 1111", regex: /\d{4} \d{4}/ }));
    await transcript(agent).getByText("Jonny: My card is 4111 1111").waitFor();

    // Files both ways: the customer attaches one, the agent downloads it and sends one back.
    await customer.getByLabel("Attach a file").setInputFiles({ name: "receipt.txt", mimeType: "text/plain", buffer: Buffer.from("order 1234") });
    await customer.getByRole("button", { name: "Upload" }).click();
    const received = transcript(agent).getByRole("button", { name: /receipt\.txt/ });
    const [download] = await Promise.all([agent.waitForEvent("download"), received.click()]);
    assert.equal(download.suggestedFilename(), "receipt.txt");
    assert.equal(await readDownload(download), "order 1234");
    await agent.getByLabel("Attach a file").setInputFiles({ name: "label.pdf", mimeType: "application/pdf", buffer: Buffer.from("%PDF-1.4 label") });
    await agent.getByRole("button", { name: "Upload" }).click();
    const [back] = await Promise.all([customer.waitForEvent("download"), transcript(customer).getByRole("button", { name: /label\.pdf/ }).click()]);
    assert.equal(await readDownload(back), "%PDF-1.4 label");
    assert.equal(await transcript(customer).getByText("4111").count(), 0, "the filtered message stays hidden");

    // A reload restores the chat and its transcript, each message once.
    await customer.reload();
    await customer.locator("#chat").waitFor({ state: "visible" });
    await transcript(customer).getByRole("button", { name: /label\.pdf/ }).waitFor();
    for (const text of ["Ann: Hello Jonny", "Jonny: Where is my parcel?", "Ann: Back on push"]) {
      assert.equal(await transcript(customer).getByText(text).count(), 1, text);
    }
    assert.equal(await transcript(customer).getByRole("button", { name: /receipt\.txt/ }).count(), 1);
    assert.equal(await transcript(customer).getByText("VIP customer").count(), 0);
    assert.equal(await transcript(customer).getByText("4111").count(), 0);
    await customer.screenshot({ path: `${SHOTS}customer.png`, fullPage: true });
    await agent.screenshot({ path: `${SHOTS}agent.png`, fullPage: true });

    // Ann moves the chat to another channel: My chats says where it now is.
    await agent.getByLabel("Move to channel").fill(`${channel}-b`);
    await agent.getByRole("button", { name: "Move" }).click();
    await agent.locator("#chat-status").getByText(`Moved to ${channel}-b.`).waitFor();
    await agent.locator("#mine li", { hasText: `(${channel}-b)` }).waitFor();

    // The customer ends the chat; both sides see it.
    await customer.getByRole("button", { name: "End chat" }).click();
    await customer.getByText("The chat has ended.").waitFor();
    await transcript(agent).getByText("The chat has ended.").waitFor();
    await agent.getByText("This chat is closed.").waitFor();
    await customer.screenshot({ path: `${SHOTS}customer-ended.png`, fullPage: true });

    // A phone: the console's columns stack, the open chat first, and nothing scrolls sideways.
    await agent.setViewportSize({ width: 375, height: 800 });
    const wide = await agent.evaluate(() => document.scrollingElement.scrollWidth);
    assert.ok(wide <= 375, `the console is ${wide} px wide at 375`);
    const top = async (selector) => (await agent.locator(selector).boundingBox()).y;
    assert.ok(await top("#chat") < await top("#queue-title"), "the open chat comes before the lists");
    await agent.screenshot({ path: `${SHOTS}agent-phone.png` });
    await agent.setViewportSize({ width: 1280, height: 720 });

    // Ann is an administrator: she exports the customer's data, then erases it (asked
    // twice); a second export shows the customer's words as tombstones, its name gone.
    const exported = async () => {
      const [file] = await Promise.all([agent.waitForEvent("download"), agent.getByRole("button", { name: "Export data" }).click()]);
      assert.match(file.suggestedFilename(), /^customer-.+\.json$/);
      return JSON.parse(await readDownload(file));
    };
    const texts = (data) => data.chats.flatMap((c) => c.messages).filter((m) => m.chatterName !== "Ann" && m.type === "Text").map((m) => m.text);
    const before = await exported();
    assert.ok(texts(before).includes("Where is my parcel?"), JSON.stringify(texts(before)));
    await agent.getByRole("button", { name: "Erase customer…" }).click();
    await agent.getByRole("button", { name: "Keep" }).click();
    await agent.getByRole("button", { name: "Erase for good" }).waitFor({ state: "hidden" });
    await agent.getByRole("button", { name: "Erase customer…" }).click();
    await agent.getByRole("button", { name: "Erase for good" }).click();
    await agent.getByText(/^Erased: \d+ messages, 1 file, 0 offline messages in 1 chat\./).waitFor();
    const after = await exported();
    assert.ok(!JSON.stringify(after).includes("Where is my parcel?"), "the customer's words are gone");
    assert.ok(!JSON.stringify(after).includes('"Jonny"'), "and its name (Ann's words are hers: \"Hello Jonny\" stays)");
  } finally {
    await browser.close();
  }
});
