// What WebChatService does beyond the seed: edit and delete, offline messages and the
// queue before a chat, read receipts and the place in the queue. webchat.js adds these
// methods to its class.

export const extensions = {
  // Edit and delete (not in the seed) -------------------------------------------------

  /// Edits one of the customer's own messages (`messageId` as delivered) within the
  /// deployment's window; answers the message as it now is.
  async editMessage({ messageId, text } = {}) {
    const session = this.requireSession();
    const path = `/chats/${session.chatId}/messages/${encodeURIComponent(messageId)}`;
    return (await this.request("PATCH", path, { text })).message;
  },

  /// Withdraws one of the customer's own messages: a tombstone stays at its index.
  async deleteMessage({ messageId } = {}) {
    const session = this.requireSession();
    await this.request("DELETE", `/chats/${session.chatId}/messages/${encodeURIComponent(messageId)}`);
  },

  // Offline messages (not in the seed) -----------------------------------------------

  /// Leaves a message for the channel when nobody is online (no chat is started): a
  /// ticket system picks it up from the native OfflineMessageAdd event.
  async leaveMessage({ name, email, text, userData } = {}) {
    const body = { name, email, text, userData: userData ?? (Object.keys(this.userData).length ? this.userData : undefined) };
    return (await this.request("POST", `/channels/${encodeURIComponent(this.channelId)}/offline-messages`, body)).offlineMessage;
  },

  /// The channel's queue before a chat starts: `{ channelId, waiting, estimatedWaitSeconds }`
  /// (the requests waiting, and the channel's recent mean wait or null).
  async queueOutlook() {
    return this.request("GET", `/channels/${encodeURIComponent(this.channelId)}/queue`);
  },

  // Read receipts (not in the seed: its widget has none) ------------------------------

  /// Marks the transcript read up to `index` (by default the last message delivered):
  /// what the customer has seen. Coalesced: one request at a time, and none for a mark at
  /// or behind the last one sent, so a burst of messages costs one write.
  async markRead({ index } = {}) {
    const session = this.requireSession();
    const upTo = index ?? session.lastIndex;
    if (!(upTo > this.readSent)) return;
    this.readWanted = Math.max(this.readWanted, upTo);
    this.readInFlight ??= (async () => {
      try {
        while (this.session && this.readWanted > this.readSent) {
          const want = this.readWanted;
          await this.request("POST", `/chats/${this.session.chatId}/read`, { index: want });
          this.readSent = want;
        }
      } finally {
        this.readInFlight = null;
      }
    })();
    return this.readInFlight;
  },

  /// Agents' read marks (pushed as MessagesRead, or a poll's `readMarks`): `messagesRead`
  /// when the furthest an agent has read moves, with that index and who read it.
  noteRead(marks) {
    for (const { lastReadIndex, by } of marks) {
      if (!(lastReadIndex > this.agentsRead)) continue;
      this.agentsRead = lastReadIndex;
      this.emit("messagesRead", { lastReadIndex, by });
    }
  },

  /// The chat's place in the queue while it waits (a poll's `queuePosition`, or a pushed
  /// QueuePositionUpdated): `queuePosition` when it changes, with the wait to expect in
  /// seconds (null when unknown); both null once an agent has taken the chat.
  notePlace(queuePosition, estimatedWaitSeconds) {
    const place = { queuePosition: queuePosition ?? null, estimatedWaitSeconds: estimatedWaitSeconds ?? null };
    if (this.place?.queuePosition === place.queuePosition && this.place?.estimatedWaitSeconds === place.estimatedWaitSeconds) return;
    if (!this.place && place.queuePosition === null) return;
    this.place = place.queuePosition === null ? null : place;
    this.emit("queuePosition", place);
  },
};
