// A WebChatService for this backend: the commands, events and resolutions of Genesys'
// WebChatService (docs: ../shared/seeds/001), over the HTTP API. No dependencies.
//
//   import { WebChatService } from "/web/webchat.js";
//   const chat = new WebChatService({ baseUrl: "", channelId: "sales" });
//   chat.on("messageReceived", (e) => render(e.messages));
//   await chat.startChat({ nickname: "Jonny", subject: "product questions" });
//   await chat.sendMessage({ message: "hi" });
//
// With `socketUrl` (the stack's SocketUrl, e.g. wss://<api>.execute-api.<region>.amazonaws.com/live),
// the chat is pushed over the WebSocket API (Bayeux on /v2/me/chats) and polling stops while
// the socket is up; when it cannot open or drops, polling takes over (with its backoff) and
// recovers the gap by index, and the socket is tried again.

import { BayeuxSocket } from "./bayeux.js";
import { extensions } from "./extensions.js";
import { element, exportCustomer, putFile, saveLink, sendFiles } from "./files.js";
import { Errors, EVENTS, fromPush } from "./seed.js";

// The console and other pages import these from here too.
export { BayeuxSocket, Errors, EVENTS, exportCustomer, putFile, saveLink, sendFiles };

const STORAGE_KEY = "livechat.session";

/// How often an open chat notes that its page is still there (restoreTimeout's clock).
const SEEN_EVERY_MS = 10000;

