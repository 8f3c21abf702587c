// What every check of the conformance suite works with: the API over HTTP, agents' tokens,
// the WebSocket API, and a webhook receiver on this machine. Black-box: nothing here knows
// the product's code, only its documented API (docs/openapi.json) and the seeds.
import { createHmac, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { createRequire } from "node:module";

const b64url = (data) => Buffer.from(data).toString("base64url");

/// A JWT signed with HS256, issued now for an hour.
function hs256(key, claims) {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ typ: "JWT", alg: "HS256" }));
  const body = b64url(JSON.stringify({ ...claims, iat: now, exp: now + 3600 }));
  return `${header}.${body}.${createHmac("sha256", key).update(`${header}.${body}`).digest("base64url")}`;
}

export class Context {
  constructor({ api, socket, agentKey, identityKey, modules }) {
    this.api = api.replace(/\/$/, "");
    this.socketUrl = socket;
    this.agentKey = agentKey;
    this.identityKey = identityKey;
    this.require = modules ? createRequire(`${modules}/`) : null;
  }

  /// A name no other check uses: checks share one deployment and must not meet.
  unique(prefix) {
    return `${prefix}-${randomUUID().slice(0, 8)}`;
  }

  /// An agent's token, signed with the deployment's shared agent key (HS256, as an
  /// operator's tooling signs it: docs/security.md, AgentSharedKey).
  agent(userId, roles = []) {
    if (!this.agentKey) throw new Error("AGENT_KEY is needed for agents' tokens");
    return hs256(this.agentKey, { sub: userId, name: userId, iss: "livechat-agents", aud: "livechat", roles });
  }

  /// A known customer's identity token, as the site signs it (CUSTOMER_IDENTITY_SECRET).
  identity(customerId) {
    if (!this.identityKey) throw new Error("IDENTITY_KEY is needed for known customers");
    return hs256(this.identityKey, { sub: customerId, aud: "livechat-identity" });
  }

  /// One HTTP call; the status and the parsed body (null when empty).
  async call(method, path, { token, body, headers = {} } = {}) {
    const response = await fetch(this.api + path, {
      method,
      headers: {
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed = null;
    try { parsed = text ? JSON.parse(text) : null; } catch { parsed = text; }
    return { status: response.status, body: parsed };
  }

  /// The call, which must answer `status`: its body.
  async ok(method, path, options = {}, status = 200) {
    const answer = await this.call(method, path, options);
    if (answer.status !== status) {
      throw new Error(`${method} ${path}: ${answer.status}, not ${status}: ${JSON.stringify(answer.body)}`);
    }
    return answer.body;
  }

  /// A visitor's chat in a channel of its own: { chatId, token, chat }.
  async chat(body = {}) {
    const channelId = body.channelId ?? this.unique("ch");
    const started = await this.ok("POST", "/chats", { body: { nickname: "Vic", ...body, channelId } }, 201);
    return { chatId: started.chat.chatId, token: started.token, chat: started.chat, channelId };
  }

  /// A chat accepted by `agent` (a user id): { chatId, token, owner } with owner its token.
  async accepted(agentId = this.unique("ann"), body = {}) {
    const c = await this.chat(body);
    const owner = this.agent(agentId);
    await this.ok("PATCH", `/chats/${c.chatId}`, { token: owner, body: { status: "active" } });
    return { ...c, owner, ownerId: agentId };
  }

  /// Another agent added to chat `c` by its Owner (ChatParticipantAdd), active.
  addAgent(c, userId, permissionLevel = "Participant") {
    return this.ok("POST", `/chats/${c.chatId}/participants`, {
      token: c.owner, body: { chatterId: userId, chatterType: "User", permissionLevel, chatterActive: 1 },
    }, 201);
  }

  /// An agent-to-agent chat that `annId` asks for: its id, and Ann's token.
  async agentsChat(annId) {
    const ann = this.agent(annId);
    const body = { channelId: this.unique("internal"), requesterType: "User", targetType: "User" };
    const started = await this.ok("POST", "/chats", { token: ann, body }, 201);
    return { chatId: started.chat.chatId, ann };
  }

  /// A subscribed socket of the WebSocket API (Bayeux over `ws` from npm): its pushes.
  async socket(token, subscription = "/v2/me/chats") {
    if (!this.socketUrl || !this.require) throw new Error("SOCKET and the ws module are needed");
    const WebSocket = this.require("ws");
    const ws = new WebSocket(`${this.socketUrl}?token=${encodeURIComponent(token)}`);
    const pushes = [];
    const frames = [];
    const waiters = new Set();
    let clientId;
    const send = (m) => ws.send(JSON.stringify([{ ...m, clientId }]));
    const subscribed = new Promise((resolve, reject) => {
      ws.on("error", reject);
      ws.on("open", () => send({ channel: "/meta/handshake", version: "1.0", supportedConnectionTypes: ["websocket"] }));
      ws.on("message", (data) => {
        for (const m of [].concat(JSON.parse(String(data)))) {
          frames.push(m);
          if (m.channel === "/meta/handshake" && m.successful) {
            clientId = m.clientId;
            send({ channel: "/meta/subscribe", subscription });
          } else if (m.channel === "/meta/subscribe") {
            m.successful ? resolve() : reject(new Error(JSON.stringify(m)));
          } else if (m.channel === "/v2/me/chats") {
            pushes.push(m.data);
            for (const w of waiters) w();
          }
        }
      });
    });
    await subscribed;
    return {
      pushes,
      frames,
      send,
      /// Waits for a push `test` accepts (15 s at most): that push.
      until: (test, what = "a push") => new Promise((resolve, reject) => {
        const look = () => {
          const found = pushes.find(test);
          if (found) { waiters.delete(look); clearTimeout(timer); resolve(found); }
        };
        const timer = setTimeout(() => { waiters.delete(look); reject(new Error(`no ${what} in 15 s: ${JSON.stringify(pushes).slice(0, 600)}`)); }, 15000);
        waiters.add(look);
        look();
      }),
      close: () => ws.close(),
    };
  }

  /// A webhook receiver on loopback: { url, received, until, close }.
  async receiver() {
    const received = [];
    const waiters = new Set();
    const server = createServer((req, res) => {
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
        res.end("ok");
        for (const w of waiters) w();
      });
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${server.address().port}/hook`;
    return {
      url,
      received,
      until: (test, what = "a delivery", ms = 30000) => new Promise((resolve, reject) => {
        const look = () => {
          const found = received.find(test);
          if (found) { waiters.delete(look); clearTimeout(timer); resolve(found); }
        };
        const timer = setTimeout(() => { waiters.delete(look); reject(new Error(`no ${what} in ${ms / 1000} s: ${received.map((r) => r.body.slice(0, 200)).join(" | ")}`)); }, ms);
        waiters.add(look);
        look();
      }),
      close: () => server.close(),
    };
  }
}

/// A failed expectation, said in the check's words.
export function expect(condition, what) {
  if (!condition) throw new Error(what);
}
