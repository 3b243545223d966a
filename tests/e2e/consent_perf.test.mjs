// Performance of the consent page on loopback: navigation -> request shown
// and ready to confirm ("ready"), confirm -> form, submit -> done; medians of
// several runs (plus the module mount and WASM-ready marks, from navigation
// start), and the bytes transferred for page + assets + WASM bundle.
//   - against the real broker and against the Node fake broker (a quick static
//     server: separates the page's own cost from the broker's latency);
//   - "cold": fresh Chromium profile per run; "warm": one browser, a new page
//     per run with the HTTP cache disabled.
// Figures go to test-artifacts/consent-perf.json and stdout. The assertions
// are loose ceilings, so a busy shared machine does not fail the suite.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadavg } from "node:os";
import { gzipSync, brotliCompressSync } from "node:zlib";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startBroker } from "./lib/broker.mjs";
import { startFakeBroker } from "./lib/fake-broker.mjs";
import { launchBrowser, guardPage } from "./lib/browser.mjs";
import { TestAgent } from "./lib/agent.mjs";
import { ALL_FIELD_TYPES, fillForm, waitForState } from "./lib/consent.mjs";
import { ARTIFACTS_DIR } from "./lib/env.mjs";

const RUNS = Number(process.env.SEALPOST_PERF_RUNS || 5);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return Math.round(s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2);
};

/** One pass through the flow on `page`; returns timings and per-URL transfer sizes. */
async function onePass(page, url) {
  const g = await guardPage(page);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  const byId = new Map();
  cdp.on("Network.responseReceived", (e) => {
    const h = Object.fromEntries(Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), v]));
    byId.set(e.requestId, { url: e.response.url, encoding: h["content-encoding"] || "none", bytes: 0 });
  });
  cdp.on("Network.loadingFinished", (e) => {
    const r = byId.get(e.requestId);
    if (r) r.bytes = e.encodedDataLength;
  });
  try {
    await page.goto(url);
    await waitForState(page, "review");
    await page.getByTestId("confirm").click();
    await waitForState(page, "form");
    await fillForm(page, { "API key": "sk-perf-not-secret", Region: "eu-west-1" });
    await page.getByTestId("submit").click();
    await waitForState(page, "done");
    const m = await page.evaluate(() =>
      Object.fromEntries(performance.getEntriesByType("mark").filter((x) => x.name.startsWith("sealpost:")).map((x) => [x.name, x.startTime])),
    );
    assert.deepEqual(g.cspViolations, []);
    return {
      ready: m["sealpost:review"],
      mount: m["sealpost:mount"],
      bundleReady: m["sealpost:bundle-ready"],
      confirmToForm: m["sealpost:form"] - m["sealpost:confirm"],
      submitToDone: m["sealpost:done"] - m["sealpost:submit"],
      transfers: [...byId.values()].filter((r) => !r.url.includes("/v1/")),
    };
  } finally {
    await cdp.detach().catch(() => {});
  }
}

async function series(newSessionUrl, mode) {
  const runs = [];
  let shared = mode === "warm" ? await launchBrowser() : null;
  try {
    if (shared) await onePass(shared.page, await newSessionUrl()); // warm-up, not counted
    for (let i = 0; i < RUNS; i++) {
      const url = await newSessionUrl();
      if (shared) {
        const page = await shared.context.newPage();
        runs.push(await onePass(page, url));
        await page.close();
      } else {
        const b = await launchBrowser();
        try {
          runs.push(await onePass(b.page, url));
        } finally {
          await b.close();
        }
      }
    }
  } finally {
    if (shared) await shared.close();
  }
  const pick = (k) => ({ median: median(runs.map((r) => r[k])), all: runs.map((r) => Math.round(r[k])) });
  return { mount: pick("mount"), bundleReady: pick("bundleReady"), ready: pick("ready"), confirmToForm: pick("confirmToForm"), submitToDone: pick("submitToDone"), transfers: runs[0].transfers };
}

test(`performance: ${RUNS} runs per series, real broker and Node static server, cold and warm`, async () => {
  const broker = await startBroker();
  const agent = await TestAgent.create(broker.url);
  const fake = await startFakeBroker({
    session: { code: "PERF-0001", public_key: agent.publicKeyB64, display_name: "Perf", fields: ALL_FIELD_TYPES, expires_at: new Date(Date.now() + 600_000).toISOString() },
    handlers: {
      // Every pass starts from a pending session.
      connect: (ctx, next, state) => {
        state.status = "pending";
        return next();
      },
    },
  });
  try {
    const brokerSession = async () => {
      const s = await agent.createSession({ fields: ALL_FIELD_TYPES, display_name: "Perf" });
      return s.verification_uri_complete || s.url;
    };
    const fakeSession = async () => `${fake.url}/connect/PERF-0001`;
    const load0 = loadavg()[0];
    const results = {
      broker: { cold: await series(brokerSession, "cold"), warm: await series(brokerSession, "warm") },
      nodeStatic: { cold: await series(fakeSession, "cold"), warm: await series(fakeSession, "warm") },
    };
    // Raw and compressed sizes of what the broker served, fetched once more.
    const sizes = [];
    for (const t of results.broker.cold.transfers) {
      const res = await fetch(t.url, { headers: { "Accept-Encoding": "identity" } });
      const raw = Buffer.from(await res.arrayBuffer());
      sizes.push({
        path: new URL(t.url).pathname.replace(/\/connect\/.+/, "/connect/{code}"),
        raw: raw.length,
        gzip9: gzipSync(raw, { level: 9 }).length,
        brotli: brotliCompressSync(raw).length,
        transferred: t.bytes,
        servedEncoding: t.encoding,
      });
    }
    const sum = (k) => sizes.reduce((a, s) => a + s[k], 0);
    const strip = (s) => ({ mount: s.mount.median, bundleReady: s.bundleReady.median, ready: s.ready, confirmToForm: s.confirmToForm, submitToDone: s.submitToDone });
    const report = {
      runsPerSeries: RUNS,
      loadAverage: { start: Number(load0.toFixed(2)), end: Number(loadavg()[0].toFixed(2)), cpus: (await import("node:os")).cpus().length },
      timingsMs: {
        broker: { cold: strip(results.broker.cold), warm: strip(results.broker.warm) },
        nodeStatic: { cold: strip(results.nodeStatic.cold), warm: strip(results.nodeStatic.warm) },
      },
      bytes: {
        brokerCompresses: sizes.some((s) => s.servedEncoding !== "none"),
        transferredTotal: sum("transferred"),
        rawTotal: sum("raw"),
        gzip9Total: sum("gzip9"),
        brotliTotal: sum("brotli"),
        files: sizes,
      },
    };
    await mkdir(ARTIFACTS_DIR, { recursive: true });
    await writeFile(join(ARTIFACTS_DIR, "consent-perf.json"), JSON.stringify(report, null, 2));
    console.log(JSON.stringify(report, null, 2));
    assert.ok(report.timingsMs.broker.warm.ready.median < 3000, "ready under 3 s even on a busy machine");
    assert.ok(report.timingsMs.broker.warm.submitToDone.median < 3000, "submit to done under 3 s");
    assert.ok(report.bytes.gzip9Total < 200_000, "page + bundle under 200 KB gzip");
  } finally {
    await fake.stop();
    await broker.stop();
  }
});
