// The agent's feed through an independent CometD client: the npm `cometd` library with
// `cometd-nodejs-client` (unmodified) handshakes on the local WebSocket endpoint,
// subscribes to /v2/me/chats, receives a chat's notifications in order, and after its
// socket is dropped reconnects by itself and fetches what it missed by index.
// Run by scripts/browser-test.sh (API and COMETD_MODULES set by it).
import { test } from "node:test";
import assert from "node:assert/strict";

const API = process.env.API;
const MODULES = process.env.COMETD_MODULES;
const { adapt } = await import(`${MODULES}/cometd-nodejs-client/cometd-nodejs-client.js`);
adapt();
const { CometD } = await import(`${MODULES}/cometd/cometd.js`);

async function call(method, path, token, body) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function until(what, done, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("an agent follows its chat over CometD and recovers a dropped socket by index", { timeout: 60_000 }, async () => {
  const suffix = Math.random().toString(36).slice(2, 8);
  const agent = (await call("POST", "/dev/tokens", null, { userId: `ann-${suffix}`, name: "Ann" })).body.token;
  const started = await call("POST", "/chats", null, { channelId: "sales", nickname: "Jonny" });
  assert.equal(started.status, 201);
  const chatId = started.body.chat.chatId;
  const customer = started.body.token;
  assert.equal((await call("PATCH", `/chats/${chatId}`, agent, { status: "active" })).status, 200);

  const cometd = new CometD();
  cometd.unregisterTransport("long-polling");
  cometd.unregisterTransport("callback-polling");
  cometd.configure({ url: `${API}/socket?token=${agent}`, logLevel: "warn" });
  const seen = new Map(); // message index -> text, from pushes and from the transcript
  const order = [];
  let subscriptions = 0;
  let handshakes = 0;
  cometd.addListener("/meta/handshake", (reply) => {
    if (!reply.successful) return;
    handshakes += 1;
    // Bayeux subscriptions do not outlive a handshake: subscribe on each.
    cometd.subscribe("/v2/me/chats", (message) => {
      if (message.data.messageType !== "MessageLogUpdated") return;
      // A message comes twice (the writer's fast path, then the stream's push): a client
      // keeps what it has not seen, by index.
      for (const m of message.data.messages.filter((m) => !seen.has(m.index))) {
        order.push(m.index);
        seen.set(m.index, m.text);
      }
    }, (sub) => { if (sub.successful) subscriptions += 1; });
  });
  await new Promise((resolve, reject) => cometd.handshake((r) => (r.successful ? resolve() : reject(new Error(JSON.stringify(r))))));
  await until("the subscription", () => subscriptions === 1);

  for (const text of ["one", "two", "three"]) {
    assert.equal((await call("POST", `/chats/${chatId}/messages`, customer, { text })).status, 201);
  }
  const texts = () => [...seen.values()];
  await until("three messages", () => ["one", "two", "three"].every((t) => texts().includes(t)));
  // A message the writer pushes at once may overtake an earlier change still on its way
  // through the stream (the accept's "joined"): a client orders by index, and what it has
  // matches the transcript, each once.
  const transcript = (await call("GET", `/chats/${chatId}/messages?after=0`, agent)).body.messages;
  for (const i of order) assert.equal(seen.get(i), transcript.find((m) => m.index === i)?.text, `index ${i}`);
  assert.equal(new Set(order).size, order.length, "each kept once");

  // The socket drops (API Gateway closes it: the local @connections DELETE). Messages
  // posted meanwhile are not pushed to anyone.
  const clientId = cometd.getClientId();
  assert.equal((await fetch(`${API}/_ws/@connections/${clientId}`, { method: "DELETE" })).status, 204);
  for (const text of ["four", "five"]) {
    assert.equal((await call("POST", `/chats/${chatId}/messages`, customer, { text })).status, 201);
  }
  // The client reconnects by itself: its old client id is unknown to the new socket, so it
  // handshakes again and subscribes again.
  await until("a new subscription", () => subscriptions === 2 && handshakes === 2, 20_000);
  assert.notEqual(cometd.getClientId(), clientId);
  // What it missed, by index from the transcript.
  const last = Math.max(...seen.keys());
  const missed = await call("GET", `/chats/${chatId}/messages?after=${last}`, agent);
  for (const m of missed.body.messages) seen.set(m.index, m.text);
  assert.equal((await call("POST", `/chats/${chatId}/messages`, customer, { text: "six" })).status, 201);
  await until("the message after the reconnection", () => texts().includes("six"));
  const indexes = [...seen.keys()].sort((a, b) => a - b);
  const customerTexts = indexes.map((i) => seen.get(i)).filter((t) => ["one", "two", "three", "four", "five", "six"].includes(t));
  assert.deepEqual(customerTexts, ["one", "two", "three", "four", "five", "six"], "nothing lost, nothing twice");
  await new Promise((resolve) => cometd.disconnect(resolve));
});
