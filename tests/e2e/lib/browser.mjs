// Headless Chromium for end-to-end tests: the flags from docs/architecture.md,
// a fresh profile per launch, and a guard that records every request and every
// Content-Security-Policy violation.
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";
import { ARTIFACTS_DIR, CHROMIUM } from "./env.mjs";

export const CHROMIUM_FLAGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/**
 * Launch Chromium with a fresh --user-data-dir.
 * options: viewport, colorScheme ("light"|"dark"), reducedMotion, …
 * Returns { context, page, close() }.
 */
export async function launchBrowser(options = {}) {
  const userDataDir = await mkdtemp(join(tmpdir(), "sealpost-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1024, height: 900 },
    ...options,
  });
  const page = context.pages()[0] || (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => {});
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Watch a page: every request (url, method, headers, body), console messages,
 * page errors, and CSP violations (console reports and `securitypolicyviolation`
 * events). Call before navigating.
 */
export async function guardPage(page) {
  const g = { requests: [], console: [], errors: [], cspViolations: [] };
  await page.addInitScript(() => {
    document.addEventListener(
      "securitypolicyviolation",
      (e) => console.error(`securitypolicyviolation: Content Security Policy ${e.violatedDirective} blocked ${e.blockedURI}`),
      true,
    );
  });
  page.on("request", (r) => {
    g.requests.push({ url: r.url(), method: r.method(), headers: r.headers(), body: r.postData() || "" });
  });
  page.on("console", (m) => {
    const text = m.text();
    g.console.push({ type: m.type(), text });
    if (/Content Security Policy|securitypolicyviolation/i.test(text)) g.cspViolations.push(text);
  });
  page.on("pageerror", (e) => g.errors.push(String(e && e.stack ? e.stack : e)));
  return g;
}

/** Everything the page sent, as one string (for "does X appear anywhere"). */
export function requestsText(g) {
  return g.requests.map((r) => `${r.method} ${r.url}\n${JSON.stringify(r.headers)}\n${r.body}`).join("\n");
}

/**
 * Save a screenshot under test-artifacts/; returns the path. A full-page shot
 * shows sections below the first screen as a reader scrolling down sees them:
 * the JWT report lays those out only when scrolled to (`content-visibility:
 * auto`), and a full-page capture does not scroll, so they would come out as
 * empty boxes. For the shot they are made visible (inline style, also inside
 * open shadow roots), then put back.
 */
export async function screenshot(page, name, opts = {}) {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  const fullPage = opts.fullPage ?? true;
  const shown = fullPage ? await page.evaluate(showDeferredSections).catch(() => 0) : 0;
  try {
    await page.screenshot({ path, fullPage, ...opts });
  } finally {
    if (shown) await page.evaluate(restoreDeferredSections).catch(() => {});
  }
  return path;
}

/** In the page: every element laid out only when near the viewport, made visible; how many. */
function showDeferredSections() {
  const found = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (getComputedStyle(el).contentVisibility === "auto") found.push(el);
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  globalThis.__sealpostShotRestore = found.map((el) => [el, el.style.contentVisibility]);
  for (const el of found) el.style.contentVisibility = "visible";
  return new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(found.length))));
}

/** In the page: undo showDeferredSections. */
function restoreDeferredSections() {
  for (const [el, before] of globalThis.__sealpostShotRestore || []) el.style.contentVisibility = before;
  delete globalThis.__sealpostShotRestore;
}

/**
 * Run axe-core in the page. Injected with page.evaluate (a DevTools
 * evaluation, which the page's CSP does not govern: a <script> tag from
 * addScriptTag would be an inline script and be blocked). `preload: false`
 * stops axe from copying stylesheets into <style> elements, which the CSP
 * would (rightly) report as violations; only css-orientation-lock needs them.
 */
export async function runAxe(page, context = null) {
  const require = createRequire(import.meta.url);
  const src = await readFile(require.resolve("axe-core/axe.min.js"), "utf8");
  await page.evaluate(src);
  return page.evaluate(
    async (ctx) =>
      // eslint-disable-next-line no-undef
      (await axe.run(ctx || document, { resultTypes: ["violations"], preload: false })).violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => n.target.join(" ")),
      })),
    context,
  );
}
