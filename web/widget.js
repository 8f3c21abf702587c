// The chat widget a site embeds with one tag:
//   <script src="https://<this API>/widget.js" data-channel="sales" async></script>
// Optional: data-api (the API's base URL; default: this script's origin), data-socket (the
// stack's SocketUrl; default: <api>/socket), data-lang (en, de; default: the browser's),
// data-color (the accent colour), data-position (right or left).
// It adds a launcher (its accessible name counts unread messages while the panel is
// closed) and a panel in a shadow root, so the host page's CSS neither reaches in nor is
// touched. Underneath is the widget client (web/webchat.js), loaded as a module from the
// API. No framework: the panel is a few elements.
(function () {
  "use strict";
  const script = document.currentScript;
  if (!script || window.__livechatWidget) return; // one widget per page
  window.__livechatWidget = true;
  const data = script.dataset;
  const base = (data.api || new URL(script.src).origin).replace(/\/$/, "");
  const channelId = data.channel || "default";
  const socketUrl = data.socket || `${base.replace(/^http/, "ws")}/socket`;
  const color = /^#[0-9a-f]{3,8}$/i.test(data.color || "") ? data.color : "#0969da";
  const side = data.position === "left" ? "left" : "right";

  // Every visible string, one table per language.
  const STRINGS = {
    en: {
      open: (n) => (n ? `Open chat, ${n} unread` : "Open chat"),
      close: "Close chat",
      title: "Chat with us",
      name: "Your name",
      email: "Your e-mail",
      message: "Message",
      start: "Start chat",
      send: "Send",
      attach: "Attach a file",
      end: "End chat",
      offlineIntro: "Nobody is online right now. Leave us a message and we will answer by e-mail.",
      leave: "Send message",
      left: "Thank you: we will answer by e-mail.",
      next: "You are next.",
      waiting: (n) => (n === 0 ? "Nobody is waiting." : n === 1 ? "1 person is waiting." : `${n} people are waiting.`),
      place: (n) => `You are number ${n} in the queue.`,
      wait: (s) => (s < 60 ? "Less than a minute to wait." : `About ${Math.round(s / 60)} min to wait.`),
      typing: "An agent is typing…",
      seen: "Seen",
      edited: "edited",
      deleted: "This message was deleted.",
      ended: "The chat has ended.",
      lost: "Connection lost; retrying…",
      you: "You",
    },
    de: {
      open: (n) => (n ? `Chat öffnen, ${n} ungelesen` : "Chat öffnen"),
      close: "Chat schließen",
      title: "Schreiben Sie uns",
      name: "Ihr Name",
      email: "Ihre E-Mail-Adresse",
      message: "Nachricht",
      start: "Chat starten",
      send: "Senden",
      attach: "Datei anhängen",
      end: "Chat beenden",
      offlineIntro: "Gerade ist niemand online. Hinterlassen Sie uns eine Nachricht, wir antworten per E-Mail.",
      leave: "Nachricht senden",
      left: "Danke: wir antworten per E-Mail.",
      next: "Sie sind als Nächstes dran.",
      waiting: (n) => (n === 0 ? "Niemand wartet." : n === 1 ? "1 Person wartet." : `${n} Personen warten.`),
      place: (n) => `Sie sind Nummer ${n} in der Warteschlange.`,
      wait: (s) => (s < 60 ? "Weniger als eine Minute Wartezeit." : `Etwa ${Math.round(s / 60)} Min. Wartezeit.`),
      typing: "Ein Mitarbeiter schreibt…",
      seen: "Gelesen",
      edited: "bearbeitet",
      deleted: "Diese Nachricht wurde gelöscht.",
      ended: "Der Chat ist beendet.",
      lost: "Verbindung unterbrochen; neuer Versuch…",
      you: "Sie",
    },
  };
  const wanted = (data.lang || navigator.language || "en").slice(0, 2).toLowerCase();
  const lang = STRINGS[wanted] ? wanted : "en";
  const t = (key, ...args) => {
    const s = STRINGS[lang][key];
    return typeof s === "function" ? s(...args) : s;
  };

  const CSS = `
    :host { all: initial; }
    * { box-sizing: border-box; font-family: system-ui, sans-serif; }
    .launcher { position: fixed; bottom: 1rem; ${side}: 1rem; z-index: 2147483000; border: 0; border-radius: 2rem;
      padding: .8rem 1.1rem; background: ${color}; color: #fff; font-size: 1rem; cursor: pointer; box-shadow: 0 2px 8px #0004; }
    .badge { display: inline-block; min-width: 1.3rem; margin-left: .4rem; padding: 0 .3rem; border-radius: 1rem;
      background: #fff; color: ${color}; font-weight: 700; }
    .panel { position: fixed; bottom: 4.5rem; ${side}: 1rem; z-index: 2147483000; width: min(24rem, calc(100vw - 2rem));
      max-height: min(36rem, calc(100vh - 6rem)); display: flex; flex-direction: column; background: #fff; color: #1b1f24;
      border: 1px solid #d0d7de; border-radius: 12px; box-shadow: 0 4px 16px #0003; overflow: hidden; }
    .panel[hidden], [hidden] { display: none !important; }
    header { display: flex; justify-content: space-between; align-items: center; padding: .6rem .8rem; background: ${color}; color: #fff; }
    h2 { margin: 0; font-size: 1.05rem; }
    header button { background: none; border: 0; color: #fff; font-size: 1.3rem; cursor: pointer; }
    .body { padding: .6rem .8rem; overflow-y: auto; flex: 1; display: grid; gap: .4rem; align-content: start; }
    ol { list-style: none; margin: 0; padding: 0; display: grid; gap: .35rem; }
    li { padding: .35rem .55rem; border-radius: 8px; background: #eef2f6; max-width: 85%; overflow-wrap: anywhere; }
    li.mine { background: #dbeafe; justify-self: end; }
    li.system { background: none; color: #57606a; font-style: italic; max-width: none; }
    .meta { display: block; font-size: .75rem; color: #57606a; }
    .status, .typing { margin: 0; font-size: .85rem; color: #57606a; min-height: 1rem; }
    form { display: grid; gap: .35rem; }
    label { font-size: .85rem; font-weight: 600; }
    input, textarea, button { font: inherit; font-size: .95rem; padding: .45rem .55rem; border-radius: 6px; border: 1px solid #8c959f; }
    form button, .row button { background: ${color}; color: #fff; border-color: ${color}; cursor: pointer; }
    .row { display: flex; gap: .4rem; flex-wrap: wrap; }
    .row > textarea { flex: 1 1 100%; }
    button.secondary { background: #fff; color: ${color}; }
    :focus-visible { outline: 3px solid #fb8500; outline-offset: 1px; }
  `;

  function mount() {
    const host = document.createElement("div");
    host.setAttribute("data-livechat", "");
    document.body.append(host);
    const root = host.attachShadow({ mode: "open" });
    root.innerHTML = `<style>${CSS}</style>
      <button type="button" class="launcher"><span class="label">Chat</span><span class="badge" hidden></span></button>
      <section class="panel" role="dialog" aria-labelledby="lc-title" hidden>
        <header><h2 id="lc-title"></h2><button type="button" class="close">×</button></header>
        <div class="body">
          <p class="status queue" aria-live="polite"></p>
          <ol class="log" aria-live="polite"></ol>
          <p class="typing" aria-live="polite"></p>
          <p class="status connection" role="status"></p>
          <form class="start">
            <label for="lc-name"></label><input id="lc-name" autocomplete="name" required>
            <button type="submit" class="start-button"></button>
          </form>
          <form class="offline" hidden>
            <p class="status intro"></p>
            <label for="lc-oname"></label><input id="lc-oname" autocomplete="name" required>
            <label for="lc-oemail"></label><input id="lc-oemail" type="email" autocomplete="email" required>
            <label for="lc-otext"></label><textarea id="lc-otext" rows="3" required></textarea>
            <button type="submit" class="leave"></button>
          </form>
          <form class="composer" hidden>
            <label for="lc-text"></label>
            <div class="row">
              <textarea id="lc-text" rows="2" required></textarea>
              <button type="submit" class="send"></button>
              <button type="button" class="secondary attach"></button>
              <button type="button" class="secondary end"></button>
              <input type="file" class="file" hidden>
            </div>
          </form>
        </div>
      </section>`;
    return root;
  }

  function run(WebChatService) {
    const root = mount();
    const $ = (selector) => root.querySelector(selector);
    const text = (selector, value) => ($(selector).textContent = value);
    text("#lc-title", t("title"));
    $(".close").setAttribute("aria-label", t("close"));
    for (const [id, key] of [["lc-name", "name"], ["lc-oname", "name"], ["lc-oemail", "email"], ["lc-otext", "message"], ["lc-text", "message"]]) {
      text(`label[for=${id}]`, t(key));
    }
    text(".start-button", t("start"));
    text(".intro", t("offlineIntro"));
    text(".leave", t("leave"));
    text(".send", t("send"));
    text(".attach", t("attach"));
    text(".end", t("end"));

    const chat = new WebChatService({ baseUrl: base, channelId, socketUrl });
    window.livechatWidget = chat; // the page's (and its tests') handle on the client
    let unread = 0;
    let agentsRead = 0;
    const open = () => !$(".panel").hidden;
    const launcher = () => {
      $(".launcher").setAttribute("aria-label", t("open", unread));
      $(".badge").hidden = unread === 0;
      text(".badge", String(unread));
    };
    const markSeen = () => { if (open() && document.visibilityState === "visible" && chat.session) chat.markRead().catch(() => {}); };
    const show = (inChat) => {
      $(".start").hidden = inChat;
      $(".offline").hidden = true;
      $(".composer").hidden = !inChat;
    };
    const toggle = (wanted) => {
      $(".panel").hidden = !wanted;
      if (wanted) {
        unread = 0;
        markSeen();
        (root.querySelector("form:not([hidden]) input, form:not([hidden]) textarea") || $(".close")).focus();
      } else {
        $(".launcher").focus();
      }
      launcher();
    };
    $(".launcher").addEventListener("click", () => toggle(!open()));
    $(".close").addEventListener("click", () => toggle(false));
    root.addEventListener("keydown", (e) => { if (e.key === "Escape" && open()) toggle(false); });
    document.addEventListener("visibilitychange", markSeen);

    const time = (iso) => new Date(iso || Date.now()).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
    function render(m) {
      if (m.type === "Notice") return;
      const li = document.createElement("li");
      li.dataset.index = m.index;
      if (m.type === "System") {
        li.className = "system";
        li.textContent = m.text;
      } else {
        // The session's own id: set before a restore delivers the transcript.
        const mine = m.chatterId === chat.session?.participantId;
        li.className = mine ? "mine" : "";
        li.dataset.name = mine ? t("you") : m.chatterName;
        li.dataset.time = time(m.createTime);
        fill(li, m);
      }
      $(".log").append(li);
      li.scrollIntoView?.({ block: "nearest" });
    }
    function fill(li, m) {
      const meta = Object.assign(document.createElement("span"), { className: "meta" });
      meta.textContent = `${li.dataset.name} · ${li.dataset.time}${m.edited ? ` · ${t("edited")}` : ""}`;
      if (m.deleted) li.replaceChildren(meta, Object.assign(document.createElement("em"), { textContent: t("deleted") }));
      else if (m.type === "File" && m.file) {
        const button = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: m.file.name });
        button.addEventListener("click", () => chat.downloadFile({ fileId: m.file.fileId, fileName: m.file.name }).catch(() => {}));
        li.replaceChildren(meta, button);
      } else li.replaceChildren(meta, document.createTextNode(m.text));
    }
    function showSeen() {
      root.querySelectorAll(".seen").forEach((s) => s.remove());
      const read = [...root.querySelectorAll("li.mine")].filter((li) => Number(li.dataset.index) <= agentsRead);
      read.at(-1)?.querySelector(".meta")?.append(Object.assign(document.createElement("span"), { className: "seen", textContent: ` · ${t("seen")}` }));
    }

    chat.on("messageReceived", (e) => {
      e.messages.forEach(render);
      const fromAgents = e.messages.filter((m) => m.chatterType === "User" && m.type !== "System").length;
      if (!open() && !e.restoring) unread += fromAgents;
      launcher();
      showSeen();
      markSeen();
    });
    chat.on("messagesRead", (e) => { agentsRead = e.lastReadIndex; showSeen(); });
    chat.on("messageUpdated", (e) => {
      const li = root.querySelector(`li[data-index="${e.index}"]`);
      if (li?.dataset.name) fill(li, { ...e, type: "Text" });
    });
    chat.on("queuePosition", ({ queuePosition, estimatedWaitSeconds }) => {
      const place = queuePosition === null ? "" : queuePosition === 1 ? t("next") : t("place", queuePosition);
      text(".queue", queuePosition === null ? "" : `${place}${estimatedWaitSeconds === null ? "" : ` ${t("wait", estimatedWaitSeconds)}`}`);
    });
    chat.on("agentTypingStarted", () => text(".typing", t("typing")));
    chat.on("agentTypingStopped", () => text(".typing", ""));
    chat.on("disconnected", () => text(".connection", t("lost")));
    chat.on("reconnected", () => text(".connection", ""));
    chat.on("started", () => show(true));
    chat.on("restored", () => show(true));
    chat.on("ended", () => {
      text(".typing", "");
      text(".queue", "");
      text(".connection", t("ended"));
      $(".composer").hidden = true;
    });

    $(".start").addEventListener("submit", async (event) => {
      event.preventDefault();
      $(".log").replaceChildren();
      text(".connection", "");
      try {
        await chat.startChat({ nickname: $("#lc-name").value });
        $("#lc-text").focus();
      } catch (e) {
        text(".connection", e.message);
      }
    });
    $(".offline").addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await chat.leaveMessage({ name: $("#lc-oname").value, email: $("#lc-oemail").value, text: $("#lc-otext").value });
        $(".offline").hidden = true;
        text(".connection", t("left"));
      } catch (e) {
        text(".connection", e.message);
      }
    });
    const send = async () => {
      const value = $("#lc-text").value;
      if (!value.trim()) return;
      $("#lc-text").value = "";
      try { await chat.sendMessage({ message: value }); } catch (e) { text(".connection", e.message); }
    };
    $(".composer").addEventListener("submit", (event) => { event.preventDefault(); send(); });
    // Enter sends; Shift+Enter is a new line.
    $("#lc-text").addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); send(); } });
    chat.registerTypingPreviewInput({ input: $("#lc-text") });
    $(".attach").addEventListener("click", () => $(".file").click());
    $(".file").addEventListener("change", async () => {
      try { await chat.sendFile({ files: $(".file") }); } catch (e) { text(".connection", e.message); }
      $(".file").value = "";
    });
    $(".end").addEventListener("click", () => chat.endChat().catch((e) => text(".connection", e.message)));

    // Nobody online and no chat: the form for a message instead of a chat.
    fetch(`${base}/channels/${encodeURIComponent(channelId)}/availability`)
      .then((r) => r.json())
      .then((a) => {
        if (!a.online && !chat.session) {
          $(".start").hidden = true;
          $(".offline").hidden = false;
        } else if (!chat.session) {
          // Someone is online: how many wait before the visitor, and for how long.
          return chat.queueOutlook().then(({ waiting, estimatedWaitSeconds: s }) => {
            if (!chat.session) text(".queue", `${t("waiting", waiting)}${s === null ? "" : ` ${t("wait", s)}`}`);
          });
        }
      })
      .catch(() => {});
    launcher();
  }

  const load = () => import(`${base}/web/webchat.js`).then(({ WebChatService }) => run(WebChatService));
  if (document.body) load();
  else document.addEventListener("DOMContentLoaded", load);
})();
