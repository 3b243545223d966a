// Sealpost consent page: one embeddable ES module.
//
//   import { mountConsent } from "https://broker.example/assets/consent.js";
//   mountConsent(element, { apiBase, code, bundleUrl });
//
// or, declaratively, <sealpost-consent api-base="…" code="…"></sealpost-consent>.
//
// The page fetches the request (LinkAuth v1 browser API, docs/protocol.md),
// computes the agent key's fingerprint itself with the WASM bundle, lets the
// person compare code and fingerprint, then seals what they type with the
// bundle and sends only ciphertext. No inline script or style (the broker's
// CSP forbids both), no cookies, no storage, no third-party assets.

export const ALG_LINKAUTH = "RSA-OAEP-256+AES-256-GCM";
export const ALG_JWE = "JWE";

const BUNDLE_FILE = "sealpost_wasm.js";
const ANNOUNCE_AT_SECONDS = [300, 60, 30];

// ---------------------------------------------------------------------------
// Small pure helpers (exported for tests and embedders).

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

/** Upper case, only A-Z0-9: "abcd-1234" -> "ABCD1234". */
export function normalizeCode(code) {
  return String(code || "").toUpperCase().replace(/[^A-Z0-9]/g, "");
}

/** "abcd1234" -> "ABCD-1234" (other lengths: upper case, no hyphen added). */
export function formatCode(code) {
  const c = normalizeCode(code);
  return c.length === 8 ? `${c.slice(0, 4)}-${c.slice(4)}` : c;
}

/** Session id bound into a JWE: lowercase hex SHA-256 of the normalised code. */
export async function sessionIdForCode(code) {
  const bytes = new TextEncoder().encode(normalizeCode(code));
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  const digest = subtle ? new Uint8Array(await subtle.digest("SHA-256", bytes)) : sha256(bytes);
  return toHex(digest);
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

// Tiny SHA-256 for insecure contexts, where crypto.subtle does not exist.
export function sha256(data) {
  const K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ]);
  const H = new Uint32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  const len = data.length;
  const padded = new Uint8Array(((len + 9 + 63) >> 6) << 6);
  padded.set(data);
  padded[len] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 4, len * 8);
  view.setUint32(padded.length - 8, Math.floor(len / 0x20000000));
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    let [a, b, c, d, e, f, g, h] = H;
    for (let i = 0; i < 64; i++) {
      const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      h = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    H[0] += a; H[1] += b; H[2] += c; H[3] += d; H[4] += e; H[5] += f; H[6] += g; H[7] += h;
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) ov.setUint32(i * 4, H[i]);
  return out;
}

// ---------------------------------------------------------------------------
// The WASM bundle, loaded once per URL.

const bundles = new Map();

function loadBundle(url) {
  let p = bundles.get(url);
  if (!p) {
    p = import(url).then(async (mod) => {
      await mod.default();
      return mod;
    });
    p.catch(() => bundles.delete(url));
    bundles.set(url, p);
  }
  return p;
}

// ---------------------------------------------------------------------------
// HTTP

class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super((problem && (problem.title || problem.detail)) || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = (problem && (problem.code || problem.error)) || `HTTP_${status}`;
    this.problemTitle = problem && typeof problem.title === "string" ? problem.title : "";
    this.retryAfter = retryAfter;
  }
}

class NetworkError extends Error {
  constructor() {
    super("network unreachable");
    this.name = "NetworkError";
    this.code = "ERR_NETWORK";
  }
}

function retryAfterSeconds(res, problem) {
  const h = res.headers.get("Retry-After");
  const n = h && /^\d+$/.test(h.trim()) ? Number(h.trim()) : NaN;
  if (Number.isFinite(n)) return n;
  if (problem && Number.isFinite(problem.interval)) return problem.interval;
  return 0;
}

async function callApi(apiBase, method, path, body) {
  let res;
  try {
    res = await fetch(apiBase + path, {
      method,
      headers: body === undefined
        ? { Accept: "application/json, application/problem+json" }
        : { Accept: "application/json, application/problem+json", "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      redirect: "error",
      referrerPolicy: "no-referrer",
    });
  } catch {
    throw new NetworkError();
  }
  let data = null;
  if (res.status !== 204) {
    const text = await res.text().catch(() => "");
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
  }
  if (!res.ok) throw new ApiError(res.status, data, retryAfterSeconds(res, data));
  return data;
}

// ---------------------------------------------------------------------------
// DOM helpers: everything is built with createElement and textContent, so
// nothing the broker or agent sends is ever parsed as HTML.

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, "");
      else el.setAttribute(k, String(v));
    }
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function mark(name) {
  try {
    performance.mark(name);
  } catch {
    /* marks are best effort */
  }
}

