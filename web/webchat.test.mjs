// Unit tests of the widget client's own logic, with an in-memory fetch and storage.
// Run: node --test web/
import { test } from "node:test";
import assert from "node:assert/strict";
import { WebChatService, Errors } from "./webchat.js";

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
  assert.deepEqual(afters, ["0", "1", "2"], "each poll asks only for what is new");
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
