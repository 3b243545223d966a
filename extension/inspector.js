// The offline JWT inspector (inspector.html). Everything runs here, on the
// bundled WASM engine (inspectJwt / signJwt of sealpost-core): no network
// request is made unless the person clicks "Fetch the issuer's keys".
//
// State (the token, the verify inputs, the edited header and claims) lives in
// storage.session, in memory, so it survives an idle tab; Clear wipes it.
// A signing key is never stored. Signing happens only on a click: editing a
// key re-verifies, it never re-signs.
import init, { inspectJwt, signJwt } from "./pkg/sealpost_wasm.js";
import { permissions, session } from "./lib/browser.js";
import { copyText, h, replace } from "./lib/dom.js";
import { claimsToJson, keyName, locate, renderReport, reportToJson, reportToMarkdown, tickTimes } from "./www/jwt-view.js";
import { normalizeToken } from "./lib/jwt-har.js";

const STATE = "inspector";
/** Set by the background (context menu, shortcut) before it opens this page. */
const PENDING = "inspectorPending";
const MAX_KEYS_EXPLAINED = 20;
const $ = (id) => document.getElementById(id);

const fields = ["token", "access-token", "vkey", "vformat", "viss", "vaud", "vtyp", "vleeway", "eheader", "eclaims", "ealg", "eformat"];
let report = null;
let ready = false;

const wasm = init().then(
  () => {
    ready = true;
  },
  (e) => {
    say($("status"), `The inspector engine did not load: ${e && e.message ? e.message : e}`);
  },
);

function say(el, text) {
  el.textContent = text || "";
}

function showError(id, text) {
  const el = $(id);
  el.textContent = text || "";
  el.hidden = !text;
}

// ---- options from the verify panel

/** The key options for inspectJwt, from the Verify key box and its format. */
function keyOptions(text = $("vkey").value, format = $("vformat").value) {
  const t = text.trim();
  if (!t) return {};
  if (format === "secret") return { secret: text };
  if (format === "secret64") return { secretBase64: t };
  if (t.startsWith("{")) {
    try {
      const o = JSON.parse(t);
      if (o && Array.isArray(o.keys)) return { jwks: t };
    } catch {
      /* the core reports what is wrong with it */
    }
    return { key: t };
  }
  if (t.startsWith("-----BEGIN")) return { key: t };
  return { secret: text };
}

function policyOptions() {
  const o = {};
  const iss = $("viss").value.trim();
  const aud = $("vaud").value.trim();
  const typ = $("vtyp").value.trim();
  const leeway = $("vleeway").value.trim();
  if (iss) o.issuer = iss;
  if (aud) o.audience = aud.split(/[\s,]+/).filter(Boolean);
  if (typ) o.typ = typ;
  if (leeway !== "" && Number.isFinite(Number(leeway))) o.leeway = Math.max(0, Math.trunc(Number(leeway)));
  return o;
}

// ---- inspect and render

/** Inspect the token in the box and render the report. Synchronous once the WASM is ready. */
export function run() {
  if (!ready) return;
  const area = $("report-area");
  const token = normalizeToken($("token").value);
  if (!token) {
    report = null;
    replace(area, h("p", { class: "sp-muted ins-empty" }, "Paste a token to see its report."));
    replace($("verify-keys"));
    showError("verify-error", "");
    say($("status"), "");
    $("at-field").hidden = !$("access-token").value.trim();
    return;
  }
  // The access token a DPoP proof accompanies (the core ignores it for other tokens).
  const accessToken = $("access-token").value.trim();
  const policy = policyOptions();
  if (accessToken) policy.accessToken = accessToken;
  const keys = keyOptions();
  showError("verify-error", "");
  try {
    report = inspectJwt(token, { ...policy, ...keys });
  } catch (e) {
    report = null;
    if (e && e.code !== "ERR_JWT_INPUT_TOO_LARGE") {
      // An unusable key or option: say so, and still show the token.
      showError("verify-error", `${e.message}${e.code ? ` (${e.code})` : ""}`);
      for (const fallback of [policy, {}]) {
        try {
          report = inspectJwt(token, fallback);
          break;
        } catch {
          /* try the next */
        }
      }
    }
    if (!report) {
      replace(area, h("p", { class: "sp-alert sp-alert-error", role: "alert", "data-testid": "jwt-error" }, `Cannot inspect this input: ${e && e.message ? e.message : e}`));
      replace($("verify-keys"));
      say($("status"), "Cannot inspect this input.");
      return;
    }
  }
  $("at-field").hidden = !(report.explanation.kind === "dpop_proof" || accessToken);
  const view = renderReport(report, { token, onLocate: (loc) => onLocate(loc) });
  area.replaceChildren(view);
  explainKeys(token, policy, keys);
  const n = report.findings.length;
  const proof = report.dpop ? (report.dpop.proofKeyVerified ? ", DPoP proof verified with its own key" : ", DPoP proof not verified") : "";
  say($("status"), `${report.explanation.kind ? "Report ready" : "Not a JWT"}: ${n} ${n === 1 ? "finding" : "findings"}${report.summary.signatureVerified ? ", signature verified" : ""}${proof}.`);
  performance.mark("sealpost-report-rendered");
}

