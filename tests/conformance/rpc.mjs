// Seed 003, LIVECHAT RPC: a form receiver on this machine is registered once as an `rpc`
// webhook (direct: no handshake, form fields as an RPC script reads them, parsed here with
// the platform's URLSearchParams); each check does what makes LIVECHAT call its script and
// waits for the event with the seed's parameters. Locally the deployment may call loopback;
// against another deployment the receiver must be reachable from it.
import { expect } from "./context.mjs";

let shared = null;
/// The one receiver and its webhook, made at the first check that needs them.
function receiver(ctx) {
  shared ??= (async () => {
    const rx = await ctx.receiver();
    const admin = ctx.agent(ctx.unique("admin"), ["admin"]);
    await ctx.ok("POST", "/webhooks", { token: admin, body: { url: rx.url, format: "rpc", events: ["CHAT_STARTED", "OPERATOR_STATUS", "BUTTON_STATUS", "OPERATOR_STOPED_CHAT", "VISITOR_LEFT_CHAT", "PRIVATE_CHAT_STATUS", "OPERATOR_TRANSFER", "CLIENT_INVITED"] } }, 201);
    return rx;
  })();
  return shared;
}

/// The first delivery of `event` (the seed's EVENT_X is called with EVENT=X) whose fields
/// `test` accepts: its fields.
async function delivered(ctx, event, test, what) {
  const rx = await receiver(ctx);
  const fields = (r) => new URLSearchParams(r.body);
  const name = event.replace(/^EVENT_/, "");
  const found = await rx.until((r) => fields(r).get("EVENT") === name && test(fields(r)), what ?? event);
  return fields(found);
}

