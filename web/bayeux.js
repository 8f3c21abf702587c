// Bayeux (CometD) over one WebSocket, as the stack's WebSocket API speaks it: handshake,
// subscribe to /v2/me/chats, heartbeats. Used by webchat.js and the agent console.

/// A socket of the WebSocket API speaking just enough Bayeux (handshake, subscribe to
/// /v2/me/chats, heartbeats at the server's advice): `onData` gets each pushed notification,
/// `onSubscribed` says pushes flow, `onClose` that they stopped (not after `close()`).
/// Heartbeats are minutes apart (each is a paid message); a socket that dropped without a
/// close is found by a heartbeat's missing reply (`replyMs`), and `check()` sends one at
/// once: the widget calls it when the page comes back online or into view.
export class BayeuxSocket {
  constructor({ url, token, WebSocket, onSubscribed, onData, onClose, replyMs = 10000 }) {
    const socket = new WebSocket(`${url}?token=${encodeURIComponent(token)}`);
    this.socket = socket;
    let clientId;
    const send = (message) => socket.send(JSON.stringify([{ ...message, clientId }]));
    const ended = () => {
      clearTimeout(this.heartbeatTimer);
      clearTimeout(this.replyTimer);
      if (!this.closed) {
        this.closed = true;
        onClose?.(this);
      }
    };
    this.beat = () => {
      if (!clientId || this.closed) return;
      clearTimeout(this.heartbeatTimer);
      send({ channel: "/meta/connect", connectionType: "websocket" });
      if (!this.replyTimer) {
        this.replyTimer = setTimeout(() => {
          ended();
          try { socket.close(); } catch { /* already gone */ }
        }, replyMs);
      }
    };
    const heartbeat = (advice) => {
      clearTimeout(this.heartbeatTimer);
      clearTimeout(this.replyTimer);
      this.replyTimer = null;
      this.heartbeatTimer = setTimeout(this.beat, advice?.interval ?? 300000);
    };
    socket.onopen = () => send({ channel: "/meta/handshake", version: "1.0", supportedConnectionTypes: ["websocket"] });
    socket.onmessage = (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      for (const m of [].concat(frame)) {
        if (m.channel === "/meta/handshake" && m.successful) {
          clientId = m.clientId;
          send({ channel: "/meta/subscribe", subscription: "/v2/me/chats" });
          heartbeat(m.advice);
        } else if (m.channel === "/meta/subscribe" && m.successful) {
          onSubscribed?.(clientId);
        } else if (m.channel === "/meta/connect" && m.successful) {
          heartbeat(m.advice);
        } else if (m.channel === "/v2/me/chats") {
          onData?.(m.data);
        } else if (m.successful === false) {
          socket.close();
        }
      }
    };
    socket.onclose = ended;
  }

  /// A heartbeat now: a socket that dropped silently closes within `replyMs`.
  check() {
    this.beat();
  }

  close() {
    this.closed = true;
    clearTimeout(this.heartbeatTimer);
    clearTimeout(this.replyTimer);
    this.socket.close();
  }
}
