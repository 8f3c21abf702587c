// Unit tests of the widget client's own logic, with an in-memory fetch and storage.
// Run: node --test web/
import { test } from "node:test";
import assert from "node:assert/strict";
import { WebChatService, Errors, exportCustomer } from "./webchat.js";

function memoryStorage() {
  const data = new Map();
  return { getItem: (k) => data.get(k) ?? null, setItem: (k, v) => data.set(k, String(v)), removeItem: (k) => data.delete(k), data };
}

/// A fake API: routes (method + path prefix) to handlers returning [status, body].
function fakeApi(routes) {
  const calls = [];
  const fetch = async (url, { method, body }) => {
    const path = url.replace(/^https?:\/\/[^/]+/, "");
    calls.push({ method, path, body: body ? JSON.parse(body) : undefined });
    for (const [key, handler] of Object.entries(routes)) {
      const [m, prefix] = key.split(" ");
      if (m === method && path.startsWith(prefix)) {
        const [status, answer] = await handler(path, body ? JSON.parse(body) : undefined);
        if (status === 0) throw new TypeError("Failed to fetch");
        return { ok: status < 400, status, text: async () => (answer === undefined ? "" : JSON.stringify(answer)) };
      }
    }
    return { ok: false, status: 404, text: async () => JSON.stringify({ error: { code: "not_found", message: "no route" } }) };
  };
  return { fetch, calls };
}

const started = [201, { chat: { chatId: "c1", requesterId: "v1" }, token: "tok" }];
const quiet = [200, { messages: [], lastIndex: 0, nextCursor: null, chatStatus: "active", typing: [] }];

function service(routes, options = {}) {
  const api = fakeApi(routes);
  const storage = options.storage ?? memoryStorage();
  const chat = new WebChatService({ fetch: api.fetch, storage, pollInterval: 5, maxPollInterval: 40, autoRestore: false, ...options });
  return { chat, api, storage };
}

const until = async (predicate, ms = 2000) => {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
};

test("startChat rejects a second session and malformed userData, as the seed says", async () => {
  const { chat } = service({ "POST /chats": () => started, "GET /chats/c1/messages": () => quiet });
  await assert.rejects(chat.startChat({ userData: [1] }), { message: Errors.malformedUserData });
  await chat.startChat({ nickname: "Jonny", userData: { plan: "pro" } });
  await assert.rejects(chat.startChat({}), { message: Errors.alreadyActive });
  chat.stopPoll();
});

test("stopPoll stops a poll already under way from scheduling the next", async () => {
  let release;
  const held = new Promise((r) => { release = r; });
  let polls = 0;
  const { chat } = service({
    "POST /chats": () => started,
    "GET /chats/c1/messages": async () => { polls += 1; if (polls === 2) await held; return quiet; },
  });
  await chat.startChat({ nickname: "Jonny" });
  try {
    await until(() => polls === 2 && chat.polling); // the second poll is on the wire
    chat.stopPoll();
    release();
    await until(() => !chat.polling);
    await new Promise((r) => setTimeout(r, 60)); // a dozen poll intervals
    assert.equal(polls, 2, "no poll after stopPoll");
    chat.startPoll();
    await until(() => polls === 3);
  } finally {
    chat.clear();
  }
});

test("commands without a session reject with the seed's messages", async () => {
  const { chat } = service({});
  await assert.rejects(chat.endChat(), { message: Errors.noSession });
  await assert.rejects(chat.sendMessage({ message: "hi" }), { message: Errors.noSession });
  await assert.rejects(chat.sendMessage({ message: " " }), { message: Errors.noText });
  await assert.rejects(chat.sendFilteredMessage({ message: "x", regex: /x/ }), { message: Errors.noSessionShort });
  assert.throws(() => chat.startPoll(), { message: Errors.noSessionShort });
  await assert.rejects(chat.registerPreProcessor({ preprocessor: 42 }), { message: "No preprocessor function provided. Type provided was 'number'." });
  await assert.rejects(chat.addPrefilter({ filters: "x" }), { message: Errors.badFilters });
  assert.deepEqual(await chat.updateUserData({ a: 1 }), { a: 1 }, "before a session, userData is kept for startChat");
});

test("the token survives a reload: a new service restores the chat and its transcript", async () => {
  const storage = memoryStorage();
  const routes = {
    "POST /chats": () => started,
    "GET /chats/c1/messages": () => quiet,
    "GET /session": () => [200, { sessionActive: true, chatId: "c1", participantId: "v1", lastIndex: 2 }],
    "GET /chats/c1/transcript": () => [200, { messages: [{ index: 1, type: "Text", text: "hello" }, { index: 2, type: "Text", text: "hi" }], nextCursor: null }],
  };
  const first = service(routes, { storage });
  await first.chat.startChat({});
  first.chat.stopPoll();
  assert.ok(storage.getItem("livechat.session").includes("tok"));

  const { chat, api } = service(routes, { storage, autoRestore: true });
  const restored = new Promise((resolve) => chat.on("restored", resolve));
  const received = new Promise((resolve) => chat.on("messageReceived", resolve));
  await restored;
  const e = await received;
  assert.equal(e.restoring, true);
  assert.deepEqual(e.messages.map((m) => m.text), ["hello", "hi"]);
  assert.ok(api.calls.some((c) => c.path === "/session"));
  chat.stopPoll();
});

