// The JWT inspector's page logic, one module for both inspectors: the
// extension's (extension/inspector.html, packaged as www/jwt-inspector.js) and
// the broker's offline page (/jwt, www/jwt.html, served as
// /assets/jwt-inspector.js). Both pages have the same token box, DPoP access
// token box, Verify panel and Export buttons (same element ids); this module
// reads them into inspectJwt options, inspects, renders the report with
// jwt-view.js, explains each key of a pasted JWKS, and copies the report.
//
// What differs is passed in: the engine (an object with inspectJwt, set once
// the WASM is ready) and hooks for the
// page's own state (the extension keeps its inputs in storage.session, the
// broker page keeps nothing).
//
// The panels themselves (token, DPoP access token, Verify, Export) are built
// here too (mountPanels), into the placeholders of each page's HTML, so the
// two pages cannot offer different inputs.
//
//   mountPanels({ status, keyHint, verifyExtra });
//   const ins = createInspector({ onChange: save, onClear });
//   ins.wire();                       // inputs, export buttons, drop, clock
//   ins.engine = { inspectJwt };      // then ins.run()
import { normalizeToken } from "./jwt-har.js";
import { claimsToJson, h, keyName, locate, renderReport, reportToJson, reportToMarkdown, tickTimes } from "./jwt-view.js";

const code = (t) => h("code", {}, t);
const TEXT = { class: "sp-input", type: "text", autocomplete: "off", spellcheck: "false" };
const AREA = { spellcheck: "false", autocomplete: "off", autocapitalize: "off" };

/** A labelled field: `<div class="sp-field"><label for=id>…</label>[hint]control</div>`. */
function field(id, label, control, hint, hintFirst = false) {
  const hintEl = hint ? h("p", { id: `${id}-hint`, class: "sp-hint" }, hint) : null;
  return h("div", { class: "sp-field" }, h("label", { class: "sp-label", for: id }, label), hintFirst ? hintEl : null, control, hintFirst ? null : hintEl);
}

/**
 * Builds the shared panels into the page's placeholders: `[data-ins=inputs]`
 * becomes the Token and Verify panels, `[data-ins=export]` the Export panel.
 * `status`: the status line's first text; `keyHint`: more hint under the key
 * box; `verifyExtra`: nodes appended to the Verify form.
 */
export function mountPanels({ status = "", keyHint = "", verifyExtra = [] } = {}) {
  const token = h(
    "section",
    { class: "sp-panel ins-input", "aria-labelledby": "token-title" },
    h("h2", { id: "token-title" }, "Token"),
    field(
      "token",
      "Paste or drop a JWT",
      h("textarea", { id: "token", class: "sp-input ins-token", rows: 7, ...AREA, "aria-describedby": "token-hint", "data-testid": "token-input" }),
      ["A ", code("Bearer"), " or ", code("DPoP"), " prefix and spaces are fine. The report updates as you type."],
      true,
    ),
    h(
      "div",
      { id: "at-field", class: "sp-field", hidden: true },
      h("label", { class: "sp-label", for: "access-token" }, "Access token (for a DPoP proof)"),
      h("p", { id: "access-token-hint", class: "sp-hint" }, "The token sent with this proof: checks the proof’s ", code("ath"), " (its SHA-256) and that the token’s ", code("cnf.jkt"), " is the proof key’s thumbprint."),
      h("textarea", { id: "access-token", class: "sp-input ins-mono", rows: 4, ...AREA, "aria-describedby": "access-token-hint", "data-testid": "access-token-input" }),
    ),
    h("p", { id: "status", class: "sp-muted sp-small", role: "status", "aria-live": "polite", "data-testid": "status" }, status),
  );
  const format = h(
    "select",
    { id: "vformat", class: "sp-input" },
    h("option", { value: "auto" }, "Detected (JWK, JWKS, PEM, else a text secret)"),
    h("option", { value: "secret" }, "A secret as text"),
    h("option", { value: "secret64" }, "A secret in base64 or base64url"),
  );
  const verify = h(
    "details",
    { id: "verify-panel", class: "sp-panel ins-details", open: true },
    h("summary", {}, h("h2", { class: "ins-summary-h" }, "Verify")),
    h(
      "form",
      { id: "verify-form", novalidate: true },
      field(
        "vkey",
        "Key: JWK, JWKS, PEM (public key, PKCS#1, certificate) or secret",
        h("textarea", { id: "vkey", class: "sp-input ins-mono", rows: 5, ...AREA, "aria-describedby": "vkey-hint", "data-testid": "key-input" }),
        `Editing the key re-checks the token. It never re-signs it.${keyHint ? ` ${keyHint}` : ""}`,
      ),
      field("vformat", "The key is", format),
      h("div", { class: "sp-row" }, field("viss", "Expected issuer (iss)", h("input", { id: "viss", ...TEXT })), field("vaud", "Expected audience (aud)", h("input", { id: "vaud", ...TEXT }))),
      h(
        "div",
        { class: "sp-row" },
        field("vtyp", "Expected type (typ)", h("input", { id: "vtyp", ...TEXT, placeholder: "e.g. at+jwt" })),
        field("vleeway", "Clock leeway (seconds)", h("input", { id: "vleeway", class: "sp-input", type: "number", min: 0, max: 86400, step: 1, inputmode: "numeric", placeholder: "60" })),
      ),
      h("p", { id: "verify-error", class: "sp-alert sp-alert-error", role: "alert", hidden: true }),
      h("div", { id: "verify-keys", class: "ins-keys", "aria-live": "polite" }),
      verifyExtra,
    ),
  );
  const exportPanel = h(
    "section",
    { class: "sp-panel", "aria-labelledby": "export-title" },
    h("h2", { id: "export-title" }, "Export"),
    h(
      "div",
      { class: "sp-actions" },
      h("button", { id: "copy-md", class: "sp-btn sp-btn-small", type: "button" }, "Copy report as Markdown"),
      h("button", { id: "copy-json", class: "sp-btn sp-btn-small", type: "button" }, "Copy report as JSON"),
      h("button", { id: "copy-claims", class: "sp-btn sp-btn-small", type: "button" }, "Copy claims"),
    ),
    h("p", { id: "export-status", class: "sp-hint", role: "status", "aria-live": "polite" }),
  );
  document.querySelector("[data-ins=inputs]").replaceWith(token, verify);
  document.querySelector("[data-ins=export]").replaceWith(exportPanel);
}

