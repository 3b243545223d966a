// The extension's answer page: answer.html?link=<verification URL> (or
// ?broker=<broker URL>&code=<code>) answers `…/connect/CODE` of any broker,
// an unmodified LinkAuth broker included. It runs the web consent page's own
// flow and view (./www/consent-*.js, copied in by packaging), seals with the
// bundled full WASM (./pkg/), and calls only the broker's JSON API
// (GET /v1/connect/{code}, confirm, complete): never the broker's HTML or JS.
import { originSecurityMode, parseAnswerLink } from "./www/consent-flow.js";
import { mountConsent } from "./www/consent-view.js";
import { permissions } from "./lib/browser.js";

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

function mount(target) {
  show("consent");
  const host = $("consent");
  host.addEventListener("sealpost-state", (ev) => {
    const t = TITLES[ev.detail && ev.detail.state];
    if (t) document.title = `${t} · ${target.origin} · Sealpost`;
  });
  mountConsent(host, {
    apiBase: target.apiBase,
    code: target.code,
    bundleUrl: new URL("./pkg/sealpost_wasm.js", import.meta.url).href,
    stylesUrl: new URL("./www/consent.css", import.meta.url).href,
    origin: target.origin,
    securityMode: originSecurityMode(target.origin),
  });
}

async function open(target) {
  // Loopback brokers are granted at install; any other origin is asked for
  // one at a time, with a click (the browser's permission prompt needs one).
  if (await permissions.has(target.origin).catch(() => false)) return mount(target);
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

function main() {
  const q = new URLSearchParams(location.search);
  const link = q.get("link") || q.get("broker") || "";
  const code = q.get("code") || "";
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
  let target;
  try {
    target = parseAnswerLink(link, code);
  } catch (e) {
    return showPick(e.message, link, code);
  }
  open(target);
}

main();
