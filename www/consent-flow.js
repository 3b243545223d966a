// Sealpost consent: the flow. States, transitions and every check, without
// any DOM: the broker's consent page (consent.js + consent-view.js) and the
// extension's answer page (extension/answer.js) both drive this one class.
//
//   init -> entry (no code) -> loading -> review -> loading -> form
//        -> loading ("Encrypting…", "Sending…") -> done
//   review -> stopped (the person says code or fingerprint differ)
//   any -> error {kind, retry?} (catalogue in consent-view.js); expiry -> error "expired"
//
// Checks, in order: the request is a pending form request with fields; the
// agent key's fingerprint is computed here with the WASM bundle from the
// `public_key` received (never a broker-sent fingerprint; while the bundle
// still loads, shown from consent-key.js, which computes the same one for the
// wire form the core writes, and the bundle's check must agree before
// anything is confirmed); an optional pasted
// agent fingerprint must match before confirm is sent; the person confirms;
// the form is sealed with `seal` (LinkAuth envelope) or `sealJwe` (the request
// says `envelope: "jwe"`; the session id bound into it comes from the WASM
// `userCode`), only ciphertext is sent, and the plaintext is dropped at once.

import { ApiError, NetworkError, connectApi } from "./consent-api.js";
import { earlyFingerprint } from "./consent-key.js";

export const ALG_LINKAUTH = "RSA-OAEP-256+AES-256-GCM";
export const ALG_JWE = "JWE";

// ---------------------------------------------------------------------------
// Small pure helpers (exported for tests, embedders and the extension).