/** Most keys of a pasted JWKS explained one by one. */
export const MAX_KEYS_EXPLAINED = 20;
/** The inputs the report depends on: typing in any of them re-inspects. */
export const INSPECT_FIELDS = ["token", "access-token", "vkey", "vformat", "viss", "vaud", "vtyp", "vleeway"];

const $ = (id) => document.getElementById(id);

export function say(el, text) {
  el.textContent = text || "";
}

/** Shows `text` in the alert `id`, or hides it when empty. */
export function showError(id, text) {
  const el = $(id);
  el.textContent = text || "";
  el.hidden = !text;
}

/** The key options for inspectJwt, from the Verify key box and its format. */
export function keyOptions(text, format) {
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

/** The policy options for inspectJwt, from the expected iss/aud/typ and the leeway. */
export function policyOptions({ iss = "", aud = "", typ = "", leeway = "" }) {
  const o = {};
  [iss, aud, typ, leeway] = [iss.trim(), aud.trim(), typ.trim(), leeway.trim()];
  if (iss) o.issuer = iss;
  if (aud) o.audience = aud.split(/[\s,]+/).filter(Boolean);
  if (typ) o.typ = typ;
  if (leeway !== "" && Number.isFinite(Number(leeway))) o.leeway = Math.max(0, Math.trunc(Number(leeway)));
  return o;
}

/** The status line under the token box for a rendered report. */
export function statusText(report) {
  const n = report.findings.length;
  const proof = report.dpop ? (report.dpop.proofKeyVerified ? ", DPoP proof verified with its own key" : ", DPoP proof not verified") : "";
  return `${report.explanation.kind ? "Report ready" : "Not a JWT"}: ${n} ${n === 1 ? "finding" : "findings"}${report.summary.signatureVerified ? ", signature verified" : ""}${proof}.`;
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * The inspector of this page. `engine`: { inspectJwt } (may be set later);
 * `normalize`: pasted text to token (jwt-har.js: a prefix, quotes, or a JWT
 * inside a URL or JSON); `emptyStatus`: the status line with no
 * token; `onChange`: after any input (persist); `onClear`: before Clear resets
 * the shared inputs (the page's own state).
 */
export function createInspector({ engine = null, normalize = normalizeToken, emptyStatus = "", onChange = () => {}, onClear = async () => {} } = {}) {
  const ins = { engine, report: null, run, explainKeys, onLocate, exportAs, clear, wire };

  /** Inspect the token in the box and render the report. Synchronous once the engine is set. */
  function run() {
    if (!ins.engine) return;
    const inspectJwt = ins.engine.inspectJwt;
    const area = $("report-area");
    const token = normalize($("token").value);
    // The access token a DPoP proof accompanies (the core ignores it for other tokens).
    const accessToken = $("access-token").value.trim();
    if (!token) {
      ins.report = null;
      area.replaceChildren(h("p", { class: "sp-muted ins-empty" }, "Paste a token to see its report."));
      $("verify-keys").replaceChildren();
      showError("verify-error", "");
      say($("status"), emptyStatus);
      $("at-field").hidden = !accessToken;
      return;
    }
    const policy = policyOptions({ iss: $("viss").value, aud: $("vaud").value, typ: $("vtyp").value, leeway: $("vleeway").value });
    if (accessToken) policy.accessToken = accessToken;
    const keys = keyOptions($("vkey").value, $("vformat").value);
    showError("verify-error", "");
    let report = null;
    try {
      report = inspectJwt(token, { ...policy, ...keys });
    } catch (e) {
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
        ins.report = null;
        area.replaceChildren(h("p", { class: "sp-alert sp-alert-error", role: "alert", "data-testid": "jwt-error" }, `Cannot inspect this input: ${e && e.message ? e.message : e}`));
        $("verify-keys").replaceChildren();
        say($("status"), "Cannot inspect this input.");
        return;
      }
    }
    ins.report = report;
    $("at-field").hidden = !(report.explanation.kind === "dpop_proof" || accessToken);
    area.replaceChildren(renderReport(report, { token, onLocate }));
    explainKeys(token, policy, keys);
    say($("status"), statusText(report));
    performance.mark("sealpost-report-rendered");
  }

  /** The verdict, and per key of a pasted JWKS what the core says of that key alone. */
  function explainKeys(token, policy, keys) {
    const box = $("verify-keys");
    box.replaceChildren();
    const report = ins.report;
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
        const r = ins.engine.inspectJwt(token, { ...policy, key: JSON.stringify(k) });
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

  /** A finding's location clicked: the access token or key box, else the member in the report. */
  function onLocate(location) {
    if (location === "access_token" || location.startsWith("access_token.")) {
      $("at-field").hidden = false;
      $("access-token").focus();
      say($("status"), "The finding is about the access token: see Access token.");
      return;
    }
    if (location === "key" || location.startsWith("key.")) {
      if ("open" in $("verify-panel")) $("verify-panel").open = true;
      $("vkey").focus();
      say($("status"), "The finding is about the key: see Verify.");
      return;
    }
    const el = locate($("report-area"), location);
    say($("status"), el ? `Showing ${location}.` : `${location} is not shown in the report.`);
  }

  /** Copies the report as Markdown (`md`), JSON (`json`) or its claims (`claims`). */
  async function exportAs(kind) {
    const st = $("export-status");
    if (!ins.report) {
      say(st, "Nothing to copy: paste a token first.");
      return;
    }
    const report = ins.report;
    const text = kind === "md" ? reportToMarkdown(report) : kind === "json" ? reportToJson(report) : claimsToJson(report);
    const ok = await copyText(text);
    document.body.dataset.lastExport = kind;
    say(st, ok ? `Copied the ${kind === "md" ? "Markdown report" : kind === "json" ? "JSON report" : "claims"}.` : "The browser refused the clipboard: copy from the report instead.");
  }

  /** Clear: the page's own state first, then every shared input. */
  async function clear() {
    await onClear();
    for (const f of INSPECT_FIELDS) {
      const el = $(f);
      el.value = el.tagName === "SELECT" ? el.options[0].value : "";
    }
    say($("export-status"), "");
    run();
    say($("status"), "Cleared: nothing of this page is kept.");
    $("token").focus();
  }

  /** Listens to the shared inputs and buttons, a dropped token, and ticks the report's clock. */
  function wire() {
    const changed = () => {
      run();
      onChange();
    };
    for (const id of INSPECT_FIELDS) $(id).addEventListener("input", changed);
    $("verify-form").addEventListener("submit", (ev) => ev.preventDefault());
    $("clear").addEventListener("click", () => void clear());
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
        changed();
      }
    });
    setInterval(() => tickTimes($("report-area")), 1000);
  }

  return ins;
}