function formatRemaining(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const m = Math.floor(total / 60);
  const s = total % 60;
  return `${m}:${String(s).padStart(2, "0")}`;
}

function spokenRemaining(seconds) {
  if (seconds >= 60) {
    const m = Math.round(seconds / 60);
    return `${m} minute${m === 1 ? "" : "s"}`;
  }
  return `${seconds} seconds`;
}

// ---------------------------------------------------------------------------
// Failure catalogue: every failure the person can meet, in human words, with
// what to do next.

const FAILURES = {
  "not-found": {
    title: "This code isn’t valid any more",
    body: "It may be mistyped, it may have expired, or the request was already opened on another device.",
    next: "Check the code against what your agent shows, or ask your agent for a new link.",
  },
  taken: {
    title: "This request was opened somewhere else",
    body: "Another browser already confirmed this request, so this page can’t answer it.",
    next: "If that wasn’t you, don’t continue anywhere: tell your agent to cancel and start a new request.",
  },
  "no-longer-waiting": {
    title: "This request no longer accepts a secret",
    body: "It was answered or taken over somewhere else.",
    next: "If an earlier attempt from this page went through, your agent already has the secret. Otherwise ask your agent for a new link.",
  },
  completed: {
    title: "This request was already answered",
    body: "Someone already sent a secret for this request.",
    next: "If it wasn’t you, tell your agent to discard it and rotate that secret.",
  },
  expired: {
    title: "This request has expired",
    body: "Requests only stay open for a few minutes. Nothing was sent.",
    next: "Ask your agent for a new link.",
  },
  "expired-before-send": {
    title: "This request expired before the secret arrived",
    body: "The broker no longer knows this request, so nothing was stored.",
    next: "Ask your agent for a new link and try again.",
  },
  "rate-limited": {
    title: "Too many attempts",
    body: "The broker is slowing down requests for this code.",
    next: "Wait a minute, then try again.",
  },
  network: {
    title: "Can’t reach the broker",
    body: "Your connection or the broker seems to be down.",
    next: "Check your connection, then try again.",
  },
  forbidden: {
    title: "This page is no longer allowed to answer",
    body: "The broker did not accept this page’s permission to send the secret.",
    next: "Ask your agent for a new link.",
  },
  "bad-key": {
    title: "The agent’s key can’t be used",
    body: "The key in this request is not a valid RSA key, so nothing can be encrypted to it.",
    next: "Don’t continue. Ask your agent to start a new request.",
  },
  "bundle": {
    title: "The encryption module didn’t load",
    body: "This page encrypts your secret itself and can’t work without it.",
    next: "Reload the page. If it keeps failing, your browser may block WebAssembly.",
  },
  unsupported: {
    title: "This page can’t handle this request",
    body: "The request needs a sign-in flow (OAuth) that this page doesn’t support.",
    next: "Ask your agent for a form-based request instead.",
  },
  "no-fields": {
    title: "This request doesn’t ask for anything",
    body: "The broker sent no fields to fill in.",
    next: "Ask your agent to start a new request.",
  },
  "seal-failed": {
    title: "Encryption failed",
    body: "Your secret could not be encrypted to the agent’s key, so nothing was sent.",
    next: "Ask your agent for a new link and try again.",
  },
  server: {
    title: "The broker returned an error",
    body: "Something went wrong on the broker’s side.",
    next: "Try again in a moment.",
  },
};

// ---------------------------------------------------------------------------
// The consent flow

class ConsentFlow {
  constructor(host, opts) {
    this.host = host;
    this.apiBase = String(opts.apiBase || "").replace(/\/+$/, "");
    const bundle = opts.bundleUrl || `${this.apiBase}/pkg/${BUNDLE_FILE}`;
    this.bundleUrl = new URL(bundle, document.baseURI).href;
    this.stylesUrl = opts.stylesUrl
      ? new URL(opts.stylesUrl, document.baseURI).href
      : new URL("./consent.css", import.meta.url).href;
    this.initialCode = opts.code ? formatCode(opts.code) : "";
    this.manual = !this.initialCode;
    this.request = null; // the connect response (never any secret)
    this.code = "";
    this.fingerprint = null; // {short, long}, computed here
    this.connectToken = null;
    this.sealed = null; // {ciphertext, algorithm}: kept only to retry sending
    this.expiresAt = null;
    this.busy = false;
    this.state = "init";
    this.timer = null;
    this.announced = new Set();
    this.destroyed = false;

    this.root = host.shadowRoot || host.attachShadow({ mode: "open" });
    this.root.replaceChildren();
    const link = h("link", { rel: "stylesheet", href: this.stylesUrl });
    this.frame = h("div", { class: "sp", hidden: true });
    this.banner = h("div", { class: "sp-banner", hidden: true });
    this.live = h("div", { class: "sp-sr", role: "status", "aria-live": "polite", "aria-atomic": "true" });
    this.card = h("section", { class: "sp-card" });
    this.frame.append(this.banner, this.card, this.live);
    this.root.append(link, this.frame);
    let shown;
    this.shown = new Promise((r) => {
      shown = r;
    });
    const show = () => {
      this.frame.hidden = false;
      shown();
    };
    link.addEventListener("load", show, { once: true });
    link.addEventListener("error", show, { once: true });
    setTimeout(show, 1500);

    // Load the bundle in parallel with the first request.
    mark("sealpost:mount");
    this.bundle = loadBundle(this.bundleUrl);
    this.bundle.then(() => mark("sealpost:bundle-ready"), () => {});
  }

