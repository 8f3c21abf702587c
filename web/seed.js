// The seeds' own words: WebChatService's error messages and events, as seed 001 spells
// them (webchat.js re-exports both), and a message pushed in the shape of seed 002's
// notifications, read as the HTTP API hands messages out.

import { NO_FILES } from "./files.js";

export const Errors = Object.freeze({
  alreadyActive: "There is already an active chat session.",
  malformedUserData: "malformed data object provided in userData property.",
  noSession: "There is no active chat session.",
  noSessionShort: "No active chat session.",
  noText: "No message text provided.",
  badFilters: "Missing or invalid filters provided. Please provide a regular expression or an array of regular expressions.",
  noMoreHistory: "No more messages to fetch.",
  restoring: "Already restoring. Ignoring request.",
  restoreActive: "Chat session is already active, ignoring restore command.",
  pollLimit: "Polling stopped after too many failures; resetPollExceptions resumes it.",
  pollRunning: "previous poll has not finished.",
  badInput: "Invalid value provided for the input property. An HTML element reference to a textarea or text input is required.",
  noFiles: NO_FILES,
  noFileId: "No fileId provided.",
});

// The seed's events, as it spells them ("Started" too, beside "started").
export const EVENTS = Object.freeze([
  "ready", "started", "Started", "restored", "restoreFailed", "restoreTimeout", "messageReceived", "agentConnected",
  "agentDisconnected", "agentTypingStarted", "agentTypingStopped", "agentTypingTimeout", "clientConnected",
  "clientDisconnected", "clientTypingStarted", "clientTypingStopped", "ended", "error", "disconnected", "reconnected",
]);

/// A pushed message (Genesys's shape) as the HTTP API hands messages out.
export function fromPush(m, chatId) {
  const type = { ParticipantJoined: "System", ParticipantLeft: "System", FileUploaded: "File" }[m.type] ?? m.type;
  return {
    messageId: `${chatId}-${m.index}`,
    chatId,
    index: m.index,
    chatterType: { Agent: "User", System: "System" }[m.from?.type] ?? "Customer",
    chatterId: m.from?.participantId,
    chatterName: m.from?.nickname,
    type,
    event: { ParticipantJoined: "joined", ParticipantLeft: "left" }[m.type],
    text: m.text,
    file: m.file,
    createTime: new Date(m.timestampSeconds).toISOString(),
  };
}
