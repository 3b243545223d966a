// Action popup: every pending request across the paired inboxes, soonest
// expiry first, with the key fingerprint computed by the bundled WASM (never
// taken from the broker). Shows the last poll at once, asks the background to
// poll now, and re-renders with the answer.
// The background computes each new key's fingerprint when it polls and keeps
// it with the poll result (`last.fingerprints`, storage.session), so the list
// shows complete without the popup loading the WASM; a key missing there is
// computed by the background on request, with the same bundled WASM (the
// popup loads no WASM and imports no module at run time).
// Every string from a broker or an agent is set as text (lib/dom.js).
import { pageUrl, permissions, runtime, session, tabs } from "./lib/browser.js";
import {
  BrokerError,
  brokerOrigin,
  connectUrl,
  declineRequest,
  loadBrokers,
  normalizeCode,
  parseConnectUrl,
} from "./lib/brokers.js";
import { askFirst } from "./lib/confirm.js";
import { countdown, h, replace, say } from "./lib/dom.js";

// Speed: packaging bundles this file with its imports into one classic script
// (xtask/src/extension.rs), loaded async from popup.html's head, so it may run
// before the body is parsed. The two storage reads start here, first thing.
// The list renders as soon as the last poll result (storage.session, in
// memory: the faster read) and the DOM are there, for the brokers that poll
// asked (`last.origins`); the paired brokers (storage.local) are checked
// against those right after, before the fresh poll: no other await before
// the first paint.
const lastRead = session.get("last").then(({ last }) => last || null);
const brokersRead = loadBrokers();
lastRead.catch(() => {});
brokersRead.catch(() => {});
const domReady =
  document.readyState === "loading"
    ? new Promise((resolve) => document.addEventListener("DOMContentLoaded", resolve, { once: true }))
    : Promise.resolve();

const $ = (id) => document.getElementById(id);
/** A performance mark (bench/extension.mjs reports `sealpost:*` marks). */
const mark = (name) => {
  try {
    performance.mark(name);
  } catch {
    /* best effort */
  }
};

/** public key -> short fingerprint (null: not a usable key), from the background's polls. */
const known = new Map();

function learnFingerprints(list) {
  if (!Array.isArray(list)) return;
  for (const e of list) {
    if (Array.isArray(e) && typeof e[0] === "string" && (typeof e[1] === "string" || e[1] === null)) known.set(e[0], e[1]);
  }
}

/**
 * Open the answer page for a verification URL and close the popup. The
 * background opens it, so it can follow that request until it is answered.
 */
async function answer(link) {
  const ok = await runtime.send({ type: "answer", link });
  if (!ok) await tabs.create(pageUrl("answer.html", { link }));
  window.close();
}

// ---- rendering

async function render(state, { fresh = false, brokers: known = null } = {}) {
  const brokers = known || (await loadBrokers());
  const main = $("main");
  if (!state) {
    say($("status"), brokers.length ? "Checking your brokers…" : "");
    main.setAttribute("aria-busy", "true");
    renderEmpty(brokers, []);
    return;
  }
  main.setAttribute("aria-busy", fresh ? "false" : "true");
  learnFingerprints(state.fingerprints);
  const paired = new Set(brokers.map((b) => b.origin));
  const requests = state.requests.filter((r) => paired.has(r.origin));
  const errors = state.errors.filter((e) => paired.has(e.origin));
  renderErrors(errors);
  await renderList(requests);
  renderEmpty(brokers, requests, errors);
  const n = requests.length;
  const checked = new Date(state.checked_at).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  if (statusTaken) statusTaken = false;
  else if (brokers.length === 0) say($("status"), "");
  else if (!fresh) say($("status"), `Checking your brokers… (last checked ${checked})`);
  else say($("status"), n ? `${n} ${n === 1 ? "request" : "requests"} waiting. Checked ${checked}.` : `Checked ${checked}.`);
}

