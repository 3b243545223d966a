// The extension's offline JWT inspector and DevTools panel (issue 13) in
// headless Chromium with the unpacked package: crafted tokens (alg none,
// expired, PII, an act chain of depth 3, a DPoP proof and its access token),
// verification against a JWKS of three keys, a PEM certificate and a wrong key
// with no network request, the context menu handing a selected token over,
// edit-and-sign checked by panva `jose`, re-verify-never-re-sign, the
// broken-token maker, state in storage.session and Clear, "Fetch the issuer's
// keys" only on a click, the panel fed with HAR entries, and axe + screenshots
// light and dark under test-artifacts/.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import * as jose from "jose";
import { runAxe, screenshot } from "./lib/browser.mjs";
import { ROOT } from "./lib/env.mjs";
import { launchWithExtension } from "./lib/extension.mjs";

const FIX = join(ROOT, "crates/core/tests/fixtures/jwt");
const fix = (n) => readFileSync(join(FIX, n), "utf8");
const NOW = Math.floor(Date.now() / 1000);
const b64u = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
const unsigned = (header, claims) => `${b64u(header)}.${b64u(claims)}.`;

let ext;
let requests; // every request any page of the profile made
const pageErrors = [];

before(async () => {
  ext = await launchWithExtension({ colorScheme: "light" });
  requests = [];
  ext.context.on("request", (r) => requests.push(r.url()));
  ext.context.on("weberror", (e) => pageErrors.push(String(e.error())));
});
after(async () => {
  await ext?.close();
});

/** Requests that left the extension (anything but its own files). */
const outside = (list) => list.filter((u) => !u.startsWith("chrome-extension://") && !u.startsWith("data:") && !u.startsWith("blob:"));

async function inspector() {
  const page = await ext.openPage("inspector.html");
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  await page.waitForSelector("body[data-ready]");
  return page;
}

async function paste(page, token) {
  await page.fill("#token", token);
  await page.waitForSelector("[data-testid=jwt-report]");
}

const findings = (page) => page.locator("[data-testid=jwt-findings] > li").evaluateAll((l) => l.map((x) => ({ code: x.dataset.code, severity: x.dataset.severity })));
const codes = async (page) => (await findings(page)).map((f) => f.code);

