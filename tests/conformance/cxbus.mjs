// Seed 001 through CXBus, in Chromium: a page of its own loads /cxbus.js with one script
// tag, configures `window._genesys.widgets.webchat` as the seed's example does, and runs
// the seed's command samples as printed (their `// ...` comments replaced by a line that
// records the outcome), while an agent answers over HTTP.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { expect } from "./context.mjs";

/// The seed's samples, in its order; `record(name, outcome, e)` stands where each sample
/// has its comment.
const SAMPLES = `
var oMyPlugin = window._genesys.widgets.bus.registerPlugin('MyPlugin');

oMyPlugin.subscribe('WebChatService.ready', function(e){ record('ready', 'event', e); });
oMyPlugin.subscribe('WebChatService.messageReceived', function(e){ record('messageReceived', 'event', e.data); });

window.startSample = function () {
oMyPlugin.command('WebChatService.startChat', {

	nickname: 'Jonny',
	firstname: 'Johnathan',
	lastname: 'Smith',
	email: 'jon.smith@mail.com',
	subject: 'product questions',
	userData: {}

}).done(function(e){

	record('startChat', 'done', e);

}).fail(function(e){

	record('startChat', 'fail', e);
});
};

window.chatSamples = function () {
oMyPlugin.command('WebChatService.sendMessage', {message: 'hi'}).done(function(e){

	record('sendMessage', 'done', e);

}).fail(function(e){

	record('sendMessage', 'fail', e);
});

oMyPlugin.command('WebChatService.sendCustomNotice', {message: 'bye'}).done(function(e){

	record('sendCustomNotice', 'done', e);

}).fail(function(e){

	record('sendCustomNotice', 'fail', e);
});

oMyPlugin.command('WebChatService.sendTyping').done(function(e){

	record('sendTyping', 'done', e);

}).fail(function(e){

	record('sendTyping', 'fail', e);
});

oMyPlugin.command('WebChatService.sendFilteredMessage', {

	message: 'filtered message',
	regex: /[a-zA-Z]/

}).done(function(e){

	record('sendFilteredMessage', 'done', e);

}).fail(function(e){

	record('sendFilteredMessage', 'fail', e);
});

oMyPlugin.command('WebChatService.updateUserData', {firstname: 'Joe'}).done(function(e){

	record('updateUserData', 'done', e);

}).fail(function(e){

	record('updateUserData', 'fail', e);
});

oMyPlugin.command('WebChatService.getAgents').done(function(e){

	record('getAgents', 'done', e);

}).fail(function(e){

	record('getAgents', 'fail', e);
});

oMyPlugin.command('WebChatService.getTranscript').done(function(e){

	record('getTranscript', 'done', e);

}).fail(function(e){

	record('getTranscript', 'fail', e);
});

oMyPlugin.command('WebChatService.getStats').done(function(e){

	record('getStats', 'done', e);

}).fail(function(e){

	record('getStats', 'fail', e);
});

oMyPlugin.command('WebChatService.getSessionData').done(function(e){ record('getSessionData', 'done', e); });

oMyPlugin.command('WebChatService.stopPoll').done(function(e){

	record('stopPoll', 'done', e);

}).fail(function(e){

	record('stopPoll', 'fail', e);
});

oMyPlugin.command('WebChatService.startPoll').done(function(e){

	record('startPoll', 'done', e);

}).fail(function(e){

	record('startPoll', 'fail', e);
});

oMyPlugin.command('WebChatService.poll').done(function(e){

	record('poll', 'done', e);

}).fail(function(e){

	record('poll', 'fail', e);
});

oMyPlugin.command('WebChatService.resetPollExceptions').done(function(e){

	record('resetPollExceptions', 'done', e);

}).fail(function(e){

	record('resetPollExceptions', 'fail', e);
});

oMyPlugin.command('WebChatService.registerPreProcessor', {preprocessor: function(message){
 	message.text = message.text + ' some preprocessing text'; 
 	return message;
 } }).done(function(e){
 	record('registerPreProcessor', 'done', typeof e);
 }).fail(function(e){
 	record('registerPreProcessor', 'fail', e);
 });

oMyPlugin.command('WebChatService.verifySession').done(function(e){

	record('verifySession', 'done', e);

}).fail(function(e){

	record('verifySession', 'fail', e);
});
};

window.moreSamples = function () {
oMyPlugin.command('WebChatService.addPrefilter', {filters: /[a-zA-Z]/}).done(function(e){

	record('addPrefilter', 'done', e.map(String));

}).fail(function(e){

	record('addPrefilter', 'fail', e);
});

oMyPlugin.command('WebChatService.registerTypingPreviewInput', {input: $('input') }).done(function(e){

	record('registerTypingPreviewInput', 'done', null);

}).fail(function(e){

	record('registerTypingPreviewInput', 'fail', e);
});

oMyPlugin.command('WebChatService.sendFile', {files: $('<input/>').attr('type', 'file') /* Only works on UI, can not dynamically change */ }).done(function(e){

	record('sendFile', 'done', e);

}).fail(function(e){

	record('sendFile', 'fail', e);
});

oMyPlugin.command('WebChatService.downloadFile', {fileId: '1', fileName: 'myfile.txt'}).done(function(e){

	record('downloadFile', 'done', e);

}).fail(function(e){

	record('downloadFile', 'fail', String(e && e.message || e));
});

oMyPlugin.command('WebChatService.restore').done(function(e){

	record('restore', 'done', e);

}).fail(function(e){

	record('restore', 'fail', e);
});

oMyPlugin.command('WebChatService.fetchHistory').done(function(e){ record('fetchHistory', 'done', e); }).fail(function(e){ record('fetchHistory', 'fail', String(e && e.message || e)); });
};

window.endSample = function () {
oMyPlugin.command('WebChatService.endChat').done(function(e){

	record('endChat', 'done', e);

}).fail(function(e){

	record('endChat', 'fail', e);
});
};
`;

