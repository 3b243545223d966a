#!/usr/bin/env node
// Benchmark: how fast the broker's consent page is ready, as a ratio to a
// trivial static module page served by the same broker in the same run
// (issue 15, item 2: goal <= 1.3x).
//  - consent: /connect/{code} of a fresh session -> the request shown with its
//             code and fingerprint and the confirm button visible (the consent
//             flow's "review" state). Since session 9 the page computes that
//             fingerprint with WebCrypto (www/consent-key.js) and instantiates
//             the seal-only WASM after the review is drawn; the WASM computes
//             it again and confirm waits for that check: the waterfall's
//             `bundle-ready` is when it is in (before: when the review could be
//             built at all);
//  - static:  an HTML page with one module script that adds a button, served
//             from the same --www-dir by the same broker (same transport, same
//             headers, same compression) -> that button visible. (Since
//             session 11 the broker writes the consent page's script, style
//             sheet and look-up into its answer, crates/broker/src/page.rs,
//             and that answer carries a `Link` preload header for the WASM:
//             part of what is measured; the static page, a plain file under
//             /assets/, loads its one script as a file of its own.)
// Each run uses a fresh browser context (empty HTTP cache, no connection
// reuse across runs); times are taken in the page from its navigation start
// (performance.now()) at the first animation frame in which the condition
// holds (a probe installed before any page script runs; it reports by a
// console message, so the harness evaluates nothing in a page before it is
// ready). Runs are
// interleaved static/consent; medians of --runs (default 15, >= 12) after
// --warmup rounds (default 2). Also prints what the consent page transferred
// (bytes and content coding per file) in the last run.
// The browser runs without Chromium's WebUI omnibox popup (156+): headless,
// every new context's window loaded it (150-400 chrome:// requests, lit, its
// renderer), often during the page being measured, more often the longer
// consent page than the static one (CDP traces: 3 of 3 consent loads, 0 of 3
// static ones) - browser chrome, not either page. `--omnibox-webui` keeps it
// (the harness as before session 7).
// A benchmark, not a test: prints figures, exits 0 whatever they are (non-zero
// only when it cannot run at all).
//
//   cargo xtask build --only seal && cargo build -p sealpost-broker
//   node bench/consent.mjs [--runs 15] [--warmup 2] [--www DIR] [--throttle KBPS:RTT] [--json]
//   (--www: bench another version of the page directory, e.g. an older
//   commit's `git archive <rev> www | tar -x -C /tmp/old`; --compare DIR: also
//   that version's consent page, on a broker of its own, interleaved in the
//   same rounds, so a before/after ratio survives a busy machine; repeatable;
//   --compare-bin BIN: the broker binary for the --compare before it, e.g. a
//   copy of the old build when crates/broker/src/web.rs changed)
//   (SEALPOST_BROKER_BIN=target/release/sealpost-broker to bench a release broker;
//   --throttle 200:40: every page on an emulated network of 200 KB/s and 40 ms
//   added latency per request (CDP Network.emulateNetworkConditions): loopback
//   delivers the small request, the scripts and the WASM at about the same
//   time, a slower network does not)
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir, loadavg, cpus } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { TestAgent } from "../tests/e2e/lib/agent.mjs";
import { CHROMIUM_FLAGS } from "../tests/e2e/lib/browser.mjs";
import { BROKER_BIN, CHROMIUM, WWW_DIR, requireBuilt, requireSealBundle } from "../tests/e2e/lib/env.mjs";