describe("crafted tokens show the expected findings and views", () => {
  test("alg none: critical finding, never verified; clicking its location highlights header.alg", async () => {
    const page = await inspector();
    await paste(page, `  Bearer ${unsigned({ alg: "none" }, { sub: "x", iss: "https://i.example", aud: "api", exp: NOW + 600 })}\n`);
    const f = await findings(page);
    assert.deepEqual(f[0], { code: "JWT_ALG_NONE", severity: "critical" });
    assert.match(await page.getByTestId("jwt-verdict").textContent(), /not verified/i);
    assert.equal(await page.locator("[data-segment=header]").count(), 1);
    assert.equal(await page.locator("[data-segment=payload]").count(), 1);
    await page.locator('[data-code=JWT_ALG_NONE] button[data-location="header.alg"]').click();
    const located = page.locator(".jr-located");
    assert.equal(await located.getAttribute("data-path"), "header.alg");
    assert.equal(await located.evaluate((el) => el === document.activeElement), true);
    await page.close();
  });

  test("expired token: JWT_EXPIRED and the exp row counts from the past; a live countdown ticks", async () => {
    const page = await inspector();
    await paste(page, unsigned({ alg: "none" }, { sub: "x", exp: NOW - 3600, iat: NOW - 7200 }));
    assert.ok((await codes(page)).includes("JWT_EXPIRED"));
    assert.match(await page.getByTestId("jwt-exp-countdown").textContent(), /^expired 1h 0\dm ago$/);
    await paste(page, unsigned({ alg: "none" }, { sub: "x", exp: NOW + 300 }));
    const first = await page.getByTestId("jwt-exp-countdown").textContent();
    assert.match(first, /^expires in [45]m \d\ds$/);
    await page.waitForFunction((t) => document.querySelector("[data-testid=jwt-exp-countdown]").textContent !== t, first, { timeout: 3000 });
    await page.close();
  });

  test("PII in claims: findings at their claims; a malformed token still shows what decoded", async () => {
    const page = await inspector();
    await paste(page, unsigned({ alg: "none" }, { sub: "x", email: "ada@example.com", phone_number: "+44 20 7946 0958" }));
    const c = await codes(page);
    assert.ok(c.includes("JWT_PII_EMAIL"), c.join());
    assert.ok(c.some((x) => x.startsWith("JWT_PII_") && x !== "JWT_PII_EMAIL"), c.join());
    await page.locator('button[data-location="payload.email"]').click();
    assert.equal(await page.locator(".jr-located").getAttribute("data-path"), "payload.email");
    // Header decodes, payload segment does not: the header is still shown.
    await paste(page, "eyJhbGciOiJIUzI1NiJ9.ab$d.x");
    assert.ok((await codes(page)).includes("JWT_B64_INVALID"));
    assert.match(await page.getByTestId("jwt-header").textContent(), /"alg": "HS256"/);
    await page.close();
  });

  test("an act chain of depth 3 is shown as a chain, with may_act, scopes and authorization_details", async () => {
    const page = await inspector();
    const claims = {
      iss: "https://as.example", sub: "user-1", aud: "api", exp: NOW + 600, scope: "read write",
      act: { sub: "agent-a", act: { sub: "agent-b", act: { sub: "agent-c", client_id: "root-client" } } },
      may_act: { sub: "agent-z" },
      authorization_details: [{ type: "payment_initiation", actions: ["initiate"], locations: ["https://bank.example"] }],
    };
    await paste(page, unsigned({ alg: "none", typ: "at+jwt" }, claims));
    const chain = page.getByTestId("jwt-act-chain");
    assert.deepEqual(await chain.locator("[data-depth]").evaluateAll((l) => l.map((x) => x.dataset.depth)), ["0", "1", "2"]);
    assert.match(await chain.textContent(), /Subject user-1.*agent-a.*agent-b.*agent-c, client root-client/s);
    assert.match(await page.getByTestId("jwt-may-act").textContent(), /agent-z/);
    assert.match(await page.getByTestId("jwt-authorization-details").textContent(), /payment_initiation.*initiate.*bank\.example/s);
    assert.equal(await page.getByTestId("jwt-kind").getAttribute("data-kind"), "access_token");
    await page.close();
  });

  test("a DPoP proof plus its access token show the expected findings and views", async () => {
    // The client's proof key and the authorization server's signing key.
    const client = await jose.generateKeyPair("ES256", { extractable: true });
    const issuer = await jose.generateKeyPair("RS256", { extractable: true });
    const jwk = await jose.exportJWK(client.publicKey);
    const jkt = await jose.calculateJwkThumbprint(jwk, "sha256");
    const accessToken = (boundTo, jti = "at-1") =>
      new jose.SignJWT({ scope: "read", client_id: "c1", cnf: { jkt: boundTo } })
        .setProtectedHeader({ alg: "RS256", typ: "at+jwt" }).setIssuer("https://as.example").setSubject("u1").setAudience("https://api.example")
        .setIssuedAt(NOW).setExpirationTime(NOW + 600).setJti(jti).sign(issuer.privateKey);
    const hash = async (t) => Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(t))).toString("base64url");
    const makeProof = (claims, header = {}) =>
      new jose.SignJWT({ htm: "GET", htu: "https://api.example/r", ...claims })
        .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk, ...header }).setIssuedAt(NOW).setJti("p-1").sign(client.privateKey);
    const at = await accessToken(jkt);
    const proof = await makeProof({ ath: await hash(at) });
    const page = await inspector();
    const before = requests.length;
    const binding = async () => ({
      ath: await page.getByTestId("jwt-dpop-ath").getAttribute("data-status"),
      jkt: await page.getByTestId("jwt-dpop-jkt").getAttribute("data-status"),
    });

    // The proof alone: verified with the key in its own header, not flagged as an untrusted embedded key.
    await paste(page, `DPoP ${proof}`);
    assert.equal(await page.getByTestId("jwt-kind").getAttribute("data-kind"), "dpop_proof");
    assert.equal(await page.getByTestId("jwt-dpop-proof").getAttribute("data-status"), "valid");
    assert.match(await page.getByTestId("jwt-dpop-proof").textContent(), /verified with its own header key/);
    assert.equal(await page.getByTestId("jwt-dpop-thumbprint").textContent(), jkt);
    assert.match(await page.getByTestId("jwt-verdict").textContent(), /not checked/i, "no trusted key: the main verdict stays unverified");
    assert.ok(!(await codes(page)).includes("JWT_HEADER_JWK"));
    assert.ok(!(await codes(page)).some((c) => c.startsWith("JWT_DPOP_")), (await codes(page)).join());
    assert.match(await page.getByTestId("jwt-header").textContent(), /"jwk": \{/);
    assert.equal(await page.locator("#at-field").isVisible(), true, "the access token box shows for a DPoP proof");
    assert.equal(await page.getByTestId("jwt-dpop-no-token").count(), 1);

    // Its access token beside it: both bindings hold.
    await page.fill("#access-token", at);
    await page.waitForSelector("[data-testid=jwt-dpop-binding]");
    assert.deepEqual(await binding(), { ath: "match", jkt: "match" });
    assert.ok(!(await codes(page)).some((c) => c.startsWith("JWT_DPOP_")), (await codes(page)).join());
    assert.match(await page.locator("#status").textContent(), /DPoP proof verified with its own key/);

    // A token bound to another key, whose hash is not the proof's ath: two findings, two mismatches.
    await page.fill("#access-token", await accessToken("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", "at-2"));
    await page.waitForFunction(() => document.querySelector("[data-testid=jwt-dpop-ath]")?.dataset.status === "mismatch");
    assert.deepEqual(await binding(), { ath: "mismatch", jkt: "mismatch" });
    let c = await codes(page);
    assert.ok(c.includes("JWT_DPOP_ATH_MISMATCH") && c.includes("JWT_DPOP_JKT_MISMATCH"), c.join());
    await page.locator('[data-code=JWT_DPOP_ATH_MISMATCH] button[data-location="payload.ath"]').click();
    assert.equal(await page.locator(".jr-located").getAttribute("data-path"), "payload.ath");

    // A proof without ath while an access token is given.
    await page.fill("#access-token", at);
    await paste(page, await makeProof({}));
    await page.waitForFunction(() => document.querySelector("[data-testid=jwt-dpop-ath]")?.dataset.status === "missing");
    assert.ok((await codes(page)).includes("JWT_DPOP_ATH_MISSING"));
    assert.equal((await binding()).jkt, "match");

    // A private key in the header is refused; missing required claims are findings.
    const priv = await jose.exportJWK(client.privateKey);
    await paste(page, await makeProof({ ath: await hash(at) }, { jwk: priv }));
    await page.waitForFunction(() => document.querySelector("[data-testid=jwt-dpop-proof]")?.dataset.status === "private_key");
    const f = await findings(page);
    assert.deepEqual(f.find((x) => x.code === "JWT_DPOP_PRIVATE_KEY"), { code: "JWT_DPOP_PRIVATE_KEY", severity: "critical" });
    assert.ok(!(await page.getByTestId("jwt-findings").textContent()).includes(priv.d), "the private value is never echoed in a finding");
    const noHtm = await new jose.SignJWT({ htu: "https://api.example/r" }).setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk }).setJti("p-2").sign(client.privateKey);
    await paste(page, noHtm);
    await page.waitForFunction(() => document.querySelector('[data-code=JWT_DPOP_CLAIM_MISSING] button[data-location="payload.htm"]'));
    c = await codes(page);
    assert.ok(c.includes("JWT_DPOP_CLAIM_MISSING"), c.join());
    assert.equal(await page.locator('[data-code=JWT_DPOP_CLAIM_MISSING] button[data-location="payload.iat"]').count(), 1);

    // axe on the DPoP view; a screenshot to look at.
    await paste(page, proof);
    await page.waitForFunction(() => document.querySelector("[data-testid=jwt-dpop-ath]")?.dataset.status === "match");
    const v = (await runAxe(page)).filter((x) => x.impact === "serious" || x.impact === "critical");
    assert.deepEqual(v, [], JSON.stringify(v));
    await screenshot(page, "inspector-light-dpop");

    // The access token itself: its cnf names the proof key's thumbprint.
    await paste(page, at);
    assert.equal(await page.getByTestId("jwt-kind").getAttribute("data-kind"), "access_token");
    const cnf = await page.getByTestId("jwt-cnf").textContent();
    assert.match(cnf, /DPoP/);
    assert.ok(cnf.includes(jkt));
    assert.deepEqual(outside(requests.slice(before)), [], "no network request while inspecting");
    await page.getByRole("button", { name: "Clear" }).click();
    assert.equal(await page.locator("#access-token").inputValue(), "");
    await page.close();
  });
});

