// The DevTools panel "Sealpost JWT": every JWT seen in the inspected page's
// traffic (chrome.devtools.network: request and response headers, cookies,
// URL query and fragment, redirects, JSON bodies of token endpoints), with its
// kind, a live expiry countdown and its finding counts; click one for the full
// report. Tokens are kept in this panel's memory only.
//
// Opened as a plain extension page (no DevTools), the panel takes HAR entries
// from `globalThis.sealpostPanelAddEntry(entry, body)`: the e2e test uses it.
import init, { inspectJwt } from "./pkg/sealpost_wasm.js";
import { h, replace } from "./lib/dom.js";
import { countdownText, locate, renderReport, SEVERITIES, tickTimes } from "./www/jwt-view.js";
import { tokensFromHarEntry, wantsResponseBody } from "./www/jwt-har.js";

const api = globalThis.browser ?? globalThis.chrome;
const devtools = api && api.devtools ? api.devtools : null;
const MAX_ROWS = 500;
const $ = (id) => document.getElementById(id);

/** token -> { token, report, places: [{where, name, url}] } */
const seen = new Map();
let selected = null;
const ready = init();

function expOf(report) {
  const t = (report.explanation.times || []).find((x) => x.claim === "exp");
  return t && t.unix != null ? t.unix : null;
}

function counts(report) {
  const s = report.summary || {};
  const parts = SEVERITIES.filter((k) => s[k]).map((k) => h("span", { class: `jr-sev jr-sev-${k}` }, `${s[k]} ${k}`));
  return parts.length ? parts : h("span", { class: "sp-muted" }, "none");
}

function describe(place) {
  return `${place.where}${place.name ? ` ${place.name}` : ""}`;
}

function render() {
  const rows = [];
  for (const item of seen.values()) {
    const r = item.report;
    const exp = expOf(r);
    const kind = r.explanation.kind || "not a JWT";
    rows.push(
      h(
        "tr",
        { "data-token-row": "", "aria-current": selected === item.token ? "true" : null },
        h("td", {}, h("button", { type: "button", class: "pan-pick", onclick: () => select(item.token) }, kind.replace(/_/g, " ")), h("div", { class: "sp-small sp-muted" }, `${item.token.slice(0, 16)}…`)),
        h("td", {}, item.places.slice(0, 3).map((p) => h("div", {}, describe(p))), item.places.length > 3 ? h("div", { class: "sp-muted" }, `+${item.places.length - 3} more`) : null),
        h("td", exp != null ? { "data-exp": String(exp) } : {}, exp != null ? countdownText(exp * 1000 - Date.now()) : "no exp"),
        h("td", {}, counts(r)),
        h("td", { class: "pan-url" }, item.places[0].url),
      ),
    );
  }
  replace($("pan-rows"), rows);
  $("pan-empty").hidden = seen.size > 0;
  $("pan-status").textContent = `${seen.size} ${seen.size === 1 ? "token" : "tokens"} seen.`;
}

function select(token) {
  const item = seen.get(token);
  if (!item) return;
  selected = token;
  const box = $("pan-report");
  box.hidden = false;
  box.replaceChildren(
    h("h2", { class: "sp-visually-hidden" }, "Report"),
    renderReport(item.report, { token, idPrefix: "pan", onLocate: (loc) => locate(box, loc) }),
  );
  render();
  box.focus();
}

/** Add the tokens of one HAR entry (and its response body, when fetched). */
export async function addEntry(entry, body) {
  await ready;
  const found = tokensFromHarEntry(entry, body);
  const url = entry && entry.request && typeof entry.request.url === "string" ? entry.request.url : "";
  for (const f of found) {
    let item = seen.get(f.token);
    if (!item) {
      if (seen.size >= MAX_ROWS) break;
      item = { token: f.token, report: inspectJwt(f.token, {}), places: [] };
      seen.set(f.token, item);
    }
    if (!item.places.some((p) => p.where === f.where && p.name === f.name && p.url === url)) item.places.push({ where: f.where, name: f.name, url });
  }
  if (found.length) render();
  return found.length;
}

function withBody(entry) {
  if (!wantsResponseBody(entry) || typeof entry.getContent !== "function") return addEntry(entry);
  return new Promise((resolve) => {
    let done = false;
    const finish = (body) => {
      if (done) return;
      done = true;
      resolve(addEntry(entry, typeof body === "string" ? body : undefined));
    };
    try {
      const p = entry.getContent((content) => finish(content));
      // Firefox returns a promise of [content, encoding].
      if (p && typeof p.then === "function") p.then((r) => finish(Array.isArray(r) ? r[0] : r), () => finish());
    } catch {
      finish();
    }
  });
}

$("pan-clear").addEventListener("click", () => {
  seen.clear();
  selected = null;
  $("pan-report").hidden = true;
  $("pan-report").replaceChildren();
  render();
});
setInterval(() => tickTimes(document.body), 1000);

if (devtools && devtools.network) {
  devtools.network.onRequestFinished.addListener((entry) => void withBody(entry));
  // What happened before the panel was opened.
  const got = devtools.network.getHAR((har) => har && Array.isArray(har.entries) && har.entries.forEach((e) => void withBody(e)));
  if (got && typeof got.then === "function") got.then((har) => har && Array.isArray(har.entries) && har.entries.forEach((e) => void withBody(e)), () => {});
} else {
  $("pan-status").textContent = "Not inside DevTools: tokens can be added by the test hook only.";
  globalThis.sealpostPanelAddEntry = addEntry;
}
document.body.dataset.ready = "1";
