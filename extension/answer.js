// The extension's answer page: answer.html?link=<verification URL> (or
// ?broker=<broker URL>&code=<code>) answers `…/connect/CODE` of any broker,
// an unmodified LinkAuth broker included. It runs the web consent page's own
// flow and view (./www/consent-*.js, copied in by packaging), seals with the
// bundled seal-only WASM (./pkg-seal/: seal, sealJwe, fingerprint, userCode),
// and calls only the broker's JSON API (GET /v1/connect/{code}, confirm,
// complete): never the broker's HTML or JS.
//
// Speed: packaging bundles this module with its imports, the seal bundle's
// glue included, into one classic script (xtask/src/extension.rs), loaded
// async from answer.html's head, so it may run before the body is parsed.
// Before waiting for the body it starts everything slow at once: the .wasm's
// compilation and instantiation (from the response answer.html preloads), the
// permission check and (for a loopback broker, granted at install) the
// connect call. The view then uses them (consent-flow.js `bundle`, `lookup`):
// no module is imported at run time.
import { connectApi } from "./www/consent-api.js";
import { formatCode, mark, originSecurityMode, parseAnswerLink } from "./www/consent-flow.js";
import { mountConsent } from "./www/consent-view.js";
import { permissions, runtime } from "./lib/browser.js";
import initSeal, * as sealBundle from "./pkg-seal/sealpost_wasm.js";

/** The seal-only bundle (seal, sealJwe, fingerprint, userCode): its .wasm (the glue is imported above). */
const WASM_URL = runtime.getURL("pkg-seal/sealpost_wasm_bg.wasm");
const STYLES_URL = runtime.getURL("www/consent.css");

/** Compile the .wasm (streaming where the browser can). */
function compileWasm() {
  const plain = () => fetch(WASM_URL).then((r) => r.arrayBuffer()).then((b) => WebAssembly.compile(b));
  if (typeof WebAssembly.compileStreaming !== "function") return plain();
  return WebAssembly.compileStreaming(fetch(WASM_URL)).catch(plain);
}

let bundle = null;
/** The seal bundle, initialised with its compiled .wasm: one promise per page. */
function loadSeal() {
  bundle ??= initSeal({ module_or_path: compileWasm() }).then(() => sealBundle);
  bundle.catch(() => {
    bundle = null;
  });
  return bundle;
}

const TITLES = {
  entry: "Enter a code",
  review: "Check the code and fingerprint",
  form: "Enter the credential",
  done: "Sent securely",
  error: "Something needs attention",
  stopped: "Stopped",
};

const $ = (id) => document.getElementById(id);

function show(id) {
  for (const s of ["pick", "grant", "consent"]) $(s).hidden = s !== id;
}

function showPick(message, link = "", code = "") {
  show("pick");
  document.title = "Answer a request · Sealpost";
  $("pick-link").value = link;
  $("pick-code").value = code;
  const err = $("pick-error");
  err.textContent = message || "";
  err.hidden = !message;
  if (message) $("pick-link").setAttribute("aria-invalid", "true");
  else $("pick-link").removeAttribute("aria-invalid");
  $("pick-link").focus();
}

/** Leave the consent view for the paste box, empty: another link or code (the way out of its error views). */
function pasteAnother(view) {
  view.destroy();
  // A reload now shows the paste box, not the request that failed.
  history.replaceState(null, "", location.pathname);
  showPick("");
}

/** Mount the consent view for `target`; returns its `{ destroy() }`. */
function mount(target, lookup = null) {
  show("consent");
  const host = $("consent");
  host.addEventListener("sealpost-state", (ev) => {
    const t = TITLES[ev.detail && ev.detail.state];
    if (t) document.title = `${t} · ${target.origin} · Sealpost`;
  });
  let view = null;
  view = mountConsent(host, {
    apiBase: target.apiBase,
    code: target.code,
    bundle: loadSeal(),
    stylesUrl: STYLES_URL,
    origin: target.origin,
    securityMode: originSecurityMode(target.origin),
    lookup,
    another: { label: "Paste another link", run: () => view && pasteAnother(view) },
  });
  return view;
}

/** The first connect call (none for a link without a code: manual entry looks nothing up). */
const firstLookup = (target) => (target.code ? connectApi(target.apiBase).lookup(formatCode(target.code)) : null);

async function open(target, granted, early) {
  // Loopback brokers are granted at install (manifest host_permissions), so
  // their connect call starts at once and the view is built during the
  // permission check; should the person have withdrawn that access, the view
  // gives way to the permission request. Any other origin is called only once
  // its permission is known to be granted, and is asked for one at a time,
  // with a click (the browser's prompt needs one).
  if (early) {
    const view = mount(target, early);
    if (await granted) return;
    view.destroy();
  } else if (await granted) {
    return mount(target, firstLookup(target));
  }
  show("grant");
  $("grant-origin").textContent = target.origin;
  $("grant-button").onclick = () => {
    // No await before the request: it must run inside the click.
    permissions.request(target.origin).then(
      (granted) => {
        if (granted) return mount(target);
        const err = $("grant-error");
        err.textContent = "Permission was not given, so this request can’t be answered here.";
        err.hidden = false;
      },
      () => {
        const err = $("grant-error");
        err.textContent = "This browser refused to ask for that permission.";
        err.hidden = false;
      },
    );
  };
  $("grant-title").focus();
}

/** Run `fn` once the body is parsed. */
function whenParsed(fn) {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn, { once: true });
  else fn();
}

function main() {
  mark("sealpost:answer-start");
  const q = new URLSearchParams(location.search);
  const link = q.get("link") || q.get("broker") || "";
  const code = q.get("code") || "";
  let target = null;
  let bad = null;
  let granted = null;
  let early = null;
  if (link) {
    // The WASM compiles while the permission check and the connect call run
    // (the view's flow gets the same promise).
    loadSeal().catch(() => {});
    try {
      target = parseAnswerLink(link, code);
    } catch (e) {
      bad = e;
    }
  }
  if (target) {
    granted = permissions.has(target.origin).catch(() => false);
    // Loopback brokers are granted at install: their connect call starts now.
    if (originSecurityMode(target.origin) === "development") {
      early = firstLookup(target);
      early?.catch(() => {});
      // A link without a code: manual entry, nothing looked up; the view still mounts at once.
      early ??= Promise.resolve(null);
    }
  }
  whenParsed(() => {
    $("pick-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const l = $("pick-link").value.trim();
      const c = $("pick-code").value.trim();
      try {
        parseAnswerLink(l, c);
      } catch (e) {
        showPick(e.message, l, c);
        return;
      }
      const next = new URLSearchParams({ link: l });
      if (c) next.set("code", c);
      location.search = next.toString();
    });
    if (!link) return showPick("");
    if (bad) return showPick(bad.message, link, code);
    open(target, granted, early);
  });
}

main();
