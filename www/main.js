// The stand-alone consent page: the broker serves this for /connect and
// /connect/{code}. Everything else lives in the embeddable module.
import { mountConsent, codeFromPath } from "./consent.js";

const host = document.getElementById("consent");
if (host) {
  mountConsent(host, {
    apiBase: "",
    code: codeFromPath(location.pathname),
    bundleUrl: "/pkg/sealpost_wasm.js",
  });
}