export default [
  {
    id: "003 EVENT_CHAT_STARTED",
    run: async (ctx) => {
      await receiver(ctx);
      const c = await ctx.accepted();
      const f = await delivered(ctx, "EVENT_CHAT_STARTED", (f) => f.get("GROUP") === c.chatId || f.get("CLIENT_ID") === c.chat.requesterId);
      expect(f.get("OPERATOR_ID") === c.ownerId, `OPERATOR_ID ${f.get("OPERATOR_ID")}`);
      expect(f.get("CLIENT_ID") === c.chat.requesterId, `CLIENT_ID ${f.get("CLIENT_ID")}`);
      expect(f.has("STATUS") && f.has("LICENCE"), "STATUS and LICENCE");
    },
  },
  {
    id: "003 EVENT_OPERATOR_STATUS",
    run: async (ctx) => {
      await receiver(ctx);
      const annId = ctx.unique("ann");
      await ctx.ok("PUT", `/agents/${annId}/availability`, { token: ctx.agent(annId), body: { availability: "online", channels: [ctx.unique("ch")] } });
      const f = await delivered(ctx, "EVENT_OPERATOR_STATUS", (f) => f.get("OPERATOR_ID") === annId);
      expect(f.get("STATUS") === "0", `on-line is STATUS 0, not ${f.get("STATUS")}`);
    },
  },
  {
    id: "003 EVENT_BUTTON_STATUS",
    run: async (ctx) => {
      await receiver(ctx);
      const annId = ctx.unique("ann");
      const channel = ctx.unique("ch");
      await ctx.ok("PUT", `/agents/${annId}/availability`, { token: ctx.agent(annId), body: { availability: "online", channels: [channel] } });
      const f = await delivered(ctx, "EVENT_BUTTON_STATUS", (f) => f.get("CHANNEL") === channel);
      expect(f.get("STATUS") === "online", `STATUS ${f.get("STATUS")}`);
    },
  },
  {
    id: "003 EVENT_OPERATOR_STOPED_CHAT",
    run: async (ctx) => {
      await receiver(ctx);
      const c = await ctx.accepted();
      await ctx.ok("POST", `/chats/${c.chatId}/messages`, { token: c.token, body: { text: "thanks, bye" } }, 201);
      await ctx.ok("PATCH", `/chats/${c.chatId}`, { token: c.owner, body: { status: "closed" } });
      const f = await delivered(ctx, "EVENT_OPERATOR_STOPED_CHAT", (f) => f.get("GROUP") === c.chatId);
      expect(f.get("OPERATOR_ID") === c.ownerId && f.get("CLIENT_ID") === c.chat.requesterId, "who stopped it, and whose chat");
      expect((f.get("CHAT") ?? "").includes("thanks, bye"), `CHAT carries the conversation: ${f.get("CHAT")}`);
    },
  },
  {
    id: "003 EVENT_VISITOR_LEFT_CHAT",
    run: async (ctx) => {
      await receiver(ctx);
      const c = await ctx.accepted();
      await ctx.ok("POST", `/chats/${c.chatId}/messages`, { token: c.token, body: { text: "gotta go" } }, 201);
      await ctx.ok("POST", `/chats/${c.chatId}/leave`, { token: c.token });
      const f = await delivered(ctx, "EVENT_VISITOR_LEFT_CHAT", (f) => f.get("GROUP") === c.chatId);
      expect(f.get("CLIENT_ID") === c.chat.requesterId && f.get("OPERATOR_ID") === c.ownerId, "the visitor and the agent");
      expect((f.get("CHAT") ?? "").includes("gotta go"), "CHAT carries the conversation");
    },
  },
  {
    id: "003 EVENT_PRIVATE_CHAT_STATUS",
    run: async (ctx) => {
      await receiver(ctx);
      const annId = ctx.unique("ann");
      const { chatId, ann } = await ctx.agentsChat(annId);
      const bobId = ctx.unique("bob");
      await ctx.ok("POST", `/chats/${chatId}/invitations`, { token: ann, body: { inviteUserId: bobId } }, 201);
      await ctx.ok("POST", `/chats/${chatId}/decline`, { token: ctx.agent(bobId), body: {} }, 204);
      const f = await delivered(ctx, "EVENT_PRIVATE_CHAT_STATUS", (f) => f.get("GROUP") === chatId && f.get("STATUS") === "stop");
      expect(f.get("OPERATOR_ID") === bobId, `the agent who declined: ${f.get("OPERATOR_ID")}`);
    },
  },
  {
    // A hand-over: the chat goes back to the queue and another agent takes it.
    id: "003 EVENT_OPERATOR_TRANSFER",
    run: async (ctx) => {
      await receiver(ctx);
      const c = await ctx.accepted();
      await ctx.ok("PATCH", `/chats/${c.chatId}`, { token: c.owner, body: { status: "request" } });
      const bobId = ctx.unique("bob");
      await ctx.ok("PATCH", `/chats/${c.chatId}`, { token: ctx.agent(bobId), body: { status: "active" } });
      const f = await delivered(ctx, "EVENT_OPERATOR_TRANSFER", (f) => f.get("CLIENT_ID") === c.chat.requesterId && f.get("NEW_OPERATOR_ID") === bobId, "OPERATOR_TRANSFER to the new agent");
      expect(f.get("OPERATOR_ID") === c.ownerId, `from the agent before: ${f.get("OPERATOR_ID")}`);
    },
  },
  {
    // An agent invites a known customer into its chat: CLIENT_INVITED names both.
    id: "003 EVENT_CLIENT_INVITED",
    run: async (ctx) => {
      await receiver(ctx);
      const c = await ctx.accepted();
      const known = ctx.unique("cust");
      await ctx.ok("POST", `/chats/${c.chatId}/participants`, {
        token: c.owner, body: { chatterId: known, chatterType: "Customer", chatterName: "Jo", invitation: true },
      }, 201);
      const f = await delivered(ctx, "EVENT_CLIENT_INVITED", (f) => f.get("CLIENT_ID") === known);
      expect(f.get("OPERATOR_ID") === c.ownerId, `the inviting agent: ${f.get("OPERATOR_ID")}`);
    },
  },
];
