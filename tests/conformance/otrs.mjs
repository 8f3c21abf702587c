// Seed 000, OTRS Kernel::System::Chat: each check does over HTTP what an OTRS integration
// does with the call its row names, and holds the answer to what the seed says it returns.
import { expect } from "./context.mjs";

const listed = (page, chatId) => (page.chats ?? []).some((c) => c.chatId === chatId);

export default [
  {
    // ChatAdd: a request with its requester, target and channel; the requester is its first participant.
    id: "000 ChatAdd()",
    run: async (ctx) => {
      const c = await ctx.chat({ subject: "Order", ticketId: "T-1" });
      expect(c.chat.status === "request", `status ${c.chat.status}`);
      expect(c.chat.requesterType === "Public" && c.chat.targetType === "User", "requester and target types");
      expect(c.chat.channelId === c.channelId, "its channel");
      const agent = ctx.agent(ctx.unique("ann"));
      const got = await ctx.ok("GET", `/chats/${c.chatId}`, { token: agent });
      expect(got.chat.chatId === c.chatId && got.chat.status === "request", "readable as a request");
      const people = await ctx.ok("GET", `/chats/${c.chatId}/participants`, { token: agent });
      expect(people.participants.some((p) => p.chatterId === c.chat.requesterId && p.chatterActive === 1), "the requester participates");
    },
  },
  {
    // ChatUpdate: request → active → request (back to the queue) → active → closed.
    id: "000 ChatUpdate()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      const back = await ctx.ok("PATCH", `/chats/${c.chatId}`, { token: c.owner, body: { status: "request" } });
      expect(back.chat.status === "request", "back in the queue");
      const bob = ctx.agent(ctx.unique("bob"));
      await ctx.ok("PATCH", `/chats/${c.chatId}`, { token: bob, body: { status: "active" } });
      const closed = await ctx.ok("PATCH", `/chats/${c.chatId}`, { token: bob, body: { status: "closed" } });
      expect(closed.chat.status === "closed" && closed.chat.previousStatus === "active", "closed from active");
    },
  },
  {
    id: "000 ChatGet()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      const { chat } = await ctx.ok("GET", `/chats/${c.chatId}`, { token: c.owner });
      for (const field of ["chatId", "status", "requesterId", "requesterType", "requesterName", "targetType", "channelId", "createTime", "updateTime"]) {
        expect(chat[field] !== undefined, `ChatGet has no ${field}`);
      }
      expect((await ctx.call("GET", `/chats/${ctx.unique("nochat")}`, { token: c.owner })).status === 404, "an unknown chat is a 404");
    },
  },
  {
    // ChatList by status, channel, requester type and chatter, filtered before paging.
    id: "000 ChatList()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      const other = await ctx.chat();
      const mine = await ctx.ok("GET", `/chats?status=active&chatterId=${c.ownerId}&chatterType=User`, { token: c.owner });
      expect(listed(mine, c.chatId) && !listed(mine, other.chatId), "the agent's active chats");
      const queue = await ctx.ok("GET", `/chats?status=request&channelIds=${other.channelId}&requesterType=Public`, { token: c.owner });
      expect(listed(queue, other.chatId) && !listed(queue, c.chatId), "the channel's requests");
      const row = queue.chats.find((r) => r.chatId === other.chatId);
      expect(row.channel !== undefined, "a row names its channel");
      expect((await ctx.call("GET", "/chats", { token: other.token })).status === 403, "not for customers");
    },
  },
  {
    id: "000 CustomerIDGet()",
    run: async (ctx) => {
      const known = ctx.unique("cust");
      const c = await ctx.accepted(undefined, { requesterType: "Customer", identityToken: ctx.identity(known) });
      const { chat } = await ctx.ok("GET", `/chats/${c.chatId}`, { token: c.owner });
      expect(chat.customerId === known, `the customer's id, not ${chat.customerId}`);
      const visitor = await ctx.accepted();
      const seen = await ctx.ok("GET", `/chats/${visitor.chatId}`, { token: visitor.owner });
      expect(seen.chat.customerId == null, "a visitor is no known customer");
    },
  },
  {
    id: "000 ChatPermissionLevelGet()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      const { chat } = await ctx.ok("GET", `/chats/${c.chatId}`, { token: c.owner });
      expect(chat.permissionLevel === "Owner", `the acceptor is Owner, not ${chat.permissionLevel}`);
      const bobId = ctx.unique("bob");
      await ctx.addAgent(c, bobId, "Observer");
      const seen = await ctx.ok("GET", `/chats/${c.chatId}`, { token: ctx.agent(bobId) });
      expect(seen.chat.permissionLevel === "Observer", `an observer's, not ${seen.chat.permissionLevel}`);
    },
  },
  {
    id: "000 ChatDelete()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      expect((await ctx.call("DELETE", `/chats/${c.chatId}`, { token: c.token })).status === 403, "customers do not delete");
      expect((await ctx.call("DELETE", `/chats/${c.chatId}`, { token: ctx.agent(ctx.unique("bob")) })).status === 403, "only the Owner, once accepted");
      await ctx.ok("DELETE", `/chats/${c.chatId}`, { token: c.owner }, 204);
      expect((await ctx.call("GET", `/chats/${c.chatId}`, { token: c.owner })).status === 404, "gone");
      const request = await ctx.chat();
      await ctx.ok("DELETE", `/chats/${request.chatId}`, { token: ctx.agent(ctx.unique("eve")) }, 204);
    },
  },
  {
    id: "000 ChatParticipantAdd()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      const bobId = ctx.unique("bob");
      await ctx.addAgent(c, bobId, "Participant");
      const people = await ctx.ok("GET", `/chats/${c.chatId}/participants`, { token: c.owner });
      const bob = people.participants.find((p) => p.chatterId === bobId);
      expect(bob && bob.permissionLevel === "Participant" && bob.chatterActive === 1, "added as asked");
      expect((await ctx.call("POST", `/chats/${c.chatId}/participants`, {
        token: c.token, body: { chatterId: "x", chatterType: "User", chatterActive: 1 },
      })).status === 403, "customers add nobody");
    },
  },
  {
    id: "000 ChatParticipantUpdate()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      const p = `/chats/${c.chatId}/participants/User/${c.ownerId}`;
      await ctx.ok("PATCH", p, { token: c.owner, body: { chatterActive: 0 } });
      const found = await ctx.ok("GET", p, { token: c.owner });
      expect((found.participant ?? found).chatterActive === 0, "inactive now");
      await ctx.ok("PATCH", p, { token: c.owner, body: { chatterActive: 1 } });
    },
  },
  {
    id: "000 AgentPermissionsUpdate()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      const bobId = ctx.unique("bob");
      await ctx.addAgent(c, bobId, "Participant");
      const p = `/chats/${c.chatId}/participants/User/${bobId}`;
      await ctx.ok("PATCH", p, { token: c.owner, body: { permissionLevel: "Observer" } });
      const seen = await ctx.ok("GET", p, { token: c.owner });
      expect((seen.participant ?? seen).permissionLevel === "Observer", "now an observer");
      expect((await ctx.call("PATCH", p, { token: ctx.agent(bobId), body: { permissionLevel: "Owner" } })).status >= 400, "not by itself");
    },
  },
  {
    id: "000 ContributorsCount()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      const { chat } = await ctx.ok("GET", `/chats/${c.chatId}`, { token: c.owner });
      expect(chat.contributorsCount === 1, `one contributing agent, not ${chat.contributorsCount}`);
    },
  },
  {
    id: "000 CustomerPresent()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      expect((await ctx.ok("GET", `/chats/${c.chatId}`, { token: c.owner })).chat.customerPresent === true, "present");
      await ctx.ok("POST", `/chats/${c.chatId}/leave`, { token: c.token });
      expect((await ctx.ok("GET", `/chats/${c.chatId}`, { token: c.owner })).chat.customerPresent === false, "gone after leaving");
    },
  },
  {
    id: "000 ChatParticipantList()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      const list = await ctx.ok("GET", `/chats/${c.chatId}/participants`, { token: c.token });
      const types = list.participants.map((p) => p.chatterType).sort();
      expect(JSON.stringify(types) === JSON.stringify(["Public", "User"]), `participants ${types}`);
    },
  },
  {
    id: "000 ChatParticipantNumberGet()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      const bobId = ctx.unique("bob");
      await ctx.addAgent(c, bobId, "Participant");
      const list = await ctx.ok("GET", `/chats/${c.chatId}/participants`, { token: c.owner });
      const numbers = list.participants.filter((p) => p.chatterType === "User").map((p) => p.agentNumber).sort();
      expect(JSON.stringify(numbers) === "[1,2]", `agent numbers ${numbers}`);
    },
  },
  {
    id: "000 AgentAvailabilityGet()",
    run: async (ctx) => {
      const annId = ctx.unique("ann");
      const ann = ctx.agent(annId);
      await ctx.ok("PUT", `/agents/${annId}/availability`, { token: ann, body: { availability: "online", channels: [ctx.unique("ch")] } });
      const got = await ctx.ok("GET", `/agents/${annId}/availability?external=1`, { token: ann });
      expect(got.code === 3, `on-line is 3, not ${JSON.stringify(got)}`);
      const nobody = await ctx.ok("GET", `/agents/${ctx.unique("ghost")}/availability?external=1`, { token: ann });
      expect(nobody.code === 0, `off-line is 0, not ${JSON.stringify(nobody)}`);
    },
  },
  {
    id: "000 ChatParticipantCheck()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      const p = `/chats/${c.chatId}/participants/User/${c.ownerId}`;
      await ctx.ok("GET", `${p}?active=1`, { token: c.owner });
      await ctx.ok("PATCH", p, { token: c.owner, body: { chatterActive: 0 } });
      await ctx.ok("GET", p, { token: c.owner });
      expect((await ctx.call("GET", `${p}?active=1`, { token: c.owner })).status === 404, "the active-only form");
    },
  },
  {
    id: "000 ChatParticipantRemove()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      const bobId = ctx.unique("bob");
      await ctx.addAgent(c, bobId, "Participant");
      await ctx.ok("DELETE", `/chats/${c.chatId}/participants/User/${bobId}`, { token: c.owner }, 204);
      const list = await ctx.ok("GET", `/chats/${c.chatId}/participants`, { token: c.owner });
      expect(!list.participants.some((p) => p.chatterId === bobId), "removed");
      // All: everyone but the requester and the Owner, who can still close the chat.
      const cidId = ctx.unique("cid");
      await ctx.addAgent(c, cidId, "Participant");
      await ctx.ok("DELETE", `/chats/${c.chatId}/participants`, { token: c.owner }, 204);
      const left = await ctx.ok("GET", `/chats/${c.chatId}/participants`, { token: c.owner });
      expect(left.participants.length === 2, `the requester and the Owner: ${left.participants.map((p) => p.chatterId)}`);
      await ctx.ok("PATCH", `/chats/${c.chatId}`, { token: c.owner, body: { status: "closed" } });
    },
  },
  {
    id: "000 ChatMessageAdd()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      const posted = await ctx.ok("POST", `/chats/${c.chatId}/messages`, { token: c.token, body: { text: "hello" } }, 201);
      expect(posted.message.text === "hello" && posted.message.index > 0, "stored with its index");
      const note = await ctx.ok("POST", `/chats/${c.chatId}/messages`, { token: c.owner, body: { text: "note", internal: true } }, 201);
      const seen = await ctx.ok("GET", `/chats/${c.chatId}/messages`, { token: c.token });
      expect(!seen.messages.some((m) => m.index === note.message.index), "internal: agents only");
      expect((await ctx.call("POST", `/chats/${c.chatId}/messages`, { token: c.token, body: { text: "x".repeat(3801) } })).status === 400, "3,800 characters at most");
    },
  },
  {
    id: "000 ChatMessageGet()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      const posted = await ctx.ok("POST", `/chats/${c.chatId}/messages`, { token: c.token, body: { text: "one" } }, 201);
      const got = await ctx.ok("GET", `/chats/${c.chatId}/messages/${posted.message.messageId}`, { token: c.owner });
      expect((got.message ?? got).text === "one", "the message");
    },
  },
  {
    id: "000 ChatMessageList()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      const ids = [];
      for (const text of ["a", "b", "c"]) {
        ids.push((await ctx.ok("POST", `/chats/${c.chatId}/messages`, { token: c.token, body: { text } }, 201)).message.messageId);
      }
      const since = await ctx.ok("GET", `/chats/${c.chatId}/messages?lastKnownChatMessageId=${ids[0]}`, { token: c.owner });
      expect(JSON.stringify(since.messages.map((m) => m.text)) === '["b","c"]', `after the last known: ${since.messages.map((m) => m.text)}`);
      const last = await ctx.ok("GET", `/chats/${c.chatId}/messages?last=1`, { token: c.owner });
      expect(last.messages.length === 1 && last.messages[0].text === "c", "the last message");
      // FirstMessage and LastMessage: the first and the last *text* message.
      const first = await ctx.ok("GET", `/chats/${c.chatId}/messages?first=1`, { token: c.owner });
      expect(first.messages.length === 1 && first.messages[0].text === "a", `the first text message: ${JSON.stringify(first.messages)}`);
    },
  },
  {
    id: "000 ChatInvite()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      const bobId = ctx.unique("bob");
      await ctx.ok("POST", `/chats/${c.chatId}/invitations`, { token: c.owner, body: { inviteUserId: bobId } }, 201);
      const pending = await ctx.ok("GET", `/users/${bobId}/invitations`, { token: ctx.agent(bobId) });
      expect(JSON.stringify(pending).includes(c.chatId), "bob has the invitation");
    },
  },
  {
    id: "000 ChatInvitesGet()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      const bobId = ctx.unique("bob");
      const via = ctx.unique("via");
      await ctx.ok("POST", `/chats/${c.chatId}/invitations`, { token: c.owner, body: { inviteUserId: bobId, invitationChatId: via } }, 201);
      const bob = ctx.agent(bobId);
      expect(JSON.stringify(await ctx.ok("GET", `/users/${bobId}/invitations?chatId=${c.chatId}`, { token: bob })).includes(c.chatId), "by chat");
      expect(JSON.stringify(await ctx.ok("GET", `/users/${bobId}/invitations?invitationChatId=${via}`, { token: bob })).includes(c.chatId), "by invitation chat");
      expect(!JSON.stringify(await ctx.ok("GET", `/users/${bobId}/invitations?invitationChatId=elsewhere`, { token: bob })).includes(c.chatId), "filtered");
      expect((await ctx.call("GET", `/users/${bobId}/invitations`, { token: c.owner })).status === 403, "one's own only");
    },
  },
  {
    id: "000 ChatDecline()",
    run: async (ctx) => {
      // Only agent-to-agent chats are declined: Ann asks Bob, Bob declines with a message.
      const annId = ctx.unique("ann");
      const { chatId, ann } = await ctx.agentsChat(annId);
      const bobId = ctx.unique("bob");
      await ctx.ok("POST", `/chats/${chatId}/invitations`, { token: ann, body: { inviteUserId: bobId } }, 201);
      await ctx.ok("POST", `/chats/${chatId}/decline`, { token: ctx.agent(bobId), body: { message: "Bob has declined the chat request." } }, 204);
      const pending = await ctx.ok("GET", `/users/${bobId}/invitations`, { token: ctx.agent(bobId) });
      expect(!JSON.stringify(pending).includes(chatId), "no longer invited");
      const log = await ctx.ok("GET", `/chats/${chatId}/messages`, { token: ann });
      expect(log.messages.some((m) => m.text.includes("Bob has declined the chat request.")), "the decline's message is in the chat");
    },
  },
  {
    id: "000 ChatChannelUpdate()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      const to = ctx.unique("ch");
      const moved = await ctx.ok("PATCH", `/chats/${c.chatId}`, { token: c.owner, body: { channelId: to } });
      expect(moved.chat.channelId === to, "moved");
    },
  },
  {
    id: "000 ChatInviteRemove()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      const bobId = ctx.unique("bob");
      const bob = ctx.agent(bobId);
      await ctx.ok("POST", `/chats/${c.chatId}/invitations`, { token: c.owner, body: { inviteUserId: bobId } }, 201);
      await ctx.ok("DELETE", `/users/${bobId}/invitations/${c.chatId}`, { token: bob }, 204);
      expect((await ctx.call("DELETE", `/users/${bobId}/invitations/${c.chatId}`, { token: bob })).status === 404, "nothing left");
    },
  },
  {
    id: "000 IsChatAgentToAgent()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      expect((await ctx.ok("GET", `/chats/${c.chatId}`, { token: c.owner })).chat.agentToAgent === false, "a customer's chat");
    },
  },
  {
    id: "000 ChatFlagSet()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      const key = ctx.unique("k");
      await ctx.ok("PUT", `/chats/${c.chatId}/flags/${key}`, { token: c.owner, body: { value: "1" } });
      const got = await ctx.ok("GET", `/flags?chatId=${c.chatId}&key=${key}`, { token: c.owner });
      expect(JSON.stringify(got).includes(key), "set");
    },
  },
  {
    id: "000 ChatFlagDelete()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      const key = ctx.unique("k");
      await ctx.ok("PUT", `/chats/${c.chatId}/flags/${key}`, { token: c.owner, body: { value: "1" } });
      await ctx.ok("DELETE", `/chats/${c.chatId}/flags?allUsers=1`, { token: c.owner }, 204);
      const got = await ctx.ok("GET", `/flags?chatId=${c.chatId}`, { token: c.owner });
      expect(!JSON.stringify(got).includes(key), "gone for all users");
    },
  },
  {
    id: "000 ChatFlagGet()",
    run: async (ctx) => {
      const c = await ctx.accepted();
      const [k1, k2] = [ctx.unique("k"), ctx.unique("k")];
      await ctx.ok("PUT", `/chats/${c.chatId}/flags/${k1}`, { token: c.owner, body: { value: "1" } });
      await ctx.ok("PUT", `/chats/${c.chatId}/flags/${k2}`, { token: c.owner, body: { value: "2" } });
      const not = await ctx.ok("GET", `/flags?chatId=${c.chatId}&keyNot=${k1}`, { token: c.owner });
      expect(JSON.stringify(not).includes(k2) && !JSON.stringify(not).includes(k1), "keyNot");
      const value = await ctx.ok("GET", `/flags?chatId=${c.chatId}&value=1`, { token: c.owner });
      expect(JSON.stringify(value).includes(k1) && !JSON.stringify(value).includes(k2), "value");
    },
  },
  {
    // OnlineUserList by UserType, and by UserID alone (is this one user on-line?).
    id: "000 OnlineUserList()",
    run: async (ctx) => {
      const annId = ctx.unique("ann");
      const ann = ctx.agent(annId);
      await ctx.ok("PUT", `/agents/${annId}/availability`, { token: ann, body: { availability: "online", channels: [ctx.unique("ch")] } });
      const users = await ctx.ok("GET", "/users/online?userType=User", { token: ann });
      expect(JSON.stringify(users).includes(annId), "agents on-line include Ann");
      const one = await ctx.call("GET", `/users/online?userId=${annId}`, { token: ann });
      expect(one.status === 200 && JSON.stringify(one.body).includes(annId), `by UserID alone: ${one.status}`);
      const nobody = await ctx.ok("GET", `/users/online?userId=${ctx.unique("ghost")}`, { token: ann });
      expect(!JSON.stringify(nobody).includes("ghost-"), "nobody by that id");
    },
  },
  {
    // AvailableUsersGet: each on-line agent's channels, for external and for internal chats.
    id: "000 AvailableUsersGet()",
    run: async (ctx) => {
      const annId = ctx.unique("ann");
      const ann = ctx.agent(annId);
      const [channel, internalChannel] = [ctx.unique("ch"), ctx.unique("internal")];
      await ctx.ok("PUT", `/agents/${annId}/availability`, { token: ann, body: { availability: "online", channels: [channel], internalChannels: [internalChannel] } });
      const external = await ctx.ok("GET", "/agents/available?key=ExternalChannels", { token: ann });
      expect(JSON.stringify(external[annId]) === JSON.stringify([channel]), `ExternalChannels: Ann's for customers: ${JSON.stringify(external[annId])}`);
      const internal = await ctx.ok("GET", "/agents/available?key=InternalChannels", { token: ann });
      expect(JSON.stringify(internal[annId]) === JSON.stringify([internalChannel]), `InternalChannels: Ann's for agents: ${JSON.stringify(internal[annId])}`);
      expect((await ctx.call("GET", "/agents/available", { token: ann })).status === 400, "Key is required");
    },
  },
  {
    // new(): the deployment is the object; a chat starts with nothing called first.
    id: "000 new()",
    run: async (ctx) => {
      const c = await ctx.chat();
      expect(c.chatId && c.token, "a chat, with no setup call");
    },
  },
  {
    // This product's rule (the row is partial): 0 in no open chat, 2 in one with no live
    // widget of theirs, 3 with a widget subscribed over the WebSocket API.
    id: "000 CustomerAvailabilityGet()",
    run: async (ctx) => {
      const known = ctx.unique("cust");
      const agent = ctx.agent(ctx.unique("ann"));
      const read = async () => (await ctx.ok("GET", `/customers/${known}/availability`, { token: agent })).availability;
      expect((await read()) === 0, "in no chat: off-line (0)");
      const c = await ctx.accepted(undefined, { requesterType: "Customer", identityToken: ctx.identity(known) });
      expect((await read()) === 2, "chatting with no live widget: away (2)");
      const socket = await ctx.socket(c.token);
      expect((await read()) === 3, "a widget subscribed: on-line (3)");
      socket.close();
    },
  },
  {
    // ChatCleanup: a schedule, not a call. Locally one run is asked for (POST /dev/cleanup,
    // the local server's; the stack runs with CLOSED_RETENTION_SECONDS=0); a deployment's
    // own schedule is waited for (deploy-local: every minute, retention 0). It runs after
    // every other check, since it removes every closed chat.
    id: "000 ChatCleanup()",
    last: true,
    run: async (ctx) => {
      const c = await ctx.accepted();
      await ctx.ok("PATCH", `/chats/${c.chatId}`, { token: c.owner, body: { status: "closed" } });
      const local = (await ctx.call("POST", "/dev/cleanup")).status === 200;
      for (let i = 0; i < (local ? 1 : 150); i++) {
        if ((await ctx.call("GET", `/chats/${c.chatId}`, { token: c.owner })).status === 404) return;
        await new Promise((r) => setTimeout(r, 1000));
      }
      throw new Error("the closed chat is still there after the cleanup");
    },
  },
];