/// Each post carries one, so a retried request never posts twice (the server answers the first).
const newClientMessageId = () => globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random()}`;

const isPlainObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/// The seed's configuration, as written (`transport.dataURL`, `transport.maxMessagePageSize`,
/// `transport.pagination`, `transport.interactionData.routing.targetAddress`), mapped onto
/// this client's short names; the short names win when both are given. `transport.type`,
/// `deploymentKey`, `orgGuid` and the routing's `priority`, `skills` and `language` are
/// accepted and not used (docs/compatibility.md says why).
function seedOptions(options = {}) {
  const transport = options.transport ?? {};
  const routing = transport.interactionData?.routing ?? {};
  const seed = {};
  if (transport.dataURL !== undefined) seed.baseUrl = transport.dataURL;
  if (routing.targetAddress !== undefined) seed.channelId = routing.targetAddress;
  if (transport.maxMessagePageSize !== undefined) seed.pageSize = transport.maxMessagePageSize;
  if (transport.pagination !== undefined) seed.pagination = transport.pagination;
  return { ...seed, ...options };
}

export class WebChatService {
  constructor(options = {}) {
    const {
      baseUrl = "",
      channelId = "default",
      fetch: fetchImpl = globalThis.fetch?.bind(globalThis),
      storage = globalThis.sessionStorage,
      pollInterval = 1000,
      maxPollInterval = 15000,
      pollExceptionLimit = 5,
      pageSize = 100,
      pagination = true,
      userData = {},
      autoRestore = true,
      socketUrl = null,
      WebSocket: WebSocketImpl = globalThis.WebSocket,
      agentTypingTimeout = 10000,
      restoreTimeout = 60000,
      heartbeatReplyMs = 10000,
      placeEveryMs = 10000,
    } = seedOptions(options);
    // The options, as given (or defaulted) ...
    Object.assign(this, {
      restoreTimeout, pagination, socketUrl, WebSocket: WebSocketImpl, agentTypingTimeout, channelId, storage,
      heartbeatReplyMs, pollInterval, maxPollInterval, pollExceptionLimit, pageSize, placeEveryMs,
    });
    this.baseUrl = baseUrl.replace(/\/$/, "");
    this.fetch = fetchImpl;
    this.userData = { ...userData };
    // ... and the state: a session, its polling, its socket, its agents.
    Object.assign(this, {
      handlers: new Map(), preprocessors: [], prefilters: [], session: null, timer: null, polling: false,
      pollExceptions: 0, disconnected: false, restoring: false, agents: new Map(), typing: false,
      historyBefore: null, socket: null, pushing: false, readSent: 0, readWanted: 0, readInFlight: null, agentsRead: 0,
      place: null, placeAsked: 0,
    });
    queueMicrotask(async () => {
      this.emit("ready");
      if (autoRestore && this.load()) {
        try { await this.restore(); } catch { /* restoreFailed was emitted */ }
      }
    });
  }

  // Events ---------------------------------------------------------------------------

  on(event, handler) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event).add(handler);
    return () => this.off(event, handler);
  }

  off(event, handler) {
    this.handlers.get(event)?.delete(handler);
  }

  emit(event, data) {
    for (const handler of this.handlers.get(event) ?? []) {
      try { handler(data); } catch (e) { console.error(e); }
    }
  }

  // Session storage: a reload finds its chat again -------------------------------------

  load() {
    try {
      const raw = this.storage?.getItem(STORAGE_KEY);
      this.session = raw ? JSON.parse(raw) : null;
      if (this.session?.filters) this.prefilters = this.session.filters.map((f) => new RegExp(f.source, f.flags));
    } catch {
      this.session = null;
    }
    return this.session;
  }

  save() {
    if (!this.session) return this.storage?.removeItem(STORAGE_KEY);
    const filters = this.prefilters.map((r) => ({ source: r.source, flags: r.flags }));
    this.storage?.setItem(STORAGE_KEY, JSON.stringify({ ...this.session, filters }));
  }

  clear() {
    this.stopTimer();
    this.closeSocket();
    clearInterval(this.seenTimer);
    this.seenTimer = null;
    this.historyBefore = null;
    this.firstIndex = null;
    this.readSent = 0;
    this.readWanted = 0;
    this.agentsRead = 0;
    this.place = null;
    this.placeAsked = 0;
    this.session = null;
    this.agents.clear();
    this.save();
  }

  // HTTP -----------------------------------------------------------------------------

  /// Every call to the API; a failure (an answer that is not 2xx, or none) is emitted as
  /// `error` (the seed: "an error occurred between the client and the server") and thrown.
  async request(method, path, body) {
    const headers = { "content-type": "application/json" };
    if (this.session?.token) headers.authorization = `Bearer ${this.session.token}`;
    try {
      const response = await this.fetch(this.baseUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await response.text();
      const data = text ? JSON.parse(text) : null;
      if (!response.ok) {
        const error = new Error(data?.error?.message ?? `HTTP ${response.status}`);
        error.status = response.status;
        error.response = data;
        throw error;
      }
      return data;
    } catch (e) {
      this.emit("error", e);
      throw e;
    }
  }

  requireSession(message = Errors.noSession) {
    if (!this.session) throw new Error(message);
    return this.session;
  }

  // Commands -------------------------------------------------------------------------

  async startChat({ nickname, firstname, lastname, email, subject, userData } = {}) {
    if (this.session) throw new Error(Errors.alreadyActive);
    if (userData !== undefined && !isPlainObject(userData)) throw new Error(Errors.malformedUserData);
    const body = { channelId: this.channelId, nickname, firstname, lastname, email, subject, userData: { ...this.userData, ...(userData ?? {}) } };
    const started = await this.request("POST", "/chats", body);
    this.session = { chatId: started.chat.chatId, token: started.token, participantId: started.chat.requesterId, lastIndex: 0 };
    this.save();
    this.emit("started", started);
    this.emit("Started", started);
    this.emit("clientConnected", { message: null, agents: [], numAgentsConnected: 0 });
    this.keepSeen();
    this.startPoll();
    this.openSocket();
    return started;
  }

  async endChat() {
    const { chatId } = this.requireSession();
    let answer = null;
    try {
      answer = await this.request("POST", `/chats/${chatId}/leave`);
    } catch (e) {
      if (e.status !== 409 && e.status !== 403) throw e; // already ended
    }
    this.finish();
    return answer;
  }

  async sendMessage(options) {
    const message = typeof options === "string" ? options : options?.message;
    if (!message || !String(message).trim()) throw new Error(Errors.noText);
    const { chatId } = this.requireSession();
    return this.request("POST", `/chats/${chatId}/messages`, { text: message, clientMessageId: newClientMessageId() });
  }

  async sendCustomNotice({ message } = {}) {
    const { chatId } = this.requireSession();
    return this.request("POST", `/chats/${chatId}/notices`, { message: message ?? "", clientMessageId: newClientMessageId() });
  }

  /// `text`: what is typed so far, a preview the agent sees (never another customer).
  async sendTyping({ typing = true, text } = {}) {
    const { chatId } = this.requireSession();
    const answer = await this.request("POST", `/chats/${chatId}/typing`, { typing, text: typing ? text : undefined });
    this.emit(typing ? "clientTypingStarted" : "clientTypingStopped");
    return answer;
  }

  async sendFilteredMessage({ message, regex } = {}) {
    const { chatId } = this.requireSession(Errors.noSessionShort);
    if (!message) throw new Error(Errors.noText);
    const pattern = regex instanceof RegExp ? regex : new RegExp(regex ?? ".");
    this.addFilter(pattern);
    // The server matches with the flags it understands written inline: /code/i is (?i)code.
    const flags = [...pattern.flags].filter((f) => "ims".includes(f)).join("");
    const filter = flags ? `(?${flags})${pattern.source}` : pattern.source;
    return this.request("POST", `/chats/${chatId}/messages`, { text: message, filter, clientMessageId: newClientMessageId() });
  }

  /// sendFile: the seed's file input (or a FileList, a File, an array of Files); see
  /// [`sendFiles`]. Resolves with `{messages}`, the File messages posted.
  async sendFile({ files } = {}) {
    const { chatId } = this.requireSession();
    const request = (method, path, body) => this.request(method, path, body);
    const messages = await sendFiles(files, chatId, request, (upload, file) => this.upload(upload, file));
    return { messages };
  }

  /// A presigned PUT; a failure is emitted as `error`, as an API call's is.
  async upload(upload, file) {
    try {
      return await putFile(this.fetch, upload, file);
    } catch (e) {
      this.emit("error", e);
      throw e;
    }
  }

  /// downloadFile: a presigned link to the file, which a page opens as a download (storage
  /// serves it as an attachment under its name). Resolves with `{file, download}`.
  async downloadFile({ fileId, fileName } = {}) {
    const { chatId } = this.requireSession();
    if (!fileId) throw new Error(Errors.noFileId);
    const answer = await this.request("GET", `/chats/${chatId}/files/${encodeURIComponent(fileId)}`);
    saveLink(answer.download.url, fileName ?? answer.file.name);
    return answer;
  }

  async updateUserData(data) {
    if (!isPlainObject(data)) throw new Error(Errors.malformedUserData);
    if (!this.session) {
      this.userData = { ...this.userData, ...data };
      return this.userData;
    }
    return this.request("PATCH", `/chats/${this.session.chatId}/user-data`, data);
  }

  /// Watches a text input: typing starts (with the text so far, at most once a second, the
  /// latest text last) as it changes, and stops when it is emptied or left alone for `idleMs`.
  async registerTypingPreviewInput({ input: given, idleMs = 5000 } = {}) {
    const input = element(given);
    const typed = () => input.value;
    if (!input || typeof input.addEventListener !== "function" || typeof input.value !== "string") {
      throw new Error(Errors.badInput);
    }
    let last = 0;
    let idle = null;
    let trailing = null; // the latest text, sent when the second is up
    const send = () => {
      trailing = null;
      last = Date.now();
      if (this.session && typed()) this.sendTyping({ typing: true, text: typed() }).catch(() => {});
    };
    const stop = () => {
      clearTimeout(idle);
      clearTimeout(trailing);
      idle = trailing = null;
      if (this.session) this.sendTyping({ typing: false }).catch(() => {});
    };
    input.addEventListener("input", () => {
      if (!this.session) return;
      if (!typed()) return stop();
      clearTimeout(idle);
      idle = setTimeout(stop, idleMs);
      const wait = 1000 - (Date.now() - last);
      if (wait <= 0) send();
      else trailing ??= setTimeout(send, wait);
    });
    return input;
  }

  addFilter(pattern) {
    if (!this.prefilters.some((r) => r.source === pattern.source && r.flags === pattern.flags)) this.prefilters.push(pattern);
    this.save();
  }

  async addPrefilter({ filters } = {}) {
    const list = Array.isArray(filters) ? filters : [filters];
    if (!list.length || !list.every((f) => f instanceof RegExp)) throw new Error(Errors.badFilters);
    list.forEach((f) => this.addFilter(f));
    return [...this.prefilters];
  }

  async registerPreProcessor({ preprocessor } = {}) {
    if (typeof preprocessor !== "function") {
      throw new Error(`No preprocessor function provided. Type provided was '${typeof preprocessor}'.`);
    }
    this.preprocessors.push(preprocessor);
    return preprocessor;
  }

  async getTranscript() {
    const { chatId } = this.requireSession();
    const messages = [];
    let cursor = null;
    do {
      const page = await this.request("GET", `/chats/${chatId}/transcript?pageSize=${this.pageSize}${cursor ? `&cursor=${cursor}` : ""}`);
      messages.push(...page.messages);
      cursor = page.nextCursor;
    } while (cursor);
    return { messages };
  }

  /// The messages up to `upTo` as they now are, emitted as `messageUpdated` where edited
  /// or deleted (the handler sets a message's text; doing it twice changes nothing).
  async rereadChanged(upTo) {
    const { messages } = await this.getTranscript();
    for (const m of messages.filter((m) => m.index <= upTo && (m.edited || m.deleted))) {
      this.emit("messageUpdated", { index: m.index, text: m.deleted ? "" : m.text, edited: !m.deleted, deleted: !!m.deleted });
    }
  }

  /// The page of messages before the oldest one this client has delivered in this chat.
  async fetchHistory() {
    const { chatId, lastIndex } = this.requireSession();
    const before = this.historyBefore ?? this.firstIndex ?? lastIndex + 1;
    if (before <= 1) throw new Error(Errors.noMoreHistory);
    const page = await this.request("GET", `/chats/${chatId}/messages?before=${before}&limit=${this.pageSize}`);
    const older = page.messages.filter((m) => m.index < before);
    this.historyBefore = older[0]?.index ?? 1;
    this.deliver(older, true);
    return { ...page, messages: older };
  }

  async getAgents() {
    const { chatId } = this.requireSession();
    return (await this.request("GET", `/chats/${chatId}/agents`)).agents;
  }

  async getStats() {
    const { chatId } = this.requireSession();
    return this.request("GET", `/chats/${chatId}/stats`);
  }

  async getSessionData() {
    if (!this.session) return {};
    const { chatId, participantId, token } = this.session;
    return { sessionId: chatId, participantId, token, transportId: chatId };
  }

  async verifySession() {
    if (!this.session) return { sessionActive: false };
    try {
      return { sessionActive: (await this.request("GET", "/session")).sessionActive };
    } catch {
      return { sessionActive: false };
    }
  }

  async restore() {
    if (this.restoring) throw new Error(Errors.restoring);
    if (this.timer || this.polling) throw new Error(Errors.restoreActive);
    if (!this.session && !this.load()) {
      this.emit("restoreFailed");
      throw new Error(Errors.noSession);
    }
    this.restoring = true;
    try {
      // restoreTimeout: a page gone longer than this does not take its chat back.
      // The customer is gone (the seed's meaning): the chat is told so, as endChat would.
      if (Date.now() - (this.session.seenAt ?? Date.now()) > this.restoreTimeout) {
        this.emit("restoreTimeout");
        await this.request("POST", `/chats/${this.session.chatId}/leave`).catch(() => {});
        throw new Error("Chat session restoration timed out.");
      }
      const state = await this.request("GET", "/session");
      if (!state.sessionActive) throw new Error("Session cannot be found.");
      this.session.lastIndex = 0;
      this.session.revision = undefined; // the transcript below is read as it now is
      const { messages } = await this.getTranscript();
      // transport.pagination: delivered a page (maxMessagePageSize) at a time, or all at once.
      const size = this.pagination ? Math.max(1, this.pageSize) : Math.max(1, messages.length);
      for (let i = 0; i < messages.length; i += size) this.deliver(messages.slice(i, i + size), true);
      // Polls go on from the transcript's own end, not from /session's (read before it):
      // what arrived in between is polled once, not delivered twice.
      this.session.lastIndex = messages.reduce((last, m) => Math.max(last, m.index), 0);
      this.save();
      this.emit("restored", state);
      this.keepSeen();
      this.startPoll();
      this.openSocket();
      return state;
    } catch (e) {
      this.clear();
      this.emit("restoreFailed", e);
      throw e;
    } finally {
      this.restoring = false;
    }
  }

  // Polling --------------------------------------------------------------------------

  startPoll() {
    this.requireSession(Errors.noSessionShort);
    this.pollStopped = false;
    if (!this.timer && !this.polling) this.schedule(0);
  }

  /// Stops polling until startPoll, a poll already under way included: it schedules no next.
  stopPoll() {
    this.requireSession(Errors.noSessionShort);
    this.pollStopped = true;
    this.stopTimer();
  }

  /// Resets the count of failed polls; polling resumes if the limit had stopped it.
  resetPollExceptions() {
    this.pollExceptions = 0;
    if (this.session && !this.pushing && !this.pollStopped && !this.timer && !this.polling) this.schedule(0);
  }

  stopTimer() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  schedule(delay) {
    this.stopTimer();
    this.timer = setTimeout(() => this.pollOnce(), delay);
  }

  /// Backoff: the interval doubles with each failure, up to maxPollInterval.
  nextDelay() {
    if (this.pollExceptions === 0) return this.pollInterval;
    return Math.min(this.maxPollInterval, this.pollInterval * 2 ** Math.min(this.pollExceptions, 10));
  }

  /// The seed's `poll` command: one poll now. Rejected without a session, and while a poll
  /// is running ("previous poll has not finished"); the service's own polls never reject.
  async poll() {
    if (!this.session) throw new Error(Errors.noSession);
    if (this.polling) throw new Error(Errors.pollRunning);
    await this.pollOnce();
  }

  async pollOnce() {
    this.timer = null;
    if (this.polling) this.pollAgain = true;
    if (!this.session || this.polling) return;
    this.polling = true;
    this.pollAgain = false;
    try {
      const { chatId, lastIndex } = this.session;
      // While no agent has joined, a poll asks for the place in the queue now and then
      // (each ask counts the requests ahead: not on every poll).
      const askPlace = this.agents.size === 0 && Date.now() - this.placeAsked >= this.placeEveryMs;
      if (askPlace) this.placeAsked = Date.now();
      const page = await this.request("GET", `/chats/${chatId}/messages?after=${lastIndex}${askPlace ? "&place=1" : ""}`);
      this.pollExceptions = 0;
      if (this.disconnected) {
        this.disconnected = false;
        this.emit("reconnected");
      }
      this.deliver(page.messages, false);
      this.session.lastIndex = Math.max(lastIndex, page.lastIndex ?? lastIndex);
      // A message already delivered was edited or deleted (the chat's revision grew): the
      // transcript is read again and each changed message emitted as messageUpdated. Pushed
      // clients hear of each change as it happens; this is for a client that polls.
      // The revision is kept only once the reread has worked: a failed one is tried again.
      const known = this.session.revision;
      if (Number.isInteger(known) && page.revision > known) await this.rereadChanged(lastIndex);
      if (Number.isInteger(page.revision)) this.session.revision = Math.max(known ?? 0, page.revision);
      this.save();
      this.updateTyping(page.typing ?? []);
      if (askPlace) this.notePlace(page.queuePosition, page.estimatedWaitSeconds);
      this.noteRead((page.readMarks ?? []).filter((r) => r.chatterType === "User").map((r) => ({
        lastReadIndex: r.lastReadIndex,
        by: { type: "Agent", nickname: r.chatterName, participantId: r.chatterId },
      })));
      if (page.chatStatus === "closed") {
        this.finish(page.messages.at(-1) ?? null);
        return;
      }
    } catch (e) {
      if (e.status === 401 || e.status === 403 || e.status === 404) {
        this.finish();
        return;
      }
      this.pollExceptions += 1;
      if (!this.disconnected && (e.status === undefined || e.status >= 500)) {
        this.disconnected = true;
        this.emit("disconnected");
      }
      if (this.pollExceptions >= this.pollExceptionLimit) {
        // pollExceptionLimit: polling gives up until resetPollExceptions (or a socket).
        this.polling = false;
        this.emit("error", new Error(Errors.pollLimit));
        return;
      }
    } finally {
      this.polling = false;
    }
    // While pushed, a fetch by index runs only when asked for (a gap, the socket's start).
    const next = this.pushing ? this.pollAgain : !this.pollStopped;
    if (this.session && next) this.schedule(this.pushing ? 0 : this.nextDelay());
  }

  // Push -----------------------------------------------------------------------------

  openSocket() {
    if (!this.socketUrl || !this.WebSocket || !this.session || this.socket) return;
    clearTimeout(this.reopenTimer);
    if (!this.watchingPage) {
      // Back online or into view: a heartbeat at once finds a socket that dropped meanwhile.
      this.watchingPage = true;
      const check = () => globalThis.document?.visibilityState !== "hidden" && this.socket?.check();
      globalThis.addEventListener?.("online", check);
      globalThis.document?.addEventListener?.("visibilitychange", check);
    }
    this.socket = new BayeuxSocket({
      url: this.socketUrl,
      token: this.session.token,
      WebSocket: this.WebSocket,
      replyMs: this.heartbeatReplyMs,
      onSubscribed: (clientId) => {
        // Pushed from now on: polling stops, and one fetch by index closes the gap.
        this.clientId = clientId; // the socket's connection id
        this.pushing = true;
        this.stopTimer();
        this.pollOnce();
      },
      onData: (data) => this.onPush(data),
      onClose: (socket) => {
        if (this.socket === socket) this.socket = null;
        const wasPushing = this.pushing;
        this.pushing = false;
        if (!this.session) return;
        // Polling takes over (and recovers the gap by index); the socket is tried again.
        if (!this.timer && !this.polling && !this.pollStopped) this.schedule(0);
        this.reopenTimer = setTimeout(() => this.openSocket(), wasPushing ? this.pollInterval : this.maxPollInterval);
      },
    });
  }

  closeSocket() {
    clearTimeout(this.reopenTimer);
    clearTimeout(this.typingTimer);
    const socket = this.socket;
    this.socket = null;
    this.pushing = false;
    socket?.close();
  }

  /// A pushed notification (the customer view of Genesys's /v2/me/chats).
  onPush(data) {
    if (!this.session) return;
    if (data.messageType === "ChatStateChangeMessage") {
      // A closed chat: the fetch by index delivers its last messages, then ends it.
      if (data.chat?.state === "Disconnected") this.pollOnce();
      return;
    }
    if (data.messageType === "QueuePositionUpdated") return this.notePlace(data.queuePosition, data.estimatedWaitSeconds);
    if (data.messageType !== "MessageLogUpdated") return;
    for (const t of data.messages.filter((m) => m.type === "TypingStarted" || m.type === "TypingStopped")) {
      if (t.from?.type === "Agent") this.agentTyping(t.type === "TypingStarted");
    }
    // A message changed after it was delivered: `messageUpdated`, by its index.
    for (const m of data.messages.filter((m) => m.type === "MessageEdited" || m.type === "MessageDeleted")) {
      const deleted = m.type === "MessageDeleted";
      this.emit("messageUpdated", { index: m.messageIndex, text: deleted ? "" : m.text, edited: !deleted, deleted });
    }
    this.noteRead(data.messages
      .filter((m) => m.type === "MessagesRead" && m.from?.type === "Agent")
      .map((m) => ({ lastReadIndex: m.lastReadIndex, by: m.from })));
    const pushed = data.messages.filter((m) => Number.isInteger(m.index) && m.index > this.session.lastIndex);
    if (!pushed.length) return;
    const contiguous = pushed.every((m, i) => m.index === this.session.lastIndex + 1 + i);
    // A gap, or a system message (who joined, left or was removed is named only in the
    // API's shape): fetched by index, in order, once.
    if (!contiguous || pushed.some((m) => m.type.startsWith("Participant"))) return this.pollOnce();
    this.deliver(pushed.map((m) => fromPush(m, this.session.chatId)), false);
    this.session.lastIndex = pushed[pushed.length - 1].index;
    this.save();
    if (pushed.some((m) => m.from?.type === "Agent" && m.type === "Text")) this.agentTyping(false);
  }

  agentTyping(now) {
    clearTimeout(this.typingTimer);
    // A notice lapses unless repeated, as the server's typing entries do.
    if (now) {
      this.typingTimer = setTimeout(() => {
        if (this.typing) this.emit("agentTypingTimeout");
        this.agentTyping(false);
      }, this.agentTypingTimeout);
    }
    this.updateTyping(now ? [{ chatterType: "User" }] : []);
  }

  deliver(raw, restoring) {
    if (!raw?.length) return;
    this.firstIndex = Math.min(this.firstIndex ?? Infinity, ...raw.map((m) => m.index));
    const originalMessages = raw;
    let messages = raw
      .filter((m) => !(m.type === "Text" && this.prefilters.some((r) => (r.lastIndex = 0, r.test(m.text ?? "")))))
      .map((m) => ({ ...m }));
    for (const pre of this.preprocessors) messages = messages.map((m) => pre(m) ?? m);
    for (const m of raw) this.trackAgents(m, restoring);
    if (messages.length) this.emit("messageReceived", { originalMessages, messages, restoring, sessionData: this.session });
  }

  trackAgents(m, restoring) {
    if (m.type !== "System") return;
    const agents = () => [...this.agents.values()];
    if (m.event === "joined" && m.chatterType === "User") {
      this.agents.set(m.chatterId, { name: m.chatterName, connected: true });
      this.notePlace(null); // taken: no longer in a queue
      if (!restoring) this.emit("agentConnected", { message: m, agents: agents(), numAgentsConnected: this.agents.size });
      return;
    }
    // Who left, declined, went inactive or was removed: the author, or the agents the
    // message names; a chat handed back to the queue loses every agent until one accepts.
    const author = [{ chatterType: m.chatterType, chatterId: m.chatterId }];
    const gone = ["left", "declined", "inactive"].includes(m.event) ? author
      : m.event === "removed" ? (m.subjects ?? [])
      : m.event === "requeued" ? [...this.agents.keys()].map((chatterId) => ({ chatterType: "User", chatterId })) : [];
    for (const g of gone.filter((g) => g.chatterType === "User" && this.agents.has(g.chatterId))) {
      this.agents.delete(g.chatterId);
      if (!restoring) this.emit("agentDisconnected", { message: m, agents: agents(), numAgentsConnected: this.agents.size });
    }
  }

  /// The chat is over for this client: the agents still in it disconnect, then the client.
  finish(message = null) {
    for (const id of [...this.agents.keys()]) {
      this.agents.delete(id);
      this.emit("agentDisconnected", { message, agents: [...this.agents.values()], numAgentsConnected: this.agents.size });
    }
    this.emit("clientDisconnected", { message, agents: [], numAgentsConnected: 0 });
    this.clear();
    this.emit("ended");
  }

  /// Notes, while the chat is open, that its page is still there (`seenAt`, for restoreTimeout).
  keepSeen() {
    clearInterval(this.seenTimer);
    if (!this.noteSeen) {
      this.noteSeen = () => {
        if (!this.session) return;
        this.session.seenAt = Date.now();
        this.save();
      };
      globalThis.addEventListener?.("pagehide", this.noteSeen);
    }
    this.noteSeen();
    this.seenTimer = setInterval(this.noteSeen, SEEN_EVERY_MS);
    this.seenTimer.unref?.(); // Node: an open chat does not keep the process alive
  }

  updateTyping(typing) {
    const now = typing.some((t) => t.chatterType === "User");
    if (now !== this.typing) {
      this.typing = now;
      this.emit(now ? "agentTypingStarted" : "agentTypingStopped", { typing });
    }
  }
}

// Beyond the seed (extensions.js): methods of the same class.
Object.assign(WebChatService.prototype, extensions);