test("a failed restore clears the session and says so", async () => {
  const storage = memoryStorage();
  storage.setItem("livechat.session", JSON.stringify({ chatId: "c1", token: "old", lastIndex: 3 }));
  const { chat } = service({ "GET /session": () => [401, { error: { code: "unauthorized", message: "expired" } }] }, { storage, autoRestore: true });
  await new Promise((resolve) => chat.on("restoreFailed", resolve));
  assert.equal(storage.getItem("livechat.session"), null);
});

test("polling delivers new messages once, tracks agents and typing, and ends with the chat", async () => {
  let step = 0;
  const pages = [
    { messages: [{ index: 1, type: "System", event: "joined", chatterType: "User", chatterId: "a1", chatterName: "Support Agent 1" }], lastIndex: 1, chatStatus: "active", typing: [{ chatterType: "User" }] },
    { messages: [{ index: 2, type: "Text", text: "hello", chatterType: "User" }], lastIndex: 2, chatStatus: "active", typing: [] },
    { messages: [], lastIndex: 2, chatStatus: "closed", typing: [] },
  ];
  const { chat, api } = service({ "POST /chats": () => started, "GET /chats/c1/messages": () => [200, pages[Math.min(step++, 2)]] });
  const seen = [];
  for (const e of ["agentConnected", "agentTypingStarted", "agentTypingStopped", "messageReceived", "ended"]) chat.on(e, () => seen.push(e));
  const ended = new Promise((resolve) => chat.on("ended", resolve));
  await chat.startChat({});
  await ended;
  assert.deepEqual(seen, ["agentConnected", "messageReceived", "agentTypingStarted", "messageReceived", "agentTypingStopped", "ended"]);
  const afters = api.calls.filter((c) => c.method === "GET").map((c) => c.path.split("after=")[1]);
  assert.deepEqual(afters, ["0&place=1", "1", "2"], "each poll asks only for what is new; the first, the place too");
});

test("an unreachable API is reported once as disconnected, polled with backoff, then reconnected", async () => {
  let failures = 3;
  const { chat } = service({
    "POST /chats": () => started,
    "GET /chats/c1/messages": () => (failures-- > 0 ? [0] : quiet),
  });
  const events = [];
  chat.on("disconnected", () => events.push(["disconnected", chat.nextDelay()]));
  chat.on("reconnected", () => events.push(["reconnected", chat.nextDelay()]));
  await chat.startChat({});
  await until(() => events.some(([e]) => e === "reconnected"));
  chat.stopPoll();
  assert.equal(events.filter(([e]) => e === "disconnected").length, 1);
  assert.ok(events[0][1] > chat.pollInterval, "backs off while down");
  assert.equal(events.at(-1)[1], chat.pollInterval, "back to the normal interval");
});

test("prefilters and sendFilteredMessage hide matching messages; preprocessors rewrite the rest", async () => {
  let step = 0;
  const { chat } = service({
    "POST /chats": () => started,
    "POST /chats/c1/messages": () => [201, { message: {} }],
    "GET /chats/c1/messages": () =>
      step++ === 0
        ? [200, { messages: [{ index: 1, type: "Text", text: "code 1234" }, { index: 2, type: "Text", text: "hello" }], lastIndex: 2, chatStatus: "active", typing: [] }]
        : [200, { messages: [], lastIndex: 2, chatStatus: "active", typing: [] }],
  });
  await chat.registerPreProcessor({ preprocessor: (m) => ({ ...m, text: m.text.toUpperCase() }) });
  const received = new Promise((resolve) => chat.on("messageReceived", resolve));
  await chat.startChat({});
  await chat.sendFilteredMessage({ message: "code 1234", regex: /\d{4}/ });
  const e = await received;
  chat.stopPoll();
  assert.deepEqual(e.messages.map((m) => m.text), ["HELLO"]);
  assert.equal(e.originalMessages.length, 2);
});

test("filtered messages, notices and messages each carry a clientMessageId; a filter keeps its flags", async () => {
  const { chat, api } = service({
    "POST /chats": () => started,
    "POST /chats/c1/messages": () => [201, { message: {} }],
    "POST /chats/c1/notices": () => [201, { message: {} }],
    "GET /chats/c1/messages": () => quiet,
  });
  await chat.startChat({});
  chat.stopPoll();
  await chat.sendFilteredMessage({ message: "Code AB12", regex: /code/i });
  await chat.sendCustomNotice({ message: "page viewed" });
  await chat.sendMessage({ message: "hi" });
  const posts = api.calls.filter((c) => c.method === "POST" && c.path !== "/chats");
  assert.equal(posts.length, 3);
  assert.ok(posts.every((c) => typeof c.body.clientMessageId === "string" && c.body.clientMessageId.length > 8));
  assert.equal(new Set(posts.map((c) => c.body.clientMessageId)).size, 3);
  assert.equal(posts[0].body.filter, "(?i)code");
  assert.deepEqual(JSON.parse(chat.storage.getItem("livechat.session")).filters, [{ source: "code", flags: "i" }], "kept for restore");
});

