// The stand-alone consent page: the broker serves this for /connect and
// /connect/{code}. Everything else lives in the embeddable module.
import { mountConsent, codeFromPath } from "./consent.js";

const TITLES = {
  entry: "Enter a code",
  review: "Check the code and fingerprint",
  form: "Enter the credential",
  done: "Sent securely",
  error: "Something needs attention",
  stopped: "Stopped",
};

const host = document.getElementById("consent");
if (host) {
  host.addEventListener("sealpost-state", (ev) => {
    const t = TITLES[ev.detail && ev.detail.state];
    if (t) document.title = `${t} · Sealpost`;
  });
  mountConsent(host, {
    apiBase: "",
    code: codeFromPath(location.pathname),
    bundleUrl: "/pkg/sealpost_wasm.js",
  });
}