describe("grants and assertions (issue 13 item 3, recognition)", () => {
  test("an ID-JAG (typ oauth-id-jag+jwt) and a private_key_jwt client assertion are named, with missing required claims", async () => {
    const page = await inspector();
    await paste(page, unsigned({ alg: "none", typ: "oauth-id-jag+jwt" }, { iss: "https://idp.example", sub: "u1", aud: "https://as.example", iat: NOW, exp: NOW + 300 }));
    assert.equal(await page.getByTestId("jwt-kind").getAttribute("data-kind"), "id_jag");
    assert.match(await page.getByTestId("jwt-kind").textContent(), /Identity Assertion JWT authorization grant/);
    assert.ok((await codes(page)).includes("JWT_ID_JAG_MISSING_CLAIMS"));
    assert.match(await page.locator('[data-code="JWT_ID_JAG_MISSING_CLAIMS"]').textContent(), /lacks client_id, jti/);
    await paste(page, unsigned({ alg: "none" }, { iss: "client-7", sub: "client-7", aud: "https://as.example/token", jti: "a1", exp: NOW + 60 }));
    assert.equal(await page.getByTestId("jwt-kind").getAttribute("data-kind"), "client_assertion");
    assert.ok(!(await codes(page)).includes("JWT_CLIENT_ASSERTION_MISSING_CLAIMS"));
    await page.close();
  });
});