function parseArgs(argv) {
  const opts = { runs: 15, warmup: 2, json: false, www: WWW_DIR, compare: [], omniboxWebui: false, throttle: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--runs") opts.runs = Number.parseInt(argv[++i], 10);
    else if (a === "--warmup") opts.warmup = Number.parseInt(argv[++i], 10);
    else if (a === "--json") opts.json = true;
    else if (a === "--omnibox-webui") opts.omniboxWebui = true;
    else if (a === "--throttle") {
      const m = /^(\d+):(\d+)$/.exec(argv[++i] || "");
      if (!m) throw new Error("--throttle KBPS:RTT_MS, e.g. 200:40");
      opts.throttle = { kbps: Number(m[1]), rtt: Number(m[2]) };
    }
    else if (a === "--www") opts.www = argv[++i];
    else if (a === "--compare") opts.compare.push({ www: argv[++i], bin: BROKER_BIN });
    else if (a === "--compare-bin") {
      if (!opts.compare.length) throw new Error("--compare-bin BIN follows the --compare DIR it applies to");
      opts.compare[opts.compare.length - 1].bin = argv[++i];
    }
    else if (a === "-h" || a === "--help") {
      console.log("node bench/consent.mjs [--runs N>=12] [--warmup N] [--www DIR (another version of www/)] [--compare DIR [--compare-bin BIN] (also that version, interleaved, on its own broker; repeatable)] [--omnibox-webui (leave Chromium's WebUI omnibox popup on)] [--throttle KBPS:RTT_MS (CDP network emulation for every page)] [--json]");
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!(opts.runs >= 12)) throw new Error("--runs must be >= 12 (medians of at least 12 runs)");
  return opts;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Chromium features of the WebUI omnibox popup (see the header). */
const NO_OMNIBOX_WEBUI = "WebUIOmniboxPopup,WebUIOmniboxFullPopup,WebUIOmniboxAimPopup";

const STATIC_HTML = "bench-static.html";
const STATIC_JS = "bench-static.js";

/**
 * Runs in every page before its own scripts: records in `window.__benchReady`
 * the time (from navigation start) of the first animation frame in which the
 * confirm button is visible (in the document or an open shadow root) and,
 * on the consent page, the code and fingerprint are shown.
 */
function readinessProbe() {
  const find = (root) => {
    const el = root.querySelector("[data-testid=confirm]");
    if (el) return { el, root };
    for (const host of root.querySelectorAll("*")) {
      if (host.shadowRoot) {
        const r = find(host.shadowRoot);
        if (r) return r;
      }
    }
    return null;
  };
  const ready = () => {
    const hit = document.documentElement && find(document);
    if (!hit || !hit.el.checkVisibility() || hit.el.getBoundingClientRect().height === 0) return false;
    if (hit.root === document) return true; // the static page
    const fp = hit.root.querySelector("[data-testid=fingerprint]");
    const code = hit.root.querySelector("[data-testid=code]");
    return !!(fp && fp.textContent.trim() && code && code.textContent.trim());
  };
  const tick = () => {
    if (window.__benchReady !== undefined) return;
    if (ready()) {
      window.__benchReady = performance.now();
      // Tells the harness without it evaluating anything in the page.
      console.debug("sealpost-bench-ready");
    } else requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

/** The broker (as tests/e2e/lib/broker.mjs starts it) with our own --www-dir. */
async function startBroker(www, dataDir, bin = BROKER_BIN) {
  requireBuilt(bin, "build it with `cargo build -p sealpost-broker`");
  const args = ["--listen", "127.0.0.1:0", "--db", join(dataDir, "broker.db"), "--www-dir", www, "--bundle-dir", requireSealBundle()];
  // Many page opens from one client in a minute: lift the connect limits.
  args.push("--connect-rate", "100000", "--connect-rate-client", "0");
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "ignore"] });
  const url = await new Promise((resolve, reject) => {
    let buf = "";
    child.stdout.on("data", (d) => {
      buf += d;
      const m = /sealpost-broker listening on (https?:\/\/\S+)/.exec(buf);
      if (m) resolve(m[1].replace(/\/+$/, ""));
    });
    child.once("exit", (code) => reject(new Error(`broker exited (${code})`)));
  });
  child.stdout.resume();
  return { url, stop: () => new Promise((r) => (child.exitCode !== null ? r() : (child.once("exit", r), child.kill("SIGTERM")))) };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  // The page directory as it is, plus the static page, in a temporary copy.
  const temps = [];
  const serve = async (source, bin) => {
    const www = await mkdtemp(join(tmpdir(), "sealpost-bench-www-"));
    const data = await mkdtemp(join(tmpdir(), "sealpost-bench-db-"));
    temps.push(www, data);
    await cp(source, www, { recursive: true });
    await writeFile(
      join(www, STATIC_HTML),
      '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>static</title>\n' +
        `<script type="module" src="/assets/${STATIC_JS}"></script>\n</head>\n<body></body>\n</html>\n`,
    );
    await writeFile(
      join(www, STATIC_JS),
      'const b = document.createElement("button");\nb.dataset.testid = "confirm";\nb.textContent = "Confirm";\ndocument.body.append(b);\n',
    );
    return startBroker(www, data, bin);
  };
  const broker = await serve(opts.www);
  const others = [];
  for (const c of opts.compare) others.push(await serve(c.www, c.bin));
  const compareKey = (i) => `compare${i + 1}`;
  const args = opts.omniboxWebui ? CHROMIUM_FLAGS : [...CHROMIUM_FLAGS, `--disable-features=${NO_OMNIBOX_WEBUI}`];
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args });
  const times = { static: [], consent: [], ...Object.fromEntries(others.map((_, i) => [compareKey(i), []])) };
  let transfers = [];
  const waterfall = {};
  try {
    const agents = new Map();
    const consentUrl = async (b) => {
      if (!agents.has(b)) agents.set(b, await TestAgent.create(b.url));
      const s = await agents.get(b).createSession({ template: "api_key", display_name: "Bench key", reason: "Benchmark.", ttl: 3600 });
      return s.verification_uri_complete || s.url;
    };
    const one = async (kind) => {
      const url = kind === "static" ? `${broker.url}/assets/${STATIC_HTML}` : await consentUrl(kind === "consent" ? broker : others[Number(kind.slice(7)) - 1]);
      const context = await browser.newContext({ viewport: { width: 1024, height: 900 } });
      try {
        await context.addInitScript(readinessProbe);
        const page = await context.newPage();
        if (opts.throttle) {
          // Same emulated network for every page (CDP), before the navigation.
          const cdp = await context.newCDPSession(page);
          await cdp.send("Network.enable");
          const bytes = opts.throttle.kbps * 1024;
          await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: opts.throttle.rtt, downloadThroughput: bytes, uploadThroughput: bytes });
        }
        const seen = [];
        page.on("response", async (r) => {
          const h = r.headers();
          const size = await r.request().sizes().then((s) => s.responseBodySize, () => -1);
          seen.push({ url: new URL(r.url()).pathname, status: r.status(), encoding: h["content-encoding"] || "none", bytes: size });
        });
        // Wait for the probe's console message, not with `waitForFunction`:
        // that injects Playwright's own script into the page (measured: 70-125
        // ms of main-thread work on this machine), which then lands in the
        // middle of whichever page is still loading.
        const readyEvent = page.waitForEvent("console", { predicate: (m) => m.text() === "sealpost-bench-ready", timeout: 20_000 });
        await page.goto(url, { waitUntil: "commit" });
        await readyEvent;
        const t = await page.evaluate(() => window.__benchReady);
        if (kind === "consent") {
          transfers = seen;
          // Where the time goes: the page's own marks and when each file
          // arrived, once the bundle is in (it loads after the review is
          // drawn; waited for here, after the time above was taken).
          await page
            .waitForFunction(() => performance.getEntriesByName("sealpost:bundle-ready").length > 0, null, { timeout: 5_000, polling: 20 })
            .catch(() => {});
          const w = await page.evaluate(() => {
            const out = {};
            for (const m of performance.getEntriesByType("mark")) if (m.name.startsWith("sealpost:")) out[m.name.slice(9)] = m.startTime;
            const nav = performance.getEntriesByType("navigation")[0];
            if (nav) out["html"] = nav.responseEnd;
            for (const r of performance.getEntriesByType("resource")) {
              const name = new URL(r.name).pathname.replace(/^\/v1\/connect\/.*/, "GET /v1/connect/{code}").replace(/^.*\//, "");
              out[`${name} start`] = r.startTime;
              out[`${name} end`] = r.responseEnd;
            }
            return out;
          });
          for (const [k, v] of Object.entries(w)) (waterfall[k] ||= []).push(v);
        }
        return t;
      } finally {
        await context.close();
      }
    };
    // Each round loads every page once, in an order rotated by one per round:
    // a page measured right after another one (the previous context's
    // renderer still exiting, GC) is not always the same page.
    const kinds = Object.keys(times);
    for (let i = 0; i < opts.warmup + opts.runs; i++) {
      for (let j = 0; j < kinds.length; j++) {
        const kind = kinds[(i + j) % kinds.length];
        const t = await one(kind);
        if (i >= opts.warmup) times[kind].push(t);
      }
    }
  } finally {
    await browser.close().catch(() => {});
    await broker.stop();
    for (const o of others) await o.stop();
    for (const d of temps) await rm(d, { recursive: true, force: true });
  }
  const s = median(times.static);
  const c = median(times.consent);
  // Median of the per-round ratios (each round loads every page once, in a
  // row): steadier than a ratio of medians when the machine's load drifts.
  const paired = (a, b) => Math.round(median(times[a].map((x, i) => x / times[b][i])) * 100) / 100;
  const result = {
    runs: opts.runs,
    staticMs: Math.round(s * 10) / 10,
    consentMs: Math.round(c * 10) / 10,
    ratio: Math.round((c / s) * 100) / 100,
    pairedRatio: paired("consent", "static"),
    compare: opts.compare.map((c, i) => ({
      www: c.www,
      bin: c.bin,
      ms: Math.round(median(times[compareKey(i)]) * 10) / 10,
      ratio: Math.round((median(times[compareKey(i)]) / s) * 100) / 100,
      pairedRatio: paired(compareKey(i), "static"),
      consentOverThis: paired("consent", compareKey(i)),
    })),
    goal: 1.3,
    omniboxWebui: opts.omniboxWebui,
    throttle: opts.throttle,
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
    cpus: cpus().length,
    consentTransfers: transfers,
    consentWaterfall: Object.fromEntries(
      Object.entries(waterfall)
        .map(([k, v]) => [k, Math.round(median(v) * 10) / 10])
        .sort((a, b) => a[1] - b[1]),
    ),
    all: times,
  };
  if (opts.json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  console.log(`consent page ready (navigation -> code, fingerprint and confirm button shown), fresh context per run, median of ${opts.runs}:`);
  console.log(`  static module page  ${result.staticMs} ms`);
  console.log(`  consent page        ${result.consentMs} ms`);
  console.log(`  ratio               ${result.ratio}x (goal <= ${result.goal}x); median of per-round ratios ${result.pairedRatio}x`);
  for (const c of result.compare) {
    console.log(`  --compare page      ${c.ms} ms, ratio ${c.ratio}x, per-round ${c.pairedRatio}x (${c.www}${c.bin === BROKER_BIN ? "" : `, broker ${c.bin}`})`);
    console.log(`                      consent page / this one, per round: ${c.consentOverThis}x`);
  }
  if (opts.omniboxWebui) console.log("  (Chromium's WebUI omnibox popup left on: --omnibox-webui)");
  if (opts.throttle) console.log(`  (network emulated: ${opts.throttle.kbps} KB/s each way, ${opts.throttle.rtt} ms added latency)`);
  console.log(`  load average ${result.loadavg.join(" ")} on ${result.cpus} cores${result.loadavg[0] > result.cpus * 0.5 ? " (busy machine: figures are noisy)" : ""}`);
  console.log("  consent page waterfall (medians, ms from navigation start):");
  for (const [k, v] of Object.entries(result.consentWaterfall)) console.log(`    ${String(v).padStart(7)}  ${k}`);
  console.log("  consent page transfers (last run):");
  for (const r of transfers) console.log(`    ${String(r.status).padEnd(4)}${r.encoding.padEnd(6)}${String(r.bytes).padStart(8)} B  ${r.url.replace(/\/connect\/.*/, "/connect/{code}").replace(/\/v1\/connect\/.*/, "/v1/connect/{code}")}`);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
