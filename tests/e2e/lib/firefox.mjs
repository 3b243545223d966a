// Headless Firefox (Debian's firefox-esr) driven over WebDriver BiDi, which
// Firefox speaks itself: no geckodriver, nothing downloaded. A small client
// over the WebSocket built into Node (Node 20 needs --experimental-websocket;
// `cargo xtask test` passes it).
//
//   const ff = await launchFirefox({ uuids: { "sealpost@sealpost.dev": UUID } });
//   const ext = await ff.installExtension("dist/extension/firefox");
//   const ctx = await ff.waitForContext((c) => c.url.startsWith(`moz-extension://${UUID}/options.html`));
//   await ff.evaluate(ctx, "document.title");
//   await ff.close();
//
// Facts this relies on (../shared/notes/browsers.md and what was checked here):
// - `browsingContext.navigate` to a moz-extension:// URL is refused; a page the
//   extension opened itself (runtime.onInstalled -> tabs.create) shows up in
//   `browsingContext.getTree` and `script.evaluate` drives it, with the
//   extension's APIs (`browser.*`) available in that realm.
// - `extensions.webextensions.uuids` in user.js fixes the moz-extension:// origin.
// - MV3 host_permissions are opt-in in Firefox; see HOST_PERMISSION_PREFS below.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ARTIFACTS_DIR } from "./env.mjs";

/** firefox-esr binary (never downloaded). */
export const FIREFOX = process.env.FIREFOX || "/usr/bin/firefox-esr";

const READY = /WebDriver BiDi listening on (ws:\/\/\S+)/;

/**
 * Prefs for a quiet, offline-ish automation profile. Firefox's remote agent
 * sets most of its recommended prefs itself; these cover what it leaves
 * (first-run pages, update and telemetry pings, the extension signing rule for
 * a temporary install is already waived).
 */
const BASE_PREFS = {
  "browser.shell.checkDefaultBrowser": false,
  "browser.startup.homepage_override.mstone": "ignore",
  "browser.startup.page": 0,
  "browser.aboutwelcome.enabled": false,
  "datareporting.policy.dataSubmissionEnabled": false,
  "datareporting.healthreport.uploadEnabled": false,
  "toolkit.telemetry.enabled": false,
  "app.update.enabled": false,
  "app.update.auto": false,
  "extensions.update.enabled": false,
  "extensions.getAddons.cache.enabled": false,
  "browser.newtabpage.enabled": false,
  "browser.tabs.warnOnClose": false,
  "network.captive-portal-service.enabled": false,
  "network.connectivity-service.enabled": false,
  "browser.safebrowsing.malware.enabled": false,
  "browser.safebrowsing.phishing.enabled": false,
  "browser.safebrowsing.downloads.enabled": false,
  "browser.region.network.url": "",
  "browser.search.geoip.url": "",
  "services.settings.server": "http://127.0.0.1:9/dummy",
  "extensions.blocklist.enabled": false,
  "messaging-system.rsexperimentloader.enabled": false,
  "app.normandy.enabled": false,
  "app.shield.optoutstudies.enabled": false,
  "dom.disable_open_during_load": false,
  // Console messages and uncaught errors of extension pages reach neither BiDi's
  // log.entryAdded nor its preload scripts (checked on 153 ESR); printed to
  // stdout they are read by pageErrors().
  "devtools.console.stdout.content": true,
};

function prefLine(name, value) {
  return `user_pref(${JSON.stringify(name)}, ${JSON.stringify(value)});`;
}

/** Deserialize a BiDi RemoteValue into a plain JS value (enough for tests). */
export function fromRemote(v) {
  if (!v || typeof v !== "object") return v;
  switch (v.type) {
    case "undefined":
      return undefined;
    case "null":
      return null;
    case "string":
    case "boolean":
      return v.value;
    case "number":
      if (typeof v.value === "number") return v.value;
      return { NaN: NaN, "-0": -0, Infinity: Infinity, "-Infinity": -Infinity }[v.value];
    case "bigint":
      return BigInt(v.value);
    case "array":
    case "set":
      return (v.value || []).map(fromRemote);
    case "object":
    case "map":
      return Object.fromEntries((v.value || []).map(([k, val]) => [typeof k === "string" ? k : fromRemote(k), fromRemote(val)]));
    case "date":
      return new Date(v.value);
    case "regexp":
      return new RegExp(v.value.pattern, v.value.flags);
    default:
      return { type: v.type, ...(v.value !== undefined ? { value: v.value } : {}) };
  }
}