/** Per key of a pasted JWKS (or the one key): what the core says of that key alone. */
function explainKeys(token, policy, keys) {
  const box = $("verify-keys");
  box.replaceChildren();
  if (!report || !(keys.jwks || keys.key || keys.secret || keys.secretBase64)) return;
  const v = report.verification;
  box.append(
    h(
      "p",
      { class: v.status === "valid" && report.summary.signatureVerified ? "sp-alert sp-alert-ok" : "sp-alert sp-alert-error", "data-testid": "verify-verdict", "data-status": v.status },
      v.status === "valid" && report.summary.signatureVerified
        ? [h("strong", {}, "Signature verified"), ` with ${keyName(v.key)}.`]
        : [h("strong", {}, v.status === "invalid" ? "Signature invalid" : "Not verified"), `: ${v.detail}`],
    ),
  );
  if (!keys.jwks) return;
  let set;
  try {
    set = JSON.parse(keys.jwks).keys;
  } catch {
    return;
  }
  if (!Array.isArray(set) || set.length < 2) return;
  const list = h("ol", { class: "ins-keylist", "data-testid": "verify-keys" });
  set.slice(0, MAX_KEYS_EXPLAINED).forEach((k, i) => {
    const label = `#${i + 1} ${k && k.kty ? k.kty : "?"}${k && k.kid ? ` kid “${k.kid}”` : ""}${k && k.alg ? ` ${k.alg}` : ""}`;
    let status;
    let why;
    try {
      const r = inspectJwt(token, { ...policy, key: JSON.stringify(k) });
      status = r.summary.signatureVerified ? "matched" : r.verification.status;
      why = r.summary.signatureVerified ? "the signature verifies with this key" : r.verification.detail;
    } catch (e) {
      status = "unusable";
      why = e.message;
    }
    list.append(
      h("li", { "data-status": status }, h("strong", {}, label), ": ", status === "matched" ? h("strong", {}, "matched") : `skipped (${status.replace(/_/g, " ")})`, ` — ${why}`),
    );
  });
  if (set.length > MAX_KEYS_EXPLAINED) list.append(h("li", {}, `…and ${set.length - MAX_KEYS_EXPLAINED} more keys not listed.`));
  box.append(h("p", { class: "sp-small sp-label" }, `The ${set.length} keys in the set, each on its own:`), list);
}

function onLocate(location) {
  if (location === "access_token" || location.startsWith("access_token.")) {
    $("at-field").hidden = false;
    $("access-token").focus();
    say($("status"), "The finding is about the access token: see Access token.");
    return;
  }
  if (location === "key" || location.startsWith("key.")) {
    $("verify-panel").open = true;
    $("vkey").focus();
    say($("status"), "The finding is about the key: see Verify.");
    return;
  }
  const el = locate($("report-area"), location);
  say($("status"), el ? `Showing ${location}.` : `${location} is not shown in the report.`);
}

// ---- state in storage.session (memory only)

let saveTimer = 0;
function save() {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(() => {
    const state = {};
    for (const f of fields) state[f] = $(f).value;
    session.set({ [STATE]: state }).catch(() => {});
  }, 250);
}

async function restore() {
  const got = await session.get([STATE, PENDING]).catch(() => ({}));
  const state = got[STATE] || {};
  for (const f of fields) if (typeof state[f] === "string") $(f).value = state[f];
  if (got[PENDING] && typeof got[PENDING].token === "string") {
    $("token").value = got[PENDING].token;
    await session.remove(PENDING).catch(() => {});
    save();
  }
}