describe("verify panel", () => {
  test("a JWKS of three keys: the matching key is named and the others say why they were skipped; no network request", async () => {
    const keys = [];
    for (const [alg, kid] of [["RS256", "rsa-1"], ["ES256", "ec-1"], ["EdDSA", "ed-1"]]) {
      const pair = await jose.generateKeyPair(alg, { extractable: true, ...(alg === "EdDSA" ? { crv: "Ed25519" } : {}) });
      keys.push({ alg, kid, pair, jwk: { ...(await jose.exportJWK(pair.publicKey)), kid, alg, use: "sig" } });
    }
    const signer = keys[1];
    const token = await new jose.SignJWT({ sub: "u1" }).setProtectedHeader({ alg: "ES256", kid: "ec-1", typ: "JWT" }).setIssuer("https://as.example").setAudience("api").setIssuedAt(NOW).setExpirationTime(NOW + 600).sign(signer.pair.privateKey);
    const page = await inspector();
    const before = requests.length;
    await paste(page, token);
    await page.fill("#vkey", JSON.stringify({ keys: keys.map((k) => k.jwk) }, null, 2));
    await page.fill("#viss", "https://as.example");
    await page.fill("#vaud", "api");
    await page.waitForSelector("[data-testid=verify-verdict][data-status=valid]");
    assert.match(await page.getByTestId("verify-verdict").textContent(), /Signature verified with EC P-256 key kid “ec-1”/);
    assert.match(await page.getByTestId("jwt-verdict").textContent(), /^Signature verified/);
    const rows = await page.getByTestId("verify-keys").locator("li").evaluateAll((l) => l.map((x) => [x.dataset.status, x.textContent]));
    assert.equal(rows.length, 3);
    assert.equal(rows[1][0], "matched");
    for (const i of [0, 2]) {
      assert.equal(rows[i][0], "no_matching_key");
      assert.match(rows[i][1], /skipped .*no supplied key has kid "ec-1"/);
    }
    assert.deepEqual(await codes(page), []);
    // Wrong issuer expectation: still verified, but a finding.
    await page.fill("#viss", "https://other.example");
    await page.waitForFunction(() => [...document.querySelectorAll("[data-testid=jwt-findings] > li")].some((l) => l.dataset.code === "JWT_ISS_MISMATCH"));
    assert.deepEqual(outside(requests.slice(before)), []);
    await page.close();
  });

  test("a PEM certificate verifies; the wrong key fails; no network request", async () => {
    const priv = await jose.importPKCS8(fix("rsa2048.key"), "RS256");
    const token = await new jose.SignJWT({ sub: "u1" }).setProtectedHeader({ alg: "RS256", typ: "JWT" }).setIssuedAt(NOW).setExpirationTime(NOW + 600).sign(priv);
    const page = await inspector();
    const before = requests.length;
    await paste(page, token);
    await page.fill("#vkey", fix("rsa2048.crt"));
    await page.waitForSelector("[data-testid=verify-verdict][data-status=valid]");
    assert.match(await page.getByTestId("verify-verdict").textContent(), /Signature verified with RSA 2048-bit key/);
    // Another RSA key: invalid, critical.
    const other = await jose.generateKeyPair("RS256", { extractable: true });
    await page.fill("#vkey", JSON.stringify(await jose.exportJWK(other.publicKey)));
    await page.waitForSelector("[data-testid=verify-verdict][data-status=invalid]");
    assert.match(await page.getByTestId("jwt-verdict").textContent(), /^Signature invalid/);
    assert.deepEqual((await findings(page))[0], { code: "JWT_SIGNATURE_INVALID", severity: "critical" });
    // An EC key for an RS256 token: not verified either.
    await page.fill("#vkey", fix("ecp256.pub"));
    await page.waitForSelector("[data-testid=verify-verdict][data-status=alg_mismatch]");
    assert.doesNotMatch(await page.getByTestId("jwt-verdict").textContent(), /Signature verified/);
    // Garbage key: the error is shown, the token is still reported.
    await page.fill("#vkey", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----");
    await page.waitForSelector("#verify-error:not([hidden])");
    assert.match(await page.locator("#verify-error").textContent(), /ERR_JWT_KEY_MALFORMED/);
    assert.equal(await page.getByTestId("jwt-report").count(), 1);
    assert.deepEqual(outside(requests.slice(before)), []);
    await page.close();
  });

  test("changing the secret re-verifies and never re-signs", async () => {
    const token = await new jose.SignJWT({ sub: "u1" }).setProtectedHeader({ alg: "HS256" }).setIssuedAt(NOW).setExpirationTime(NOW + 600).sign(new TextEncoder().encode("s".repeat(40)));
    const page = await inspector();
    await paste(page, token);
    await page.fill("#vkey", "s".repeat(40));
    await page.waitForSelector("[data-testid=verify-verdict][data-status=valid]");
    await page.fill("#vkey", "t".repeat(40));
    await page.waitForSelector("[data-testid=verify-verdict][data-status=invalid]");
    assert.equal(await page.locator("#token").inputValue(), token);
    assert.equal(await page.locator("#signed").isHidden(), true);
    await page.close();
  });
});

describe("edit and sign, broken tokens", () => {
  test("editing a claim and signing yields a token that jose verifies; the pasted token is untouched", async () => {
    const page = await inspector();
    const original = unsigned({ alg: "none", typ: "JWT" }, { sub: "alice", iss: "https://as.example", aud: "api", exp: NOW + 600 });
    await paste(page, original);
    await page.locator("#sign-panel > summary").click();
    await page.getByRole("button", { name: "Copy header and claims from the token" }).click();
    const claims = JSON.parse(await page.locator("#eclaims").inputValue());
    assert.equal(claims.sub, "alice");
    claims.sub = "bob";
    claims.exp = "+1h";
    await page.fill("#eclaims", JSON.stringify(claims, null, 2));
    await page.selectOption("#ealg", "ES256");
    await page.fill("#ekey", fix("ecp256.key"));
    await page.getByRole("button", { name: "Sign", exact: true }).click();
    const signed = await page.getByTestId("signed-token").inputValue();
    assert.equal(await page.locator("#token").inputValue(), original);
    const pub = await jose.importSPKI(fix("ecp256.pub"), "ES256");
    const { payload, protectedHeader } = await jose.jwtVerify(signed, pub, { issuer: "https://as.example", audience: "api" });
    assert.equal(payload.sub, "bob");
    assert.equal(protectedHeader.alg, "ES256");
    assert.ok(Math.abs(payload.exp - (NOW + 3600)) < 120);
    // Inspect it, explicitly, and verify it here too.
    await page.getByRole("button", { name: "Inspect this token" }).click();
    await page.fill("#vkey", fix("ecp256.pub"));
    await page.waitForSelector("[data-testid=verify-verdict][data-status=valid]");
    // The signing key is never stored.
    const stored = await ext.inWorker(() => chrome.storage.session.get(null));
    assert.ok(!JSON.stringify(stored).includes("PRIVATE KEY"));
    await page.close();
  });

  test("broken-token maker: alg none, stripped signature, HS256 keyed with the public key's bytes", async () => {
    const page = await inspector();
    await page.locator("#sign-panel > summary").click();
    await page.fill("#eclaims", JSON.stringify({ sub: "x", exp: "+10m" }));
    const make = async (name) => {
      await page.getByRole("button", { name }).click();
      const t = await page.getByTestId("signed-token").inputValue();
      await page.getByRole("button", { name: "Inspect this token" }).click();
      await page.waitForSelector("[data-testid=jwt-report]");
      return t;
    };
    assert.ok((await make("alg none")).endsWith("."));
    assert.ok((await codes(page)).includes("JWT_ALG_NONE"));
    assert.ok((await make("Stripped signature")).endsWith("."));
    assert.ok((await codes(page)).includes("JWT_SIGNATURE_EMPTY"));
    await page.fill("#vkey", fix("rsa2048.pub"));
    await make("HS256 keyed with the public key");
    assert.ok((await codes(page)).includes("JWT_KEY_CONFUSION"), (await codes(page)).join());
    assert.doesNotMatch(await page.getByTestId("jwt-verdict").textContent(), /Signature verified/);
    await page.close();
  });
});

describe("export and limits", () => {
  test("copy the report as JSON and Markdown, copy the claims; an oversized input is refused in words", async () => {
    const page = await inspector();
    // Headless Chromium cannot grant clipboard access to an extension origin: record what the page writes.
    await page.evaluate(() => {
      globalThis.copied = [];
      Object.defineProperty(navigator.clipboard, "writeText", { value: async (t) => void globalThis.copied.push(t), configurable: true });
    });
    await paste(page, unsigned({ alg: "none" }, { sub: "exported", email: "ada@example.com" }));
    const clip = () => page.evaluate(() => globalThis.copied.at(-1));
    await page.getByRole("button", { name: "Copy report as JSON" }).click();
    await page.waitForFunction(() => /Copied/.test(document.getElementById("export-status").textContent));
    const json = JSON.parse(await clip());
    assert.equal(json.payload.sub, "exported");
    assert.ok(json.findings.some((f) => f.code === "JWT_ALG_NONE"));
    await page.getByRole("button", { name: "Copy report as Markdown" }).click();
    await page.waitForFunction(() => /Markdown/.test(document.getElementById("export-status").textContent));
    const md = await clip();
    assert.match(md, /^# JWT report/);
    assert.match(md, /\*\*critical\*\* `JWT_ALG_NONE` at `header\.alg`/);
    assert.ok(!md.includes(unsigned({ alg: "none" }, { sub: "exported", email: "ada@example.com" })), "the raw token is not in the Markdown");
    await page.getByRole("button", { name: "Copy claims" }).click();
    await page.waitForFunction(() => /claims/.test(document.getElementById("export-status").textContent));
    assert.deepEqual(JSON.parse(await clip()), { email: "ada@example.com", sub: "exported" });
    // Far too large: refused with a message, no page error.
    await page.evaluate(() => {
      const el = document.getElementById("token");
      el.value = `eyJhbGciOiJub25lIn0.${"A".repeat(1_200_000)}.`;
      el.dispatchEvent(new Event("input"));
    });
    assert.match(await page.getByTestId("jwt-error").textContent(), /Cannot inspect this input/);
    await page.getByRole("button", { name: "Clear" }).click();
    await page.close();
  });
});

describe("state, menu, fetch, panel", () => {
  test("state survives a reload in storage.session; Clear wipes it; nothing in storage.local", async () => {
    const page = await inspector();
    const t = unsigned({ alg: "none" }, { sub: "keep-me" });
    await paste(page, t);
    await page.fill("#viss", "https://as.example");
    await page.waitForTimeout(400);
    await page.reload();
    await page.waitForSelector("body[data-ready]");
    assert.equal(await page.locator("#token").inputValue(), t);
    assert.equal(await page.locator("#viss").inputValue(), "https://as.example");
    await page.waitForSelector("[data-testid=jwt-report]");
    const { local, sync } = await ext.storage();
    assert.ok(!JSON.stringify(local).includes(t) && !JSON.stringify(sync).includes(t));
    await page.getByRole("button", { name: "Clear" }).click();
    assert.equal(await page.locator("#token").inputValue(), "");
    assert.equal(await page.getByTestId("jwt-report").count(), 0);
    const session = await ext.inWorker(() => chrome.storage.session.get(null));
    assert.equal(session.inspector, undefined);
    await page.close();
  });

  test("the context menu entry opens the inspector with the selected token (and a token link's)", async () => {
    const token = unsigned({ alg: "none" }, { sub: "from-the-menu" });
    await ext.worker();
    const opened = ext.context.waitForEvent("page", { predicate: (p) => p.url().includes("/inspector.html"), timeout: 15_000 });
    const handled = await ext.inWorker((t) => globalThis.sealpostInspectFromMenu({ menuItemId: "inspect-jwt", selectionText: ` Bearer ${t} ` }), token);
    assert.equal(handled, true);
    const page = await opened;
    await page.waitForSelector("[data-testid=jwt-report]");
    assert.equal(await page.locator("#token").inputValue(), token);
    assert.equal(new URL(page.url()).search, ""); // the token never travels in a URL
    assert.match(await page.getByTestId("jwt-payload").textContent(), /from-the-menu/);
    await page.close();
    const link = unsigned({ alg: "none" }, { sub: "from-a-link" });
    const opened2 = ext.context.waitForEvent("page", { predicate: (p) => p.url().includes("/inspector.html"), timeout: 15_000 });
    await ext.inWorker((u) => globalThis.sealpostInspectFromMenu({ menuItemId: "inspect-jwt-link", linkUrl: u }), `https://app.example/cb?x=1&id_token=${link}`);
    const page2 = await opened2;
    await page2.waitForSelector("[data-testid=jwt-report]");
    assert.equal(await page2.locator("#token").inputValue(), link);
    await page2.close();
    const menus = await ext.inWorker(() => chrome.runtime.getManifest().commands);
    assert.equal(menus["open-inspector"].suggested_key.default, "Alt+Shift+J");
  });

  test("Fetch the issuer's keys: no request until the click, then the discovery document and the JWKS only", async () => {
    const { privateKey, publicKey } = await jose.generateKeyPair("ES256", { extractable: true });
    const jwk = { ...(await jose.exportJWK(publicKey)), kid: "k1", alg: "ES256" };
    const hits = [];
    const server = createServer((req, res) => {
      hits.push(req.url);
      const origin = `http://127.0.0.1:${server.address().port}`;
      res.setHeader("content-type", "application/json");
      if (req.url === "/.well-known/openid-configuration") res.end(JSON.stringify({ issuer: origin, jwks_uri: `${origin}/jwks` }));
      else if (req.url === "/jwks") res.end(JSON.stringify({ keys: [jwk] }));
      else res.writeHead(404).end("{}");
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    const iss = `http://127.0.0.1:${server.address().port}`;
    try {
      const token = await new jose.SignJWT({ sub: "u" }).setProtectedHeader({ alg: "ES256", kid: "k1" }).setIssuer(iss).setIssuedAt(NOW).setExpirationTime(NOW + 600).sign(privateKey);
      const page = await inspector();
      await paste(page, token);
      await page.waitForTimeout(300);
      assert.deepEqual(hits, []);
      await page.getByRole("button", { name: "Fetch the issuer’s keys" }).click();
      await page.waitForSelector("[data-testid=verify-verdict][data-status=valid]");
      assert.deepEqual(hits, ["/.well-known/openid-configuration", "/jwks"]);
      assert.match(await page.locator("#fetch-status").textContent(), /Fetched .*openid-configuration and .*\/jwks: 1 key/);
      await page.close();
    } finally {
      server.close();
    }
  });

  test("the DevTools panel lists the tokens of HAR entries with kind, expiry and finding counts", async () => {
    const page = await ext.openPage("panel.html");
    await page.waitForSelector("body[data-ready]");
    const at = unsigned({ alg: "none", typ: "at+jwt" }, { sub: "u", scope: "read", client_id: "c", exp: NOW + 600 });
    const id = unsigned({ alg: "none" }, { iss: "https://as.example", sub: "u", aud: "c", nonce: "n", exp: NOW - 60 });
    const n = await page.evaluate(
      ([at, id]) =>
        Promise.all([
          globalThis.sealpostPanelAddEntry({ request: { url: "https://api.example/r", headers: [{ name: "Authorization", value: `Bearer ${at}` }] }, response: { headers: [] } }),
          globalThis.sealpostPanelAddEntry({ request: { url: "https://as.example/authorize" }, response: { status: 302, headers: [{ name: "Location", value: `https://app.example/cb#id_token=${id}` }] } }),
          globalThis.sealpostPanelAddEntry({ request: { url: "https://as.example/token", method: "POST" }, response: { headers: [], content: { mimeType: "application/json" } } }, JSON.stringify({ access_token: at, id_token: id })),
        ]),
      [at, id],
    );
    assert.deepEqual(n, [1, 1, 2]);
    const rows = page.locator("[data-token-row]");
    assert.equal(await rows.count(), 2);
    assert.match(await rows.nth(0).textContent(), /access token.*request header Authorization.*response body access_token.*expires in.*CRITICAL/is);
    assert.match(await rows.nth(1).textContent(), /id token.*redirect fragment id_token.*expired/is);
    await rows.nth(1).getByRole("button").click();
    await page.waitForSelector("#pan-report [data-testid=jwt-report]");
    await page.close();
  });
});

describe("accessibility and looks", () => {
  test("axe: no serious or critical violation on the inspector and the panel, light and dark; screenshots", async () => {
    const claims = { iss: "https://as.example", sub: "user-1", aud: "api", exp: NOW + 900, iat: NOW, email: "ada@example.com", scope: "read write", act: { sub: "agent-a", act: { sub: "agent-b", act: { sub: "agent-c" } } } };
    const token = unsigned({ alg: "none", typ: "at+jwt" }, claims);
    for (const scheme of ["light", "dark"]) {
      const e = scheme === "light" ? ext : await launchWithExtension({ colorScheme: scheme });
      try {
        const page = await e.openPage("inspector.html");
        await page.waitForSelector("body[data-ready]");
        await page.getByRole("button", { name: "Clear" }).click(); // what earlier tests left in storage.session
        let v = (await runAxe(page)).filter((x) => x.impact === "serious" || x.impact === "critical");
        assert.deepEqual(v, [], `${scheme} empty: ${JSON.stringify(v)}`);
        await screenshot(page, `inspector-${scheme}-empty`);
        await page.fill("#token", token);
        await page.waitForSelector("[data-testid=jwt-report]");
        await page.fill("#vkey", fix("rsa2048.pub"));
        await page.locator("#sign-panel > summary").click();
        await page.locator('button[data-location="payload.email"]').click();
        v = (await runAxe(page)).filter((x) => x.impact === "serious" || x.impact === "critical");
        assert.deepEqual(v, [], `${scheme} report: ${JSON.stringify(v)}`);
        await screenshot(page, `inspector-${scheme}-report`);
        const panel = await e.openPage("panel.html");
        await panel.waitForSelector("body[data-ready]");
        await panel.evaluate((t) => globalThis.sealpostPanelAddEntry({ request: { url: "https://api.example/r", headers: [{ name: "Authorization", value: `Bearer ${t}` }] }, response: { headers: [] } }), token);
        await panel.locator(".pan-pick").first().click();
        v = (await runAxe(panel)).filter((x) => x.impact === "serious" || x.impact === "critical");
        assert.deepEqual(v, [], `${scheme} panel: ${JSON.stringify(v)}`);
        await screenshot(panel, `inspector-${scheme}-panel`);
      } finally {
        if (e !== ext) await e.close();
      }
    }
    assert.deepEqual(pageErrors, []);
  });
});
