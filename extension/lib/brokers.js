// Paired brokers and the inbox-owner API (docs/protocol.md, "Inbox";
// the sender endpoints of the security issue).
//
// storage.local holds `{brokers: [{origin, inbox_id, inbox_token, senders:
// [{sender_id, name, created_at}]}], settings: {pollSeconds}}`. A sender
// credential is never stored: it is shown once, in the agent command.
// The inbox token never appears in a URL, a log line or an error message.

import { local, permissions } from "./browser.js";

export const DEFAULT_POLL_SECONDS = 30;
/** Chromium 120+ and Firefox refuse alarm periods under 30 s. */
export const MIN_POLL_SECONDS = 30;
export const MAX_POLL_SECONDS = 3600;

/** An error safe to show: a stable `code`, a plain sentence, never a secret. */
export class BrokerError extends Error {
  /**
   * @param {string} code ERR_UNREACHABLE | ERR_PERMISSION | ERR_BROKER_URL | ERR_NOT_PAIRED |
   *   ERR_INBOX_GONE | ERR_INBOX_AUTH | ERR_BAD_RESPONSE | a broker problem code
   * @param {string} message
   * @param {number} [status]
   */
  constructor(code, message, status = 0) {
    super(message);
    this.name = "BrokerError";
    this.code = code;
    this.status = status;
  }
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Is this origin on this computer (granted at install, no prompt)? */
export function isLoopback(origin) {
  try {
    return LOOPBACK_HOSTS.has(new URL(origin).hostname);
  } catch {
    return false;
  }
}

/**
 * The broker origin for what a person typed: `broker.example`, `https://broker.example/`,
 * `http://127.0.0.1:8080/connect` ... -> `https://broker.example`, `http://127.0.0.1:8080`.
 * Plain http only on this computer: an inbox token must not cross a network in clear.
 */
export function brokerOrigin(input) {
  let text = String(input ?? "").trim();
  if (!text) throw new BrokerError("ERR_BROKER_URL", "Enter the broker's address, for example https://broker.example.");
  if (/\s/.test(text)) throw new BrokerError("ERR_BROKER_URL", "A web address has no spaces. Enter it like https://broker.example.");
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    const host = text.split(/[/:]/)[0];
    text = (LOOPBACK_HOSTS.has(host) ? "http://" : "https://") + text;
  }
  let u;
  try {
    u = new URL(text);
  } catch {
    throw new BrokerError("ERR_BROKER_URL", "That is not a web address. Enter it like https://broker.example.");
  }
  if ((u.protocol !== "https:" && u.protocol !== "http:") || !u.hostname || u.hostname.includes("%")) {
    throw new BrokerError("ERR_BROKER_URL", "A broker address starts with https:// and names a host.");
  }
  if (u.username || u.password) {
    throw new BrokerError("ERR_BROKER_URL", "Leave the user name and password out of the broker address.");
  }
  if (u.protocol === "http:" && !isLoopback(u.origin)) {
    throw new BrokerError(
      "ERR_BROKER_URL",
      "Only a broker on this computer may use http://. Use https:// for a broker elsewhere.",
    );
  }
  return u.origin;
}

// ---- storage

export async function loadBrokers() {
  const { brokers } = await local.get("brokers");
  return Array.isArray(brokers) ? brokers : [];
}

async function saveBrokers(brokers) {
  await local.set({ brokers });
}

export async function getBroker(origin) {
  return (await loadBrokers()).find((b) => b.origin === origin) || null;
}

async function updateBroker(origin, fn) {
  const brokers = await loadBrokers();
  const i = brokers.findIndex((b) => b.origin === origin);
  if (i === -1) throw new BrokerError("ERR_NOT_PAIRED", "This broker is not paired with the extension.");
  brokers[i] = fn(brokers[i]);
  await saveBrokers(brokers);
  return brokers[i];
}

export async function loadSettings() {
  const { settings } = await local.get("settings");
  return { pollSeconds: clampPoll(settings && settings.pollSeconds) };
}

export async function saveSettings(settings) {
  const next = { pollSeconds: clampPoll(settings.pollSeconds) };
  await local.set({ settings: next });
  return next;
}

export function clampPoll(v) {
  const n = Math.round(Number(v));
  if (!Number.isFinite(n) || n <= 0) return DEFAULT_POLL_SECONDS;
  return Math.min(MAX_POLL_SECONDS, Math.max(MIN_POLL_SECONDS, n));
}

// ---- HTTP

/**
 * One call to a broker. Throws BrokerError; a problem+json answer becomes its
 * `code`/`title`, a network failure ERR_UNREACHABLE, a missing host permission
 * ERR_PERMISSION (checked first: without it the browser would fail the request
 * as a CORS error that says nothing useful).
 */