/// A WebSocket stand-in speaking the server's side of Bayeux: it opens, answers the
/// handshake and the subscription, and lets the test push frames or drop it.
function fakeSockets() {
  const opened = [];
  class FakeSocket {
    constructor(url) {
      this.url = url;
      this.sent = [];
      opened.push(this);
      setTimeout(() => this.onopen?.(), 0);
    }
    send(text) {
      for (const m of JSON.parse(text)) {
        this.sent.push(m);
        if (this.silent) continue; // dropped without a close: nothing comes back
        const reply = { channel: m.channel, successful: true, clientId: "c-1", advice: { interval: 60000 } };
        if (m.channel === "/meta/subscribe") reply.subscription = m.subscription;
        setTimeout(() => this.onmessage?.({ data: JSON.stringify([reply]) }), 0);
      }
    }
    push(data) {
      this.onmessage?.({ data: JSON.stringify([{ channel: "/v2/me/chats", data }]) });
    }
    close() {
      setTimeout(() => this.onclose?.({ code: 1006 }), 0);
    }
  }
  return { FakeSocket, opened };
}

const pushedText = (index, text, type = "Agent") => ({
  messageType: "MessageLogUpdated", notificationType: "NewMessages",
  messages: [{ index, text, type: "Text", from: { type, nickname: "Ann", participantId: "ann" }, visibility: "All", timestampSeconds: 1389261492035 }],
});

test("pushed messages arrive once and in order, with no polling while the socket is up", async () => {
  const { FakeSocket, opened } = fakeSockets();
  const fetched = [{ index: 2, text: "two", type: "Text", chatterType: "User", chatterId: "ann", chatterName: "Ann" },
    { index: 3, text: "three", type: "Text", chatterType: "User", chatterId: "ann", chatterName: "Ann" }];
  let after = null;
  const { chat, api } = service({
    "POST /chats": () => started,
    "GET /chats/c1/messages": (path) => {
      after = Number(new URL(path, "http://x").searchParams.get("after"));
      const messages = fetched.filter((m) => m.index > after);
      return [200, { messages, lastIndex: Math.max(after, ...messages.map((m) => m.index)), chatStatus: "active", typing: [] }];
    },
  }, { socketUrl: "ws://api/socket", WebSocket: FakeSocket });
  const received = [];
  chat.on("messageReceived", (e) => received.push(...e.messages.map((m) => m.index)));
  const typing = [];
  chat.on("agentTypingStarted", () => typing.push("started"));
  fetched.length = 0; // nothing to catch up at first
  await chat.startChat({ nickname: "Jonny" });
  await until(() => chat.pushing);
  assert.match(opened[0].url, /^ws:\/\/api\/socket\?token=tok$/);
  assert.deepEqual(opened[0].sent.map((m) => m.channel), ["/meta/handshake", "/meta/subscribe"]);
  await new Promise((r) => setTimeout(r, 50));
  const polls = () => api.calls.filter((c) => c.path.startsWith("/chats/c1/messages")).length;
  const before = polls();
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(polls(), before, "no polling while pushed");
  opened[0].push(pushedText(1, "one"));
  opened[0].push(pushedText(1, "one")); // a second push of the same index is dropped
  assert.deepEqual(received, [1]);
  // A gap (2 and 3 missed): fetched by index, in order, once.
  fetched.push({ index: 2, text: "two", type: "Text", chatterType: "User", chatterId: "ann", chatterName: "Ann" },
    { index: 3, text: "three", type: "Text", chatterType: "User", chatterId: "ann", chatterName: "Ann" });
  opened[0].push(pushedText(3, "three"));
  await until(() => received.length === 3);
  assert.equal(after, 1);
  assert.deepEqual(received, [1, 2, 3]);
  opened[0].push({ messageType: "MessageLogUpdated", messages: [{ type: "TypingStarted", from: { type: "Agent" } }] });
  assert.deepEqual(typing, ["started"]);
  chat.clear();
});

test("a dropped socket falls back to polling, then is opened again", async () => {
  const { FakeSocket, opened } = fakeSockets();
  const { chat, api } = service({ "POST /chats": () => started, "GET /chats/c1/messages": () => quiet },
    { socketUrl: "ws://api/socket", WebSocket: FakeSocket });
  await chat.startChat({ nickname: "Jonny" });
  await until(() => chat.pushing);
  opened[0].close();
  await until(() => !chat.pushing);
  const polls = () => api.calls.filter((c) => c.path.startsWith("/chats/c1/messages")).length;
  const now = polls();
  await until(() => polls() >= now + 2); // polling again
  await until(() => opened.length === 2 && chat.pushing); // and pushed again
  chat.clear();
});