function renderEmpty(brokers, requests, errors = []) {
  const empty = $("empty");
  // Nothing to check before a broker is paired: the empty state invites pairing.
  $("refresh").hidden = brokers.length === 0;
  // Every broker failed: the alerts say why; "no requests" would be a guess.
  empty.hidden = requests.length > 0 || (brokers.length > 0 && errors.length >= brokers.length);
  if (brokers.length === 0) {
    $("empty-text").textContent = "No broker paired yet. Add the broker your agents use to see their requests here.";
    $("empty-add").hidden = false;
  } else {
    $("empty-text").textContent = errors.length
      ? "No requests waiting at the brokers that answered."
      : "No requests waiting. When an agent you added asks for a credential, it appears here.";
    $("empty-add").hidden = true;
  }
}

function renderErrors(errors) {
  replace(
    $("errors"),
    errors.map((e) => {
      const box = h("div", { class: `sp-alert ${e.code === "ERR_PERMISSION" ? "sp-alert-warn" : "sp-alert-error"}`, role: "alert", "data-testid": "broker-error" }, h("span", {}, e.message));
      if (e.code === "ERR_PERMISSION") {
        box.append(
          h(
            "button",
            {
              class: "sp-btn sp-btn-small",
              type: "button",
              // The message above names the broker; a long address in the button would fill the popup.
              "aria-label": `Allow access to ${e.origin}`,
              // The prompt must open inside the click: no await before it.
              onclick: () => permissions.request(e.origin).then((ok) => ok && refresh(), () => {}),
            },
            "Allow access",
          ),
        );
      }
      return box;
    }),
  );
}

async function renderList(requests) {
  const list = $("requests");
  const existing = new Map([...list.children].map((li) => [li.dataset.key, li]));
  const items = [];
  for (const r of requests) {
    const key = `${r.origin} ${r.code}`;
    items.push(existing.get(key) || requestItem(r, key));
  }
  // Known fingerprints go in before the items are attached (one layout);
  // any other fills in when the WASM has computed it.
  const later = items.filter((li) => !fillFingerprint(li, true));
  // Re-attaching an item blurs what has focus in it (the open question's
  // "Keep it", say): put it back where it was.
  const focused = list.contains(document.activeElement) ? document.activeElement : null;
  const near = question ? neighbours(question.li) : [];
  replace(list, items);
  if (focused && focused.isConnected && document.activeElement !== focused) focused.focus();
  if (question && !question.li.isConnected) {
    // The request asked about left the list (answered, declined or expired
    // elsewhere): the question goes with it, said in the live region, and focus
    // moves on as after a decline.
    const title = question.li.querySelector("h2")?.textContent ?? "";
    const hadFocus = focused && !focused.isConnected;
    question = null;
    say($("status"), `“${title}” is no longer waiting: it was answered, declined or expired elsewhere.`, "warn");
    if (hadFocus) focusAfterDecline(near.filter((k) => items.some((li) => li.dataset.key === k)));
    statusTaken = true;
  }
  tick();
  await Promise.all(later.map((li) => fillFingerprint(li, false)));
}

/**
 * Show the fingerprint of an item's key (once per item). `cachedOnly`: only
 * from the background's fingerprints, synchronously; returns whether it is shown.
 */
function fillFingerprint(li, cachedOnly) {
  const el = li.querySelector("[data-testid=fingerprint]");
  if (!el || el.dataset.done) return true;
  if (typeof li.publicKey === "string" && known.has(li.publicKey)) {
    showFingerprint(li, el, known.get(li.publicKey));
    return true;
  }
  if (cachedOnly) return false;
  return fingerprintOf(li.publicKey).then((fp) => {
    if (!el.dataset.done) showFingerprint(li, el, fp);
    return true;
  });
}

function showFingerprint(li, el, fp) {
  el.dataset.done = "1";
  const answerButton = li.querySelector("[data-action=answer]");
  li.fingerprintOk = Boolean(fp);
  if (fp) {
    el.textContent = fp;
    el.className = "pop-fp";
    if (!li.hasAttribute("data-expired")) answerButton.disabled = false;
  } else {
    el.textContent = "unreadable key: do not answer";
    el.className = "pop-fp pop-fp-bad";
  }
}

