// Sealpost background (MV3 service worker in Chromium, event page in Firefox).
import { runtime, tabs, pageUrl } from "./lib/browser.js";

runtime.onInstalled(({ reason }) => {
  if (reason === "install") tabs.create(pageUrl("options.html", { welcome: "1" }));
});
