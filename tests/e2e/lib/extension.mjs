// Headless Chromium with the packaged Sealpost extension loaded unpacked
// (`--load-extension=dist/extension/chromium`, which Debian's unbranded
// Chromium still honours), for the extension end-to-end tests.
//
//   const ext = await launchWithExtension({ colorScheme: "dark" });
//   const popup = await ext.openPage("popup.html");
//   assert.equal(await ext.badgeText(), "1");
//   await ext.close();
//
// `cargo xtask build` (or `cargo xtask extension` once dist/full exists)
// writes the package; SEALPOST_EXTENSION_DIR overrides where it is.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM_FLAGS } from "./browser.mjs";
import { CHROMIUM, DIST, requireBuilt } from "./env.mjs";

/** The unpacked Chromium package. */
export const EXTENSION_DIR = resolve(process.env.SEALPOST_EXTENSION_DIR || join(DIST, "extension", "chromium"));

/** The id Chromium derives from the manifest `key` (first 32 hex digits of SHA-256 of the key, 0-f -> a-p). */
export async function expectedExtensionId(dir = EXTENSION_DIR) {
  const { createHash } = await import("node:crypto");
  const manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8"));
  const hex = createHash("sha256").update(Buffer.from(manifest.key, "base64")).digest("hex").slice(0, 32);
  return [...hex].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join("");
}

/**
 * Launch Chromium with a fresh profile and the extension.
 * options: colorScheme ("light"|"dark"), viewport, dir (an unpacked package), plus
 * any launchPersistentContext option.
 * Returns { context, extensionId, worker(), openPage(name, query, page?), badgeText(),
 *           storage(), close() }.
 */
export async function launchWithExtension({ colorScheme = "light", dir = EXTENSION_DIR, ...options } = {}) {
  requireBuilt(join(dir, "manifest.json"), "run `cargo xtask build` (or `cargo xtask extension` when dist/full exists)");
  requireBuilt(join(dir, "pkg", "sealpost_wasm_bg.wasm"), "the package has no WASM bundle: run `cargo xtask build`");
  const userDataDir = await mkdtemp(join(tmpdir(), "sealpost-chromium-ext-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    colorScheme,
    args: [...CHROMIUM_FLAGS, `--disable-extensions-except=${dir}`, `--load-extension=${dir}`],
    viewport: { width: 1024, height: 900 },
    ...options,
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await context.close().catch(() => {});
    await rm(userDataDir, { recursive: true, force: true });
  };

  let extensionId;
  try {
    const isOurs = (w) => w.url().startsWith("chrome-extension://") && w.url().endsWith("/background.js");
    let sw = context.serviceWorkers().find(isOurs);
    if (!sw) sw = await context.waitForEvent("serviceworker", { predicate: isOurs, timeout: 20_000 });
    extensionId = new URL(sw.url()).host;
  } catch (e) {
    await close();
    throw new Error(`the extension's service worker did not start: ${e.message}`);
  }
  const base = `chrome-extension://${extensionId}`;

  /** The live service worker (MV3 stops idle workers; opening a page wakes it). */
  async function worker() {
    const live = context.serviceWorkers().find((w) => w.url() === `${base}/background.js`);
    if (live) return live;
    const waiting = context.waitForEvent("serviceworker", { predicate: (w) => w.url() === `${base}/background.js`, timeout: 20_000 });
    // A message from an extension page wakes a stopped worker.
    const page = await context.newPage();
    await page.goto(`${base}/options.html`).catch(() => {});
    await page.evaluate(() => chrome.runtime.sendMessage({ type: "ping" }).catch(() => {})).catch(() => {});
    const sw = await waiting;
    await page.close();
    return sw;
  }

  /** Evaluate `fn(arg)` in the service worker, retrying once if the worker was stopped meanwhile. */
  async function inWorker(fn, arg) {
    try {
      return await (await worker()).evaluate(fn, arg);
    } catch {
      return (await worker()).evaluate(fn, arg);
    }
  }

  return {
    context,
    extensionId,
    baseUrl: base,
    worker,
    inWorker,
    /** Open an extension page (`popup.html`, `options.html`, `answer.html` …) in a new tab or `page`. */
    async openPage(name, query = {}, page = null) {
      const p = page || (await context.newPage());
      const qs = new URLSearchParams(query).toString();
      await p.goto(`${base}/${name}${qs ? `?${qs}` : ""}`);
      return p;
    },
    /** The action badge text, read through the service worker. */
    badgeText: () => inWorker(() => chrome.action.getBadgeText({})),
    /** Everything in storage.local and storage.sync (to assert what is and is not stored). */
    storage: () =>
      inWorker(async () => ({ local: await chrome.storage.local.get(null), sync: await chrome.storage.sync.get(null) })),
    close,
  };
}