test("a socket that dropped silently is found by a heartbeat's missing reply, and replaced", async () => {
  const { FakeSocket, opened } = fakeSockets();
  const { chat } = service({ "POST /chats": () => started, "GET /chats/c1/messages": () => quiet },
    { socketUrl: "ws://api/socket", WebSocket: FakeSocket, heartbeatReplyMs: 30 });
  await chat.startChat({ nickname: "Jonny" });
  await until(() => chat.pushing);
  chat.socket.check(); // answered: the socket stays
  await new Promise((r) => setTimeout(r, 60));
  assert.ok(chat.pushing && opened.length === 1);
  assert.equal(opened[0].sent.filter((m) => m.channel === "/meta/connect").length, 1);
  opened[0].silent = true;
  chat.socket.check(); // unanswered: given up after 30 ms, polling covers, a new socket opens
  await until(() => !chat.pushing);
  await until(() => opened.length === 2 && chat.pushing);
  chat.clear();
});

test("restore delivers each message once, even one that arrives while it reads the transcript", async () => {
  const storage = memoryStorage();
  storage.setItem("livechat.session", JSON.stringify({ chatId: "c1", token: "tok", participantId: "v1", lastIndex: 0 }));
  const text = (index) => ({ index, type: "Text", text: `m${index}`, chatterType: "User" });
  const afters = [];
  const { chat } = service({
    // /session is read first: message 3 is not there yet; the transcript, read after, has it.
    "GET /session": () => [200, { sessionActive: true, chatId: "c1", participantId: "v1", lastIndex: 2 }],
    "GET /chats/c1/transcript": () => [200, { messages: [text(1), text(2), text(3)], nextCursor: null }],
    "GET /chats/c1/messages": (path) => {
      const after = Number(new URL(path, "http://x").searchParams.get("after"));
      afters.push(after);
      return [200, { messages: [text(3)].filter((m) => m.index > after), lastIndex: 3, chatStatus: "active", typing: [] }];
    },
  }, { storage, autoRestore: true });
  const delivered = [];
  chat.on("messageReceived", (e) => delivered.push(...e.messages.map((m) => m.index)));
  await new Promise((resolve) => chat.on("restored", resolve));
  await until(() => afters.length >= 2);
  chat.stopPoll();
  assert.deepEqual(delivered, [1, 2, 3], "message 3 once");
  assert.equal(afters[0], 3, "polls go on from the transcript's end");
});

test("fetchHistory pages back from the oldest message delivered, never again, and forgets it with the chat", async () => {
  const text = (index) => ({ index, type: "Text", text: `m${index}`, chatterType: "User" });
  const befores = [];
  const { chat } = service({
    "POST /chats": () => started,
    "GET /chats/c1/messages?after": () => [200, { messages: [text(5), text(6)], lastIndex: 6, chatStatus: "active", typing: [] }],
    "GET /chats/c1/messages?before": (path) => {
      const before = Number(new URL(path, "http://x").searchParams.get("before"));
      befores.push(before);
      // A server that answers generously: the client keeps only what is older.
      return [200, { messages: [3, 4, 5].filter((i) => i < before + 1).map(text) }];
    },
  });
  const delivered = [];
  chat.on("messageReceived", (e) => delivered.push(...e.messages.map((m) => m.index)));
  await chat.startChat({});
  await until(() => delivered.length === 2);
  chat.stopPoll();
  await chat.fetchHistory();
  assert.deepEqual(befores, [5]);
  assert.deepEqual(delivered, [5, 6, 3, 4], "5 is not delivered again");
  chat.clear();
  await chat.startChat({});
  chat.stopPoll();
  assert.equal(chat.historyBefore, null, "a new chat pages from its own messages");
});

test("polling stops after pollExceptionLimit failures in a row, and resetPollExceptions resumes it", async () => {
  let down = true;
  const { chat, api } = service({
    "POST /chats": () => started,
    "GET /chats/c1/messages": () => (down ? [503, { error: { code: "unavailable", message: "down" } }] : quiet),
  }, { pollExceptionLimit: 3 });
  const errors = [];
  chat.on("error", (e) => errors.push(e.message));
  await chat.startChat({});
  await until(() => errors.includes(Errors.pollLimit));
  const polls = () => api.calls.filter((c) => c.path.startsWith("/chats/c1/messages")).length;
  const stopped = polls();
  assert.equal(stopped, 3);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(polls(), stopped, "no more polls once the limit is reached");
  down = false;
  const reconnected = new Promise((resolve) => chat.on("reconnected", resolve));
  chat.resetPollExceptions();
  await reconnected;
  chat.stopPoll();
});

