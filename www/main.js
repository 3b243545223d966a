// The stand-alone consent page: the broker serves this for /connect and
// /connect/{code}. It starts, at once and in parallel, the request
// `GET /v1/connect/{code}` and the seal-only WASM bundle (glue import plus the
// streaming compile of the .wasm that index.html preloads), and only then
// evaluates the view (consent-view.js, preloaded meanwhile) and mounts it; the
// view shows code and fingerprint as soon as both are there. (An `async`
// script here measured slower in bench/consent.mjs: Chromium ran it no
// earlier and it competed with the first paint.)
import { connectApi } from "./consent-api.js";
import { codeFromPath, loadBundle } from "./consent-flow.js";

const TITLES = {
  entry: "Enter a code",
  review: "Check the code and fingerprint",
  form: "Enter the credential",
  done: "Sent securely",
  error: "Something needs attention",
  stopped: "Stopped",
};

const code = codeFromPath(location.pathname);
// One promise per URL: the view's flow gets this same one from loadBundle.
const bundleUrl = new URL("/pkg/sealpost_wasm.js", location.href).href;
loadBundle(bundleUrl).catch(() => {});
// Used once by the flow; a retry asks again.
const lookup = code ? connectApi("").lookup(code) : undefined;
if (lookup) lookup.catch(() => {});

const view = import("./consent-view.js");
const parsed =
  document.readyState === "loading" ? new Promise((r) => document.addEventListener("DOMContentLoaded", r, { once: true })) : null;

view.then(async ({ mountConsent }) => {
  await parsed;
  const host = document.getElementById("consent");
  if (!host) return;
  host.addEventListener("sealpost-state", (ev) => {
    const t = TITLES[ev.detail && ev.detail.state];
    if (t) document.title = `${t} · Sealpost`;
  });
  mountConsent(host, { apiBase: "", code, bundleUrl, lookup });
});
