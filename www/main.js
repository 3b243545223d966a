// The stand-alone consent page: the broker serves this for /connect and
// /connect/{code}. The page loads it as `consent-page.js`, this module with
// its imports bundled into one file (`cargo xtask www`, esbuild; see
// xtask/src/www.rs), which the broker writes into the page together with
// consent.css and, on /connect/{code}, the answer of `GET /v1/connect/{code}`
// (crates/broker/src/page.rs): the first response holds all the review
// needs. This module takes the look-up's answer from the page and mounts the
// view, which then shows code and fingerprint at once (the fingerprint from
// WebCrypto, consent-key.js); the seal-only WASM bundle (its .wasm, streamed
// into a compile, and its glue) is fetched and instantiated once the review is
// drawn, and the bundle checks the key before anything is confirmed. Nothing
// preloads the bundle: on a 2-core machine its fetch and compile, started with
// the page, took the cores the review needed (bench/consent.mjs, session 15:
// 0.87-0.88x the ready time of the page that preloaded it, paired in the same
// rounds). (Measured in bench/consent.mjs, interleaved in one run: an `async`
// script and a dynamic import of the view were both slower; the one bundled
// file was faster than separate modules; the review without waiting for the
// bundle was faster than with it; the page with its files and the look-up
// written into it was faster than the page that loaded them.)
//
// Served as a plain file instead (index.html as it is, by any server), the
// page has no look-up in it and fetches it: `lookup` below (CORS mode,
// same-origin credentials: what a `crossorigin` preload uses, so a server
// that preloads it with a `Link` header has its answer used, not asked twice).
import { ApiError, callApi, retryAfterSeconds } from "./consent-api.js";
import { loadBundle } from "./consent-bundle.js";
import { codeFromPath } from "./consent-flow.js";
import { mountConsent, prepareStyles } from "./consent-view.js";

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

/**
 * The look-up's answer the broker wrote into the page (crates/broker/src/page.rs:
 * `{status, retryAfter, body}` in `<script type="application/json"
 * id="sp-lookup">`), as `lookup` would give it: a promise of the request, or
 * of its ApiError. Null when the page has none (no code, or a page served
 * by something else), and the page fetches it instead.
 */
function lookupInPage() {
  const el = document.getElementById("sp-lookup");
  if (!el) return null;
  let data = null;
  try {
    data = JSON.parse(el.textContent);
  } catch {
    return null;
  }
  el.remove();
  if (!data || !Number.isInteger(data.status)) return null;
  const body = data.body && typeof data.body === "object" ? data.body : null;
  if (data.status >= 200 && data.status < 300) return Promise.resolve(body);
  return Promise.reject(new ApiError(data.status, body, retryAfterSeconds(data.retryAfter, body)));
}

const code = codeFromPath(location.pathname);
/** Where the page's style sheet comes from (written into the page by the broker, or linked). */
const stylesUrl = "/assets/consent.css";
const bundleUrl = new URL("/pkg/sealpost_wasm.js", location.href).href;
// The .wasm is streamed into a compile (on other threads) when the bundle is
// first asked for; should the streaming compile fail, the glue gets the
// response and tries its own way.
const wasmUrl = new URL("/pkg/sealpost_wasm_bg.wasm", location.href).href;
const compileWasm = () =>
  typeof WebAssembly.compileStreaming === "function"
    ? WebAssembly.compileStreaming(fetch(wasmUrl)).catch(() => fetch(wasmUrl))
    : undefined;
// The glue's import, the compile and the instantiation wait until the flow
// asks for the bundle: after the review is drawn, which needs only the request
// (consent-flow.js computes the fingerprint with WebCrypto, and the bundle
// checks it before confirm). Without WebCrypto (an insecure context) the
// review needs the bundle: load it now.
const startBundle = () => loadBundle(bundleUrl, compileWasm);
if (!(globalThis.crypto && globalThis.crypto.subtle)) startBundle().catch(() => {});
// Used once by the flow; a retry asks again (through consent-api.js).
const first = code ? lookupInPage() || lookup(code) : undefined;
if (first) first.catch(() => {});

/**
 * How long the view waits for the request before it is built anyway (it then
 * shows its "loading" view once its own hold is over).
 */
const MOUNT_WAIT_MS = 100;

const host = document.getElementById("consent");
if (host) {
  // The tab title follows the view, set when the page is idle (within 200 ms):
  // not in the task that builds the review (a title is an IPC to the
  // browser), and once for "loading" and "review" when one task shows both.
  let title = "";
  const setTitle = () => {
    if (title) document.title = title;
    title = "";
  };
  host.addEventListener("sealpost-state", (ev) => {
    const state = ev.detail && ev.detail.state;
    // Back at the code entry (Done's or an error's "Enter a code"): the
    // address loses the answered code, so a reload shows the entry too,
    // not "already answered".
    if (state === "entry" && codeFromPath(location.pathname)) {
      history.replaceState(null, "", location.pathname.replace(/\/connect\/[^/]+\/?$/, "/connect"));
    }
    const t = TITLES[state];
    if (!t) return;
    if (!title) {
      if (typeof requestIdleCallback === "function") requestIdleCallback(setTitle, { timeout: 200 });
      else setTimeout(setTitle, 0);
    }
    title = `${t} · Sealpost`;
  });
  // The view is built once the request is in (in the page, or fetched), not
  // in this task: it then goes from "loading" to the review in one task,
  // drawn in one frame. Built earlier (the next task), its hidden "loading"
  // view cost a frame and the review waited for the request's answer to be
  // delivered after it (a CDP trace of bench/consent.mjs). The manual entry
  // page (no code) is built at once; a slow request does not hold the view
  // up past MOUNT_WAIT_MS.
  let mounted = false;
  const mount = () => {
    if (mounted) return;
    mounted = true;
    mountConsent(host, { apiBase: "", code, bundle: startBundle, lookup: first, stylesUrl });
  };
  if (first) {
    first.then(mount, mount);
    // The view's copy of the style sheet is made while the page waits.
    setTimeout(() => mounted || prepareStyles(stylesUrl), 0);
  }
  setTimeout(mount, first ? MOUNT_WAIT_MS : 0);
}