test("the seed's transport options are accepted as written", async () => {
  const transport = {
    type: "purecloud-v2-sockets", dataURL: "https://api.example/", deploymentKey: "k", orgGuid: "g",
    maxMessagePageSize: 2, interactionData: { routing: { targetType: "QUEUE", targetAddress: "support", priority: 2 } },
  };
  const text = (index) => ({ index, type: "Text", text: `m${index}`, chatterType: "User" });
  const routes = {
    "POST /chats": () => started,
    "GET /chats/c1/messages": () => quiet,
    "GET /session": () => [200, { sessionActive: true, chatId: "c1", participantId: "v1", lastIndex: 3 }],
    "GET /chats/c1/transcript": () => [200, { messages: [text(1), text(2), text(3)], nextCursor: null }],
  };
  const { chat, api } = service(routes, { transport });
  assert.equal(chat.baseUrl, "https://api.example");
  await chat.startChat({ nickname: "Jonny" });
  chat.stopPoll();
  assert.equal(api.calls.find((c) => c.path === "/chats").body.channelId, "support", "targetAddress is the channel");
  for (const [pagination, pages] of [[true, [2, 1]], [false, [3]]]) {
    const storage = memoryStorage();
    storage.setItem("livechat.session", JSON.stringify({ chatId: "c1", token: "tok", participantId: "v1", lastIndex: 0 }));
    const { chat: restored } = service(routes, { storage, autoRestore: true, transport: { ...transport, pagination } });
    const sizes = [];
    restored.on("messageReceived", (e) => sizes.push(e.messages.length));
    await new Promise((resolve) => restored.on("restored", resolve));
    restored.stopPoll();
    assert.deepEqual(sizes, pages, `pagination ${pagination}: maxMessagePageSize a delivery`);
  }
});

test("a page gone longer than restoreTimeout does not restore its chat", async () => {
  for (const [away, expected] of [[120_000, ["restoreTimeout", "restoreFailed"]], [1_000, ["restored"]]]) {
    const storage = memoryStorage();
    storage.setItem("livechat.session", JSON.stringify({ chatId: "c1", token: "tok", participantId: "v1", lastIndex: 0, seenAt: Date.now() - away }));
    const { chat, api } = service({
      "GET /session": () => [200, { sessionActive: true, chatId: "c1", participantId: "v1", lastIndex: 0 }],
      "GET /chats/c1/transcript": () => [200, { messages: [], nextCursor: null }],
      "GET /chats/c1/messages": () => quiet,
      "POST /chats/c1/leave": () => [200, {}],
    }, { storage, autoRestore: true });
    const seen = [];
    for (const e of ["restoreTimeout", "restoreFailed", "restored"]) chat.on(e, () => seen.push(e));
    await until(() => seen.length === expected.length);
    chat.clear();
    assert.deepEqual(seen, expected, `away ${away} ms`);
    // Timed out, the customer is gone: the chat is told, with the stored token.
    const left = api.calls.filter((c) => c.method === "POST" && c.path === "/chats/c1/leave");
    assert.equal(left.length, away > 60_000 ? 1 : 0, `away ${away} ms`);
  }
});

test("agents disconnect on removal and when the chat ends, then the client; typing both ways", async () => {
  let step = 0;
  const sys = (index, event, chatterId, subjects) =>
    ({ index, type: "System", event, chatterType: "User", chatterId, chatterName: chatterId, subjects });
  const pages = [
    { messages: [sys(1, "joined", "a1"), sys(2, "joined", "a2")], lastIndex: 2, chatStatus: "active", typing: [] },
    { messages: [sys(3, "removed", "a1", [{ chatterType: "User", chatterId: "a2" }])], lastIndex: 3, chatStatus: "active", typing: [] },
    { messages: [sys(4, "closed", "a1")], lastIndex: 4, chatStatus: "closed", typing: [] },
  ];
  const { chat } = service({
    "POST /chats": () => started,
    "POST /chats/c1/typing": () => [204],
    "GET /chats/c1/messages": () => [200, pages[Math.min(step++, 2)]],
  });
  const seen = [];
  for (const e of ["agentConnected", "agentDisconnected", "clientDisconnected", "ended", "clientTypingStarted", "Started"]) {
    chat.on(e, (d) => seen.push(e === "agentDisconnected" ? `${e}:${d.numAgentsConnected}` : e));
  }
  const ended = new Promise((resolve) => chat.on("ended", resolve));
  await chat.startChat({});
  await chat.sendTyping({ typing: true });
  await ended;
  assert.deepEqual(seen.filter((e) => e !== "clientTypingStarted"),
    ["Started", "agentConnected", "agentConnected", "agentDisconnected:1", "agentDisconnected:0", "clientDisconnected", "ended"]);
  assert.ok(seen.includes("clientTypingStarted"));
});

test("a chat handed back to the queue disconnects its agents, and the next one counts from zero", async () => {
  let step = 0;
  const sys = (index, event, chatterId) => ({ index, type: "System", event, chatterType: "User", chatterId, chatterName: chatterId });
  const pages = [
    { messages: [sys(1, "joined", "a1")], lastIndex: 1, chatStatus: "active", typing: [] },
    { messages: [sys(2, "requeued", "a1")], lastIndex: 2, chatStatus: "request", typing: [] },
    { messages: [sys(3, "joined", "a2"), sys(4, "inactive", "a2")], lastIndex: 4, chatStatus: "active", typing: [] },
  ];
  const { chat } = service({ "POST /chats": () => started, "GET /chats/c1/messages": () => [200, pages[Math.min(step++, 2)]] });
  const seen = [];
  for (const e of ["agentConnected", "agentDisconnected"]) chat.on(e, (d) => seen.push(`${e}:${d.numAgentsConnected}`));
  await chat.startChat({});
  await until(() => seen.length === 4);
  assert.deepEqual(seen, ["agentConnected:1", "agentDisconnected:0", "agentConnected:1", "agentDisconnected:0"]);
  chat.clear();
});

