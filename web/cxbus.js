// CXBus for sites written against Genesys Widgets: one classic script tag,
//   <script src="https://<this API>/cxbus.js"></script>
// and the site's code runs unchanged: `window._genesys.widgets.bus.registerPlugin('MyPlugin')`,
// `plugin.command('WebChatService.startChat', {...}).done(...).fail(...)`,
// `plugin.subscribe('WebChatService.messageReceived', function (e) { e.data ... })`, configured
// by `window._genesys.widgets.webchat` (transport.dataURL, interactionData.routing.targetAddress,
// userData, ...). Underneath is this product's widget client (web/webchat.js), loaded as a
// module from beside this script; commands given before it is ready wait for it.
(function () {
  "use strict";
  const here = document.currentScript ? document.currentScript.src : location.href;
  const genesys = (window._genesys = window._genesys || {});
  genesys.widgets = genesys.widgets || {};
  if (genesys.widgets.bus) return; // one bus per page

  const COMMANDS = [
    "configure", "startChat", "endChat", "sendMessage", "sendCustomNotice", "sendTyping", "sendFilteredMessage",
    "addPrefilter", "updateUserData", "poll", "startPoll", "stopPoll", "resetPollExceptions", "restore",
    "getTranscript", "getAgents", "getStats", "sendFile", "downloadFile", "getSessionData", "fetchHistory",
    "registerTypingPreviewInput", "registerPreProcessor", "verifySession",
  ];
  const subscribers = new Map(); // "Plugin.event" → handlers
  let configured = null; // the options `configure` gave before start

  function publish(event, data) {
    for (const handler of subscribers.get(event) || []) {
      try {
        handler({ event, data });
      } catch (e) {
        setTimeout(() => { throw e; }); // a subscriber's error is the page's, not the bus's
      }
    }
  }

  /// The bus's promise: `.done(fn)` and `.fail(fn)` as the seed's samples chain them, and
  /// `.then`. A refusal hands `fail` the seed's text ("There is no active chat session.").
  function deferred(promise) {
    const reason = (e) => (e instanceof Error && !("status" in e) ? e.message : e);
    const settled = promise.then((value) => value, (e) => Promise.reject(reason(e)));
    settled.catch(() => {}); // an unhandled refusal is the page's choice, not an error
    const d = {
      done(fn) { settled.then(fn, () => {}); return d; },
      fail(fn) { settled.catch(fn); return d; },
      always(fn) { settled.then(fn, fn); return d; },
      then(ok, ko) { return settled.then(ok, ko); },
    };
    return d;
  }

  // The service starts once the page's configuration is in (the page sets it in a script
  // of its own, before or after this one) and the client module is loaded.
  const domReady = document.readyState === "loading"
    ? new Promise((resolve) => document.addEventListener("DOMContentLoaded", resolve, { once: true }))
    : Promise.resolve();
  const service = Promise.all([import(new URL("/web/webchat.js", here).href), domReady]).then(([client]) => {
    const options = configured || genesys.widgets.webchat || {};
    if (!options.transport || !options.transport.dataURL) {
      options.transport = { ...(options.transport || {}), dataURL: new URL(here).origin };
    }
    const chat = new client.WebChatService(options);
    for (const name of client.EVENTS) chat.on(name, (data) => publish(`WebChatService.${name}`, data));
    return chat;
  });

  function run(name, options) {
    if (name === "configure") {
      if (configured) return Promise.reject(new Error("configure can only be called once at startup."));
      configured = options || {};
      return Promise.resolve(configured);
    }
    return service.then((chat) => {
      // The seed's sendTyping option is `Message`.
      if (name === "sendTyping" && options && options.Message !== undefined && options.text === undefined) {
        return chat.sendTyping({ ...options, text: options.Message });
      }
      return chat[name](options);
    });
  }

  function registerPlugin(pluginName) {
    return {
      name: pluginName,
      command(command, options) {
        const [plugin, name] = String(command).split(".");
        if (plugin !== "WebChatService" || !COMMANDS.includes(name)) {
          return deferred(Promise.reject(new Error(`${command} is not a command on this bus.`)));
        }
        // The seed's `poll` is WebChatService's own: another plugin is refused it.
        if (name === "poll" && pluginName !== "WebChatService") {
          return deferred(Promise.reject(new Error("Access Denied to private command. Only WebChatService is allowed to invoke this command.")));
        }
        return deferred(new Promise((resolve) => resolve(run(name, options))));
      },
      subscribe(event, handler) {
        if (typeof handler !== "function") return false;
        if (!subscribers.has(event)) subscribers.set(event, []);
        subscribers.get(event).push(handler);
        return true;
      },
      unsubscribe(event, handler) {
        const list = subscribers.get(event) || [];
        subscribers.set(event, list.filter((h) => h !== handler));
        return true;
      },
      publish(event, data) {
        publish(`${pluginName}.${event}`, data);
        return true;
      },
    };
  }

  genesys.widgets.bus = { registerPlugin };
})();