async function clearAll() {
  clearTimeout(saveTimer);
  await session.remove([STATE, PENDING]).catch(() => {});
  for (const f of fields) {
    const el = $(f);
    el.value = el.tagName === "SELECT" ? el.options[0].value : "";
  }
  $("ekey").value = "";
  $("signed-token").value = "";
  $("signed").hidden = true;
  showError("sign-error", "");
  say($("fetch-status"), "");
  say($("export-status"), "");
  run();
  say($("status"), "Cleared: nothing of this page is kept.");
  $("token").focus();
}

// ---- edit and sign (only on a click)

function parseJson(id, what) {
  const text = $(id).value.trim();
  if (!text) return {};
  let v;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`The ${what} is not valid JSON: ${e.message}`);
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error(`The ${what} must be a JSON object.`);
  return v;
}

function signKeyOptions() {
  const text = $("ekey").value;
  const t = text.trim();
  const format = $("eformat").value;
  if (!t) return null;
  if (format === "secret") return { secret: text };
  if (format === "secret64") return { secretBase64: t };
  if (t.startsWith("{") || t.startsWith("-----BEGIN")) return { key: t };
  return { secret: text };
}

function signed(token, note) {
  $("signed").hidden = false;
  $("signed-token").value = token;
  showError("sign-error", "");
  say($("status"), note);
  $("signed-token").focus();
}

function signWith(kind) {
  try {
    const header = parseJson("eheader", "header");
    const claims = parseJson("eclaims", "claims");
    delete header.alg;
    const alg = $("ealg").value || undefined;
    if (kind === "none") return signed(signJwt({ header, claims, broken: "alg-none" }), "Made an alg none token (no signature).");
    if (kind === "confusion") {
      const pub = $("vkey").value;
      if (!pub.trim().startsWith("-----BEGIN") || /PRIVATE/.test(pub)) {
        throw new Error("Paste the public key (PEM) under Verify first: its bytes become the HMAC secret.");
      }
      return signed(signJwt({ header, claims, alg: "HS256", secret: pub }), "Made an HS256 token keyed with the public key’s bytes: inspect it with that key under Verify to see the finding.");
    }
    let key = signKeyOptions();
    if (kind === "strip") {
      let stripAlg = alg;
      if (!key) {
        // No key given: sign with a throwaway HS256 secret, then strip.
        const r = new Uint8Array(32);
        crypto.getRandomValues(r);
        key = { secretBase64: btoa(String.fromCharCode(...r)) };
        stripAlg = "HS256";
      }
      return signed(signJwt({ header, claims, alg: stripAlg, ...key, broken: "strip-signature" }), "Made a token with its signature stripped.");
    }
    if (!key) throw new Error("Paste a private key (PEM or JWK) or a secret to sign with.");
    return signed(signJwt({ header, claims, alg, ...key }), "Signed. The token above is unchanged until you choose Inspect this token.");
  } catch (e) {
    $("signed").hidden = true;
    showError("sign-error", `${e.message}${e.code ? ` (${e.code})` : ""}`);
  }
  return undefined;
}

function loadEdit() {
  if (!report || !report.header) {
    showError("sign-error", "Paste a token whose header decodes first.");
    return;
  }
  const header = { ...report.header };
  delete header.alg;
  $("eheader").value = JSON.stringify(header, null, 2);
  $("eclaims").value = report.payload ? JSON.stringify(report.payload, null, 2) : "{}";
  const alg = report.header.alg;
  if (typeof alg === "string" && [...$("ealg").options].some((o) => o.value === alg)) $("ealg").value = alg;
  showError("sign-error", "");
  save();
}

// ---- fetch the issuer's keys (the one network request, on a click)

/** A key set on another origin than the issuer's, waiting for a second click to ask for it. */
let pendingJwks = null;