test("a pushed agent typing notice times out by itself", async () => {
  const { FakeSocket, opened } = fakeSockets();
  const { chat } = service({ "POST /chats": () => started, "GET /chats/c1/messages": () => quiet },
    { socketUrl: "ws://api/socket", WebSocket: FakeSocket, agentTypingTimeout: 20 });
  const seen = [];
  for (const e of ["agentTypingStarted", "agentTypingTimeout", "agentTypingStopped"]) chat.on(e, () => seen.push(e));
  await chat.startChat({});
  await until(() => chat.pushing);
  opened[0].push({ messageType: "MessageLogUpdated", messages: [{ type: "TypingStarted", from: { type: "Agent" } }] });
  await until(() => seen.length === 3);
  assert.deepEqual(seen, ["agentTypingStarted", "agentTypingTimeout", "agentTypingStopped"]);
  chat.clear();
});

test("every failed command emits error, as a failed poll does", async () => {
  const { chat } = service({
    "POST /chats/c1/messages": () => [409, { error: { code: "conflict", message: "the chat is closed" } }],
    "POST /chats/c1/notices": () => [0],
    "POST /chats": () => started,
    "GET /chats/c1/messages": () => quiet,
  });
  const errors = [];
  chat.on("error", (e) => errors.push(e.message));
  await chat.startChat({});
  chat.stopPoll();
  await assert.rejects(chat.sendMessage({ message: "hi" }), { message: "the chat is closed" });
  await assert.rejects(chat.sendCustomNotice({ message: "x" }), TypeError);
  assert.deepEqual(errors, ["the chat is closed", "Failed to fetch"]);
});

test("registerTypingPreviewInput sends the text typed so far, then stops when emptied", async () => {
  const typing = [];
  const { chat } = service({
    "POST /chats/c1/typing": (_, body) => { typing.push(body); return [204]; },
    "POST /chats": () => started,
    "GET /chats/c1/messages": () => quiet,
  });
  await assert.rejects(chat.registerTypingPreviewInput({ input: {} }), { message: Errors.badInput });
  const input = new EventTarget();
  input.value = "";
  await chat.registerTypingPreviewInput({ input, idleMs: 5000 }); // longer than the second it waits
  await chat.startChat({});
  chat.stopPoll();
  input.value = "my ord";
  input.dispatchEvent(new Event("input"));
  input.value = "my order"; // within the second: sent when it is up, the latest text
  input.dispatchEvent(new Event("input"));
  await until(() => typing.length === 2, 3000);
  input.value = "";
  input.dispatchEvent(new Event("input"));
  await until(() => typing.length === 3);
  assert.deepEqual(typing, [{ typing: true, text: "my ord" }, { typing: true, text: "my order" }, { typing: false }]);
  chat.clear();
});

test("sendFile announces, uploads with the signed headers, then posts each file; downloadFile hands out the link", async () => {
  const stored = [];
  const { chat, api } = service({
    "POST /chats/c1/files/f": (path) => [201, { message: { type: "File", text: "a.png", file: { fileId: path.split("/").pop() } } }],
    "POST /chats/c1/files": (_, body) =>
      body.size > 10
        ? [413, { error: { code: "payload_too_large", message: "The file size exceeds the limit (10 bytes at most)." } }]
        : [201, { file: { fileId: `f${stored.length + 1}`, ...body }, upload: { url: `https://bucket.example/f${stored.length + 1}?sig=1`, method: "PUT", headers: { "content-length": String(body.size), "content-type": body.type, host: "bucket.example" } } }],
    "GET /chats/c1/files/f1": () => [200, { file: { fileId: "f1", name: "a.png" }, download: { url: "https://bucket.example/f1?sig=2", method: "GET" } }],
    "POST /chats": () => started,
    "GET /chats/c1/messages": () => quiet,
  });
  // Storage is another host: its requests never reach the API.
  const apiFetch = chat.fetch;
  chat.fetch = async (url, init) => {
    if (!url.startsWith("https://bucket.example/")) return apiFetch(url, init);
    stored.push({ url, method: init.method, headers: init.headers, body: await init.body.text() });
    return { ok: true, status: 200, text: async () => "" };
  };
  await assert.rejects(chat.sendFile({ files: [] }), { message: Errors.noSession });
  await chat.startChat({});
  chat.stopPoll();
  await assert.rejects(chat.sendFile({}), { message: Errors.noFiles });

  // The seed's file input, holding two files.
  const input = { files: [new File(["PNG"], "a.png", { type: "image/png" }), new File(["hello"], "b.txt", { type: "text/plain" })] };
  const sent = await chat.sendFile({ files: input });
  assert.deepEqual(sent.messages.map((m) => m.file.fileId), ["f1", "f2"]);
  assert.deepEqual(stored.map((s) => [s.method, s.headers, s.body]), [
    ["PUT", { "content-type": "image/png" }, "PNG"],
    ["PUT", { "content-type": "text/plain" }, "hello"],
  ]);
  const posts = api.calls.filter((c) => c.method === "POST" && c.path.startsWith("/chats/c1/files"));
  assert.deepEqual(posts.map((c) => c.path), ["/chats/c1/files", "/chats/c1/files/f1", "/chats/c1/files", "/chats/c1/files/f2"]);
  assert.deepEqual(posts[0].body, { name: "a.png", size: 3, type: "image/png" });

  // Refused: the server's text, and `error` emitted; nothing uploaded.
  const errors = [];
  chat.on("error", (e) => errors.push(e.message));
  await assert.rejects(chat.sendFile({ files: new File(["x".repeat(11)], "big.png", { type: "image/png" }) }), { message: /exceeds the limit/ });
  assert.equal(stored.length, 2);
  assert.equal(errors.length, 1);

  await assert.rejects(chat.downloadFile({}), { message: Errors.noFileId });
  const link = await chat.downloadFile({ fileId: "f1", fileName: "a.png" });
  assert.equal(link.download.url, "https://bucket.example/f1?sig=2");
  chat.clear();
});

