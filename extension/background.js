// Sealpost background: an MV3 service worker in Chromium, an event page in
// Firefox (the same module). It polls every paired inbox on an alarm and when
// a page asks, keeps the badge at the number of pending requests, raises one
// notification per new request, and offers "Answer with Sealpost" on links.
//
// Nothing here is kept between runs except what lib/brokers.js stores; the
// last poll result and the codes already notified live in storage.session.
import { alarms, badge, commands, contextMenus, notifications, pageUrl, runtime, session, tabs, local } from "./lib/browser.js";
import { normalizeToken, tokensFromUrl } from "./www/jwt-har.js";
import { connectUrl, loadSettings, parseConnectUrl, pollAll } from "./lib/brokers.js";
// The seal-only WASM bundle, for the key fingerprints of pending requests
// (computed here with the bundled code, never taken from a broker). A static
// import: a service worker may not import() at run time. Packaging bundles
// the glue into this file, so its .wasm is named explicitly (SEAL_WASM).
import initSeal, { fingerprint } from "./pkg-seal/sealpost_wasm.js";

const SEAL_WASM = "pkg-seal/sealpost_wasm_bg.wasm";

const ALARM = "poll";
const MENU = "answer-link";
const NOTE_PREFIX = "request:";
const BADGE_COLOR = "#1f6f5c";
const BADGE_ERROR_COLOR = "#b42318";

// ---- install, start, settings

runtime.onInstalled(async ({ reason }) => {
  if (reason === "install") await tabs.create(pageUrl("options.html", { welcome: "1" }));
  await setupMenu();
  await schedule();
  await poll();
});

runtime.onStartup(async () => {
  await setupMenu();
  await schedule();
  await poll();
});

async function setupMenu() {
  await contextMenus.removeAll();
  await contextMenus.create({
    id: MENU,
    title: "Answer with Sealpost",
    contexts: ["link"],
    // Only verification links (…/connect/CODE); other links get no entry.
    targetUrlPatterns: ["https://*/connect/*", "http://*/connect/*", "https://*/*/connect/*", "http://*/*/connect/*"],
  });
  // The JWT inspector: on selected text, and on links whose address holds a
  // token (a JWT always starts "eyJ"; match patterns cannot see a #fragment,
  // so fragment tokens are inspected from a selection of the link text).
  await contextMenus.create({ id: MENU_INSPECT, title: "Inspect JWT", contexts: ["selection"] });
  await contextMenus.create({ id: MENU_INSPECT_LINK, title: "Inspect JWT in this link", contexts: ["link"], targetUrlPatterns: ["https://*/*eyJ*", "http://*/*eyJ*"] });
}

const MENU_INSPECT = "inspect-jwt";
const MENU_INSPECT_LINK = "inspect-jwt-link";

/**
 * Open the JWT inspector with a token. The token goes through storage.session
 * (memory only), never through the page's URL.
 */
async function openInspector(token) {
  if (token) await session.set({ inspectorPending: { token } });
  await tabs.create(pageUrl("inspector.html"));
}

/** The context menu's "Inspect JWT" entries (exposed for the e2e test, which cannot click native menus headless). */
async function inspectFromMenu(info) {
  if (!info || (info.menuItemId !== MENU_INSPECT && info.menuItemId !== MENU_INSPECT_LINK)) return false;
  let token = "";
  if (info.menuItemId === MENU_INSPECT_LINK && info.linkUrl) token = (tokensFromUrl(info.linkUrl)[0] || {}).token || "";
  if (!token && typeof info.selectionText === "string") token = normalizeToken(info.selectionText.slice(0, 64 * 1024));
  await openInspector(token);
  return true;
}
globalThis.sealpostInspectFromMenu = inspectFromMenu;

contextMenus.onClicked((info) => void inspectFromMenu(info));
commands.onCommand((name) => {
  if (name === "open-inspector") void openInspector("");
});

async function schedule() {
  const { pollSeconds } = await loadSettings();
  const existing = await alarms.get(ALARM);
  if (existing && Math.abs(existing.periodInMinutes * 60 - pollSeconds) < 1) return;
  await alarms.clear(ALARM);
  await alarms.every(ALARM, pollSeconds);
}