async function fetchKeys() {
  const st = $("fetch-status");
  const iss = $("viss").value.trim() || (report && report.payload && typeof report.payload.iss === "string" ? report.payload.iss : "");
  let url;
  try {
    url = new URL(iss);
  } catch {
    say(st, "No issuer URL: the token has no iss that is a URL, and no expected issuer is typed.");
    return;
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    say(st, `Not fetched: ${url.origin} is not https.`);
    return;
  }
  // Ask for this one origin now, inside the click.
  if (pendingJwks) {
    const p = pendingJwks;
    pendingJwks = null;
    const ok = await permissions.request(p.origin).catch(() => false);
    if (!ok) return say(st, `Not fetched: permission to reach ${p.origin} was not given.`);
    return fetchJwks(p.href, p.discovery).catch((e) => say(st, `Could not fetch the keys: ${e.message}`));
  }
  let granted = false;
  try {
    // request() right away, inside the click (resolves at once when already granted).
    granted = await permissions.request(url.origin);
  } catch {
    granted = false;
  }
  if (!granted) {
    say(st, `Not fetched: permission to reach ${url.origin} was not given.`);
    return;
  }
  const discovery = `${iss.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  try {
    const conf = await getJson(discovery);
    const jwksUri = conf && typeof conf.jwks_uri === "string" ? new URL(conf.jwks_uri) : null;
    if (!jwksUri || jwksUri.protocol !== url.protocol) throw new Error("the configuration has no usable jwks_uri");
    if (jwksUri.origin !== url.origin && !(await permissions.has(jwksUri.origin))) {
      say(st, `Fetched ${discovery}. Its keys are at ${jwksUri.origin}, which needs its own permission: click again to allow it.`);
      pendingJwks = { origin: jwksUri.origin, href: jwksUri.href, discovery };
      return;
    }
    await fetchJwks(jwksUri.href, discovery);
  } catch (e) {
    say(st, `Could not fetch the keys: ${e.message}`);
  }
}

async function fetchJwks(href, discovery) {
  const jwks = await getJson(href);
  if (!jwks || !Array.isArray(jwks.keys)) throw new Error(`${href} is not a JWK Set`);
  $("vkey").value = JSON.stringify(jwks, null, 2);
  $("vformat").value = "auto";
  say($("fetch-status"), `Fetched ${discovery} and ${href}: ${jwks.keys.length} ${jwks.keys.length === 1 ? "key" : "keys"}, now in the key box.`);
  save();
  run();
}

async function getJson(href) {
  const res = await fetch(href, { credentials: "omit", cache: "no-store", redirect: "error", referrerPolicy: "no-referrer" });
  if (!res.ok) throw new Error(`${href} answered HTTP ${res.status}`);
  return res.json();
}

// ---- export

async function exportAs(kind) {
  const st = $("export-status");
  if (!report) {
    say(st, "Nothing to copy: paste a token first.");
    return;
  }
  const text = kind === "md" ? reportToMarkdown(report) : kind === "json" ? reportToJson(report) : claimsToJson(report);
  const ok = await copyText(text);
  document.body.dataset.lastExport = kind;
  say(st, ok ? `Copied the ${kind === "md" ? "Markdown report" : kind === "json" ? "JSON report" : "claims"}.` : "The browser refused the clipboard: copy from the report instead.");
}

// ---- wiring

async function main() {
  await restore();
  await wasm;
  run();
  $("token").addEventListener("input", () => {
    run();
    save();
  });
  for (const id of ["access-token", "vkey", "vformat", "viss", "vaud", "vtyp", "vleeway"]) {
    $(id).addEventListener("input", () => {
      run();
      save();
    });
  }
  for (const id of ["eheader", "eclaims", "ealg", "eformat"]) $(id).addEventListener("input", save);
  $("clear").addEventListener("click", clearAll);
  $("load-edit").addEventListener("click", loadEdit);
  $("sign").addEventListener("click", () => signWith("sign"));
  $("broken-none").addEventListener("click", () => signWith("none"));
  $("broken-strip").addEventListener("click", () => signWith("strip"));
  $("broken-confusion").addEventListener("click", () => signWith("confusion"));
  $("signed-inspect").addEventListener("click", () => {
    $("token").value = $("signed-token").value;
    run();
    save();
    $("report-area").focus();
  });
  $("signed-copy").addEventListener("click", async () => say($("status"), (await copyText($("signed-token").value)) ? "Copied the new token." : "The browser refused the clipboard."));
  $("fetch-keys").addEventListener("click", () => void fetchKeys());
  $("copy-md").addEventListener("click", () => exportAs("md"));
  $("copy-json").addEventListener("click", () => exportAs("json"));
  $("copy-claims").addEventListener("click", () => exportAs("claims"));
  // Drop a token (text or a small file) anywhere on the page.
  document.addEventListener("dragover", (ev) => ev.preventDefault());
  document.addEventListener("drop", async (ev) => {
    const dt = ev.dataTransfer;
    if (!dt) return;
    ev.preventDefault();
    let text = dt.getData("text/plain");
    if (!text && dt.files && dt.files[0] && dt.files[0].size < 1024 * 1024) text = await dt.files[0].text();
    if (text) {
      $("token").value = text;
      run();
      save();
    }
  });
  setInterval(() => tickTimes($("report-area")), 1000);
  document.body.dataset.ready = "1";
  if (!$("token").value) $("token").focus();
}

main();
