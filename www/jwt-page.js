// The broker's offline JWT inspector (/jwt, www/jwt.html). The page's CSP is
// `connect-src 'none'`: it cannot fetch anything, not even its own WASM. The
// full bundle therefore arrives as two script modules (script-src 'self'):
// the wasm-bindgen glue (/jwt/sealpost_wasm.js) and the .wasm bytes as a
// base64 string module (/jwt/sealpost_wasm_bg.wasm.js, made by the broker
// from the bundle's .wasm), loaded lazily by dynamic import once the page is
// up and handed to the glue as bytes. The report is rendered by jwt-view.js,
// the same renderer as the extension's inspector.
import { claimsToJson, keyName, locate, renderReport, reportToJson, reportToMarkdown, tickTimes } from "./jwt-view.js";

const MAX_KEYS_EXPLAINED = 20;
const $ = (id) => document.getElementById(id);

let engine = null; // the initialised glue module
let report = null;

/** `el` with attributes and children (text or nodes). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

function say(el, text) {
  el.textContent = text || "";
}

function showError(id, text) {
  const el = $(id);
  el.textContent = text || "";
  el.hidden = !text;
}

/** Standard base64 to bytes (Uint8Array.fromBase64 where the browser has it). */
export function base64Bytes(b64) {
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(b64);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Load and initialise the full bundle without any fetch (see the top of this file). */
export async function loadEngine(base = "/jwt/") {
  const [glue, wasm] = await Promise.all([import(`${base}sealpost_wasm.js`), import(`${base}sealpost_wasm_bg.wasm.js`)]);
  await glue.default({ module_or_path: base64Bytes(wasm.default) });
  return glue;
}

/** The token out of what was pasted: no Authorization/Bearer/DPoP prefix, quotes or whitespace. */
export function normalizeToken(text) {
  let t = String(text || "").trim();
  t = t.replace(/^(?:authorization|dpop)\s*:\s*/i, "");
  t = t.replace(/^(?:bearer|dpop)\s+/i, "");
  t = t.replace(/^["'`]+|["'`,;]+$/g, "").trim();
  return t.replace(/\s+/g, "");
}

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

/** Inspect the token in the box and render the report (once the engine is there). */
function run() {
  if (!engine) return;
  const area = $("report-area");
  const token = normalizeToken($("token").value);
  if (!token) {
    report = null;
    area.replaceChildren(h("p", { class: "sp-muted ins-empty" }, "Paste a token to see its report."));
    $("verify-keys").replaceChildren();
    showError("verify-error", "");
    say($("status"), "Ready.");
    return;
  }
  const policy = policyOptions();
  const keys = keyOptions();
  showError("verify-error", "");
  try {
    report = engine.inspectJwt(token, { ...policy, ...keys });
  } catch (e) {
    report = null;
    if (e && e.code !== "ERR_JWT_INPUT_TOO_LARGE") {
      // An unusable key or option: say so, and still show the token.
      showError("verify-error", `${e.message}${e.code ? ` (${e.code})` : ""}`);
      for (const fallback of [policy, {}]) {
        try {
          report = engine.inspectJwt(token, fallback);
          break;
        } catch {
          /* try the next */
        }
      }
    }
    if (!report) {
      area.replaceChildren(h("p", { class: "sp-alert sp-alert-error", role: "alert", "data-testid": "jwt-error" }, `Cannot inspect this input: ${e && e.message ? e.message : e}`));
      $("verify-keys").replaceChildren();
      say($("status"), "Cannot inspect this input.");
      return;
    }
  }
  area.replaceChildren(renderReport(report, { token, onLocate }));
  explainKeys(token, policy, keys);
  const n = report.findings.length;
  say($("status"), `${report.explanation.kind ? "Report ready" : "Not a JWT"}: ${n} ${n === 1 ? "finding" : "findings"}${report.summary.signatureVerified ? ", signature verified" : ""}.`);
}

/** The verdict, and per key of a pasted JWKS what the core says of that key alone. */
function explainKeys(token, policy, keys) {
  const box = $("verify-keys");
  box.replaceChildren();
  if (!report || !(keys.jwks || keys.key || keys.secret || keys.secretBase64)) return;
  const v = report.verification;
  const ok = v.status === "valid" && report.summary.signatureVerified;
  box.append(
    h(
      "p",
      { class: ok ? "sp-alert sp-alert-ok" : "sp-alert sp-alert-error", "data-testid": "verify-verdict", "data-status": v.status },
      ok ? [h("strong", {}, "Signature verified"), ` with ${keyName(v.key)}.`] : [h("strong", {}, v.status === "invalid" ? "Signature invalid" : "Not verified"), `: ${v.detail}`],
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
      const r = engine.inspectJwt(token, { ...policy, key: JSON.stringify(k) });
      status = r.summary.signatureVerified ? "matched" : r.verification.status;
      why = r.summary.signatureVerified ? "the signature verifies with this key" : r.verification.detail;
    } catch (e) {
      status = "unusable";
      why = e.message;
    }
    list.append(h("li", { "data-status": status }, h("strong", {}, label), ": ", status === "matched" ? h("strong", {}, "matched") : `skipped (${status.replace(/_/g, " ")})`, ` — ${why}`));
  });
  if (set.length > MAX_KEYS_EXPLAINED) list.append(h("li", {}, `…and ${set.length - MAX_KEYS_EXPLAINED} more keys not listed.`));
  box.append(h("p", { class: "sp-small sp-label" }, `The ${set.length} keys in the set, each on its own:`), list);
}

function onLocate(location) {
  if (location === "key" || location.startsWith("key.")) {
    $("vkey").focus();
    say($("status"), "The finding is about the key: see Verify.");
    return;
  }
  const el = locate($("report-area"), location);
  say($("status"), el ? `Showing ${location}.` : `${location} is not shown in the report.`);
}

async function copy(kind) {
  if (!report) {
    say($("export-status"), "Nothing to copy: paste a token first.");
    return;
  }
  const text = kind === "md" ? reportToMarkdown(report) : kind === "json" ? reportToJson(report) : claimsToJson(report);
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch {
    ok = false;
  }
  say($("export-status"), ok ? `Copied the ${kind === "md" ? "report as Markdown" : kind === "json" ? "report as JSON" : "claims"}.` : "The browser refused the clipboard.");
}

function main() {
  let pending = 0;
  const schedule = () => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(run);
  };
  for (const id of ["token", "vkey", "viss", "vaud", "vtyp", "vleeway"]) $(id).addEventListener("input", schedule);
  $("vformat").addEventListener("change", schedule);
  $("verify-form").addEventListener("submit", (e) => e.preventDefault());
  $("clear").addEventListener("click", () => {
    for (const id of ["token", "vkey", "viss", "vaud", "vtyp", "vleeway"]) $(id).value = "";
    $("vformat").value = "auto";
    say($("export-status"), "");
    run();
    $("token").focus();
  });
  $("copy-md").addEventListener("click", () => copy("md"));
  $("copy-json").addEventListener("click", () => copy("json"));
  $("copy-claims").addEventListener("click", () => copy("claims"));
  setInterval(() => tickTimes($("report-area")), 1000);
  loadEngine().then(
    (glue) => {
      engine = glue;
      document.documentElement.dataset.engine = "ready";
      say($("status"), "Ready.");
      run();
    },
    (e) => {
      document.documentElement.dataset.engine = "failed";
      say($("status"), `The inspector engine did not load: ${e && e.message ? e.message : e}`);
    },
  );
}

if (typeof document !== "undefined" && document.getElementById("report-area")) main();