local.onChanged((changes) => {
  if (changes.settings) void schedule();
  if (changes.brokers) {
    const before = (changes.brokers.oldValue || []).map((b) => b.origin).sort().join(" ");
    const after = (changes.brokers.newValue || []).map((b) => b.origin).sort().join(" ");
    // A broker added or removed: the list and the badge change now, not at the next alarm.
    if (before !== after) void poll();
  }
});

alarms.onAlarm((alarm) => {
  if (alarm.name === ALARM) void poll();
});

// ---- polling

let running = null;

/** Poll all inboxes (one poll at a time; a call during a poll waits for it and then polls again). */
function poll() {
  const next = (running || Promise.resolve()).catch(() => {}).then(pollNow);
  running = next.finally(() => {
    if (running === next) running = null;
  });
  return next;
}

async function pollNow() {
  const [state, { last }] = await Promise.all([pollAll(), session.get("last")]);
  state.fingerprints = await fingerprintsOf(state.requests, last && last.fingerprints);
  await session.set({ last: state });
  await updateBadge(state);
  await notifyNew(state.requests);
  return state;
}

let seal = null;

/** The seal bundle, initialised once (false: it failed; the next call tries again). */
function sealReady() {
  seal ??= initSeal({ module_or_path: runtime.getURL(SEAL_WASM) }).then(
    () => true,
    () => {
      seal = null;
      return false;
    },
  );
  return seal;
}

/**
 * The short fingerprint of each pending request's public key, computed here
 * with the bundled WASM, as `[[public_key, short | null], …]` (null: not a
 * usable key). Keys already fingerprinted by the previous poll are not
 * computed again, so the WASM is instantiated only when a new key arrives.
 * The popup shows these at once instead of loading the WASM on every open;
 * a key missing here it asks for (message "fingerprints").
 */
async function fingerprintsOf(requests, previous) {
  const known = new Map(Array.isArray(previous) ? previous.filter((e) => Array.isArray(e) && typeof e[0] === "string") : []);
  const out = new Map();
  for (const r of requests) {
    const key = r.public_key;
    if (typeof key !== "string" || out.has(key)) continue;
    if (known.has(key)) {
      out.set(key, known.get(key));
      continue;
    }
    if (!(await sealReady())) continue; // computed again on the popup's request
    out.set(key, shortFingerprint(key));
  }
  return [...out];
}

/** A key's short fingerprint, or null when it is not a usable key (the seal bundle is ready). */
function shortFingerprint(key) {
  try {
    return fingerprint(key).short;
  } catch {
    return null;
  }
}

/** `[[key, short | null], …]` for the popup's keys (at most 100 strings); [] when the WASM cannot load. */
async function fingerprintsFor(keys) {
  if (!Array.isArray(keys)) return [];
  const list = keys.filter((k) => typeof k === "string").slice(0, 100);
  if (!list.length || !(await sealReady())) return [];
  return list.map((key) => [key, shortFingerprint(key)]);
}

async function updateBadge({ requests, errors, brokers }) {
  const n = requests.length;
  if (n > 0) {
    await badge.set(n > 99 ? "99+" : String(n), BADGE_COLOR);
    await badge.setTitle(`Sealpost: ${n} pending ${n === 1 ? "request" : "requests"}`);
  } else if (errors.length > 0 && errors.length === brokers) {
    await badge.set("!", BADGE_ERROR_COLOR);
    await badge.setTitle("Sealpost: cannot reach your brokers");
  } else {
    await badge.set("", BADGE_COLOR);
    await badge.setTitle(brokers ? "Sealpost: no pending requests" : "Sealpost: add a broker to receive requests");
  }
}

