// The JWT inspector in Firefox (Debian's firefox-esr, headless, WebDriver
// BiDi through tests/e2e/lib/firefox.mjs): the unpacked Firefox package
// installs, the extension opens inspector.html itself (BiDi may not navigate
// to moz-extension:// URLs), the page loads the WASM under the MV3 CSP and
// renders a report for a pasted token, verifies it with a pasted key, and
// makes no network request. A screenshot goes to test-artifacts/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as jose from "jose";
import { DIST, ROOT } from "./lib/env.mjs";
import { FIREFOX, launchFirefox } from "./lib/firefox.mjs";

const PACKAGE = process.env.SEALPOST_EXTENSION_FIREFOX_DIR || join(DIST, "extension", "firefox");
const GECKO_ID = "sealpost@sealpost.dev";
const UUID = "0b3a7c55-5ea1-4b0f-9d2e-51a1c0ffee13";
const BASE = `moz-extension://${UUID}/`;
const FIX = join(ROOT, "crates/core/tests/fixtures/jwt");

let ff;

before(async () => {
  assert.ok(existsSync(FIREFOX), `${FIREFOX} missing: cargo xtask test installs firefox-esr`);
  assert.ok(existsSync(join(PACKAGE, "inspector.html")), `missing ${PACKAGE}/inspector.html: run \`cargo xtask extension\``);
  ff = await launchFirefox({ uuids: { [GECKO_ID]: UUID } });
  await ff.subscribe(["network.beforeRequestSent"]);
});

after(async () => {
  await ff?.close();
});

test("Firefox: the inspector loads the WASM, renders a report and verifies with a pasted key", async () => {
  assert.equal(await ff.installExtension(PACKAGE), GECKO_ID);
  const firstRun = await ff.waitForContext((c) => c.url.startsWith(BASE), { timeoutMs: 20_000 });
  await ff.waitFor(firstRun, "() => document.readyState === 'complete'", [], { what: "first-run page loaded" });
  const before = new Set((await ff.contexts()).map((c) => c.context));
  await ff.call(firstRun, "() => browser.tabs.create({ url: 'inspector.html' }).then(() => true)");
  const ctx = await ff.waitForContext((c) => !before.has(c.context) && c.url.startsWith(`${BASE}inspector.html`));
  await ff.waitFor(ctx, "() => document.body && document.body.dataset.ready === '1'", [], { what: "inspector ready", timeoutMs: 20_000 });

  const priv = await jose.importPKCS8(readFileSync(join(FIX, "ecp256.key"), "utf8"), "ES256");
  const now = Math.floor(Date.now() / 1000);
  const token = await new jose.SignJWT({ sub: "u1", email: "ada@example.com", act: { sub: "agent-a" } })
    .setProtectedHeader({ alg: "ES256", typ: "at+jwt" }).setIssuer("https://as.example").setAudience("api").setIssuedAt(now).setExpirationTime(now + 600).sign(priv);
  const fill = "(id, v) => { const el = document.getElementById(id); el.value = v; el.dispatchEvent(new Event('input', { bubbles: true })); return true; }";
  await ff.call(ctx, fill, ["token", `Bearer ${token}`]);
  const report = await ff.waitFor(
    ctx,
    "() => { const r = document.querySelector('[data-testid=jwt-report]'); if (!r) return null; return { kind: r.querySelector('[data-testid=jwt-kind]').dataset.kind, codes: [...r.querySelectorAll('[data-testid=jwt-findings] > li')].map((l) => l.dataset.code), verdict: r.querySelector('[data-testid=jwt-verdict]').dataset.status, actors: r.querySelectorAll('[data-testid=jwt-act-chain] [data-depth]').length }; }",
    [],
    { what: "report rendered" },
  );
  assert.equal(report.kind, "access_token");
  assert.equal(report.verdict, "not_attempted");
  assert.equal(report.actors, 1);
  assert.ok(report.codes.includes("JWT_PII_EMAIL"), report.codes.join());
  await ff.call(ctx, fill, ["vkey", readFileSync(join(FIX, "ecp256.pub"), "utf8")]);
  const verdict = await ff.waitFor(ctx, "() => document.querySelector('[data-testid=verify-verdict][data-status=valid]')?.textContent || null", [], { what: "verified" });
  assert.match(verdict, /Signature verified with EC P-256 key/);
  await ff.setViewport(ctx, 1024, 900);
  await ff.screenshot(ctx, "inspector-firefox-report");
  const requests = ff.bidi.events.filter((e) => e.method === "network.beforeRequestSent").map((e) => e.params.request.url);
  const outside = requests.filter((u) => !u.startsWith("moz-extension://") && !u.startsWith("data:"));
  assert.deepEqual(outside, []);
});