function requestItem(r, key) {
  const id = `r-${Math.random().toString(36).slice(2, 10)}`;
  const expires = Date.parse(r.expires_at);
  const fields = Array.isArray(r.fields) ? r.fields.map((f) => String((f && (f.label || f.name)) ?? "")).filter(Boolean) : [];
  const agentName = typeof r.agent_name === "string" && r.agent_name.trim() ? r.agent_name : null;
  const reason = typeof r.reason === "string" && r.reason.trim() ? r.reason : null;
  const title = typeof r.display_name === "string" && r.display_name ? r.display_name : "Credential request";
  const status = h("p", { role: "status", hidden: true });
  const answerButton = h(
    "button",
    // Enabled once the fingerprint is computed here: no answering an unchecked key.
    { class: "sp-btn sp-btn-primary sp-btn-small", type: "button", disabled: true, "data-action": "answer", "aria-describedby": `${id}-title`, onclick: () => answer(connectUrl(r.origin, r.code)) },
    "Answer",
  );
  // Declining cannot be undone (the agent has to ask again): asked first, in the item.
  const confirmSlot = h("div", { class: "pop-confirm-slot" });
  const declineButton = h(
    "button",
    {
      class: "sp-btn sp-btn-danger sp-btn-small",
      type: "button",
      "data-action": "decline",
      "aria-describedby": `${id}-title`,
      onclick: () => {
        // One question at a time: another one open closes (its request stays as it was).
        if (question) question.close(false);
        say(status, "");
        const asked = askFirst(confirmSlot, declineButton, {
          label: `Decline “${title}”`,
          text: `Decline “${title}”? The agent is told you declined it and has to ask again.`,
          yes: "Yes, decline it",
          no: "Keep it",
          // (askFirst focuses the safe choice: Enter twice never declines.)
          className: "pop-confirm",
          act: async () => {
            answerButton.disabled = true;
            const near = neighbours(li);
            try {
              await declineRequest(r.origin, r.code);
            } catch (e) {
              answerButton.disabled = !li.fingerprintOk || li.hasAttribute("data-expired");
              throw e;
            }
            if (question && question.li === li) question = null;
            // Declined: the item's own message replaces the question (focus on it
            // meanwhile, not on the body), then the list catches up.
            asked.close(false);
            declineButton.disabled = true;
            say(status, "Declined. The agent is told its request was declined.", "ok");
            status.tabIndex = -1;
            status.focus();
            await refresh();
            if (!li.isConnected) {
              // The item (and its message) left with the refresh: say it in the page's
              // live region, and put focus on the request that took its place.
              say($("status"), `Declined “${title}” (code ${r.code}). The agent is told its request was declined.`, "ok");
              focusAfterDecline(near);
            }
          },
          failed: (e, { status: alert }) => say(alert, e instanceof BrokerError ? e.message : "Could not decline. Try again.", "error"),
        });
        question = { ...asked, li, close: (refocus) => {
          if (question && question.li === li) question = null;
          asked.close(refocus);
        } };
      },
    },
    "Decline",
  );
  // Each term with its value in a group, so the groups can share a line.
  const fact = (term, dd) => h("div", { class: "pop-fact" }, h("dt", {}, term), dd);
  const facts = h(
    "dl",
    { class: "pop-facts" },
    fact("Code", h("dd", {}, h("span", { class: "sp-code", "data-testid": "code" }, r.code))),
    fact("Key fingerprint", h("dd", {}, h("span", { class: "pop-fp sp-muted", "data-testid": "fingerprint" }, "computing…"))),
    fact("Broker", h("dd", { class: "sp-mono", "data-testid": "origin" }, r.origin)),
    fact("Sent through", h("dd", { "data-testid": "sender" }, typeof r.sender_name === "string" && r.sender_name ? r.sender_name : "an unnamed agent")),
    fact("Asks for", h("dd", { "data-testid": "fields" }, fields.length ? fields.join(", ") : "a credential")),
  );
  const claims = h(
    "div",
    { class: "pop-claim", "data-testid": "claims" },
    h("span", { class: "pop-claim-label" }, "What the agent claims (unverified): "),
    h("span", { class: "sp-muted" }, "name "),
    h("span", { "data-testid": "agent-name" }, agentName ?? "not given"),
    h("span", { class: "sp-muted" }, "; reason "),
    h("span", { "data-testid": "reason" }, reason ?? "not given"),
  );
  const li = h(
    "li",
    { class: "pop-item", "data-key": key, "data-testid": "request", "data-code": r.code, "aria-labelledby": `${id}-title` },
    h("h2", { id: `${id}-title`, "data-testid": "display-name" }, title),
    facts,
    claims,
    status,
    h(
      "div",
      { class: "sp-actions pop-item-actions" },
      answerButton,
      declineButton,
      h("span", { class: "pop-countdown", "data-expires": Number.isFinite(expires) ? String(expires) : "" }),
    ),
    confirmSlot,
  );
  li.publicKey = r.public_key;
  return li;
}