/** One notification per request not seen before in this browser session. */
async function notifyNew(requests) {
  const { seen = [] } = await session.get("seen");
  const known = new Set(seen);
  const keyOf = (r) => `${r.origin} ${r.code}`;
  const fresh = requests.filter((r) => !known.has(keyOf(r)));
  // Forget codes that are no longer pending, so the list stays small.
  await session.set({ seen: requests.map(keyOf) });
  if (fresh.length === 0) return;
  if (fresh.length > 3) {
    await notifications
      .create(`${NOTE_PREFIX}popup`, {
        title: `${fresh.length} new requests for credentials`,
        message: "Open Sealpost from the toolbar to check who is asking.",
      })
      .catch(() => {});
    return;
  }
  for (const r of fresh) {
    const who = text(r.agent_name) || text(r.sender_name) || "An agent";
    const what = text(r.display_name) || "a credential";
    const via = text(r.sender_name) ? ` (through “${text(r.sender_name)}”)` : "";
    await notifications
      .create(NOTE_PREFIX + connectUrl(r.origin, r.code), {
        title: `${who} asks for ${what}`,
        message: `Code ${r.code}${via} on ${r.origin}. Click to check and answer.`,
      })
      .catch(() => {});
  }
}

/** Broker/agent text for a notification: plain, one line, bounded. */
function text(v) {
  if (typeof v !== "string") return "";
  const one = v.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, " ").trim();
  return one.length > 60 ? `${one.slice(0, 59)}…` : one;
}

// ---- while a request is being answered

const WATCH_MS = 5_000;
const WATCH_MAX_MS = 15 * 60_000;
/** `origin code` -> time after which to stop watching. */
const watched = new Map();
let watchTimer = null;

/**
 * Someone opened the answer page for this request: poll every 5 s until it
 * leaves the inbox (answered, declined, expired), so the badge and list follow
 * within seconds instead of at the next alarm. Bounded by the request's expiry.
 */
function watch(origin, code, expiresAt) {
  const until = Math.min(Date.now() + WATCH_MAX_MS, Number.isFinite(Date.parse(expiresAt)) ? Date.parse(expiresAt) + WATCH_MS : Infinity);
  watched.set(`${origin} ${code}`, until);
  if (!watchTimer) watchTimer = setTimeout(watchTick, WATCH_MS);
}

async function watchTick() {
  watchTimer = null;
  const state = await poll().catch(() => null);
  const now = Date.now();
  const pending = new Set((state ? state.requests : []).map((r) => `${r.origin} ${r.code}`));
  for (const [key, until] of watched) {
    if (!pending.has(key) || now > until) watched.delete(key);
  }
  if (watched.size > 0) watchTimer = setTimeout(watchTick, WATCH_MS);
}

/** Open the answer page for a verification link; watch it when it is one of ours. */
async function openAnswer(link) {
  const found = parseConnectUrl(link);
  if (found) {
    const { last } = await session.get("last");
    const r = last && last.requests.find((x) => x.origin === found.origin && x.code === found.code);
    if (r) watch(r.origin, r.code, r.expires_at);
  }
  await tabs.create(pageUrl("answer.html", { link }));
}

notifications.onClicked(async (id) => {
  if (!id.startsWith(NOTE_PREFIX)) return;
  await notifications.clear(id);
  const link = id.slice(NOTE_PREFIX.length);
  if (link === "popup") await tabs.create(pageUrl("popup.html"));
  else await openAnswer(link);
});

contextMenus.onClicked(async (info) => {
  if (info.menuItemId !== MENU || !info.linkUrl) return;
  await openAnswer(info.linkUrl);
});

// ---- messages from the extension's own pages

runtime.onMessage((message, sender) => {
  // Only this extension's pages talk to the background.
  if (!sender || sender.id !== runtime.id || !message || typeof message.type !== "string") return undefined;
  switch (message.type) {
    case "poll": // the popup opened, an answer was sent, a request declined
      return poll();
    case "answer": // the popup opens the answer page through here, so the request is watched
      return typeof message.link === "string" ? openAnswer(message.link).then(() => true) : undefined;
    case "fingerprints": // keys the popup has no fingerprint for yet
      return fingerprintsFor(message.keys);
    case "state":
      return session.get("last").then(({ last }) => last || null);
    case "ping":
      return Promise.resolve("pong");
    default:
      return undefined;
  }
});
