// The broker's offline JWT inspector (/jwt, issue 13 item 7) in headless
// Chromium against the real broker: the page carries its own CSP with
// `connect-src 'none'`, loads the full WASM bundle without any fetch (the
// glue and the .wasm as script modules), renders the report of a pasted
// token, verifies it against a pasted JWK and a JWKS of three keys (the wrong
// key fails), checks a DPoP proof against its access token in the same box as
// the extension's inspector (both pages run www/jwt-inspector.js), and makes no request but its own files: every request of the
// page is recorded and checked. axe on the empty page and the report;
// screenshots light and dark under test-artifacts/.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import * as jose from "jose";
import { startBroker } from "./lib/broker.mjs";
import { guardPage, launchBrowser, runAxe, screenshot } from "./lib/browser.mjs";

const CSP_JWT =
  "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'none'; " +
  "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
const NOW = Math.floor(Date.now() / 1000);
/** The page's own files: the page, /assets/* and the full bundle under /jwt/. */
const OWN = /^\/(jwt|jwt\/[A-Za-z0-9._-]+|assets\/(jwt-page\.(js|css)|jwt-inspector\.js|jwt-har\.js|jwt-view\.(js|css)|ext\.css|inspector\.css))$/;

let broker;
let token; // ES256, signed by `good`
let goodJwk;
let otherJwk;
let rsaJwk;

before(async () => {
  broker = await startBroker();
  const good = await jose.generateKeyPair("ES256", { extractable: true });
  const other = await jose.generateKeyPair("ES256", { extractable: true });
  const rsa = await jose.generateKeyPair("RS256", { extractable: true });
  goodJwk = { ...(await jose.exportJWK(good.publicKey)), kid: "good", alg: "ES256", use: "sig" };
  otherJwk = { ...(await jose.exportJWK(other.publicKey)), kid: "other", alg: "ES256", use: "sig" };
  rsaJwk = { ...(await jose.exportJWK(rsa.publicKey)), kid: "rsa", alg: "RS256", use: "sig" };
  token = await new jose.SignJWT({ scope: "read write", email: "ada@example.com" })
    .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: "good" })
    .setIssuer("https://as.example")
    .setSubject("user-1")
    .setAudience("api")
    .setIssuedAt(NOW)
    .setExpirationTime(NOW + 900)
    .setJti("j-1")
    .sign(good.privateKey);
});
after(async () => {
  await broker?.stop();
});

async function openInspector(colorScheme = "light") {
  const b = await launchBrowser({ colorScheme });
  const g = await guardPage(b.page);
  const res = await b.page.goto(`${broker.url}/jwt`);
  await b.page.waitForSelector("html[data-engine=ready]", { timeout: 20_000 });
  return { b, g, res, page: b.page };
}

function assertOnlyOwnFiles(g) {
  const foreign = g.requests.filter((r) => {
    const u = new URL(r.url);
    return u.origin !== broker.url || r.method !== "GET" || !OWN.test(u.pathname);
  });
  assert.deepEqual(foreign.map((r) => `${r.method} ${r.url}`), [], "the page requested something other than its own files");
  // Nothing under /v1/, never the .wasm by fetch (the policy would refuse it anyway).
  assert.ok(!g.requests.some((r) => r.url.endsWith(".wasm")), "the .wasm itself was requested");
}