  start() {
    this.quietFocus = true;
    if (this.manual) this.showEntry();
    else this.run(() => this.load(() => callApi(this.apiBase, "GET", `/v1/connect/${encodeURIComponent(this.initialCode)}`), this.initialCode), "load");
  }

  destroy() {
    this.destroyed = true;
    this.stopTimer();
    this.clearSecrets();
    this.root.replaceChildren();
  }

  // --- state plumbing ------------------------------------------------------

  setState(state, focusEl) {
    this.state = state;
    this.host.setAttribute("data-state", state);
    mark(`sealpost:${state}`);
    this.host.dispatchEvent(new CustomEvent("sealpost-state", { detail: { state }, bubbles: true, composed: true }));
    if (focusEl && this.quietFocus && state !== "loading") {
      // The first view after page load: leave focus at the top of the page.
      this.quietFocus = false;
    } else if (focusEl) {
      // Focus the new view's heading so keyboard and screen reader users start
      // at the top of what changed.
      this.shown.then(() => focusEl.isConnected && focusEl.focus());
    }
  }

  announce(text) {
    this.live.textContent = "";
    // A separate task so repeated identical messages are announced again.
    setTimeout(() => {
      this.live.textContent = text;
    }, 30);
  }

  render(state, ...children) {
    const heading = children.find((c) => c instanceof HTMLElement && /^H[12]$/.test(c.tagName));
    this.card.replaceChildren(...children.flat().filter(Boolean));
    this.card.setAttribute("data-view", state);
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      if (!heading.id) heading.id = `sp-h-${state}`;
      this.card.setAttribute("aria-labelledby", heading.id);
    }
    this.setState(state, heading);
  }

  async run(fn, phase) {
    if (this.busy || this.destroyed) return;
    this.busy = true;
    // On the card only: the live region (outside it) keeps announcing.
    this.card.setAttribute("aria-busy", "true");
    try {
      await fn();
    } catch (err) {
      if (!this.destroyed) this.fail(err, phase, () => this.run(fn, phase));
    } finally {
      this.busy = false;
      this.card.removeAttribute("aria-busy");
    }
  }

  classify(err, phase) {
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

  fail(err, phase, retry) {
    const c = this.classify(err, phase);
    // Once a request is over, nothing typed may stay around.
    if (!c.retry || phase !== "complete") this.clearSecrets();
    if (phase === "resolve" && (c.kind === "not-found" || c.kind === "rate-limited" || c.kind === "network")) {
      this.showEntry(c);
      return;
    }
    this.showFailure(c, c.retry ? retry : null);
  }

  // --- views -----------------------------------------------------------------

  showLoading(text) {
    this.render(
      "loading",
      h("div", { class: "sp-loading" }, h("span", { class: "sp-spinner", "aria-hidden": "true" }), h("p", { text })),
    );
    this.announce(text);
  }

  showEntry(failure) {
    this.stopTimer();
    const err = failure ? FAILURES[failure.kind] : null;
    const input = h("input", {
      id: "sp-code-input",
      class: "sp-input sp-code-input",
      type: "text",
      name: "user_code",
      autocomplete: "off",
      autocapitalize: "characters",
      spellcheck: "false",
      maxlength: "16",
      placeholder: "ABCD-1234",
      required: true,
      "aria-describedby": "sp-code-help" + (err ? " sp-code-error" : ""),
      "aria-invalid": err && failure.kind === "not-found" ? "true" : undefined,
      value: this.code || this.initialCode || "",
    });
    const errorEl = err
      ? h("p", { id: "sp-code-error", class: "sp-field-error" }, `${err.title}. ${err.next}`)
      : null;
    const form = h(
      "form",
      { class: "sp-form", novalidate: true, "aria-label": "Enter a code" },
      h("label", { for: "sp-code-input", class: "sp-label" }, "Code"),
      h("p", { id: "sp-code-help", class: "sp-help" }, "8 letters and digits, like ABCD-1234. Upper or lower case, with or without the hyphen."),
      input,
      errorEl,
      h("div", { class: "sp-actions" }, h("button", { type: "submit", class: "sp-btn sp-btn-primary" }, "Continue")),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const code = normalizeCode(input.value);
      if (code.length < 4) {
        input.setAttribute("aria-invalid", "true");
        let e = form.querySelector("#sp-code-error");
        if (!e) {
          e = h("p", { id: "sp-code-error", class: "sp-field-error" });
          input.after(e);
          input.setAttribute("aria-describedby", "sp-code-help sp-code-error");
        }
        e.textContent = "Enter the code your agent shows, like ABCD-1234.";
        input.focus();
        return;
      }
      const formatted = formatCode(code);
      this.code = formatted;
      this.run(
        () => this.load(() => callApi(this.apiBase, "POST", "/v1/connect/resolve", { user_code: formatted }), formatted),
        "resolve",
      );
    });
    this.render(
      "entry",
      h("p", { class: "sp-eyebrow" }, "Credential request"),
      h("h1", { class: "sp-title" }, "Enter the code from your agent"),
      h("p", { class: "sp-lead" }, "Your agent printed a short code and a key fingerprint. Type the code to see what it asks for."),
      form,
    );
    if (err) this.announce(`${err.title}. ${err.next}`);
    this.shown.then(() => queueMicrotask(() => input.isConnected && input.focus()));
  }

  async load(fetcher, fallbackCode) {
    this.showLoading("Loading the request…");
    const [data, mod] = await Promise.all([
      fetcher(),
      this.bundle.catch(() => {
        throw Object.assign(new Error("bundle"), { kind: "bundle" });
      }),
    ]);
    if (!data || typeof data !== "object") throw Object.assign(new Error("bad response"), { kind: "server" });
    if (data.template_type === "oauth") throw Object.assign(new Error("oauth"), { kind: "unsupported" });
    const fields = Array.isArray(data.fields) ? data.fields.filter((f) => f && typeof f.name === "string" && f.name) : [];
    if (!fields.length) throw Object.assign(new Error("fields"), { kind: "no-fields" });
    if (data.status && data.status !== "pending") {
      throw new ApiError(data.status === "confirmed" ? 404 : 410, null, 0);
    }
    let fp;
    try {
      const out = mod.fingerprint(String(data.public_key || ""));
      fp = { short: String(out.short), long: String(out.long) };
      if (typeof out.free === "function") out.free();
    } catch {
      throw Object.assign(new Error("key"), { kind: "bad-key" });
    }
    this.request = {
      code: formatCode(data.user_code || data.code || fallbackCode),
      displayName: typeof data.display_name === "string" && data.display_name.trim() ? data.display_name.trim() : "",
      agentName: typeof data.agent_name === "string" ? data.agent_name.trim() : "",
      reason: typeof data.reason === "string" ? data.reason.trim() : "",
      envelope: String(data.envelope || "linkauth").toLowerCase() === "jwe" ? "jwe" : "linkauth",
      fields,
      publicKey: String(data.public_key),
      security: data.security && typeof data.security === "object" ? data.security : null,
    };
    this.code = this.request.code;
    this.fingerprint = fp;
    const exp = typeof data.expires_at === "string" ? Date.parse(data.expires_at) : NaN;
    this.expiresAt = Number.isFinite(exp) ? exp : null;
    this.showBanner();
    this.startTimer();
    this.showReview();
  }

  showBanner() {
    const sec = this.request && this.request.security;
    let mode = sec && typeof sec.mode === "string" ? sec.mode : "";
    if (!globalThis.isSecureContext) mode = "insecure";
    if (mode !== "development" && mode !== "insecure") {
      this.banner.hidden = true;
      return;
    }
    const insecure = mode === "insecure";
    const msg = sec && typeof sec.message === "string" && sec.message.trim() ? sec.message.trim() : "";
    this.banner.className = `sp-banner ${insecure ? "sp-banner-danger" : "sp-banner-warn"}`;
    this.banner.setAttribute("role", "note");
    this.banner.replaceChildren(
      ...[
      h("strong", { class: "sp-banner-title" }, insecure ? "Not a secure connection" : "Development broker"),
      h(
        "span",
        null,
        insecure
          ? " This page did not arrive over HTTPS: someone on the network could change it or swap the agent’s key. Don’t enter a real secret here."
          : " This broker runs without TLS on a local machine. Fine for testing; use an HTTPS broker for real secrets.",
      ),
      msg ? h("span", { class: "sp-banner-msg" }, ` ${msg}`) : null,
      ].filter(Boolean),
    );
    this.banner.hidden = false;
  }

  codeBlock() {
    return h(
      "div",
      { class: "sp-check" },
      h("p", { class: "sp-check-label", id: "sp-code-label" }, "Code"),
      h("p", { class: "sp-code", "aria-labelledby": "sp-code-label", "data-testid": "code" }, this.request.code),
    );
  }

  fingerprintBlock() {
    return h(
      "div",
      { class: "sp-check sp-fp-card" },
      h("p", { class: "sp-check-label", id: "sp-fp-label" }, "Agent key fingerprint"),
      h("p", { class: "sp-fp", "aria-labelledby": "sp-fp-label", "data-testid": "fingerprint" }, this.fingerprint.short),
      h(
        "details",
        { class: "sp-fp-details" },
        h("summary", null, "Long form"),
        h("p", { class: "sp-fp-long", "data-testid": "fingerprint-long" }, this.fingerprint.long),
      ),
    );
  }

  countdown() {
    if (this.expiresAt === null) return null;
    return h(
      "p",
      { class: "sp-countdown" },
      h("span", { class: "sp-countdown-label" }, "Expires in "),
      h("span", { class: "sp-countdown-value", role: "timer", "data-testid": "countdown" }, formatRemaining(this.expiresAt - Date.now())),
    );
  }

  showReview() {
    const r = this.request;
    const pasteInput = h("input", {
      id: "sp-fp-input",
      class: "sp-input sp-mono",
      type: "text",
      autocomplete: "off",
      spellcheck: "false",
      autocapitalize: "off",
      placeholder: "3f9a-41c2-7d0e or SHA256:…",
      "aria-describedby": "sp-fp-input-help sp-fp-input-status",
    });
    const pasteStatus = h("p", { id: "sp-fp-input-status", class: "sp-fp-status", "aria-live": "polite" });
    const continueBtn = h("button", { type: "button", class: "sp-btn sp-btn-primary", "data-testid": "confirm" }, "Both match — continue");
    const stopBtn = h("button", { type: "button", class: "sp-btn sp-btn-secondary" }, "They don’t match");

    const check = (final) => {
      const v = compareFingerprint(pasteInput.value, this.fingerprint);
      const card = this.card.querySelector(".sp-fp-card");
      if (card) card.classList.toggle("sp-mismatch", v === "mismatch" || (v === "incomplete" && final));
      pasteStatus.className = "sp-fp-status";
      pasteInput.removeAttribute("aria-invalid");
      continueBtn.removeAttribute("aria-disabled");
      if (v === "empty") {
        pasteStatus.textContent = "";
      } else if (v === "match") {
        pasteStatus.textContent = "✓ Matches the key this page will encrypt to.";
        pasteStatus.classList.add("sp-ok");
      } else if (v === "incomplete" && !final) {
        pasteStatus.textContent = "Keep typing…";
        continueBtn.setAttribute("aria-disabled", "true");
      } else {
        pasteStatus.textContent =
          v === "incomplete"
            ? "Incomplete: this is only the beginning of the fingerprint. Finish it or clear the box."
            : "✗ Does not match. Don’t continue: the key this page received is not your agent’s key.";
        pasteStatus.classList.add("sp-bad");
        pasteInput.setAttribute("aria-invalid", "true");
        continueBtn.setAttribute("aria-disabled", "true");
      }
      return v;
    };
    pasteInput.addEventListener("input", () => check(false));
    pasteInput.addEventListener("change", () => check(true));
    pasteInput.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") {
        ev.preventDefault();
        continueBtn.click();
      }
    });
    continueBtn.addEventListener("click", () => {
      const v = check(true);
      if (v !== "empty" && v !== "match") {
        pasteInput.focus();
        this.announce(pasteStatus.textContent);
        return;
      }
      mark("sealpost:confirm");
      this.run(() => this.confirm(), "confirm");
    });
    stopBtn.addEventListener("click", () => this.showStopped());

    const asks = h(
      "ul",
      { class: "sp-asks" },
      r.fields.map((f) =>
        h("li", null, h("span", null, f.label || f.name), f.required ? null : h("span", { class: "sp-muted" }, " (optional)")),
      ),
    );
    const who = [];
    if (r.agentName) who.push(h("p", { class: "sp-meta" }, h("span", { class: "sp-muted" }, "Agent: "), h("strong", null, r.agentName)));
    if (r.reason) {
      who.push(
        h(
          "figure",
          { class: "sp-reason" },
          h("figcaption", { class: "sp-muted" }, "The agent says why:"),
          h("blockquote", null, r.reason),
        ),
      );
    }
    this.render(
      "review",
      h("p", { class: "sp-eyebrow" }, "Credential request"),
      h("h1", { class: "sp-title", "data-testid": "title" }, r.displayName || "An agent is asking for a credential"),
      who,
      h("p", { class: "sp-lead" }, "Check that both of these match exactly what your agent shows. If they don’t, stop."),
      h("div", { class: "sp-checks" }, this.codeBlock(), this.fingerprintBlock()),
      h(
        "div",
        { class: "sp-paste" },
        h("label", { for: "sp-fp-input", class: "sp-label" }, "Optional: paste the fingerprint your agent printed"),
        h("p", { id: "sp-fp-input-help", class: "sp-help" }, "This page will compare it for you."),
        pasteInput,
        pasteStatus,
      ),
      h("div", { class: "sp-asks-wrap" }, h("p", { class: "sp-muted sp-small" }, "You’ll be asked for:"), asks),
      this.countdown(),
      h("div", { class: "sp-actions" }, continueBtn, stopBtn),
    );
    this.announce(`Request loaded: code ${r.code}, key fingerprint ${this.fingerprint.short}.`);
  }

  showStopped() {
    this.stopTimer();
    this.clearSecrets();
    this.render(
      "stopped",
      h("h1", { class: "sp-title" }, "Stopped. Nothing was sent."),
      h("p", { class: "sp-lead" }, "The code or fingerprint didn’t match your agent’s, so this page may not be talking to your agent."),
      h("p", null, "Close this page and tell your agent to cancel the request. Before typing a secret for a new request, check its code and fingerprint again."),
    );
  }

  async confirm() {
    this.showLoading("Confirming…");
    const data = await callApi(this.apiBase, "POST", `/v1/connect/${encodeURIComponent(this.code)}/confirm`, {});
    const token = data && typeof data.connect_token === "string" ? data.connect_token : "";
    if (!token) throw new ApiError(502, null, 0);
    this.connectToken = token;
    this.showForm();
  }

  showForm() {
    const r = this.request;
    const controls = [];
    const rows = r.fields.map((f, i) => {
      const id = `sp-f-${i}`;
      const label = String(f.label || f.name);
      const type = ["text", "password", "textarea", "select"].includes(f.type) ? f.type : "text";
      const required = f.required === true;
      const common = {
        id,
        name: f.name,
        class: "sp-input",
        required,
        "aria-required": required ? "true" : undefined,
        autocomplete: "off",
        spellcheck: "false",
        autocapitalize: "off",
      };
      let control;
      let toggle = null;
      if (type === "textarea") {
        control = h("textarea", { ...common, rows: "4", class: "sp-input sp-textarea sp-mono" });
      } else if (type === "select") {
        const options = Array.isArray(f.options) ? f.options.map(String) : [];
        control = h(
          "select",
          { ...common, class: "sp-input sp-select" },
          h("option", { value: "" }, required ? "Choose…" : "—"),
          options.map((o) => h("option", { value: o }, o)),
        );
      } else {
        control = h("input", { ...common, type, class: type === "password" ? "sp-input sp-mono" : "sp-input" });
        if (type === "password") {
          toggle = h("button", { type: "button", class: "sp-btn sp-btn-ghost sp-toggle", "aria-pressed": "false", "aria-controls": id, "aria-label": `Show ${label}` }, "Show");
          toggle.addEventListener("click", () => {
            const showing = control.type === "text";
            control.type = showing ? "password" : "text";
            toggle.textContent = showing ? "Show" : "Hide";
            toggle.setAttribute("aria-pressed", showing ? "false" : "true");
            toggle.setAttribute("aria-label", `${showing ? "Show" : "Hide"} ${label}`);
          });
        }
      }
      const errId = `${id}-error`;
      const err = h("p", { id: errId, class: "sp-field-error", hidden: true });
      control.addEventListener("input", () => {
        if (control.getAttribute("aria-invalid") === "true" && control.value.trim() !== "") {
          control.removeAttribute("aria-invalid");
          err.hidden = true;
        }
      });
      controls.push({ field: f, control, err, errId, label, required });
      return h(
        "div",
        { class: "sp-field" },
        h("label", { for: id, class: "sp-label" }, label, required ? null : h("span", { class: "sp-muted" }, " (optional)")),
        toggle ? h("div", { class: "sp-with-toggle" }, control, toggle) : control,
        err,
      );
    });
    this.controls = controls;
    const submit = h("button", { type: "submit", class: "sp-btn sp-btn-primary", "data-testid": "submit" }, "Encrypt and send");
    const form = h(
      "form",
      { class: "sp-form", novalidate: true, "aria-labelledby": "sp-h-form" },
      rows,
      h(
        "p",
        { class: "sp-note" },
        "Encrypted in this page to the key ",
        h("span", { class: "sp-mono" }, this.fingerprint.short),
        ". The broker only receives ciphertext.",
      ),
      this.countdown(),
      h("div", { class: "sp-actions" }, submit),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (this.busy) return;
      const invalid = [];
      for (const c of controls) {
        if (c.required && c.control.value.trim() === "") {
          c.control.setAttribute("aria-invalid", "true");
          c.control.setAttribute("aria-describedby", c.errId);
          c.err.textContent = c.field.type === "select" ? `Choose ${c.label}.` : `Enter ${c.label}.`;
          c.err.hidden = false;
          invalid.push(c);
        }
      }
      if (invalid.length) {
        this.announce(`${invalid.length} required field${invalid.length === 1 ? "" : "s"} empty.`);
        invalid[0].control.focus();
        return;
      }
      mark("sealpost:submit");
      this.run(() => this.sealAndSend(), "complete");
    });
    this.render(
      "form",
      h("p", { class: "sp-eyebrow" }, `Code ${r.code}`),
      h("h2", { class: "sp-title", id: "sp-h-form" }, r.displayName ? `Enter ${r.displayName}` : "Enter the credential"),
      form,
    );
    this.announce("Confirmed. Fill in the form.");
  }

  // Read the form, seal, forget the plaintext, then send. A retry after a
  // failed send reuses the same ciphertext: the secret is sealed exactly once.
  async sealAndSend() {
    if (!this.sealed) {
      const mod = await this.bundle;
      let creds = {};
      for (const c of this.controls) {
        creds[c.field.name] = c.control.value;
      }
      this.showLoading("Encrypting…");
      let ciphertext;
      try {
        if (this.request.envelope === "jwe") {
          const sid = await sessionIdForCode(this.code);
          ciphertext = await mod.sealJwe(this.request.publicKey, creds, sid);
          this.sealed = { ciphertext: String(ciphertext), algorithm: ALG_JWE };
        } else {
          ciphertext = await mod.seal(this.request.publicKey, creds);
          this.sealed = { ciphertext: String(ciphertext), algorithm: ALG_LINKAUTH };
        }
      } catch {
        throw Object.assign(new Error("seal"), { kind: "seal-failed" });
      } finally {
        for (const k of Object.keys(creds)) creds[k] = "";
        creds = null;
        this.clearInputs();
      }
    }
    this.showLoading("Sending…");
    await callApi(this.apiBase, "POST", `/v1/connect/${encodeURIComponent(this.code)}/complete`, {
      ciphertext: this.sealed.ciphertext,
      algorithm: this.sealed.algorithm,
      connect_token: this.connectToken,
    });
    this.sealed = null;
    this.connectToken = null;
    this.showDone();
  }

  clearInputs() {
    if (!this.controls) return;
    for (const c of this.controls) {
      if (c.control.type === "text" && c.field.type === "password") c.control.type = "password";
      c.control.value = "";
    }
    this.controls = null;
  }

  clearSecrets() {
    this.clearInputs();
    this.sealed = null;
    this.connectToken = null;
  }

  showDone() {
    this.stopTimer();
    this.clearSecrets();
    this.render(
      "done",
      h("div", { class: "sp-done-mark", "aria-hidden": "true" }, "✓"),
      h("h1", { class: "sp-title" }, "Sent securely"),
      h("p", { class: "sp-lead" }, "Your agent can now read it. You can close this page."),
      h(
        "p",
        { class: "sp-note" },
        "Encrypted in this page to the key ",
        h("span", { class: "sp-mono" }, this.fingerprint ? this.fingerprint.short : ""),
        ". Nothing readable was sent to the broker, and nothing was stored in this browser.",
      ),
    );
    this.announce("Sent securely. You can close this page.");
    this.host.dispatchEvent(new CustomEvent("sealpost-done", { bubbles: true, composed: true }));
  }

  showFailure(c, retry) {
    const f = FAILURES[c.kind] || FAILURES.server;
    if (!["network", "rate-limited", "server"].includes(c.kind) || !retry) this.stopTimer();
    const actions = [];
    if (retry) {
      const btn = h("button", { type: "button", class: "sp-btn sp-btn-primary", "data-testid": "retry" }, "Try again");
      let wait = c.wait && c.wait > 0 ? Math.min(c.wait, 600) : 0;
      if (wait) {
        btn.setAttribute("aria-disabled", "true");
        btn.textContent = `Try again in ${wait} s`;
        const t = setInterval(() => {
          wait -= 1;
          if (wait <= 0 || this.destroyed) {
            clearInterval(t);
            btn.removeAttribute("aria-disabled");
            btn.textContent = "Try again";
          } else btn.textContent = `Try again in ${wait} s`;
        }, 1000);
      }
      btn.addEventListener("click", () => {
        if (btn.getAttribute("aria-disabled") === "true" || this.busy) return;
        btn.setAttribute("aria-disabled", "true");
        retry();
      });
      actions.push(btn);
    }
    if (this.manual && ["not-found", "expired", "completed", "taken"].includes(c.kind)) {
      const again = h("button", { type: "button", class: "sp-btn sp-btn-secondary" }, "Enter another code");
      again.addEventListener("click", () => {
        this.code = "";
        this.request = null;
        this.banner.hidden = true;
        this.showEntry();
      });
      actions.push(again);
    }
    const status = c.status ? ` (HTTP ${c.status})` : "";
    this.render(
      "error",
      h("div", { class: `sp-error-mark${retry ? " sp-retryable" : ""}`, "aria-hidden": "true" }, "!"),
      h("h1", { class: "sp-title" }, f.title),
      h("p", { class: "sp-lead" }, f.body + status),
      h("p", { class: "sp-next" }, h("strong", null, "What to do: "), f.next),
      actions.length ? h("div", { class: "sp-actions" }, actions) : null,
    );
    this.host.setAttribute("data-error", c.kind);
    this.announce(`${f.title}. ${f.next}`);
    this.host.dispatchEvent(new CustomEvent("sealpost-error", { detail: { kind: c.kind }, bubbles: true, composed: true }));
  }

  // --- countdown -------------------------------------------------------------

  startTimer() {
    this.stopTimer();
    if (this.expiresAt === null) return;
    this.announced.clear();
    const tick = () => {
      const left = this.expiresAt - Date.now();
      for (const el of this.card.querySelectorAll(".sp-countdown-value")) {
        el.textContent = formatRemaining(left);
        el.closest(".sp-countdown").classList.toggle("sp-urgent", left <= 60000);
      }
      const secs = Math.ceil(left / 1000);
      for (const mark of ANNOUNCE_AT_SECONDS) {
        if (secs <= mark && secs > 0 && !this.announced.has(mark)) {
          this.announced.add(mark);
          if (this.state === "review" || this.state === "form") this.announce(`${spokenRemaining(mark)} left.`);
        }
      }
      if (left <= 0 && !this.busy && ["review", "form", "error", "loading"].includes(this.state)) {
        this.stopTimer();
        this.clearSecrets();
        this.showFailure({ kind: "expired" }, null);
      }
    };
    // Announcements for thresholds already passed at load are not useful.
    const secs0 = Math.ceil((this.expiresAt - Date.now()) / 1000);
    for (const mark of ANNOUNCE_AT_SECONDS) if (secs0 <= mark) this.announced.add(mark);
    this.timer = setInterval(tick, 1000);
    queueMicrotask(tick);
  }

  stopTimer() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/**
 * Mount the consent flow into `element` (rendered in its open shadow root).
 * Options: apiBase (broker origin, "" for same origin), code (the user code;
 * empty for manual entry), bundleUrl (the seal-only WASM bundle's JS file,
 * default `${apiBase}/pkg/sealpost_wasm.js`), stylesUrl (default: consent.css
 * next to this module). Returns `{ destroy() }`.
 */
