// Seed 001, Genesys WebChatService: each check uses the widget client (web/webchat.js) as
// a site's code does, in Node against the API (its fetch; its WebSocket from npm's ws),
// with the agent's side over HTTP. Not in Chromium yet: the browser test covers the page.
import { expect } from "./context.mjs";
import { WebChatService } from "../../web/webchat.js";

function memoryStorage() {
  const items = new Map();
  return { getItem: (k) => items.get(k) ?? null, setItem: (k, v) => items.set(k, String(v)), removeItem: (k) => items.delete(k) };
}

/// A widget in a channel of its own, configured as the seed configures it.
function widget(ctx, extra = {}) {
  const channel = ctx.unique("ch");
  const chat = new WebChatService({
    transport: { dataURL: ctx.api, interactionData: { routing: { targetAddress: channel } } },
    storage: memoryStorage(), autoRestore: false, pollInterval: 200, ...extra,
  });
  return { chat, channel };
}

/// Waits for `event` from the widget (15 s at most).
const next = (chat, event, test = () => true) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`no ${event} in 15 s`)), 15000);
  const handler = (data) => { if (test(data)) { clearTimeout(timer); chat.off(event, handler); resolve(data); } };
  chat.on(event, handler);
});

/// A widget's chat, accepted by an agent: { chat, chatId, agent, agentId }.
async function accepted(ctx, extra) {
  const { chat, channel } = widget(ctx, extra);
  const started = await chat.startChat({ nickname: "Jonny", email: "j@example.com", subject: "Order" });
  const agentId = ctx.unique("ann");
  const agent = ctx.agent(agentId);
  await ctx.ok("PATCH", `/chats/${started.chat.chatId}`, { token: agent, body: { status: "active" } });
  return { chat, channel, chatId: started.chat.chatId, agent, agentId };
}

const agentSays = (ctx, w, text) => ctx.ok("POST", `/chats/${w.chatId}/messages`, { token: w.agent, body: { text } }, 201);
const texts = (data) => (data?.messages ?? []).map((m) => m.text);