/** Serialize a plain JSON-like value into a BiDi LocalValue (for callFunction arguments). */
export function toLocal(x) {
  if (x === undefined) return { type: "undefined" };
  if (x === null) return { type: "null" };
  if (typeof x === "string") return { type: "string", value: x };
  if (typeof x === "boolean") return { type: "boolean", value: x };
  if (typeof x === "number") return { type: "number", value: Number.isFinite(x) ? (Object.is(x, -0) ? "-0" : x) : String(x) };
  if (Array.isArray(x)) return { type: "array", value: x.map(toLocal) };
  if (typeof x === "object") return { type: "object", value: Object.entries(x).map(([k, v]) => [k, toLocal(v)]) };
  throw new Error(`cannot pass ${typeof x} to the browser`);
}

class BiDiError extends Error {
  constructor(method, msg) {
    super(`${method}: ${msg.error}: ${msg.message}`);
    this.error = msg.error;
    this.stacktrace = msg.stacktrace;
  }
}

/** A WebDriver BiDi connection: send(method, params) -> result; events. */
export class BiDi {
  constructor(ws) {
    this.ws = ws;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = new Set();
    this.events = [];
    ws.addEventListener("message", (e) => this.#onMessage(e.data));
    ws.addEventListener("close", () => {
      for (const { reject, method } of this.pending.values()) reject(new Error(`${method}: BiDi connection closed`));
      this.pending.clear();
    });
  }

  static async connect(url, { timeoutMs = 15_000 } = {}) {
    if (typeof WebSocket !== "function") {
      throw new Error("no global WebSocket: run node with --experimental-websocket (Node 20) or use Node >= 22");
    }
    const ws = new WebSocket(url);
    await new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`BiDi: no connection to ${url} in ${timeoutMs} ms`)), timeoutMs);
      ws.addEventListener("open", () => (clearTimeout(t), res()), { once: true });
      ws.addEventListener("error", (e) => (clearTimeout(t), rej(new Error(`BiDi: ${e.message || "WebSocket error"}`))), { once: true });
    });
    return new BiDi(ws);
  }

  #onMessage(data) {
    const msg = JSON.parse(typeof data === "string" ? data : Buffer.from(data).toString("utf8"));
    if (msg.type === "event") {
      this.events.push(msg);
      for (const l of [...this.listeners]) l(msg);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.type === "error") p.reject(new BiDiError(p.method, msg));
    else p.resolve(msg.result);
  }

  send(method, params = {}, { timeoutMs = 30_000 } = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        method,
        resolve: (r) => (clearTimeout(t), resolve(r)),
        reject: (e) => (clearTimeout(t), reject(e)),
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Resolve with the first event `method` for which pred(params) holds (events already seen count). */
  waitForEvent(method, pred = () => true, { timeoutMs = 15_000, includePast = false } = {}) {
    if (includePast) {
      const seen = this.events.find((e) => e.method === method && pred(e.params));
      if (seen) return Promise.resolve(seen.params);
    }
    return new Promise((resolve, reject) => {
      const l = (e) => {
        if (e.method === method && pred(e.params)) {
          this.listeners.delete(l);
          clearTimeout(t);
          resolve(e.params);
        }
      };
      const t = setTimeout(() => {
        this.listeners.delete(l);
        reject(new Error(`no ${method} event in ${timeoutMs} ms`));
      }, timeoutMs);
      this.listeners.add(l);
    });
  }

  close() {
    try {
      this.ws.close();
    } catch {
      /* already closed */
    }
  }
}

/**
 * Start `firefox-esr --headless` with a fresh profile and a BiDi session.
 * options:
 *  uuids: { "<gecko id>": "<uuid>" } fixes moz-extension://<uuid>/ per add-on.
 *  prefs: extra user.js prefs.
 *  colorScheme: "light" | "dark" (ui.systemUsesDarkTheme + content override).
 *  (Window size: per page with setViewport(); headless firefox-esr ignores --width/--height.)
 * Returns a Firefox handle (see the class below).
 */