export function mountConsent(element, options = {}) {
  if (!element || typeof element.attachShadow !== "function") {
    throw new TypeError("mountConsent needs an element that can host a shadow root");
  }
  if (element.__sealpost) element.__sealpost.destroy();
  const flow = new ConsentFlow(element, options);
  element.__sealpost = flow;
  flow.start();
  return {
    destroy() {
      flow.destroy();
      if (element.__sealpost === flow) element.__sealpost = null;
    },
  };
}

// A plain base class outside browsers, so the pure helpers above can be
// imported (and unit-tested) in Node.
const ElementBase = globalThis.HTMLElement || class {};

export class SealpostConsentElement extends ElementBase {
  connectedCallback() {
    if (this._mounted) return;
    this._mounted = mountConsent(this, {
      apiBase: this.getAttribute("api-base") || "",
      code: this.getAttribute("code") || "",
      bundleUrl: this.getAttribute("bundle-url") || undefined,
      stylesUrl: this.getAttribute("styles-url") || undefined,
    });
  }

  disconnectedCallback() {
    if (this._mounted) this._mounted.destroy();
    this._mounted = null;
  }
}

if (globalThis.customElements && !customElements.get("sealpost-consent")) {
  customElements.define("sealpost-consent", SealpostConsentElement);
}
