// The DevTools page: adds the "Sealpost JWT" panel. The panel (panel.html)
// reads the inspected page's traffic through chrome.devtools.network, which
// needs no host permission.
const api = globalThis.browser ?? globalThis.chrome;
if (api && api.devtools && api.devtools.panels) {
  api.devtools.panels.create("Sealpost JWT", "icons/icon-32.png", "panel.html");
}