export async function launchFirefox({ uuids = {}, prefs = {}, colorScheme, timeoutMs = 60_000 } = {}) {
  const profile = await mkdtemp(join(tmpdir(), "sealpost-firefox-"));
  const all = { ...BASE_PREFS, ...HOST_PERMISSION_PREFS, ...prefs };
  if (Object.keys(uuids).length) all["extensions.webextensions.uuids"] = JSON.stringify(uuids);
  if (colorScheme) {
    // 0 = dark, 1 = light for layout.css.prefers-color-scheme.content-override.
    all["layout.css.prefers-color-scheme.content-override"] = colorScheme === "dark" ? 0 : 1;
    all["ui.systemUsesDarkTheme"] = colorScheme === "dark" ? 1 : 0;
  }
  await writeFile(join(profile, "user.js"), Object.entries(all).filter(([, v]) => v !== undefined).map(([k, v]) => prefLine(k, v)).join("\n") + "\n");

  const child = spawn(
    FIREFOX,
    ["--headless", "--no-remote", "--profile", profile, "--remote-debugging-port", "0"],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, MOZ_HEADLESS: "1", MOZ_CRASHREPORTER_DISABLE: "1" } },
  );
  const output = [];
  const exited = new Promise((res) => child.once("exit", (code, signal) => res({ code, signal })));
  const wsUrl = await new Promise((resolveUrl, reject) => {
    const t = setTimeout(() => reject(new Error(`firefox did not announce BiDi in ${timeoutMs} ms:\n${Buffer.concat(output)}`)), timeoutMs);
    let buf = "";
    const onData = (d) => {
      output.push(d);
      buf += d.toString("utf8");
      const m = READY.exec(buf);
      if (m) {
        clearTimeout(t);
        resolveUrl(m[1]);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    exited.then(({ code, signal }) => {
      clearTimeout(t);
      reject(new Error(`firefox exited early (${code ?? signal}):\n${Buffer.concat(output)}`));
    });
  }).catch(async (e) => {
    child.kill("SIGKILL");
    await rm(profile, { recursive: true, force: true }).catch(() => {});
    throw e;
  });

  const bidi = await BiDi.connect(`${wsUrl.replace(/\/+$/, "")}/session`);
  const session = await bidi.send("session.new", { capabilities: { alwaysMatch: { acceptInsecureCerts: false, unhandledPromptBehavior: { default: "ignore" } } } });
  return new Firefox({ child, exited, bidi, profile, session, output });
}

/**
 * MV3 host_permissions in Firefox are "origin controls": opt-in, revocable per
 * site. What decides whether the declared ones are granted at install, checked
 * on 153 ESR (Extension.sys.mjs + greprefs.js) with a throwaway MV3 add-on
 * installed temporarily over BiDi:
 * - `extensions.originControls.grantByDefault` (default TRUE since Firefox 127,
 *   greprefs.js) grants every declared host permission at install, temporary
 *   installs included: permissions.contains({origins:["http://127.0.0.1/*"]})
 *   is true and a fetch to a loopback server without CORS headers succeeds.
 * - With that pref false, nothing is granted (contains() false, the fetch
 *   fails with "NetworkError when attempting to fetch resource"), unless the
 *   manifest says `"granted_host_permissions": true`, which Firefox honours
 *   only for temporary and privileged installs.
 * - No prompt can be answered over BiDi, so tests pin the pref to its default.
 */
export const HOST_PERMISSION_PREFS = {
  "extensions.originControls.grantByDefault": true,
};

class Firefox {
  constructor({ child, exited, bidi, profile, session, output }) {
    this.child = child;
    this.exited = exited;
    this.bidi = bidi;
    this.profile = profile;
    this.session = session;
    this.output = output;
    this.subscribed = false;
  }

  get version() {
    return this.session.capabilities.browserVersion;
  }

  /** Everything Firefox printed on stdout/stderr so far. */
  logs() {
    return Buffer.concat(this.output).toString("utf8");
  }

  send(method, params, opts) {
    return this.bidi.send(method, params, opts);
  }

  /** Subscribe once to the events tests rely on (contexts, console and JS errors). */
  async subscribe(events = ["browsingContext.contextCreated", "browsingContext.load", "log.entryAdded"]) {
    await this.send("session.subscribe", { events });
    this.subscribed = true;
  }

  /**
   * Uncaught JavaScript errors and console.error() calls printed by pages so far
   * (from stdout, see devtools.console.stdout.content above): the way to see an
   * extension page's errors, which BiDi's log module does not report.
   */
  pageErrors() {
    // A message is its first line plus the indented lines after it (a stack).
    const blocks = [];
    let open = null;
    for (const line of this.logs().split("\n")) {
      if (/^(JavaScript error|console\.error): /.test(line)) blocks.push((open = [line]));
      else if (open && /^\s/.test(line)) open.length < 12 && open.push(line);
      else open = null;
    }
    return blocks
      .map((b) => b.join("\n").trim())
      .filter((t) => t.includes("moz-extension://") || !/(resource|chrome):\/\//.test(t));
  }

  /** BiDi log entries seen so far (web pages only: not extension pages), [{level, text, url}]. */
  logEntries() {
    return this.bidi.events
      .filter((e) => e.method === "log.entryAdded")
      .map((e) => ({ level: e.params.level, type: e.params.type, text: e.params.text, url: e.params.source?.context }));
  }

  /** Install an unpacked extension directory temporarily; returns the add-on id. */
  async installExtension(dir) {
    const r = await this.send("webExtension.install", { extensionData: { type: "path", path: resolve(dir) } });
    return r.extension;
  }

  async uninstallExtension(id) {
    await this.send("webExtension.uninstall", { extension: id });
  }

  /** Every top-level and nested browsing context, flattened: [{context, url, parent}]. */
  async contexts() {
    const { contexts } = await this.send("browsingContext.getTree", {});
    const flat = [];
    const walk = (list, parent = null) => {
      for (const c of list || []) {
        flat.push({ context: c.context, url: c.url, parent });
        walk(c.children, c.context);
      }
    };
    walk(contexts);
    return flat;
  }

  /** Poll the tree until a context matches pred({context, url}); returns its id. */
  async waitForContext(pred, { timeoutMs = 20_000, intervalMs = 100 } = {}) {
    const deadline = Date.now() + timeoutMs;
    let last = [];
    while (Date.now() < deadline) {
      last = await this.contexts();
      const hit = last.find(pred);
      if (hit) return hit.context;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    throw new Error(`no matching browsing context in ${timeoutMs} ms; have: ${last.map((c) => c.url).join(", ")}`);
  }

  /** Evaluate an expression in a context (promises awaited); returns a plain value. */
  async evaluate(context, expression, { awaitPromise = true, userActivation = false } = {}) {
    const r = await this.send("script.evaluate", {
      expression,
      target: { context },
      awaitPromise,
      userActivation,
      resultOwnership: "none",
    });
    if (r.type === "exception") throw new Error(`in page: ${r.exceptionDetails.text}`);
    return fromRemote(r.result);
  }

  /** Call `fn` (a function or its source) in a context with JSON-like args. */
  async call(context, fn, args = [], { awaitPromise = true, userActivation = false } = {}) {
    const r = await this.send("script.callFunction", {
      functionDeclaration: typeof fn === "function" ? fn.toString() : fn,
      arguments: args.map(toLocal),
      target: { context },
      awaitPromise,
      userActivation,
      resultOwnership: "none",
    });
    if (r.type === "exception") throw new Error(`in page: ${r.exceptionDetails.text}`);
    return fromRemote(r.result);
  }

  /** Poll `fn(...args)` in a context until it returns a truthy value; returns it. */
  async waitFor(context, fn, args = [], { timeoutMs = 15_000, intervalMs = 100, what = "condition" } = {}) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
      try {
        last = await this.call(context, fn, args);
        if (last) return last;
      } catch (e) {
        last = e.message;
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
  }

  /** Set a page's viewport (CSS pixels). */
  async setViewport(context, width, height) {
    await this.send("browsingContext.setViewport", { context, viewport: { width, height } });
  }

  async closeContext(context) {
    await this.send("browsingContext.close", { context }).catch(() => {});
  }

  /** PNG screenshot of a context, saved under test-artifacts/<name>.png; returns the path. */
  async screenshot(context, name) {
    const { data } = await this.send("browsingContext.captureScreenshot", { context, origin: "document" });
    await mkdir(ARTIFACTS_DIR, { recursive: true });
    const path = join(ARTIFACTS_DIR, `${name}.png`);
    await writeFile(path, Buffer.from(data, "base64"));
    return path;
  }

  async close() {
    await this.send("browser.close", {}, { timeoutMs: 5_000 }).catch(() => {});
    this.bidi.close();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const t = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
      await this.exited;
      clearTimeout(t);
    }
    await rm(this.profile, { recursive: true, force: true }).catch(() => {});
  }
}
