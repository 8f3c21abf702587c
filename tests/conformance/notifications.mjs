// Seed 002, Genesys Chat API v2 CometD notifications: each check subscribes a customer's
// socket to /v2/me/chats over the WebSocket API (Bayeux, npm's ws) and holds what is
// pushed to what the seed's notification says.
import { expect } from "./context.mjs";

/// A visitor's chat with its socket subscribed, then accepted: { c, socket, owner }.
async function watched(ctx) {
  const c = await ctx.chat();
  const socket = await ctx.socket(c.token);
  const owner = ctx.agent(ctx.unique("ann"));
  await ctx.ok("PATCH", `/chats/${c.chatId}`, { token: owner, body: { status: "active" } });
  return { c, socket, owner };
}

const newMessage = (text) => (p) => p.messageType === "MessageLogUpdated" && p.notificationType === "NewMessages" && p.messages?.some((m) => m.text === text);

export default [
  {
    id: "002 `/v2/me/chats`",
    run: async (ctx) => {
      const c = await ctx.chat();
      const socket = await ctx.socket(c.token);
      expect(socket.frames.some((m) => m.channel === "/meta/handshake" && m.successful && m.clientId), "handshake with a client id");
      socket.close();
      const refused = await ctx.socket(c.token, "/v2/other").then(() => null, (e) => e);
      expect(refused && /403/.test(String(refused.message)), `another channel is refused: ${refused}`);
    },
  },
  {
    id: "002 ChatStateChangeMessage StatusChange",
    run: async (ctx) => {
      const { c, socket, owner } = await watched(ctx);
      await socket.until((p) => p.notificationType === "StatusChange" && p.chat?.state === "Chatting", "StatusChange to Chatting");
      await ctx.ok("PATCH", `/chats/${c.chatId}`, { token: owner, body: { status: "closed" } });
      await socket.until((p) => p.notificationType === "StatusChange" && p.chat?.state === "Disconnected", "StatusChange to Disconnected");
      socket.close();
    },
  },
  {
    id: "002 ChatStateChangeMessage ParticipantsUpdated",
    run: async (ctx) => {
      const { c, socket, owner } = await watched(ctx);
      const agentIn = (p) => p.notificationType === "ParticipantsUpdated" && p.chat?.participants?.some((x) => x.type === "Agent");
      await socket.until(agentIn, "ParticipantsUpdated with the agent");
      const bobId = ctx.unique("bob");
      await ctx.addAgent({ ...c, owner }, bobId, "Participant");
      await socket.until((p) => p.notificationType === "ParticipantsUpdated" && p.chat?.participants?.some((x) => x.participantId === bobId), "ParticipantsUpdated with Bob");
      socket.close();
    },
  },
  {
    id: "002 ChatStateChangeMessage PropertiesUpdated",
    run: async (ctx) => {
      const { c, socket } = await watched(ctx);
      await ctx.ok("PATCH", `/chats/${c.chatId}/user-data`, { token: c.token, body: { orderId: "A-7" } });
      await socket.until((p) => p.notificationType === "PropertiesUpdated" && p.chat?.userData?.orderId === "A-7", "PropertiesUpdated with the new userData");
      socket.close();
    },
  },
  {
    id: "002 MessageLogUpdated NewMessages",
    run: async (ctx) => {
      const { c, socket, owner } = await watched(ctx);
      await ctx.ok("POST", `/chats/${c.chatId}/messages`, { token: owner, body: { text: "pushed" } }, 201);
      const push = await socket.until(newMessage("pushed"), "NewMessages");
      const m = push.messages.find((x) => x.text === "pushed");
      expect(m.type === "Text" && m.from?.type === "Agent" && Number.isInteger(m.index), `a Text from the Agent with its index: ${JSON.stringify(m)}`);
      socket.close();
    },
  },
  {
    id: "002 `uri`, `chatUri`",
    run: async (ctx) => {
      const { c, socket, owner } = await watched(ctx);
      await ctx.ok("POST", `/chats/${c.chatId}/messages`, { token: owner, body: { text: "where" } }, 201);
      const push = await socket.until(newMessage("where"), "NewMessages");
      expect(push.chatUri === `${ctx.api}/chats/${c.chatId}`, `chatUri: ${push.chatUri}`);
      const state = await socket.until((p) => p.chat?.uri, "a ChatStateChangeMessage");
      expect(state.chat.uri === `${ctx.api}/chats/${c.chatId}`, `uri: ${state.chat.uri}`);
      socket.close();
    },
  },
  {
    id: "002 `timestamp`, `timestampSeconds`",
    run: async (ctx) => {
      const { c, socket, owner } = await watched(ctx);
      const before = Date.now();
      await ctx.ok("POST", `/chats/${c.chatId}/messages`, { token: owner, body: { text: "when" } }, 201);
      const m = (await socket.until(newMessage("when"))).messages.find((x) => x.text === "when");
      expect(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}\+0000$/.test(m.timestamp), `timestamp ${m.timestamp}`);
      expect(Math.abs(m.timestampSeconds - before) < 60000, `timestampSeconds in milliseconds, as the seed has it: ${m.timestampSeconds}`);
      socket.close();
    },
  },
  {
    id: "002 `referenceId`",
    run: async (ctx) => {
      const { c, socket, owner } = await watched(ctx);
      await ctx.ok("POST", `/chats/${c.chatId}/messages`, { token: owner, body: { text: "ref" }, headers: { "x-reference-id": "ref-42" } }, 201);
      const push = await socket.until(newMessage("ref"));
      expect(push.referenceId === "ref-42", `referenceId: ${push.referenceId}`);
      socket.close();
    },
  },
  {
    id: "002 `capabilities`",
    run: async (ctx) => {
      const { socket } = await watched(ctx);
      const state = await socket.until((p) => p.chat?.state === "Chatting" && p.chat?.capabilities, "the chatting state");
      for (const cap of ["SendMessage", "Leave"]) expect(state.chat.capabilities.includes(cap), `the customer may ${cap}`);
      socket.close();
    },
  },
];