/** The open decline question, if any: `{ li, close(refocus) }` (one at a time). */
let question = null;
/** The list's render said why a question closed: the count must not overwrite it at once. */
let statusTaken = false;

/** Where focus goes once `li` leaves the list: the next request, else the one before (their keys). */
function neighbours(li) {
  return [li.nextElementSibling, li.previousElementSibling].filter(Boolean).map((x) => x.dataset.key);
}

/** After a decline: focus the first of `keys` still listed (its first enabled button), else "Check now". */
function focusAfterDecline(keys) {
  for (const key of keys) {
    const li = [...$("requests").children].find((x) => x.dataset.key === key);
    const button = li && [...li.querySelectorAll("button")].find((b) => !b.disabled);
    if (button) return button.focus();
  }
  $("refresh").focus();
}

/** Keys asked of the background and not answered yet: key -> promise of the short fingerprint or null. */
const asked = new Map();

/** A key's short fingerprint (null: not a usable key), computed by the background with the bundled WASM. */
function fingerprintOf(publicKey) {
  if (typeof publicKey !== "string") return Promise.resolve(null);
  if (known.has(publicKey)) return Promise.resolve(known.get(publicKey));
  let p = asked.get(publicKey);
  if (!p) {
    p = runtime.send({ type: "fingerprints", keys: [publicKey] }).then((list) => {
      asked.delete(publicKey);
      learnFingerprints(list);
      return known.has(publicKey) ? known.get(publicKey) : null;
    });
    asked.set(publicKey, p);
  }
  return p;
}

/** Update every countdown; an expired request can no longer be answered. */
function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll(".pop-countdown")) {
    const t = Number(el.dataset.expires);
    if (!Number.isFinite(t) || !el.dataset.expires) {
      el.textContent = "";
      continue;
    }
    const left = t - now;
    el.textContent = left > 0 ? `expires in ${countdown(left)}` : "expired";
    el.toggleAttribute("data-soon", left > 0 && left < 60_000);
    const li = el.closest("li");
    if (left <= 0 && !li.hasAttribute("data-expired")) {
      li.setAttribute("data-expired", "");
      if (question && question.li === li) {
        // Nothing left to decline: the question closes, focus stays in the item.
        const inside = li.contains(document.activeElement);
        question.close(false);
        if (inside) {
          li.tabIndex = -1;
          li.focus();
        }
      }
      for (const b of li.querySelectorAll("button")) b.disabled = true;
    }
  }
}

// ---- polling

async function refresh() {
  $("main").setAttribute("aria-busy", "true");
  const state = await runtime.send({ type: "poll" });
  if (state) await render(state, { fresh: true });
  else {
    $("main").setAttribute("aria-busy", "false");
    say($("status"), "Sealpost could not check your brokers just now. Try again.", "error");
  }
}