export default [
  {
    id: "001 configure",
    run: async (ctx) => {
      const { chat, channel } = widget(ctx);
      expect(chat.baseUrl === ctx.api && chat.channelId === channel, "transport.dataURL and routing.targetAddress");
      const started = await chat.startChat({ nickname: "Jonny" });
      expect(started.chat.channelId === channel, "the chat is in the configured channel");
      chat.clear();
    },
  },
  {
    id: "001 startChat",
    run: async (ctx) => {
      const { chat } = widget(ctx);
      const started = next(chat, "started");
      const answer = await chat.startChat({ nickname: "Jonny", firstname: "Jon", lastname: "Doe", email: "j@example.com", subject: "Order", userData: { plan: "pro" } });
      await started;
      const agent = ctx.agent(ctx.unique("ann"));
      const { chat: seen } = await ctx.ok("GET", `/chats/${answer.chat.chatId}`, { token: agent });
      expect(seen.status === "request" && seen.nickname === "Jonny", "a request under the nickname");
      await chat.startChat({ nickname: "Again" }).then(() => { throw new Error("a second startChat resolved"); }, () => {});
      chat.clear();
    },
  },
  {
    id: "001 endChat",
    run: async (ctx) => {
      const w = await accepted(ctx);
      const ended = next(w.chat, "ended");
      await w.chat.endChat();
      await ended;
      const { chat } = await ctx.ok("GET", `/chats/${w.chatId}`, { token: w.agent });
      expect(chat.customerPresent === false, "the customer left");
    },
  },
  {
    id: "001 sendMessage",
    run: async (ctx) => {
      const w = await accepted(ctx);
      await w.chat.sendMessage({ message: "where is my order?" });
      const log = await ctx.ok("GET", `/chats/${w.chatId}/messages`, { token: w.agent });
      expect(texts(log).includes("where is my order?"), "the agent reads it");
      await w.chat.sendMessage({ message: "  " }).then(() => { throw new Error("an empty message resolved"); }, () => {});
      w.chat.clear();
    },
  },
  {
    id: "001 sendCustomNotice",
    run: async (ctx) => {
      const w = await accepted(ctx);
      await w.chat.sendCustomNotice({ message: "page: /checkout" });
      const log = await ctx.ok("GET", `/chats/${w.chatId}/messages`, { token: w.agent });
      // The seed names no type: it is delivered to the agent's desktop, as a Notice.
      expect(log.messages.some((m) => m.type === "Notice" && m.text === "page: /checkout"), `a notice: ${JSON.stringify(log.messages.map((m) => m.type))}`);
      w.chat.clear();
    },
  },
  {
    id: "001 sendTyping",
    run: async (ctx) => {
      const w = await accepted(ctx);
      await w.chat.sendTyping({ typing: true, text: "where" });
      const page = await ctx.ok("GET", `/chats/${w.chatId}/messages`, { token: w.agent });
      expect((page.typing ?? []).some((t) => t.text === "where"), `the agent sees the preview: ${JSON.stringify(page.typing)}`);
      w.chat.clear();
    },
  },
  {
    id: "001 sendFilteredMessage",
    run: async (ctx) => {
      const w = await accepted(ctx);
      await w.chat.sendFilteredMessage({ message: "my code is 1234", regex: /\d{4}/ });
      const agentView = await ctx.ok("GET", `/chats/${w.chatId}/messages`, { token: w.agent });
      expect(texts(agentView).includes("my code is 1234"), "agents see it");
      const own = await ctx.ok("GET", `/chats/${w.chatId}/messages`, { token: w.chat.session.token });
      expect(!texts(own).includes("my code is 1234"), "hidden from the customer");
      w.chat.clear();
    },
  },
  {
    id: "001 updateUserData",
    run: async (ctx) => {
      const w = await accepted(ctx);
      await w.chat.updateUserData({ orderId: "A-7" });
      const { chat } = await ctx.ok("GET", `/chats/${w.chatId}`, { token: w.agent });
      expect(chat.userData?.orderId === "A-7", `userData: ${JSON.stringify(chat.userData)}`);
      w.chat.clear();
    },
  },
  {
    id: "001 poll",
    run: async (ctx) => {
      const w = await accepted(ctx);
      w.chat.stopPoll();
      const got = next(w.chat, "messageReceived", (d) => texts(d).includes("polled"));
      await agentSays(ctx, w, "polled");
      await w.chat.poll();
      await got;
      const idle = widget(ctx).chat;
      await idle.poll().then(() => { throw new Error("poll without a session resolved"); }, () => {});
      w.chat.clear();
    },
  },
  {
    id: "001 startPoll",
    run: async (ctx) => {
      const w = await accepted(ctx);
      w.chat.stopPoll();
      w.chat.startPoll();
      const got = next(w.chat, "messageReceived", (d) => texts(d).includes("hello"));
      await agentSays(ctx, w, "hello");
      await got;
      w.chat.clear();
    },
  },
  {
    id: "001 stopPoll",
    run: async (ctx) => {
      const w = await accepted(ctx);
      w.chat.stopPoll();
      // A poll already on the wire may still answer; none may follow it.
      for (let i = 0; w.chat.polling && i < 300; i++) await new Promise((r) => setTimeout(r, 50));
      let seen = false;
      w.chat.on("messageReceived", (d) => { if (texts(d).includes("unseen")) seen = true; });
      await agentSays(ctx, w, "unseen");
      await new Promise((r) => setTimeout(r, 800)); // four poll intervals: none may run
      expect(!seen, "no poll ran");
      w.chat.clear();
    },
  },
  {
    id: "001 getTranscript",
    run: async (ctx) => {
      const w = await accepted(ctx);
      await w.chat.sendMessage({ message: "one" });
      await agentSays(ctx, w, "two");
      const { messages } = await w.chat.getTranscript();
      const order = messages.map((m) => m.text).filter((t) => t === "one" || t === "two");
      expect(JSON.stringify(order) === '["one","two"]', `the transcript in order: ${order}`);
      w.chat.clear();
    },
  },
  {
    id: "001 getAgents",
    run: async (ctx) => {
      const w = await accepted(ctx);
      const agents = await w.chat.getAgents();
      expect(Array.isArray(agents) && agents.length === 1, `one agent: ${JSON.stringify(agents)}`);
      w.chat.clear();
    },
  },
  {
    id: "001 getStats",
    run: async (ctx) => {
      const w = await accepted(ctx);
      const stats = await w.chat.getStats();
      expect(stats && typeof stats === "object", "stats");
      w.chat.clear();
    },
  },
  {
    id: "001 getSessionData",
    run: async (ctx) => {
      const w = await accepted(ctx);
      const data = await w.chat.getSessionData();
      expect(data.sessionId === w.chatId && data.participantId && data.token, `session data: ${JSON.stringify(Object.keys(data))}`);
      w.chat.clear();
    },
  },
  {
    id: "001 verifySession",
    run: async (ctx) => {
      const w = await accepted(ctx);
      expect((await w.chat.verifySession()).sessionActive === true, "active while chatting");
      await w.chat.endChat();
      expect((await w.chat.verifySession()).sessionActive === false, "inactive after ending");
    },
  },
  {
    id: "001 restore",
    run: async (ctx) => {
      const storage = memoryStorage();
      const w = await accepted(ctx, { storage });
      await w.chat.sendMessage({ message: "before the reload" });
      w.chat.stopPoll();
      // The page reloads: a new widget on the same storage takes the chat back.
      const again = new WebChatService({ baseUrl: ctx.api, channelId: w.channel, storage, autoRestore: false, pollInterval: 200 });
      const delivered = [];
      again.on("messageReceived", (d) => delivered.push(...texts(d)));
      await again.restore();
      expect(delivered.filter((t) => t === "before the reload").length === 1, `restored once: ${delivered}`);
      again.clear();
    },
  },
  {
    id: "001 fetchHistory",
    run: async (ctx) => {
      const storage = memoryStorage();
      const w = await accepted(ctx, { storage });
      for (const t of ["h1", "h2", "h3"]) await agentSays(ctx, w, t);
      w.chat.stopPoll();
      const again = new WebChatService({ baseUrl: ctx.api, channelId: w.channel, storage, autoRestore: false, pageSize: 2, pollInterval: 200 });
      await again.restore();
      const older = await again.fetchHistory().catch((e) => ({ messages: [], error: e.message }));
      expect(Array.isArray(older.messages), `fetchHistory pages back: ${JSON.stringify(older).slice(0, 200)}`);
      again.clear();
    },
  },
  {
    id: "001 addPrefilter",
    run: async (ctx) => {
      const w = await accepted(ctx);
      const filters = await w.chat.addPrefilter({ filters: /secret/ });
      expect(filters.length === 1, "the registered prefilters");
      const shown = [];
      w.chat.on("messageReceived", (d) => shown.push(...texts(d)));
      await agentSays(ctx, w, "the secret word");
      await agentSays(ctx, w, "plain words");
      await new Promise((resolve, reject) => {
        const t0 = Date.now();
        const look = () => (shown.includes("plain words") ? resolve() : Date.now() - t0 > 15000 ? reject(new Error("nothing shown")) : setTimeout(look, 50));
        look();
      });
      expect(!shown.includes("the secret word"), "a prefiltered message is not shown");
      await w.chat.addPrefilter({ filters: "not a RegExp" }).then(() => { throw new Error("a string filter resolved"); }, () => {});
      w.chat.clear();
    },
  },
  {
    id: "001 resetPollExceptions",
    run: async (ctx) => {
      const w = await accepted(ctx);
      await w.chat.resetPollExceptions(); // resolved: always
      const got = next(w.chat, "messageReceived", (d) => texts(d).includes("still polled"));
      await agentSays(ctx, w, "still polled");
      await got;
      w.chat.clear();
    },
  },
  {
    id: "001 registerPreProcessor",
    run: async (ctx) => {
      const w = await accepted(ctx);
      await w.chat.registerPreProcessor({ preprocessor: (message) => { message.text = `${message.text} some preprocessing text`; return message; } });
      const got = next(w.chat, "messageReceived", (d) => texts(d).includes("hi some preprocessing text"));
      await agentSays(ctx, w, "hi");
      await got;
      await w.chat.registerPreProcessor({ preprocessor: "no" }).then(() => { throw new Error("a non-function resolved"); }, () => {});
      w.chat.clear();
    },
  },
  {
    id: "001 sendFile",
    run: async (ctx) => {
      const w = await accepted(ctx);
      const file = new File(["invoice 42"], "invoice.txt", { type: "text/plain" });
      const sent = await w.chat.sendFile({ files: [file] });
      expect(sent.messages.length === 1, "one File message");
      const log = await ctx.ok("GET", `/chats/${w.chatId}/messages`, { token: w.agent });
      const posted = log.messages.find((m) => m.type === "File" || m.file);
      expect(posted, `the agent sees the file: ${JSON.stringify(log.messages.map((m) => m.type))}`);
      w.chat.clear();
    },
  },
  {
    id: "001 downloadFile",
    run: async (ctx) => {
      const w = await accepted(ctx);
      const file = new File(["invoice 42"], "invoice.txt", { type: "text/plain" });
      const sent = await w.chat.sendFile({ files: [file] });
      const fileId = sent.messages[0].file?.fileId;
      expect(fileId, `the File message names its file: ${JSON.stringify(sent.messages[0])}`);
      const answer = await w.chat.downloadFile({ fileId, fileName: "invoice.txt" });
      const body = await (await fetch(answer.download.url)).text();
      expect(body === "invoice 42", `the file's content: ${body.slice(0, 80)}`);
      w.chat.clear();
    },
  },
  {
    // The events a widget listens for, over a chat's life: started, an agent connects, a
    // message, its typing, the chat handed back to the queue (the agent disconnects),
    // another agent, then the customer ends it.
    id: "001 Started, started, restored, restoreFailed, restoreTimeout, messageReceived, agentConnected, agentDisconnected, agentTypingStarted, agentTypingStopped, agentTypingTimeout, clientConnected, clientDisconnected, clientTypingStarted, clientTypingStopped, ended, error, disconnected, reconnected, ready",
    run: async (ctx) => {
      const { chat } = widget(ctx);
      const seen = [];
      const names = ["ready", "Started", "started", "clientConnected", "agentConnected", "agentDisconnected", "messageReceived", "agentTypingStarted", "clientTypingStarted", "clientDisconnected", "ended"];
      for (const name of names) chat.on(name, (d) => seen.push({ name, d }));
      const until = async (test, what) => {
        for (let i = 0; i < 300; i++) {
          const found = seen.find(test);
          if (found) return found;
          await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error(`no ${what}: ${seen.map((e) => e.name)}`);
      };
      await until((e) => e.name === "ready", "ready");
      const started = await chat.startChat({ nickname: "Jonny" });
      const chatId = started.chat.chatId;
      for (const name of ["Started", "started", "clientConnected"]) await until((e) => e.name === name, name);
      const [annId, bobId] = [ctx.unique("ann"), ctx.unique("bob")];
      const ann = ctx.agent(annId);
      await ctx.ok("PATCH", `/chats/${chatId}`, { token: ann, body: { status: "active" } });
      await until((e) => e.name === "agentConnected" && e.d.numAgentsConnected === 1, "agentConnected with 1");
      await ctx.ok("POST", `/chats/${chatId}/typing`, { token: ann, body: { typing: true } }, 204);
      await until((e) => e.name === "agentTypingStarted", "agentTypingStarted");
      await ctx.ok("POST", `/chats/${chatId}/messages`, { token: ann, body: { text: "hello" } }, 201);
      await until((e) => e.name === "messageReceived" && e.d.messages.some((m) => m.text === "hello"), "messageReceived");
      await chat.sendTyping({ typing: true });
      await until((e) => e.name === "clientTypingStarted", "clientTypingStarted");
      await ctx.ok("PATCH", `/chats/${chatId}`, { token: ann, body: { status: "request" } });
      await until((e) => e.name === "agentDisconnected" && e.d.numAgentsConnected === 0, "agentDisconnected on the requeue");
      await ctx.ok("PATCH", `/chats/${chatId}`, { token: ctx.agent(bobId), body: { status: "active" } });
      const connected = seen.filter((e) => e.name === "agentConnected");
      await until(() => seen.filter((e) => e.name === "agentConnected").length === connected.length + 1, "Bob's agentConnected");
      const bob = seen.filter((e) => e.name === "agentConnected").at(-1);
      expect(bob.d.numAgentsConnected === 1, `one agent connected after the hand-over, not ${bob.d.numAgentsConnected}`);
      await chat.endChat();
      const order = seen.map((e) => e.name).filter((n) => n === "clientDisconnected" || n === "ended");
      expect(JSON.stringify(order) === '["clientDisconnected","ended"]', `clientDisconnected, then ended: ${order}`);
    },
  },
  {
    // An input (Node's EventTarget with a value, standing in for the page's <input>): what
    // is typed reaches the agent as the preview, and emptying it stops the typing.
    id: "001 registerTypingPreviewInput",
    run: async (ctx) => {
      const w = await accepted(ctx);
      const input = Object.assign(new EventTarget(), { value: "" });
      await w.chat.registerTypingPreviewInput({ input });
      input.value = "my order";
      input.dispatchEvent(new Event("input"));
      const preview = async (want) => {
        for (let i = 0; i < 150; i++) {
          const page = await ctx.ok("GET", `/chats/${w.chatId}/messages`, { token: w.agent });
          if (want(page.typing ?? [])) return;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error("the agent never saw the expected typing");
      };
      await preview((typing) => typing.some((t) => t.text === "my order"));
      input.value = "";
      input.dispatchEvent(new Event("input"));
      await preview((typing) => !typing.some((t) => t.chatterType !== "User"));
      w.chat.clear();
    },
  },
];