export default [
  {
    id: "001 CXBus",
    run: async (ctx) => {
      const { CHROMIUM, PLAYWRIGHT } = process.env;
      if (!CHROMIUM || !PLAYWRIGHT) throw new Error("CHROMIUM and PLAYWRIGHT are needed (scripts/conformance.sh sets them)");
      const { chromium } = createRequire(import.meta.url)(PLAYWRIGHT);
      // jQuery, as the seed's sites have it (npm's, installed beside playwright-core).
      const jquery = readFileSync(join(dirname(PLAYWRIGHT), "jquery/dist/jquery.min.js"), "utf8");
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu"] });
      try {
        const page = await (await browser.newContext()).newPage();
        const channel = ctx.unique("ch");
        // A page of the API's origin (the site's own, as far as the widget is concerned).
        await page.goto(`${ctx.api}/health`);
        await page.setContent(`<!doctype html><html><head><script>
          window.outcomes = [];
          function record(name, outcome, e) { window.outcomes.push({ name, outcome, e: JSON.parse(JSON.stringify(e ?? null)) }); }
          window._genesys = { widgets: { webchat: { transport: {
            type: 'purecloud-v2-sockets', dataURL: ${JSON.stringify(ctx.api)},
            deploymentKey: 'YOUR_DEPLOYMENTKEY_HERE', orgGuid: 'YOUR_ORGGUID_HERE',
            interactionData: { routing: { targetType: 'QUEUE', targetAddress: ${JSON.stringify(channel)}, priority: 2 } } },
            userData: { customerId: '59606' } } } };
        </script><script>${jquery}</script><script src="${ctx.api}/cxbus.js"></script><script>${SAMPLES}</script></head>
        <body><label for="say">Message</label><input id="say" type="text"></body></html>`);
        const outcomes = () => page.evaluate(() => window.outcomes);
        const waitFor = async (test, what) => {
          for (let i = 0; i < 300; i++) {
            const found = (await outcomes()).find(test);
            if (found) return found;
            await new Promise((r) => setTimeout(r, 100));
          }
          throw new Error(`no ${what} in 30 s: ${JSON.stringify(await outcomes()).slice(0, 800)}`);
        };
        await waitFor((o) => o.name === "ready", "WebChatService.ready");
        await page.evaluate(() => window.startSample());
        const started = await waitFor((o) => o.name === "startChat", "startChat's outcome");
        expect(started.outcome === "done", `startChat: ${JSON.stringify(started)}`);
        const chatId = started.e.chat.chatId;
        const agent = ctx.agent(ctx.unique("ann"));
        await ctx.ok("PATCH", `/chats/${chatId}`, { token: agent, body: { status: "active" } });
        await page.evaluate(() => window.chatSamples());
        for (const name of ["sendMessage", "sendCustomNotice", "sendTyping", "sendFilteredMessage", "updateUserData", "getAgents", "getTranscript", "getStats", "getSessionData", "stopPoll", "startPoll", "resetPollExceptions", "registerPreProcessor", "verifySession"]) {
          const o = await waitFor((x) => x.name === name, `${name}'s outcome`);
          expect(o.outcome === "done", `${name}: ${JSON.stringify(o).slice(0, 300)}`);
        }
        const stats = (await outcomes()).find((o) => o.name === "getStats").e;
        for (const field of ["agents", "startTime", "endTime", "duration"]) expect(field in stats, `getStats has ${field}: ${JSON.stringify(stats)}`);
        const session = (await outcomes()).find((o) => o.name === "getSessionData").e;
        for (const field of ["participantId", "sessionId", "token", "transportId"]) expect(session[field], `getSessionData has ${field}`);
        const poll = await waitFor((x) => x.name === "poll", "poll's outcome");
        expect(poll.outcome === "fail" && /Access Denied to private command/.test(poll.e), `poll is WebChatService's own: ${JSON.stringify(poll)}`);
        expect((await outcomes()).find((o) => o.name === "registerPreProcessor").e === "function", "registerPreProcessor resolves with the function");
        const log = await ctx.ok("GET", `/chats/${chatId}/messages`, { token: agent });
        for (const text of ["hi", "bye", "filtered message"]) {
          expect(log.messages.some((m) => m.text === text), `the agent has "${text}"`);
        }
        const { chat } = await ctx.ok("GET", `/chats/${chatId}`, { token: agent });
        expect(chat.userData?.firstname === "Joe" && chat.userData?.customerId === "59606", `userData: ${JSON.stringify(chat.userData)}`);
        // The sample's filter, /[a-zA-Z]/, now hides every message with a letter from this
        // page (as the seed says filters do): the agent answers without one.
        await ctx.ok("POST", `/chats/${chatId}/messages`, { token: agent, body: { text: "hello from ann" } }, 201);
        await ctx.ok("POST", `/chats/${chatId}/messages`, { token: agent, body: { text: "👋 42" } }, 201);
        // The sample's preprocessor appends its text to what is shown.
        await waitFor((o) => o.name === "messageReceived" && o.e.messages.some((m) => m.text === "👋 42 some preprocessing text"), "the agent's message as WebChatService.messageReceived");
        const shown = (await outcomes()).filter((o) => o.name === "messageReceived").flatMap((o) => o.e.messages.map((m) => m.text));
        expect(!shown.includes("hello from ann"), "the prefiltered message is not shown");
        // The rest of the samples, as printed: the prefilter and the typing preview register;
        // the sample file input has no file chosen and fileId '1' is no file of this chat,
        // so those two are refused; restore is refused while the chat is on.
        await page.evaluate(() => window.moreSamples());
        for (const [name, want] of [["addPrefilter", "done"], ["registerTypingPreviewInput", "done"], ["sendFile", "fail"], ["downloadFile", "fail"], ["restore", "fail"], ["fetchHistory", null]]) {
          const o = await waitFor((x) => x.name === name, `${name}'s outcome`);
          expect(want === null || o.outcome === want, `${name}: ${JSON.stringify(o).slice(0, 300)}`);
        }
        const outcome = async (name) => (await outcomes()).find((o) => o.name === name);
        expect((await outcome("sendFile")).e.startsWith("No file provided"), "sendFile: no file chosen");
        expect((await outcome("restore")).e === "Chat session is already active, ignoring restore command.", "restore while on");
        await page.fill("#say", "where is 42");
        for (let i = 0; ; i++) {
          const typing = (await ctx.ok("GET", `/chats/${chatId}/messages`, { token: agent })).typing ?? [];
          if (typing.some((t) => t.text === "where is 42")) break;
          if (i > 150) throw new Error(`the typing preview never reached the agent: ${JSON.stringify(typing)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        await page.evaluate(() => window.endSample());
        const ended = await waitFor((o) => o.name === "endChat", "endChat's outcome");
        expect(ended.outcome === "done", `endChat: ${JSON.stringify(ended)}`);
        // A command with no session is refused with the seed's text.
        await page.evaluate(() => window.endSample());
        const refused = await waitFor((o) => o.name === "endChat" && o.outcome === "fail", "endChat refused");
        expect(refused.e === "There is no active chat session.", `the seed's text: ${JSON.stringify(refused.e)}`);
      } finally {
        await browser.close();
      }
    },
  },
];
