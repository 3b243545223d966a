#!/usr/bin/env node
// Benchmark: the extension's JWT inspector, paste to report rendered, in
// headless Chromium with the unpacked package (issue 13). Two tokens: ~900
// bytes and ~8 KB (ES256, realistic claims padded with a long `data` claim).
//
// One run, inside inspector.html: performance.now(); the token is set in the
// box and an `input` event dispatched (the page inspects with the WASM engine
// and renders the whole report synchronously); a forced layout
// (document.body.offsetHeight); performance.now(). The baseline, in the same
// page and the same run: decode header and claims with atob + JSON.parse and
// render them as plain `JSON.stringify(…, null, 2)` text in a <pre>, then the
// same forced layout. Runs alternate inspector/baseline; medians of --runs
// (default 30, >= 20) after 5 warm-ups. Goal: under one frame (16.7 ms) for
// the 900-byte token; both reported as a ratio to the baseline.
// A benchmark, not a test: prints figures, exits 0 whatever they are.
//
//   cargo xtask build   (or cargo xtask extension)
//   node bench/inspector.mjs [--runs 30] [--json]
import * as jose from "jose";
import { cpus, loadavg } from "node:os";
import { launchWithExtension } from "../tests/e2e/lib/extension.mjs";

const args = process.argv.slice(2);
const runs = args.includes("--runs") ? Number.parseInt(args[args.indexOf("--runs") + 1], 10) : 30;
const json = args.includes("--json");
if (!(runs >= 20)) throw new Error("--runs must be >= 20");
const WARMUP = 5;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function tokenOfSize(target, key) {
  const now = Math.floor(Date.now() / 1000);
  const base = {
    iss: "https://login.example.com/tenant/v2.0",
    sub: "248289761001",
    aud: ["https://api.example.com", "https://files.example.com"],
    azp: "web-client",
    client_id: "web-client",
    scope: "openid profile email read:files write:files",
    roles: ["reader", "editor"],
    email: "ada@example.com",
    act: { sub: "agent-a", act: { sub: "agent-b" } },
    iat: now,
    nbf: now,
    exp: now + 3600,
    jti: "b1f0c3d2-7e65-4d8b-9a43-5c1e2f3a4b5c",
    data: "",
  };
  const sign = (claims) => new jose.SignJWT(claims).setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: "bench-key-1" }).sign(key);
  let t = await sign(base);
  // Pad the `data` claim until the token is the target size (base64 grows 4/3).
  base.data = "x".repeat(Math.max(0, Math.floor(((target - t.length) * 3) / 4)));
  t = await sign(base);
  while (t.length > target && base.data.length) {
    base.data = base.data.slice(0, -1);
    t = await sign(base);
  }
  return t;
}

const { privateKey } = await jose.generateKeyPair("ES256");
const tokens = { "900 B": await tokenOfSize(900, privateKey), "8 KB": await tokenOfSize(8192, privateKey) };

const ext = await launchWithExtension({ colorScheme: "light" });
const results = {};
try {
  const page = await ext.openPage("inspector.html");
  await page.waitForSelector("body[data-ready]");
  for (const [name, token] of Object.entries(tokens)) {
    const out = await page.evaluate(
      async ({ token, runs, warmup }) => {
        const box = document.getElementById("token");
        const area = document.getElementById("report-area");
        const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
        const inspector = () => {
          box.value = "";
          box.dispatchEvent(new Event("input"));
          void document.body.offsetHeight;
          const t0 = performance.now();
          box.value = token;
          box.dispatchEvent(new Event("input"));
          void document.body.offsetHeight;
          const dt = performance.now() - t0;
          if (!area.querySelector("[data-testid=jwt-report]")) throw new Error("no report rendered");
          return dt;
        };
        const baseline = () => {
          area.replaceChildren();
          void document.body.offsetHeight;
          const t0 = performance.now();
          const [hd, pl] = token.split(".");
          const dec = (s) => JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0))));
          const pre = document.createElement("pre");
          pre.textContent = `${JSON.stringify(dec(hd), null, 2)}\n${JSON.stringify(dec(pl), null, 2)}`;
          area.replaceChildren(pre);
          void document.body.offsetHeight;
          return performance.now() - t0;
        };
        const a = [];
        const b = [];
        for (let i = 0; i < warmup + runs; i++) {
          const x = inspector();
          await frame();
          const y = baseline();
          await frame();
          if (i >= warmup) {
            a.push(x);
            b.push(y);
          }
        }
        return { inspector: a, baseline: b };
      },
      { token, runs, warmup: WARMUP },
    );
    results[name] = {
      bytes: token.length,
      inspectorMs: median(out.inspector),
      baselineMs: median(out.baseline),
      ratio: median(out.inspector) / median(out.baseline),
      inspectorMin: Math.min(...out.inspector),
      inspectorMax: Math.max(...out.inspector),
    };
  }
} finally {
  await ext.close();
}

if (json) {
  console.log(JSON.stringify({ runs, results }, null, 2));
} else {
  console.log(`JWT inspector, paste -> report rendered (forced layout), headless Chromium, median of ${runs} (${cpus().length} cores, load ${loadavg()[0].toFixed(2)})`);
  for (const [name, r] of Object.entries(results)) {
    console.log(
      `  ${name.padEnd(6)} (${String(r.bytes).padStart(5)} chars): inspector ${r.inspectorMs.toFixed(2)} ms (min ${r.inspectorMin.toFixed(2)}, max ${r.inspectorMax.toFixed(2)}), ` +
        `JSON.stringify baseline ${r.baselineMs.toFixed(2)} ms, ratio ${r.ratio.toFixed(1)}x${name === "900 B" ? `; goal < 16.7 ms: ${r.inspectorMs < 16.7 ? "met" : "NOT met"}` : ""}`,
    );
  }
}