describe("broker /jwt", () => {
  test("served with its own CSP (connect-src 'none'); the bundle modules are served compressed", async () => {
    const res = await fetch(`${broker.url}/jwt`, { headers: { "Accept-Encoding": "br, gzip" } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type"), /^text\/html/);
    assert.equal(res.headers.get("content-security-policy"), CSP_JWT);
    // The same file under /assets/ keeps the strict policy; the consent page keeps its own.
    const same = await fetch(`${broker.url}/assets/jwt.html`);
    assert.equal(same.headers.get("content-security-policy"), CSP_JWT);
    const consent = await fetch(`${broker.url}/connect`);
    assert.match(consent.headers.get("content-security-policy"), /connect-src 'self'/);
    // The .wasm as a script module: standard base64 of the bundle's .wasm bytes.
    const mod = await fetch(`${broker.url}/jwt/sealpost_wasm_bg.wasm.js`);
    assert.equal(mod.status, 200);
    assert.match(mod.headers.get("content-type"), /^text\/javascript/);
    assert.ok(["br", "gzip"].includes(mod.headers.get("content-encoding")), "compressed");
    const text = await mod.text();
    const b64 = /export default "([A-Za-z0-9+/=]+)";/.exec(text)[1];
    const wasm = await (await fetch(`${broker.url}/jwt/sealpost_wasm_bg.wasm`)).arrayBuffer();
    assert.deepEqual(Buffer.from(b64, "base64"), Buffer.from(wasm));
    assert.equal((await fetch(`${broker.url}/jwt/nope.js`)).status, 404);
    assert.equal((await fetch(`${broker.url}/jwt/..%2Fseal%2Fsealpost_wasm.js`)).status, 404);
  });

  test("a pasted token renders its report; a pasted JWK verifies it, a wrong key does not; a JWKS of three names the match; no request but its own files", async () => {
    const { b, g, res, page } = await openInspector();
    try {
      assert.equal(res.headers()["content-security-policy"], CSP_JWT);
      // A JSON token response: the JWT inside is found (jwt-har.js, as in the extension).
      await page.fill("#token", JSON.stringify({ access_token: token, token_type: "Bearer" }));
      await page.waitForFunction(() => document.querySelector("[data-testid=jwt-kind]")?.dataset.kind === "access_token");
      await page.fill("#token", `Bearer ${token}`);
      const report = page.locator("[data-testid=jwt-report]");
      await report.waitFor();
      const text = await report.innerText();
      assert.match(text, /https:\/\/as\.example/);
      assert.match(text, /ada@example\.com/);
      assert.match(text, /ES256/);
      assert.match(await page.locator("#status").innerText(), /Report ready: \d+ finding/);

      // The right public key: verified, naming it.
      await page.fill("#vkey", JSON.stringify(goodJwk));
      const verdict = page.locator("[data-testid=verify-verdict]");
      await page.waitForFunction(() => document.querySelector("[data-testid=verify-verdict]")?.dataset.status === "valid");
      assert.match(await verdict.innerText(), /Signature verified/);
      assert.match(await page.locator("#status").innerText(), /signature verified/);

      // A wrong key: never "verified".
      await page.fill("#vkey", JSON.stringify(otherJwk));
      await page.waitForFunction(() => document.querySelector("[data-testid=verify-verdict]")?.dataset.status !== "valid");
      assert.doesNotMatch(await verdict.innerText(), /Signature verified/);

      // A JWKS of three keys: the verdict names the matching key, each key is explained.
      await page.fill("#vkey", JSON.stringify({ keys: [rsaJwk, otherJwk, goodJwk] }));
      await page.waitForFunction(() => document.querySelector("[data-testid=verify-verdict]")?.dataset.status === "valid");
      assert.match(await verdict.innerText(), /good/);
      const items = page.locator("ol[data-testid=verify-keys] li");
      assert.equal(await items.count(), 3);
      assert.equal(await items.nth(2).getAttribute("data-status"), "matched");
      assert.notEqual(await items.nth(0).getAttribute("data-status"), "matched");
      assert.notEqual(await items.nth(1).getAttribute("data-status"), "matched");

      assert.deepEqual(g.errors, []);
      assert.deepEqual(g.cspViolations, []);
      assertOnlyOwnFiles(g);
      // The token and the keys went nowhere.
      const sent = g.requests.map((r) => `${r.url}\n${JSON.stringify(r.headers)}\n${r.body}`).join("\n");
      assert.ok(!sent.includes(token.split(".")[2]), "the token left the page");
    } finally {
      await b.close();
    }
  });

  test("a DPoP proof: the access token box appears, both bindings match, a token bound to another key mismatches", async () => {
    const client = await jose.generateKeyPair("ES256", { extractable: true });
    const issuer = await jose.generateKeyPair("RS256", { extractable: true });
    const jwk = await jose.exportJWK(client.publicKey);
    const jkt = await jose.calculateJwkThumbprint(jwk, "sha256");
    const accessToken = (boundTo, jti) =>
      new jose.SignJWT({ scope: "read", client_id: "c1", cnf: { jkt: boundTo } })
        .setProtectedHeader({ alg: "RS256", typ: "at+jwt" }).setIssuer("https://as.example").setSubject("u1").setAudience("https://api.example")
        .setIssuedAt(NOW).setExpirationTime(NOW + 600).setJti(jti).sign(issuer.privateKey);
    const at = await accessToken(jkt, "at-1");
    const ath = Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(at))).toString("base64url");
    const proof = await new jose.SignJWT({ htm: "GET", htu: "https://api.example/r", ath })
      .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk }).setIssuedAt(NOW).setJti("p-1").sign(client.privateKey);
    const { b, g, page } = await openInspector();
    const binding = () => page.evaluate(() => ({
      ath: document.querySelector("[data-testid=jwt-dpop-ath]")?.dataset.status,
      jkt: document.querySelector("[data-testid=jwt-dpop-jkt]")?.dataset.status,
    }));
    try {
      assert.equal(await page.locator("#at-field").isVisible(), false, "no proof yet: no access token box");
      await page.fill("#token", `DPoP ${proof}`);
      await page.waitForSelector("[data-testid=jwt-report]");
      assert.equal(await page.getByTestId("jwt-kind").getAttribute("data-kind"), "dpop_proof");
      assert.equal(await page.getByTestId("jwt-dpop-proof").getAttribute("data-status"), "valid");
      assert.equal(await page.locator("#at-field").isVisible(), true, "the access token box shows for a DPoP proof");

      await page.fill("#access-token", at);
      await page.waitForSelector("[data-testid=jwt-dpop-binding]");
      assert.deepEqual(await binding(), { ath: "match", jkt: "match" });
      assert.match(await page.locator("#status").innerText(), /DPoP proof verified with its own key/);

      await page.fill("#access-token", await accessToken("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", "at-2"));
      await page.waitForFunction(() => document.querySelector("[data-testid=jwt-dpop-ath]")?.dataset.status === "mismatch");
      assert.deepEqual(await binding(), { ath: "mismatch", jkt: "mismatch" });
      const codes = await page.locator("[data-testid=jwt-findings] > li").evaluateAll((l) => l.map((x) => x.dataset.code));
      assert.ok(codes.includes("JWT_DPOP_ATH_MISMATCH") && codes.includes("JWT_DPOP_JKT_MISMATCH"), codes.join());

      // Clear empties both boxes and hides the access token box again.
      await page.click("#clear");
      assert.equal(await page.locator("#access-token").inputValue(), "");
      assert.equal(await page.locator("#at-field").isVisible(), false);
      assert.deepEqual(g.errors, []);
      assert.deepEqual(g.cspViolations, []);
      assertOnlyOwnFiles(g);
    } finally {
      await b.close();
    }
  });

  test("the policy is real: a fetch from the page is refused", async () => {
    const { b, g, page } = await openInspector();
    try {
      const outcome = await page.evaluate(() => fetch("/healthz").then(() => "fetched", (e) => `refused: ${e.name}`));
      assert.match(outcome, /^refused/);
      assert.ok(g.cspViolations.some((v) => /connect-src/.test(v)), JSON.stringify(g.cspViolations));
      assert.ok(!g.requests.some((r) => r.url.endsWith("/healthz")), "the request went out");
    } finally {
      await b.close();
    }
  });

  test("axe: no serious or critical violation, light and dark; screenshots", async () => {
    for (const scheme of ["light", "dark"]) {
      const { b, g, page } = await openInspector(scheme);
      try {
        let v = (await runAxe(page)).filter((x) => x.impact === "serious" || x.impact === "critical");
        assert.deepEqual(v, [], `${scheme} empty: ${JSON.stringify(v)}`);
        await page.fill("#token", token);
        await page.fill("#vkey", JSON.stringify({ keys: [rsaJwk, otherJwk, goodJwk] }));
        await page.waitForSelector("[data-testid=verify-verdict][data-status=valid]");
        v = (await runAxe(page)).filter((x) => x.impact === "serious" || x.impact === "critical");
        assert.deepEqual(v, [], `${scheme} report: ${JSON.stringify(v)}`);
        await screenshot(page, `broker-jwt-${scheme}`);
        assert.deepEqual(g.errors, []);
        assertOnlyOwnFiles(g);
      } finally {
        await b.close();
      }
    }
  });
});