test("poll resolves with a session, and rejects without one or while a poll runs, as the seed says", async () => {
  let release = null;
  const slow = () => new Promise((resolve) => { release = () => { release = null; resolve(quiet); }; });
  const { chat } = service({ "POST /chats": () => started, "GET /chats/c1/messages": slow });
  await assert.rejects(chat.poll(), { message: Errors.noSession });
  await chat.startChat({ nickname: "Jonny" });
  await until(() => release);
  chat.stopPoll();
  // The service's own poll is running: the command is refused meanwhile.
  await assert.rejects(chat.poll(), { message: Errors.pollRunning });
  release();
  await until(() => !chat.polling);
  const asked = chat.poll();
  await until(() => release);
  release();
  await asked;
  chat.stopPoll();
});

test("markRead sends one coalesced mark at a time and never one behind; agents' marks emit messagesRead", async () => {
  let release;
  const marks = [];
  const { chat, api } = service({
    "POST /chats/c1/read": async (_, body) => {
      marks.push(body.index);
      await new Promise((r) => (release = r));
      return [200, { lastReadIndex: body.index }];
    },
    "POST /chats": () => started,
    "GET /chats/c1/messages": () => [200, {
      messages: [], lastIndex: 0, chatStatus: "active", typing: [],
      readMarks: [{ chatterType: "User", chatterId: "ann", chatterName: "Ann", lastReadIndex: 4 },
        { chatterType: "Customer", chatterId: "v1", chatterName: "Vic", lastReadIndex: 9 }],
    }],
  });
  const read = [];
  chat.on("messagesRead", (e) => read.push([e.lastReadIndex, e.by.nickname]));
  await chat.startChat({});
  chat.stopPoll();
  const first = chat.markRead({ index: 3 });
  await until(() => marks.length === 1);
  chat.markRead({ index: 5 });
  chat.markRead({ index: 7 });
  release();
  await until(() => marks.length === 2);
  release();
  await first;
  assert.deepEqual(marks, [3, 7], "the marks asked for meanwhile went as one, the furthest");
  await chat.markRead({ index: 6 });
  assert.deepEqual(marks, [3, 7], "none behind what was sent");
  await chat.poll();
  chat.onPush({ messageType: "MessageLogUpdated", messages: [
    { type: "MessagesRead", lastReadIndex: 4, from: { type: "Agent", nickname: "Ann" } },
    { type: "MessagesRead", lastReadIndex: 6, from: { type: "Agent", nickname: "Ann" } },
    { type: "MessagesRead", lastReadIndex: 8, from: { type: "Customer", nickname: "Vic" } },
  ] });
  assert.deepEqual(read, [[4, "Ann"], [6, "Ann"]], "agents' marks only, each once, moving forward");
  assert.equal(api.calls.filter((c) => c.path === "/chats/c1/read").length, 2);
  chat.clear();
});

test("the queue position comes with each poll and each push, once per change, and clears when taken", async () => {
  const pages = [
    { queuePosition: 3, estimatedWaitSeconds: null },
    { queuePosition: 3, estimatedWaitSeconds: null },
    { queuePosition: null, estimatedWaitSeconds: null },
  ];
  let n = 0;
  const { chat, api } = service({
    "POST /chats": () => started,
    "GET /chats/c1/messages": () => [200, { messages: [], lastIndex: 0, chatStatus: "request", typing: [], readMarks: [], ...pages[Math.min(n++, 2)] }],
  }, { placeEveryMs: 0 });
  const places = [];
  chat.on("queuePosition", (e) => places.push([e.queuePosition, e.estimatedWaitSeconds]));
  await chat.startChat({});
  chat.stopPoll();
  await until(() => !chat.polling);
  n = 0;
  await chat.poll();
  chat.onPush({ messageType: "QueuePositionUpdated", queuePosition: 2, estimatedWaitSeconds: 40 });
  chat.onPush({ messageType: "QueuePositionUpdated", queuePosition: 2, estimatedWaitSeconds: 40 });
  n = 2;
  await chat.poll();
  assert.deepEqual(places, [[3, null], [2, 40], [null, null]]);
  assert.ok(api.calls.filter((c) => c.method === "GET").every((c) => c.path.includes("&place=1")), "asked while no agent joined");
  chat.clear();
});

