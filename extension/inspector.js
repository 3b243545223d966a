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
import { copyText, h } from "./lib/dom.js";
import { INSPECT_FIELDS, createInspector, mountPanels, say, showError } from "./www/jwt-inspector.js";

const STATE = "inspector";
/** Set by the background (context menu, shortcut) before it opens this page. */
const PENDING = "inspectorPending";
const $ = (id) => document.getElementById(id);

/** The inputs kept in storage.session: the shared ones and the edit-and-sign ones (never the signing key). */
const SIGN_FIELDS = ["eheader", "eclaims", "ealg", "eformat"];
const fields = [...INSPECT_FIELDS, ...SIGN_FIELDS];

// The shared inspector (www/jwt-inspector.js): the token box, the DPoP access
// token, Verify, the report and Export. This page adds storage, edit and sign,
// and fetching the issuer's keys (its button goes in the Verify panel).
mountPanels({
  verifyExtra: [
    h("div", { class: "sp-actions" }, h("button", { id: "fetch-keys", class: "sp-btn sp-btn-small", type: "button" }, "Fetch the issuer’s keys")),
    h(
      "p",
      { id: "fetch-status", class: "sp-hint", role: "status", "aria-live": "polite" },
      "Only when you click: asks for permission to reach the issuer’s address, then reads its OpenID configuration and key set.",
    ),
  ],
});
const ins = createInspector({ onChange: save, onClear: clearOwn });
/** Inspect the token in the box and render the report. Synchronous once the WASM is ready. */
export const run = () => ins.run();

const wasm = init().then(
  () => {
    ins.engine = { inspectJwt };
  },
  (e) => {
    say($("status"), `The inspector engine did not load: ${e && e.message ? e.message : e}`);
  },
);

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

/** Clear, this page's part: the stored state and the edit-and-sign inputs. */
async function clearOwn() {
  clearTimeout(saveTimer);
  await session.remove([STATE, PENDING]).catch(() => {});
  for (const f of SIGN_FIELDS) {
    const el = $(f);
    el.value = el.tagName === "SELECT" ? el.options[0].value : "";
  }
  $("ekey").value = "";
  $("signed-token").value = "";
  $("signed").hidden = true;
  showError("sign-error", "");
  say($("fetch-status"), "");
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
  const report = ins.report;
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
  const report = ins.report;
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

// ---- wiring

async function main() {
  await restore();
  await wasm;
  run();
  ins.wire();
  for (const id of SIGN_FIELDS) $(id).addEventListener("input", save);
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
  document.body.dataset.ready = "1";
  if (!$("token").value) $("token").focus();
}

main();