// ---- the active tab

/**
 * The active tab's URL is visible here when its host is a paired broker (host
 * permission) or because the person just opened the popup on it (activeTab):
 * no `tabs` permission. A `/connect/CODE` page is offered for answering here;
 * for an unpaired broker the answer page asks for its permission first.
 */
async function offerActiveTab() {
  const tab = await tabs.active();
  const found = tab && tab.url ? parseConnectUrl(tab.url) : null;
  if (!found) return;
  const paired = (await loadBrokers()).some((b) => b.origin === found.origin);
  $("tab-offer-code").textContent = found.code;
  $("tab-offer-origin").textContent = found.origin;
  $("tab-offer-note").textContent = paired ? "" : "Sealpost will ask for access to this broker first.";
  $("tab-offer-note").hidden = paired;
  $("tab-offer-answer").onclick = () => answer(connectUrl(found.base, found.code));
  $("tab-offer").hidden = false;
}

// ---- paste box

/** The broker's base path in a pasted address: `/`, `/connect` (the manual entry page) -> "". */
const basePath = (u) => u.pathname.replace(/\/+$/, "").replace(/\/connect$/, "");

/** The page's own controls (once the body is parsed). */
function wire() {
  $("paste-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const err = $("paste-error");
    const linkText = $("paste-link").value.trim();
    const codeText = $("paste-code").value.trim();
    const direct = parseConnectUrl(linkText);
    if (direct) return void answer(connectUrl(direct.base, direct.code));
    let origin;
    try {
      const u = new URL(linkText.includes("://") ? linkText : `https://${linkText}`);
      origin = brokerOrigin(linkText) + basePath(u);
    } catch {
      // A broker elsewhere over plain http is allowed here: the answer page says how safe it is.
      try {
        const u = new URL(linkText);
        if (u.protocol === "http:" || u.protocol === "https:") origin = u.origin + basePath(u);
      } catch {
        origin = null;
      }
    }
    const code = normalizeCode(codeText);
    if (!origin) {
      say(err, "Paste the link the agent printed (…/connect/ABCD-1234), or the broker's address and the code.", "error");
      $("paste-link").focus();
      return;
    }
    if (!code) {
      say(err, "Enter the 8-character code the agent printed, like ABCD-1234.", "error");
      $("paste-code").focus();
      return;
    }
    void answer(connectUrl(origin, code));
  });

  $("refresh").addEventListener("click", () => void refresh());
  $("settings").addEventListener("click", () => {
    void runtime.openOptionsPage();
    window.close();
  });
  $("inspect-jwt").addEventListener("click", async () => {
    await tabs.create(pageUrl("inspector.html"));
    window.close();
  });
  $("empty-add").addEventListener("click", () => {
    void runtime.openOptionsPage();
    window.close();
  });
}

async function start() {
  // Both reads started at the top: the last list shows without waiting for the poll.
  mark("sealpost:popup-start");
  await domReady;
  mark("sealpost:popup-dom");
  wire();
  setInterval(tick, 1000);
  const last = await lastRead.catch(() => null);
  // The brokers the last poll asked, when it says (a result from before that field: the stored list).
  const polled = last && Array.isArray(last.origins) && last.origins.every((o) => typeof o === "string") ? last.origins.map((origin) => ({ origin })) : null;
  const brokers = polled || (await brokersRead.catch(() => loadBrokers()));
  mark("sealpost:popup-read");
  await render(last, { brokers });
  mark("sealpost:popup-listed");
  if (polled) {
    // A broker paired or removed since that poll: show the list for the paired ones now.
    const paired = await brokersRead.catch(() => loadBrokers());
    const key = (list) => list.map((b) => b.origin).sort().join(" ");
    if (key(paired) !== key(polled)) await render(last, { brokers: paired });
  }
  void offerActiveTab();
  await refresh();
}

void start();