test("editMessage and deleteMessage change the customer's own message; pushed changes emit messageUpdated", async () => {
  const { chat, api } = service({
    "PATCH /chats/c1/messages/c1-2": (_, body) => [200, { message: { index: 2, text: body.text, edited: true } }],
    "DELETE /chats/c1/messages/c1-2": () => [204],
    "POST /chats": () => started,
    "GET /chats/c1/messages": () => quiet,
  });
  const updates = [];
  chat.on("messageUpdated", (e) => updates.push([e.index, e.text, e.deleted]));
  await chat.startChat({});
  chat.stopPoll();
  assert.equal((await chat.editMessage({ messageId: "c1-2", text: "fixed" })).text, "fixed");
  await chat.deleteMessage({ messageId: "c1-2" });
  assert.deepEqual(api.calls.filter((c) => c.path.startsWith("/chats/c1/messages/c1-2")).map((c) => c.method), ["PATCH", "DELETE"]);
  chat.onPush({ messageType: "MessageLogUpdated", messages: [
    { type: "MessageEdited", messageIndex: 2, text: "fixed" },
    { type: "MessageDeleted", messageIndex: 2 },
  ] });
  assert.deepEqual(updates, [[2, "fixed", false], [2, "", true]]);
  chat.clear();
});

test("a polling client learns of an edit or deletion by the poll's revision, and emits each changed message", async () => {
  let revision = 0;
  const transcript = [{ index: 1, type: "Text", text: "hello" }, { index: 2, type: "Text", text: "fixed", edited: true }, { index: 3, type: "Text", text: "", deleted: true }];
  const { chat, api } = service({
    "POST /chats": () => started,
    "GET /chats/c1/messages": () => [200, { ...quiet[1], messages: [], lastIndex: 3, revision }],
    "GET /chats/c1/transcript": () => [200, { messages: transcript, nextCursor: null }],
  });
  const updates = [];
  chat.on("messageUpdated", (e) => updates.push([e.index, e.text, e.edited, e.deleted]));
  await chat.startChat({});
  await until(() => api.calls.filter((c) => c.path.startsWith("/chats/c1/messages")).length >= 2);
  assert.equal(api.calls.filter((c) => c.path.startsWith("/chats/c1/transcript")).length, 0, "nothing changed yet");
  revision = 2;
  await until(() => updates.length === 2);
  assert.deepEqual(updates, [[2, "fixed", true, false], [3, "", false, true]]);
  const reads = api.calls.filter((c) => c.path.startsWith("/chats/c1/transcript")).length;
  await until(() => api.calls.filter((c) => c.path.startsWith("/chats/c1/messages")).length >= 6);
  assert.equal(api.calls.filter((c) => c.path.startsWith("/chats/c1/transcript")).length, reads, "read once per change");
  chat.clear();
});

test("queueOutlook reads the channel's queue before a chat starts", async () => {
  const outlook = { channelId: "sales", waiting: 2, estimatedWaitSeconds: 90 };
  const { chat, api } = service({ "GET /channels/sales/queue": async () => [200, outlook] }, { channelId: "sales" });
  assert.deepEqual(await chat.queueOutlook(), outlook);
  assert.deepEqual(api.calls.map((c) => `${c.method} ${c.path}`), ["GET /channels/sales/queue"]);
});

test("exportCustomer joins an export's pages, a chat continued over a page into one", async () => {
  const part = (chatId, indexes, continued = false) => ({
    chat: { chatId }, continued, messages: indexes.map((index) => ({ index })), files: [], flags: [],
  });
  const pages = {
    "/customers/jo%20doe/export": { customerId: "jo doe", chats: [part("a", [1, 2]), part("b", [1])], offlineMessages: [{ text: "hi" }], next: "1:1" },
    "/customers/jo%20doe/export?cursor=1%3A1": { chats: [part("b", [2, 3], true)], offlineMessages: [], next: "2" },
    "/customers/jo%20doe/export?cursor=2": { chats: [part("c", [])], offlineMessages: [], next: null },
  };
  const asked = [];
  const whole = await exportCustomer(async (method, path) => { asked.push(`${method} ${path}`); return structuredClone(pages[path]); }, "jo doe");
  assert.deepEqual(asked, Object.keys(pages).map((p) => `GET ${p}`));
  assert.deepEqual(whole.chats.map((c) => [c.chat.chatId, c.messages.map((m) => m.index)]), [["a", [1, 2]], ["b", [1, 2, 3]], ["c", []]]);
  assert.equal("next" in whole || whole.chats.some((c) => "continued" in c), false);
  assert.deepEqual(whole.offlineMessages, [{ text: "hi" }]);
});