/** The code in `/connect/{code}` (or "" for the manual entry page). */
export function codeFromPath(pathname) {
  const m = /\/connect\/([^/?#]+)\/?$/.exec(pathname || "");
  if (!m) return "";
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return "";
  }
}

/**
 * Display only, before the bundle is there (the code in the URL, the manual
 * entry box): upper case, only A-Z0-9. The canonical code and the session id
 * come from the WASM `userCode`, the same function as the broker and the CLI.
 */
export function normalizeCode(code) {
  return String(code || "").toUpperCase().replace(/[^A-Z0-9]/g, "");
}

/** Display only: "abcd1234" -> "ABCD-1234" (other lengths: upper case, no hyphen added). */
export function formatCode(code) {
  const c = normalizeCode(code);
  return c.length === 8 ? `${c.slice(0, 4)}-${c.slice(4)}` : c;
}

/** `{code, display, sessionId}` from the bundle's `userCode`, or null when it is not a user code. */
export function userCodeOf(mod, code) {
  try {
    const out = mod.userCode(String(code || ""));
    return { code: String(out.code), display: String(out.display), sessionId: String(out.sessionId) };
  } catch {
    return null;
  }
}

function toHex(bytes) {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

function base64ToBytes(b64) {
  const clean = b64.replace(/[^A-Za-z0-9+/]/g, "");
  const bin = atob(clean + "===".slice((clean.length + 3) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Compare what the person pasted with the fingerprint computed in the page.
 * Accepts the short form (3f9a-41c2-7d0e), the long form (SHA256:base64) and
 * the full hex digest; ignores case, spaces, hyphens and colons.
 * Returns "empty" | "match" | "incomplete" | "mismatch".
 */
export function compareFingerprint(input, fp) {
  const raw = String(input || "").trim();
  if (!raw) return "empty";
  const longB64 = String(fp.long || "").replace(/^sha256:/i, "").replace(/=+$/, "");
  const fullHex = longB64 ? toHex(base64ToBytes(longB64)) : "";
  const shortHex = String(fp.short || "").toLowerCase().replace(/[^0-9a-f]/g, "");
  const candidates = [];
  let typed;
  if (/^sha256:/i.test(raw)) {
    typed = raw.slice(7).replace(/[\s=]/g, "").toLowerCase();
    candidates.push(longB64.toLowerCase());
  } else {
    typed = raw.toLowerCase().replace(/[\s\-:]/g, "");
    if (/^[0-9a-f]+$/.test(typed)) candidates.push(shortHex, fullHex);
    candidates.push(longB64.toLowerCase().replace(/=+$/, ""));
  }
  if (!typed) return "incomplete";
  if (candidates.some((c) => c && c === typed)) return "match";
  if (candidates.some((c) => c && c.startsWith(typed))) return "incomplete";
  return "mismatch";
}

/**
 * Transport security judged from the broker origin alone (the extension's
 * answer page, where the page itself is trusted): "production" over HTTPS,
 * "development" for plain HTTP to a loopback host, "insecure" otherwise.
 */
export function originSecurityMode(origin) {
  let u;
  try {
    u = new URL(origin);
  } catch {
    return "insecure";
  }
  if (u.protocol === "https:") return "production";
  const host = u.hostname.replace(/^\[|\]$/g, "");
  if (u.protocol === "http:" && (host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host))) return "development";
  return "insecure";
}

/**
 * Where to answer a verification link: `{origin, apiBase, code}` from a
 * `…/connect/CODE` URL (any broker, path prefix kept: the API is at
 * `{prefix}/v1/…`), from `…/connect` (code "" = manual entry), or from a
 * broker URL plus a separate `code`. The code may also come from the link's
 * `code`/`user_code` query. Only http(s), never credentials in the URL.
 * Throws a TypeError with a human message for anything else.
 */
export function parseAnswerLink(link, code = "") {
  const text = String(link || "").trim();
  // Nothing pasted yet: say what to paste ("that is not a link" would blame an empty box).
  if (!text) throw new TypeError("Paste the link your agent printed (it ends in /connect/ and a code), or the broker’s address.");
  let u;
  try {
    u = new URL(text);
  } catch {
    throw new TypeError("That is not a link. Paste the whole link your agent printed, starting with https:// or http://.");
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") throw new TypeError("Only http:// and https:// links can be answered.");
  if (u.username || u.password) throw new TypeError("Links with a user name or password in them are refused.");
  const m = /^(.*?)\/connect(?:\/([^/]+))?\/?$/.exec(u.pathname);
  let prefix;
  let found = "";
  if (m) {
    prefix = m[1];
    try {
      found = m[2] ? decodeURIComponent(m[2]) : "";
    } catch {
      throw new TypeError("The code in that link is garbled.");
    }
  } else {
    prefix = u.pathname.replace(/\/+$/, "");
  }
  found = found || String(code || "").trim() || u.searchParams.get("user_code") || u.searchParams.get("code") || "";
  return { origin: u.origin, apiBase: u.origin + prefix, code: found };
}

/** A best-effort performance mark (the perf tests read `sealpost:*`). */
export function mark(name) {
  try {
    performance.mark(name);
  } catch {
    /* marks are best effort */
  }
}

// ---------------------------------------------------------------------------
// The WASM bundle from a URL: consent-bundle.js `loadBundle` (a dynamic
// import), registered here when that module is imported (the broker's page
// and consent.js import it). This module does not import it: the extension's
// answer page bundles this module and hands the flow its own bundle (`bundle`),
// and its package must hold no dynamic import (addons-linter).

let bundleLoader = null;

/** Called by consent-bundle.js: how `bundleUrl` becomes the initialised bundle module. */
export function setBundleLoader(load) {
  bundleLoader = load;
}

const failure = (kind) => Object.assign(new Error(kind), { kind });

/**
 * When a review was drawn with an early fingerprint and the bundle was not
 * asked for yet (see ConsentFlow `startBundle`), it is started this long
 * after at the latest (the view starts it after the frame that shows it).
 */
const BUNDLE_LATEST_MS = 200;

/** Map an error in a phase (load, resolve, confirm, complete) to `{kind, retry?, wait?, status?}`. */
export function classify(err, phase) {
  if (err instanceof NetworkError) return { kind: "network", retry: true };
  if (err instanceof ApiError) {
    const s = err.status;
    if (s === 429) return { kind: "rate-limited", retry: true, wait: err.retryAfter };
    if (s === 410) return { kind: "completed" };
    if (phase === "load" || phase === "resolve") {
      if (s === 404) return { kind: "not-found" };
    } else if (phase === "confirm") {
      if (s === 404 || s === 409) return { kind: "taken" };
    } else if (phase === "complete") {
      if (s === 404) return { kind: "expired-before-send" };
      if (s === 409) return { kind: "no-longer-waiting" };
      if (s === 403) return { kind: "forbidden" };
    }
    if (s >= 500) return { kind: "server", retry: true, status: s };
    return { kind: "server", status: s };
  }
  if (err && err.kind) return { kind: err.kind };
  return { kind: "server" };
}

/** `{short, long}` of `publicKey` from the bundle's `fingerprint` (the core's checks); throws "bad-key". */
function keyFingerprint(mod, publicKey) {
  try {
    const out = mod.fingerprint(String(publicKey || ""));
    const fp = { short: String(out.short), long: String(out.long) };
    if (typeof out.free === "function") out.free();
    return fp;
  } catch {
    throw failure("bad-key");
  }
}

/**
 * Check a connect answer and build the request the views show. Throws an
 * error with `kind` (unsupported, no-fields, bad-key) or an ApiError for a
 * non-pending status. The fingerprint is computed here from `public_key` with
 * the bundle `mod`; or, when `mod` is null, `early` is the one consent-key.js
 * computed from that same `public_key` (the code is then shown as
 * `formatCode` writes it, and the session id is left for `confirmKey`).
 */
export function parseRequest(data, mod, fallbackCode, early = null) {
  if (!data || typeof data !== "object") throw failure("server");
  if (data.template_type === "oauth") throw failure("unsupported");
  const fields = Array.isArray(data.fields) ? data.fields.filter((f) => f && typeof f.name === "string" && f.name) : [];
  if (!fields.length) throw failure("no-fields");
  if (data.status && data.status !== "pending") {
    throw new ApiError(data.status === "confirmed" ? 404 : 410, null, 0);
  }
  let fingerprint;
  if (mod) fingerprint = keyFingerprint(mod, data.public_key);
  else if (early && typeof early.short === "string" && typeof early.long === "string") fingerprint = { short: early.short, long: early.long };
  else throw failure("bad-key");
  const rawCode = data.user_code || data.code || fallbackCode;
  const uc = mod ? userCodeOf(mod, rawCode) : null;
  const exp = typeof data.expires_at === "string" ? Date.parse(data.expires_at) : NaN;
  return {
    code: uc ? uc.display : formatCode(rawCode),
    sessionId: uc ? uc.sessionId : null,
    displayName: typeof data.display_name === "string" && data.display_name.trim() ? data.display_name.trim() : "",
    agentName: typeof data.agent_name === "string" ? data.agent_name.trim() : "",
    reason: typeof data.reason === "string" ? data.reason.trim() : "",
    envelope: String(data.envelope || "linkauth").toLowerCase() === "jwe" ? "jwe" : "linkauth",
    fields,
    publicKey: String(data.public_key),
    security: data.security && typeof data.security === "object" ? data.security : null,
    expiresAt: Number.isFinite(exp) ? exp : null,
    fingerprint,
    checked: Boolean(mod), // the bundle computed the fingerprint (see confirmKey)
    rawCode: String(rawCode || ""),
  };
}

/**
 * The bundle's word on a request built with an early fingerprint: the core
 * parses `publicKey` with all its checks and must give the same fingerprint
 * (else "bad-key"); the code and session id then come from its `userCode`, as
 * in parseRequest. Throws an error with `kind`.
 */
export function confirmKey(request, mod) {
  const fp = keyFingerprint(mod, request.publicKey);
  if (fp.short !== request.fingerprint.short || fp.long !== request.fingerprint.long) throw failure("bad-key");
  const uc = userCodeOf(mod, request.rawCode);
  if (uc) {
    request.code = uc.display;
    request.sessionId = uc.sessionId;
  }
  request.checked = true;
}

// ---------------------------------------------------------------------------
// The state machine

/**
 * new ConsentFlow({ apiBase, code, bundleUrl, securityMode, lookup, onState, onBusy, onClear })
 *  apiBase: broker origin ("" = same origin); code: user code ("" = manual entry);
 *  bundleUrl: absolute URL of the WASM bundle's JS file, loaded with
 *  consent-bundle.js (import that module to use it); or `bundle`: an
 *  initialised bundle module, a promise of one, or a function returning one
 *  (called when the bundle is first needed: see `startBundle`); securityMode: fixed
 *  transport verdict (the extension) instead of the broker's `security.mode`;
 *  lookup: optional promise of the first `GET /v1/connect/{code}` answer,
 *  already started by the embedder (used once; every retry asks again);
 *  onState(state, detail): render; onBusy(bool); onClear(): drop form values.
 */
export class ConsentFlow {
  constructor(opts) {
    this.api = connectApi(opts.apiBase);
    this.initialCode = opts.code ? formatCode(opts.code) : "";
    this.manual = !this.initialCode;
    this.fixedSecurityMode = opts.securityMode || "";
    this.onState = opts.onState || (() => {});
    this.onBusy = opts.onBusy || (() => {});
    this.onClear = opts.onClear || (() => {});
    this.request = null; // the checked connect answer (never any secret)
    this.code = "";
    this.connectToken = null;
    this.sealed = null; // {ciphertext, algorithm}: kept only to retry sending
    this.busy = false;
    this.state = "init";
    this.destroyed = false;
    // The first lookup, when the embedder already started it (the extension's
    // answer page starts `GET /v1/connect/{code}` before its view is built):
    // a promise of the connect answer, used once; a retry asks again.
    this.firstLookup = !this.manual && opts.lookup ? Promise.resolve(opts.lookup) : null;
    if (this.firstLookup) this.firstLookup.catch(() => {});
    // Load the bundle in parallel with the first request.
    mark("sealpost:mount");
    // The bundle: `bundle` (a module, a promise of one, or a function that
    // starts loading it, called by `startBundle`), else from `bundleUrl`.
    let start;
    if (typeof opts.bundle === "function") start = opts.bundle;
    else if (opts.bundle) start = () => opts.bundle;
    else if (bundleLoader) start = () => bundleLoader(opts.bundleUrl);
    else start = () => Promise.reject(new Error("no bundle: pass `bundle`, or import consent-bundle.js for `bundleUrl`"));
    let settle;
    this.bundle = new Promise((resolve) => {
      settle = resolve;
    });
    /**
     * Start loading the bundle (once; later calls do nothing); returns
     * `this.bundle`. At once unless `bundle` is a function: then when the flow
     * first waits for it (a review without an early fingerprint, confirm,
     * submit), or when the view calls this once it has drawn an early review
     * (the bundle's instantiation is main-thread work, kept out of the frame
     * that shows the review), at the latest BUNDLE_LATEST_MS after that review.
     */
    this.startBundle = () => {
      if (start) {
        const go = start;
        start = null;
        try {
          settle(go());
        } catch (err) {
          settle(Promise.reject(err));
        }
      }
      return this.bundle;
    };
    if (typeof opts.bundle !== "function") this.startBundle();
    this.bundleModule = null; // the bundle once it is in
    this.bundle.then(
      (mod) => {
        this.bundleModule = mod;
        mark("sealpost:bundle-ready");
      },
      () => {},
    );
    // Settles once the WASM has checked the shown request's key (see `load`).
    this.keyChecked = Promise.resolve();
  }

  get fingerprint() {
    return this.request ? this.request.fingerprint : null;
  }

  get expiresAt() {
    return this.request ? this.request.expiresAt : null;
  }

  go(state, detail = {}) {
    if (this.destroyed) return;
    this.state = state;
    this.onState(state, detail);
  }

  start() {
    if (this.manual) this.showEntry();
    else {
      this.run(() => {
        const first = this.firstLookup;
        this.firstLookup = null;
        return this.load(() => first || this.api.lookup(this.initialCode), this.initialCode);
      }, "load");
    }
  }

  destroy() {
    this.clearSecrets();
    this.destroyed = true;
  }

  async run(fn, phase) {
    if (this.busy || this.destroyed) return;
    this.busy = true;
    this.onBusy(true);
    try {
      await fn();
    } catch (err) {
      if (!this.destroyed) this.fail(err, phase, () => this.run(fn, phase));
    } finally {
      this.busy = false;
      this.onBusy(false);
    }
  }

  fail(err, phase, retry) {
    const c = classify(err, phase);
    // Once a request is over, nothing typed may stay around.
    if (!c.retry || phase !== "complete") this.clearSecrets();
    if (phase === "resolve" && (c.kind === "not-found" || c.kind === "rate-limited" || c.kind === "network")) {
      this.showEntry(c);
      return;
    }
    this.go("error", { ...c, retry: c.retry ? retry : null });
  }

  showEntry(failure = null) {
    this.go("entry", { failure, value: this.code || this.initialCode || "" });
  }

  /** Manual entry: look the typed code up. Returns false when it is too short to try. */
  resolve(typed) {
    const code = normalizeCode(typed);
    if (code.length < 4) return false;
    const formatted = formatCode(code);
    this.code = formatted;
    this.run(() => this.load(() => this.api.resolve(formatted), formatted), "resolve");
    return true;
  }

  /**
   * From a terminal error (the manual entry page, or a link's page): start
   * over at code entry, the box empty, or with the code just tried when
   * `keepCode` (one the broker did not know may be mistyped).
   */
  enterAnother(keepCode = false) {
    const tried = keepCode ? this.code || this.initialCode : "";
    this.clearSecrets();
    this.code = "";
    this.request = null;
    this.go("entry", { failure: null, value: tried });
  }

  /**
   * Look the request up and show it for review. The fingerprint comes from
   * the bundle when it is in; while it still loads, from consent-key.js when
   * that can compute it (the wire form the core writes, WebCrypto there), so
   * the review is drawn without waiting for the WASM. The bundle then computes
   * it again (`confirmKey`, kept in `keyChecked`): should it refuse the key or
   * disagree, the page moves to "bad-key"; `confirm` waits for that check.
   * Otherwise (another spelling of the key, no WebCrypto) the review waits for
   * the bundle, as always.
   */
  async load(fetcher, fallbackCode) {
    this.go("loading", { text: "Loading the request…" });
    const bundle = this.bundle.catch(() => {
      throw failure("bundle");
    });
    bundle.catch(() => {});
    const data = await fetcher();
    let early = null;
    if (!this.bundleModule && data && typeof data === "object") early = await earlyFingerprint(data.public_key);
    if (!early) this.startBundle();
    const mod = this.bundleModule || (early ? null : await bundle);
    const request = parseRequest(data, mod, fallbackCode, early);
    this.request = request;
    this.code = request.code;
    this.keyChecked = mod ? Promise.resolve() : this.checkKeyLater(request, bundle);
    this.go("review", { security: this.securityMode() });
  }

  /** The bundle's check of a request shown with an early fingerprint (see `load`). */
  checkKeyLater(request, bundle) {
    setTimeout(() => this.destroyed || this.startBundle(), BUNDLE_LATEST_MS);
    const check = bundle.then((mod) => {
      confirmKey(request, mod);
      if (this.request === request) this.code = request.code;
    });
    check.catch((err) => {
      // A confirm under way reports it itself (it waits for this check).
      if (this.request === request && this.state === "review" && !this.busy && !this.destroyed) this.fail(err, "load");
    });
    return check;
  }

  /** The transport verdict for the banner: "production" | "development" | "insecure". */
  securityMode() {
    if (this.fixedSecurityMode) return this.fixedSecurityMode;
    const sec = this.request && this.request.security;
    let mode = sec && typeof sec.mode === "string" ? sec.mode : "";
    if (!globalThis.isSecureContext) mode = "insecure";
    return mode;
  }

  /** "empty" | "match" | "incomplete" | "mismatch" for a pasted agent fingerprint. */
  checkPasted(text) {
    return this.fingerprint ? compareFingerprint(text, this.fingerprint) : "mismatch";
  }

  /**
   * The person says code and fingerprint match. A pasted fingerprint that is
   * not an exact match blocks: nothing is sent. Returns whether confirm started.
   */
  confirm(pasted = "") {
    if (this.state !== "review" || this.busy) return false;
    const v = this.checkPasted(pasted);
    if (v !== "empty" && v !== "match") return false;
    mark("sealpost:confirm");
    this.run(async () => {
      this.go("loading", { text: "Confirming…" });
      // Nothing is confirmed before the bundle has checked the key shown.
      this.startBundle();
      await this.keyChecked;
      this.connectToken = await this.api.confirm(this.code);
      this.go("form");
    }, "confirm");
    return true;
  }

  /** The person says code or fingerprint differ. */
  stop() {
    this.clearSecrets();
    this.go("stopped");
  }

  /**
   * Seal `creds` (field name -> string) and send. The caller has already
   * emptied its inputs; `creds` is emptied here whatever happens. A retry
   * after a failed send reuses the ciphertext: the secret is sealed once.
   */
  submit(creds) {
    if (this.state !== "form" || this.busy) {
      for (const k of Object.keys(creds)) creds[k] = "";
      return false;
    }
    mark("sealpost:submit");
    let plain = creds;
    this.run(async () => {
      if (!this.sealed) {
        const mod = await this.startBundle();
        this.go("loading", { text: "Encrypting…" });
        try {
          const r = this.request;
          if (r.envelope === "jwe") {
            if (!r.sessionId) throw failure("seal-failed");
            this.sealed = { ciphertext: String(await mod.sealJwe(r.publicKey, plain, r.sessionId)), algorithm: ALG_JWE };
          } else {
            this.sealed = { ciphertext: String(await mod.seal(r.publicKey, plain)), algorithm: ALG_LINKAUTH };
          }
        } catch {
          throw failure("seal-failed");
        } finally {
          if (plain) for (const k of Object.keys(plain)) plain[k] = "";
          plain = null;
          this.onClear();
        }
      }
      this.go("loading", { text: "Sending…" });
      await this.api.complete(this.code, { ...this.sealed, connectToken: this.connectToken });
      this.sealed = null;
      this.connectToken = null;
      this.clearSecrets();
      this.go("done");
    }, "complete");
    return true;
  }

  /** Expire the request when its time is up (called by the view's countdown tick). */
  expire(now = Date.now()) {
    const at = this.expiresAt;
    if (at === null || now < at || this.busy) return false;
    if (!["review", "form", "error", "loading"].includes(this.state)) return false;
    this.clearSecrets();
    this.go("error", { kind: "expired", retry: null });
    return true;
  }

  clearSecrets() {
    this.onClear();
    this.sealed = null;
    this.connectToken = null;
  }
}
