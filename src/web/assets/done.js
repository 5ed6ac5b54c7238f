/* The last page of a popup connect: hands the result to the opener, only at the origins the
 * server allows (its redirect allow-list), then closes the window. */
(function () {
  "use strict";
  var node = document.getElementById("result");
  if (!node || !window.opener) { return; }
  var message = {
    type: node.dataset.type,
    provider: node.dataset.provider,
    integration_key: node.dataset.integrationKey
  };
  if (node.dataset.error) { message.error = node.dataset.error; }
  var origins = [];
  try { origins = JSON.parse(node.dataset.origins || "[]"); } catch (e) { origins = []; }
  origins.forEach(function (origin) {
    try { window.opener.postMessage(message, origin); } catch (e) { /* another origin */ }
  });
  setTimeout(function () { window.close(); }, 50);
})();
