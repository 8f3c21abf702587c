// `make deploy-local`'s push step, against the deployed stack's own WebSocket API: an
// agent and a visitor each follow a chat with the npm CometD client (unmodified, as
// tests/cometd does against the local server), and every message either side posts
// reaches the other's socket. Through the emulator this is the template's whole push
// path: $connect and $default routes to their functions, the writer's fast path and
// socket-push from the table's stream, both posting with PostToConnection to
// @connections under the roles' execute-api:ManageConnections.
//
// Usage: node scripts/deploy_push.mjs <deploy-output.json>   (COMETD_MODULES: node_modules
// holding cometd, cometd-nodejs-client and ws; scripts/stack.sh's node_clients installs them)
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";

const out = JSON.parse(readFileSync(process.argv[2], "utf8"));
const MODULES = process.env.COMETD_MODULES;
const { adapt } = await import(`${MODULES}/cometd-nodejs-client/cometd-nodejs-client.js`);
adapt();
const { CometD } = await import(`${MODULES}/cometd/cometd.js`);

const b64url = (b) => Buffer.from(b).toString("base64url");
function agentToken(key, userId) {
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64url(JSON.stringify({ typ: "JWT", alg: "HS256" }))}.${b64url(JSON.stringify({
    sub: userId, name: "Ann", iss: "livechat-agents", aud: "livechat", iat: now, exp: now + 3600, roles: ["agent"],
  }))}`;
  return `${body}.${createHmac("sha256", out.keys.AgentTokenSecretName).update(body).digest("base64url")}`;
}

async function call(method, path, token, body, expect) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(out.api + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  if (response.status !== expect) throw new Error(`${method} ${path}: expected ${expect}, got ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/// A CometD client subscribed to /v2/me/chats on the deployed socket API: the time each
/// message text (or "typing", a typing notice) first arrived.
async function follow(token) {
  const cometd = new CometD();
  cometd.unregisterTransport("long-polling");
  cometd.unregisterTransport("callback-polling");
  cometd.configure({ url: `${out.socket}?token=${encodeURIComponent(token)}`, logLevel: "warn" });
  const arrived = new Map();
  await new Promise((resolve, reject) => cometd.handshake((r) => (r.successful ? resolve() : reject(new Error(`handshake: ${JSON.stringify(r)}`)))));
  await new Promise((resolve, reject) => cometd.subscribe("/v2/me/chats", (m) => {
    if (m.data.messageType !== "MessageLogUpdated") return;
    for (const message of m.data.messages) {
      const key = message.type === "TypingStarted" ? "typing" : message.text;
      if (!arrived.has(key)) arrived.set(key, Date.now());
    }
  }, (s) => (s.successful ? resolve() : reject(new Error(`subscribe: ${JSON.stringify(s)}`)))));
  return { arrived, close: () => new Promise((resolve) => cometd.disconnect(resolve)) };
}

async function until(what, done, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const step = (name) => console.log(`  ok  ${name}`);
try {
  const agent = agentToken(out.keys.AgentTokenSecretName, `ann-${Date.now()}`);
  const started = await call("POST", "/chats", null, { channelId: "sales", nickname: "Vic" }, 201);
  const chatId = started.chat.chatId;
  await call("PATCH", `/chats/${chatId}`, agent, { status: "active" }, 200);
  const agentSide = await follow(agent);
  const visitorSide = await follow(started.token);
  step("an agent and a visitor each follow the chat on the deployed WebSocket API (CometD from npm)");

  const latencies = [];
  for (let i = 1; i <= 5; i++) {
    for (const [from, token, other] of [["visitor", started.token, agentSide], ["agent", agent, visitorSide]]) {
      const text = `${from} ${i}`;
      const sent = Date.now();
      await call("POST", `/chats/${chatId}/messages`, token, { text }, 201);
      await until(`"${text}" on the other side's socket`, () => other.arrived.has(text));
      latencies.push(other.arrived.get(text) - sent);
    }
  }
  latencies.sort((a, b) => a - b);
  // The fast path posts before the writer answers; these are from the request's start.
  step(`ten messages, each pushed to the other side (from the request sent: median ${latencies[5]} ms, ` +
    `slowest ${latencies[9]} ms on the emulator)`);
  // A typing notice has no fast path: it reaches the agent only through the table's stream
  // and socket-push.
  await call("POST", `/chats/${chatId}/typing`, started.token, { typing: true }, 204);
  await until("the visitor's typing notice on the agent's socket", () => agentSide.arrived.has("typing"));
  step("the visitor's typing notice reaches the agent through the stream (socket-push)");
  await agentSide.close();
  await visitorSide.close();
  console.log("push: passed");
} catch (e) {
  console.error(`push: FAILED: ${e.message}`);
  process.exit(1);
}