export async function call(origin, method, path, { token, body, timeoutMs = 15_000 } = {}) {
  if (!(await permissions.has(origin))) {
    throw new BrokerError("ERR_PERMISSION", `Sealpost may not contact ${origin}. Grant access to continue.`);
  }
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(origin + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      redirect: "error",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch {
    throw new BrokerError("ERR_UNREACHABLE", `${origin} did not answer. Is the broker running?`);
  }
  if (res.status === 204) return null;
  const text = await res.text().catch(() => "");
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (res.ok) {
    if (data === null) throw new BrokerError("ERR_BAD_RESPONSE", `${origin} sent an answer Sealpost cannot read.`, res.status);
    return data;
  }
  const code = data && typeof data.code === "string" ? data.code : `HTTP_${res.status}`;
  const title = data && typeof data.title === "string" ? data.title : `HTTP ${res.status}`;
  const detail = data && typeof data.detail === "string" ? data.detail : "";
  throw new BrokerError(code, detail ? `${title}: ${detail}` : title, res.status);
}

function inboxPath(b, rest = "") {
  return `/v1/inboxes/${encodeURIComponent(b.inbox_id)}${rest}`;
}

/** Calls on the broker's inbox; maps "the inbox is gone" and "token refused" to plain codes. */
async function inboxCall(b, method, rest, opts = {}) {
  try {
    return await call(b.origin, method, inboxPath(b, rest), { ...opts, token: b.inbox_token });
  } catch (e) {
    if (e instanceof BrokerError && (e.status === 401 || e.status === 403)) {
      throw new BrokerError("ERR_INBOX_AUTH", `${b.origin} no longer accepts this extension's inbox key.`, e.status);
    }
    throw e;
  }
}

// ---- pairing

/**
 * Ask for the origin's host permission if needed. Call it synchronously from a
 * click handler: browsers only show the prompt inside a user gesture.
 */
export async function requestAccess(origin) {
  if (await permissions.has(origin)) return true;
  let granted = false;
  try {
    granted = await permissions.request(origin);
  } catch {
    granted = false;
  }
  if (!granted) throw new BrokerError("ERR_PERMISSION", `Access to ${origin} was not granted, so nothing was added.`);
  return true;
}

/** Create an inbox at the broker and remember it. Returns the stored broker. */
export async function pairBroker(origin) {
  const existing = await getBroker(origin);
  if (existing) throw new BrokerError("ERR_ALREADY_PAIRED", `${origin} is already paired.`);
  const data = await call(origin, "POST", "/v1/inboxes", { body: {} });
  if (!data || typeof data.inbox_id !== "string" || typeof data.inbox_token !== "string") {
    throw new BrokerError("ERR_BAD_RESPONSE", `${origin} did not create an inbox. Is it a Sealpost broker?`);
  }
  const broker = { origin, inbox_id: data.inbox_id, inbox_token: data.inbox_token, senders: [], paired_at: new Date().toISOString() };
  const brokers = await loadBrokers();
  brokers.push(broker);
  await saveBrokers(brokers);
  return broker;
}

/**
 * Delete the inbox at the broker, give the origin's permission back, forget it.
 * With `force`, forget it even when the broker cannot be reached.
 */
export async function removeBroker(origin, { force = false } = {}) {
  const b = await getBroker(origin);
  if (!b) return;
  try {
    await inboxCall(b, "DELETE", "");
  } catch (e) {
    const gone = e instanceof BrokerError && (e.status === 404 || e.code === "ERR_INBOX_AUTH");
    if (!gone && !force) throw e;
  }
  await saveBrokers((await loadBrokers()).filter((x) => x.origin !== origin));
  if (!isLoopback(origin)) await permissions.remove(origin);
}

// ---- senders

/**
 * Create a sender ("CI runner") and return `{sender, credential, command}`.
 * The credential is returned to be shown once and is not stored.
 */
export async function addSender(origin, name) {
  const b = await getBroker(origin);
  if (!b) throw new BrokerError("ERR_NOT_PAIRED", "This broker is not paired with the extension.");
  const data = await inboxCall(b, "POST", "/senders", { body: { name } });
  if (!data || typeof data.sender_id !== "string" || typeof data.sender_credential !== "string") {
    throw new BrokerError("ERR_BAD_RESPONSE", `${origin} did not create the agent. Does it support senders?`);
  }
  const sender = { sender_id: data.sender_id, name: String(data.name ?? name), created_at: data.created_at ?? null };
  await updateBroker(origin, (x) => ({ ...x, senders: [...(x.senders || []).filter((s) => s.sender_id !== sender.sender_id), sender] }));
  return { sender, credential: data.sender_credential, command: agentCommand(origin, data.sender_credential) };
}

/** The ready-to-paste agent command. */
export function agentCommand(origin, credential) {
  return `sealpost request --broker ${origin} --inbox ${credential} --template api_key`;
}

/** The broker's list `[{sender_id, name, created_at, last_used_at, pending, sent, pending_limit?}]`; refreshes the stored names. */
export async function listSenders(origin) {
  const b = await getBroker(origin);
  if (!b) throw new BrokerError("ERR_NOT_PAIRED", "This broker is not paired with the extension.");
  const list = await inboxCall(b, "GET", "/senders");
  if (!Array.isArray(list)) throw new BrokerError("ERR_BAD_RESPONSE", `${origin} sent a sender list Sealpost cannot read.`);
  const senders = list
    .filter((s) => s && typeof s.sender_id === "string")
    .map((s) => ({ sender_id: s.sender_id, name: String(s.name ?? ""), created_at: s.created_at ?? null }));
  await updateBroker(origin, (x) => ({ ...x, senders }));
  return list.filter((s) => s && typeof s.sender_id === "string");
}

export async function removeSender(origin, senderId) {
  const b = await getBroker(origin);
  if (!b) throw new BrokerError("ERR_NOT_PAIRED", "This broker is not paired with the extension.");
  try {
    await inboxCall(b, "DELETE", `/senders/${encodeURIComponent(senderId)}`);
  } catch (e) {
    if (!(e instanceof BrokerError && e.status === 404)) throw e;
  }
  await updateBroker(origin, (x) => ({ ...x, senders: (x.senders || []).filter((s) => s.sender_id !== senderId) }));
}

// ---- requests

/** The inbox's pending requests, each tagged with the broker origin. */
export async function listRequests(b) {
  const list = await inboxCall(b, "GET", "/requests");
  if (!Array.isArray(list)) throw new BrokerError("ERR_BAD_RESPONSE", `${b.origin} sent a request list Sealpost cannot read.`);
  return list
    .filter((r) => r && typeof r.code === "string")
    .map((r) => ({ ...r, origin: b.origin }));
}

export async function declineRequest(origin, code) {
  const b = await getBroker(origin);
  if (!b) throw new BrokerError("ERR_NOT_PAIRED", "This broker is not paired with the extension.");
  try {
    await inboxCall(b, "DELETE", `/requests/${encodeURIComponent(code)}`);
  } catch (e) {
    // Already gone (answered, expired, declined elsewhere): nothing left to decline.
    if (!(e instanceof BrokerError && (e.status === 404 || e.status === 410))) throw e;
  }
}

/**
 * Poll every paired inbox at once. Returns `{requests, errors, checked_at,
 * brokers (their number), origins}`:
 * requests of all inboxes, soonest expiry first; one error entry per broker
 * that failed (`{origin, code, message}`), so one broker down hides no other's.
 */
export async function pollAll() {
  const brokers = await loadBrokers();
  const results = await Promise.all(
    brokers.map(async (b) => {
      try {
        return { requests: await listRequests(b) };
      } catch (e) {
        const err = e instanceof BrokerError ? e : new BrokerError("ERR_UNREACHABLE", `${b.origin} did not answer.`);
        return { error: { origin: b.origin, code: err.code, message: err.message } };
      }
    }),
  );
  const now = Date.now();
  const requests = results
    .flatMap((r) => r.requests || [])
    .filter((r) => !(Date.parse(r.expires_at) <= now))
    .sort((a, b) => expiryOf(a) - expiryOf(b));
  return {
    requests,
    errors: results.filter((r) => r.error).map((r) => r.error),
    checked_at: new Date(now).toISOString(),
    brokers: brokers.length,
    // The brokers polled: the popup shows this result before it has read storage.local.
    origins: brokers.map((b) => b.origin),
  };
}

function expiryOf(r) {
  const t = Date.parse(r.expires_at);
  return Number.isFinite(t) ? t : Number.MAX_SAFE_INTEGER;
}

/** The verification URL of a request (what answer.html?link= takes); `base` is a broker origin or base URL. */
export function connectUrl(base, code) {
  return `${String(base).replace(/\/+$/, "")}/connect/${encodeURIComponent(code)}`;
}

/**
 * If `url` is a verification URL `<base>/connect/<CODE>` (`base` = an origin,
 * possibly with a path prefix), return `{origin, base, code}`. Codes are 8
 * characters A-Z0-9, shown as ABCD-1234; lower case and a missing hyphen are
 * accepted (the protocol's rule).
 */
export function parseConnectUrl(url) {
  let u;
  try {
    u = new URL(String(url).trim());
  } catch {
    return null;
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return null;
  const m = /^(\/.*)?\/connect\/([A-Za-z0-9]{4}-?[A-Za-z0-9]{4})\/?$/.exec(u.pathname);
  if (!m) return null;
  const code = normalizeCode(m[2]);
  return { origin: u.origin, base: u.origin + (m[1] || ""), code };
}

/** `abcd1234` -> `ABCD-1234`; null when it is not a code. */
export function normalizeCode(text) {
  const c = String(text ?? "").toUpperCase().replace(/[^A-Z0-9]/g, "");
  return c.length === 8 ? `${c.slice(0, 4)}-${c.slice(4)}` : null;
}
