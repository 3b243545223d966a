// The stand-alone consent page: the broker serves this for /connect and
// /connect/{code}. The page loads it as `consent-page.js`, this module with
// its three imports bundled into one file (`cargo xtask www`, esbuild; see
// xtask/src/www.rs): one request instead of four. It starts the streaming
// compile of the preloaded .wasm and the glue import (the seal-only WASM
// bundle), takes the preloaded `GET /v1/connect/{code}` answer and mounts the
// view in the next task (below); the view shows code and fingerprint as soon
// as both are there. (Measured in bench/consent.mjs, interleaved in one run: an
// `async` script and a dynamic import of the view were both slower; the one
// bundled file was faster than the four modules.)
//
// The broker's answer for /connect/{code} carries a `Link` header that
// preloads `GET /v1/connect/{code}` (crates/broker/src/web.rs), so the request
// is on its way before this module even loads. `lookup` below makes that same
// request (CORS mode, same-origin credentials: what a `crossorigin` preload
// uses) so the browser hands it the preloaded answer instead of asking again.
import { callApi } from "./consent-api.js";
import { codeFromPath, loadBundle } from "./consent-flow.js";
import { mountConsent } from "./consent-view.js";

const TITLES = {
  entry: "Enter a code",
  review: "Check the code and fingerprint",
  form: "Enter the credential",
  done: "Sent securely",
  error: "Something needs attention",
  stopped: "Stopped",
};

/**
 * `GET /v1/connect/{code}` on this page's origin through consent-api.js
 * `callApi`, with credentials mode "same-origin" instead of "omit": the one
 * difference that would make the browser ignore the preloaded answer. The
 * broker sets no cookies, so nothing more is sent.
 */
const lookup = (code) => callApi("", "GET", `/v1/connect/${encodeURIComponent(code)}`, undefined, "same-origin");

const code = codeFromPath(location.pathname);
// One promise per URL: the view's flow gets this same one from loadBundle.
const bundleUrl = new URL("/pkg/sealpost_wasm.js", location.href).href;
// The .wasm compiles while the glue module is imported (same request as the
// `crossorigin` preload, so the preloaded bytes are used); should the
// streaming compile fail, the glue gets the response and tries its own way.
const wasmUrl = new URL("/pkg/sealpost_wasm_bg.wasm", location.href).href;
const wasm =
  typeof WebAssembly.compileStreaming === "function"
    ? WebAssembly.compileStreaming(fetch(wasmUrl)).catch(() => fetch(wasmUrl))
    : undefined;
loadBundle(bundleUrl, wasm).catch(() => {});
// Used once by the flow; a retry asks again (through consent-api.js).
const first = code ? lookup(code) : undefined;
if (first) first.catch(() => {});

const host = document.getElementById("consent");
if (host) {
  host.addEventListener("sealpost-state", (ev) => {
    const t = TITLES[ev.detail && ev.detail.state];
    if (t) document.title = `${t} · Sealpost`;
  });
  // The view is built in the next task, not in this one: the answers already
  // in (the broker preloads them) are delivered first, so the streaming
  // compile takes the .wasm bytes and compiles them on other threads while
  // this one builds the view. Mounted in this task, the .wasm answer waited
  // behind the whole mount and the first frame (a CDP trace of
  // bench/consent.mjs: mount -> bundle-ready 21 -> 6-10 ms, busy machine).
  // An answer not in yet does not hold the view up.
  setTimeout(() => mountConsent(host, { apiBase: "", code, bundleUrl, lookup: first }), 0);
}
