// The agent console: sign in (PKCE, web/signin.js), availability, the request queue, accept, chat (with
// internal notes and files), invitations both ways (picking from the agents online), move to
// another channel or back to the queue, close; a customer pane. Plain DOM, no framework.
// Its chats are pushed on the agent's CometD feed (/v2/me/chats on the WebSocket API); the
// open chat is polled only while the socket is down. The queue is polled: requests nobody
// has accepted are nobody's chats yet.
import { BayeuxSocket, exportCustomer, putFile, saveLink, sendFiles } from "/web/webchat.js";
import { beginSignIn, finishSignIn, signInSettings } from "/web/signin.js";

const $ = (id) => document.getElementById(id);
const socketUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/socket`;
let pushed = false;
let typingTimer = null;
let token = sessionStorage.getItem("livechat.agent.token");
let userId = sessionStorage.getItem("livechat.agent.user");
// Administrators also export and erase a customer's data (the API refuses anyone else).
let admin = sessionStorage.getItem("livechat.agent.admin") === "1";
let current = null; // { chatId, lastIndex }

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(data?.error?.message ?? `HTTP ${response.status}`);
  return data;
}

function item(label, buttonText, onClick, id) {
  const li = document.createElement("li");
  const span = document.createElement("span");
  span.textContent = label;
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = buttonText;
  button.dataset.chatId = id;
  button.addEventListener("click", onClick);
  li.append(span, button);
  if (current?.chatId === id) li.classList.add("selected");
  return li;
}

/// How long ago `iso` was, for a waiting request.
const waited = (iso) => {
  const minutes = Math.floor((Date.now() - Date.parse(iso)) / 60000);
  return minutes < 1 ? "waiting under a minute" : `waiting ${minutes} min`;
};

/// The indexes of messages that arrived in a chat that is not open, by chat (a message is
/// pushed twice: by its writer, then from the stream).
const unread = new Map();
/// The requests already seen, so that only a new one is announced.
let known = null;

/// A new request, or a message in a chat not open, while the console is out of sight: a
/// browser notification (once allowed) and a short tone.
function announce(text) {
  if (document.visibilityState === "visible") return;
  if (window.Notification?.permission === "granted") new Notification("Live chat", { body: text });
  try {
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    tone.connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.15);
  } catch { /* no sound here */ }
}

/// The channels this agent works, as its availability form says.
const myChannels = () => $("channels").value.split(",").map((c) => c.trim()).filter(Boolean);
/// The oldest request in the agent's channels (Alt+A accepts it).
let oldest = null;

async function refreshLists() {
  try {
    const channels = myChannels();
    const queue = channels.length ? await api("GET", `/chats?status=request&channelIds=${encodeURIComponent(channels.join(","))}&limit=50`) : { chats: [] };
    queue.chats.sort((a, b) => a.createTime.localeCompare(b.createTime));
    oldest = queue.chats[0]?.chatId ?? null;
    $("queue").replaceChildren(...queue.chats.map((c) =>
      item(`${c.requesterName} — ${c.subject ?? "no subject"} (${c.channel}, ${waited(c.createTime)})`, "Accept", () => accept(c.chatId), c.chatId)));
    const arrived = queue.chats.filter((c) => known && !known.has(c.chatId));
    if (arrived.length) announce(`New chat request from ${arrived[0].requesterName}`);
    known = new Set(queue.chats.map((c) => c.chatId));
    const mine = await api("GET", `/chats?chatterId=${encodeURIComponent(userId)}&chatterType=User&chatterActive=1&status=active`);
    $("mine").replaceChildren(...mine.chats.map((c) => {
      const n = unread.get(c.chatId)?.size ?? 0;
      return item(`${c.requesterName} (${c.channel})${n ? ` — ${n} new` : ""}`, "Open", () => open(c.chatId), c.chatId);
    }));
    // Chats another agent invited this one to: join (and open) or decline.
    const invited = await api("GET", `/chats?chatterId=${encodeURIComponent(userId)}&chatterType=User&invitationPending=1`);
    $("invitations").replaceChildren(...invited.chats.filter((c) => c.status !== "closed").map((c) => {
      const li = item(`${c.requesterName} (${c.channel})`, "Join", () => join(c.chatId), c.chatId);
      const no = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: "Decline" });
      no.addEventListener("click", () => api("DELETE", `/users/${encodeURIComponent(userId)}/invitations/${c.chatId}`).then(refreshLists, (e) => ($("presence-status").textContent = e.message)));
      li.append(no);
      return li;
    }));
    // What visitors left while nobody was online, in the channels this agent works.
    const left = await Promise.all(channels.map((c) => api("GET", `/offline-messages?channelId=${encodeURIComponent(c)}&limit=20`)));
    $("offline-messages").replaceChildren(...left.flatMap((page) => page.offlineMessages).map((m) =>
      Object.assign(document.createElement("li"), { textContent: `${m.name} <${m.email}> (${m.channelId}): ${m.text}` })));
  } catch (e) {
    $("presence-status").textContent = e.message;
  }
}

/// Joins a chat this agent was invited to, then opens it.
async function join(chatId) {
  try {
    await api("PATCH", `/chats/${chatId}/participants/User/${encodeURIComponent(userId)}`, { chatterActive: 1 });
    open(chatId);
  } catch (e) {
    $("presence-status").textContent = `Could not join: ${e.message}`;
  }
  refreshLists();
}

async function accept(chatId) {
  try {
    await api("PATCH", `/chats/${chatId}`, { status: "active" });
    open(chatId);
  } catch (e) {
    $("presence-status").textContent = `Could not accept: ${e.message}`;
  }
  refreshLists();
}

function open(chatId) {
  current = { chatId, lastIndex: 0 };
  unread.delete(chatId);
  showCustomer(chatId);
  $("transcript").replaceChildren();
  $("chat").hidden = false;
  $("chat-status").textContent = "";
  $("message").focus();
  offerAgents();
  poll();
}

/// The agents online now (but this one), offered when inviting.
async function offerAgents() {
  try {
    const online = await api("GET", "/agents/available?key=InternalChannels");
    $("agents-online").replaceChildren(...Object.entries(online).filter(([id]) => id !== userId).map(([id, channels]) =>
      Object.assign(document.createElement("option"), { value: id, label: `${id} (${channels.join(", ") || "no channel"})` })));
  } catch { /* typing a user id still works */ }
}

function render(m) {
  const li = document.createElement("li");
  li.dataset.index = m.index;
  li.className = m.type === "System" ? "system" : m.internal ? "internal" : m.chatterId === userId ? "mine" : "";
  if (m.type === "File") li.append(`${m.chatterName}: `, fileButton(current.chatId, m.file));
  else if (m.type === "System") li.textContent = m.text;
  else {
    // A customer an agent added who has not proved who it is (its own identity token).
    li.dataset.mine = m.chatterId === userId ? "1" : "";
    li.dataset.label = `${m.chatterName}${m.chatterUnverified ? " (not verified)" : ""}${m.internal ? " (internal)" : ""}`;
    li.dataset.id = m.messageId;
    showText(li, m);
  }
  $("transcript").append(li);
  li.scrollIntoView({ block: "nearest" });
}

/// A text message as it now is: "(edited)", or a tombstone; a Delete button withdraws it
/// (the agent's own, or any as the chat's Owner: the API decides).
function showText(li, m) {
  if (m.deleted) {
    li.replaceChildren(Object.assign(document.createElement("em"), { textContent: `${li.dataset.label}: message deleted` }));
    return;
  }
  const edit = Object.assign(document.createElement("button"), { type: "button", className: "link", textContent: "Edit" });
  edit.setAttribute("aria-label", `Edit “${m.text}”`);
  edit.addEventListener("click", () => {
    editing = { li };
    $("message").value = m.text;
    $("send").textContent = "Save";
    $("message").focus();
  });
  const remove = Object.assign(document.createElement("button"), { type: "button", className: "link", textContent: "Delete" });
  remove.setAttribute("aria-label", `Delete “${m.text}”`);
  remove.addEventListener("click", async () => {
    try {
      await api("DELETE", `/chats/${current.chatId}/messages/${encodeURIComponent(li.dataset.id)}`);
      showText(li, { deleted: true });
    } catch (e) {
      $("chat-status").textContent = e.message;
    }
  });
  // Its author edits a message; the API says whether it still may.
  const own = li.classList.contains("mine") || li.dataset.mine === "1";
  li.replaceChildren(`${li.dataset.label}: ${m.text}${m.edited ? " (edited)" : ""} `, ...(own ? [edit, " "] : []), remove);
}

/// The message the composer is editing (its Save replaces the text), if any.
let editing = null;

/// A file in the transcript: a button that downloads it.
function fileButton(chatId, file) {
  const button = Object.assign(document.createElement("button"), { type: "button", className: "link" });
  button.textContent = `${file.name} (${Math.ceil(file.size / 1024)} KB)`;
  button.addEventListener("click", async () => {
    try {
      const answer = await api("GET", `/chats/${chatId}/files/${encodeURIComponent(file.fileId)}`);
      saveLink(answer.download.url, file.name);
    } catch (e) {
      $("chat-status").textContent = e.message;
    }
  });
  return button;
}

/// A notification of the agent's feed: the chat it concerns is fetched by index (in order,
/// once), a state change refreshes the lists, the customer's typing shows.
function onPush(data) {
  const chatId = data.chat?.id ?? data.chatUri?.split("/").pop();
  if (data.messageType === "ChatStateChangeMessage") refreshLists();
  if (chatId && chatId !== current?.chatId) {
    const texts = (data.messages ?? []).filter((m) => Number.isInteger(m.index) && m.from?.type === "Customer");
    const seen = unread.get(chatId) ?? new Set();
    const fresh = texts.filter((m) => !seen.has(m.index));
    if (fresh.length) {
      fresh.forEach((m) => seen.add(m.index));
      unread.set(chatId, seen);
      announce(`${fresh[0].from.nickname}: ${fresh[0].text ?? ""}`);
      refreshLists();
    }
  }
  if (!current || chatId !== current.chatId) return;
  for (const m of (data.messages ?? []).filter((m) => m.type === "MessageEdited" || m.type === "MessageDeleted")) {
    const li = $("transcript").querySelector(`li[data-index="${m.messageIndex}"]`);
    if (li?.dataset.label) showText(li, { text: m.text, edited: true, deleted: m.type === "MessageDeleted" });
  }
  const typing = (data.messages ?? []).filter((m) => m.type.startsWith("Typing") && m.from?.type === "Customer");
  for (const t of typing) {
    clearTimeout(typingTimer);
    $("typing").textContent = t.type === "TypingStarted" ? typingLine(t.text) : "";
    if (t.type === "TypingStarted") typingTimer = setTimeout(() => ($("typing").textContent = ""), 10000);
  }
  if (typing.length < (data.messages ?? [1]).length) poll();
}

/// The customer's typing, with its preview when the widget sends one.
const typingLine = (text) => `The customer is typing…${text ? ` “${text}”` : ""}`;

function follow() {
  new BayeuxSocket({
    url: socketUrl,
    token,
    WebSocket,
    onSubscribed: () => { pushed = true; poll(); },
    onData: onPush,
    onClose: () => { pushed = false; setTimeout(follow, 2000); },
  });
}

let polling = false;
let pollAgain = false;

/// Fetches the open chat's messages by index: one fetch at a time (pushes ask for more while
/// one runs, and it runs again), each message rendered once.
async function poll() {
  if (!current) return;
  if (polling) {
    pollAgain = true;
    return;
  }
  polling = true;
  pollAgain = false;
  const chat = current;
  try {
    const page = await api("GET", `/chats/${chat.chatId}/messages?after=${chat.lastIndex}`);
    if (chat !== current) return;
    page.messages.filter((m) => m.index > chat.lastIndex).forEach(render);
    chat.lastIndex = Math.max(chat.lastIndex, page.lastIndex);
    showRead(page.readMarks ?? []);
    markRead(chat);
    const customer = page.typing.find((t) => t.chatterType !== "User");
    if (!pushed) $("typing").textContent = customer ? typingLine(customer.text) : "";
    if (page.chatStatus === "closed") $("chat-status").textContent = "This chat is closed.";
  } catch (e) {
    $("chat-status").textContent = e.message;
  } finally {
    polling = false;
  }
  if (pollAgain) poll();
}

/// The agent's read receipt for the open chat, while the console is in view: one request
/// at a time, never behind the last one sent.
async function markRead(chat) {
  if (document.visibilityState !== "visible" || chat.lastIndex <= (chat.readSent ?? 0) || chat.reading) return;
  chat.reading = true;
  try {
    const want = chat.lastIndex;
    await api("POST", `/chats/${chat.chatId}/read`, { index: want });
    chat.readSent = want;
  } catch { /* the next poll marks again */ } finally {
    chat.reading = false;
  }
}

document.addEventListener("visibilitychange", () => current && markRead(current));

/// How far the others have read: "Seen" on the agent's last message the customer has read,
/// and each party's mark in the chat's status line.
function showRead(marks) {
  const customer = marks.find((r) => r.chatterType !== "User");
  const mine = [...$("transcript").querySelectorAll("li.mine")].filter((li) => Number(li.dataset.index) <= (customer?.lastReadIndex ?? 0));
  $("transcript").querySelectorAll(".seen").forEach((s) => s.remove());
  mine.at(-1)?.append(Object.assign(document.createElement("span"), { className: "seen", textContent: " · Seen" }));
  $("read-status").textContent = marks.length ? `Read: ${marks.map((r) => `${r.chatterName} up to #${r.lastReadIndex}`).join(", ")}` : "";
}

/// The customer pane: who the open chat's customer is (verified or not), its e-mail and
/// userData from the chat, and its earlier chats.
async function showCustomer(chatId) {
  $("customer").hidden = false;
  $("customer-details").replaceChildren();
  $("customer-history").replaceChildren();
  $("customer-data").hidden = true;
  $("erase-confirm").hidden = true;
  $("customer-status").textContent = "";
  try {
    const { chat } = await api("GET", `/chats/${chatId}`);
    if (current?.chatId !== chatId) return;
    current.customerId = chat.requesterId;
    $("customer-data").hidden = !admin;
    const rows = [
      ["Name", chat.requesterName],
      ["Identity", chat.requesterType === "Customer" ? `verified (${chat.requesterId})` : "a visitor, not verified"],
      ["E-mail", chat.email ?? "—"],
      ["Subject", chat.subject ?? "—"],
      ...Object.entries(chat.userData ?? {}).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
    ];
    $("customer-details").replaceChildren(...rows.flatMap(([k, v]) => [
      Object.assign(document.createElement("dt"), { textContent: k }),
      Object.assign(document.createElement("dd"), { textContent: v }),
    ]));
    if (chat.requesterType !== "Customer") return;
    const earlier = await api("GET", `/chats?chatterId=${encodeURIComponent(chat.requesterId)}&chatterType=Customer&limit=10`);
    $("customer-history").replaceChildren(...earlier.chats.filter((c) => c.chatId !== chatId).map((c) =>
      Object.assign(document.createElement("li"), { textContent: `${c.createTime.slice(0, 10)} — ${c.subject ?? "no subject"} (${c.status})` })));
  } catch (e) {
    $("chat-status").textContent = e.message;
  }
}

// A customer's data on request (administrators): everything stored as one JSON file, or
// erased after a second, explicit confirmation.
$("export").addEventListener("click", async () => {
  try {
    const data = await exportCustomer(api, current.customerId);
    const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
    saveLink(url, `customer-${current.customerId}.json`);
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (e) {
    $("customer-status").textContent = e.message;
  }
});
$("erase").addEventListener("click", () => { $("erase-confirm").hidden = false; $("erase-no").focus(); });
$("erase-no").addEventListener("click", () => { $("erase-confirm").hidden = true; });
$("erase-yes").addEventListener("click", async () => {
  $("erase-confirm").hidden = true;
  try {
    const { erasure: e } = await api("DELETE", `/customers/${encodeURIComponent(current.customerId)}`);
    const n = (count, what) => `${count} ${what}${count === 1 ? "" : "s"}`;
    $("customer-status").textContent = `Erased: ${n(e.messages, "message")}, ${n(e.files, "file")}, ${n(e.offlineMessages, "offline message")} in ${n(e.chats, "chat")}.`;
  } catch (e) {
    $("customer-status").textContent = `Not erased: ${e.message}`;
  }
});

// Keyboard: Escape closes the open chat, Alt+A accepts the oldest request in the agent's
// channels (Enter sends, as the composer is a form).
document.addEventListener("keydown", (e) => {
  if (e.altKey && e.code === "KeyA" && oldest && !$("console").hidden) {
    e.preventDefault();
    const next = oldest;
    oldest = null; // once: a second press waits for the queue to be read again
    accept(next);
    return;
  }
  if (e.key === "Escape" && current) {
    current = null;
    $("chat").hidden = true;
    $("customer").hidden = true;
    refreshLists();
  }
});

async function setAvailability() {
  const channels = myChannels();
  try {
    const p = await api("PUT", `/agents/${encodeURIComponent(userId)}/availability`, { availability: $("availability").value, channels });
    $("presence-status").textContent = `You are ${p.availability} in ${p.channels.join(", ") || "no channel"}.`;
  } catch (e) {
    $("presence-status").textContent = e.message;
  }
}

function start() {
  $("signin").hidden = true;
  $("console").hidden = false;
  setAvailability();
  refreshLists();
  setInterval(refreshLists, 2000);
  follow();
  setInterval(() => { if (!pushed) poll(); }, 1000);
  setInterval(setAvailability, 60000); // presence lapses unless refreshed
}

const signIn = signInSettings(location);
$("signin-button").addEventListener("click", async () => location.assign(await beginSignIn(await signIn)));

$("presence").addEventListener("submit", (event) => { event.preventDefault(); setAvailability(); });

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("message").value;
  $("message").value = "";
  try {
    if (editing) {
      const { li } = editing;
      editing = null;
      $("send").textContent = "Send";
      const { message } = await api("PATCH", `/chats/${current.chatId}/messages/${encodeURIComponent(li.dataset.id)}`, { text });
      showText(li, message);
      return;
    }
    await api("POST", `/chats/${current.chatId}/messages`, { text, internal: $("internal").checked, clientMessageId: crypto.randomUUID() });
    poll();
  } catch (e) {
    $("chat-status").textContent = e.message;
  }
});

$("attach").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await sendFiles($("file"), current.chatId, api, (upload, file) => putFile(fetch, upload, file));
    $("file").value = "";
    poll();
  } catch (e) {
    $("chat-status").textContent = e.message;
  }
});

let lastTyping = 0;
$("message").addEventListener("input", () => {
  // Editing a sent message is not typing a new one: the customer is not told.
  if (current && !editing && Date.now() - lastTyping > 3000) {
    lastTyping = Date.now();
    api("POST", `/chats/${current.chatId}/typing`, { typing: true }).catch(() => {});
  }
});

$("invite").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api("POST", `/chats/${current.chatId}/invitations`, { inviteUserId: $("invitee").value });
    $("chat-status").textContent = `Invited ${$("invitee").value}.`;
  } catch (e) {
    $("chat-status").textContent = e.message;
  }
});

/// A change to the open chat (its channel or status), then what the console says of it.
async function changeChat(body, said) {
  try {
    await api("PATCH", `/chats/${current.chatId}`, body);
    $("chat-status").textContent = said;
    refreshLists();
  } catch (e) {
    $("chat-status").textContent = e.message;
  }
}

$("move").addEventListener("submit", (event) => {
  event.preventDefault();
  changeChat({ channelId: $("channel").value }, `Moved to ${$("channel").value}.`);
});
// Handed back to the queue: another agent takes it from there (OPERATOR_TRANSFER).
$("requeue").addEventListener("click", () => changeChat({ status: "request" }, "Back in the queue."));
$("close").addEventListener("click", () => changeChat({ status: "closed" }, "This chat is closed."));

// Back from the identity provider, or still signed in from before.
signIn.then((settings) => finishSignIn(settings, location.search)).then((session) => {
  if (session) {
    ({ token, userId, admin } = session);
    sessionStorage.setItem("livechat.agent.token", token);
    sessionStorage.setItem("livechat.agent.user", userId);
    sessionStorage.setItem("livechat.agent.admin", admin ? "1" : "");
    history.replaceState(null, "", location.pathname);
  }
  if (token && userId) start();
}).catch((e) => { $("signin-status").textContent = e.message; });
