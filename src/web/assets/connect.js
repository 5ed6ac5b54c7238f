/* tokenvault.connect(url): opens tokenvault's hosted connect page (a connect session made with
 * "popup": true) in a popup and resolves with its result:
 *   {type: "tokenvault:connected", integration_key, provider} or
 *   {type: "tokenvault:error", error, provider}
 * It rejects when the popup is blocked or closed before the end. Only messages from the
 * page's own origin and window are accepted. */
(function (global) {
  "use strict";
  function connect(url, options) {
    var opts = options || {};
    return new Promise(function (resolve, reject) {
      var origin;
      try { origin = new URL(url, global.location.href).origin; } catch (e) { reject(new Error("tokenvault: invalid connect URL")); return; }
      var features = "popup,width=" + (opts.width || 520) + ",height=" + (opts.height || 720);
      var popup = global.open(url, "tokenvault-connect", features);
      if (!popup) { reject(new Error("tokenvault: the popup was blocked")); return; }
      var done = false;
      function finish() { done = true; global.removeEventListener("message", onMessage); clearInterval(watch); }
      function onMessage(event) {
        if (event.origin !== origin || event.source !== popup) { return; }
        var data = event.data;
        if (!data || typeof data.type !== "string" || data.type.indexOf("tokenvault:") !== 0) { return; }
        finish();
        resolve(data);
      }
      var watch = setInterval(function () {
        if (!done && popup.closed) { finish(); reject(new Error("tokenvault: the window was closed")); }
      }, 500);
      global.addEventListener("message", onMessage);
    });
  }
  global.tokenvault = Object.assign(global.tokenvault || {}, { connect: connect });
})(window);
