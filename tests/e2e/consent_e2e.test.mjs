// End to end with the real broker process: a Node test agent creates a
// session, headless Chromium opens the URL the broker returned, the person's
// steps are played, and the agent opens exactly the typed values, for both
// envelope kinds. The blindness proof records every request the page makes,
// the broker's database files and its logs: the typed secret is in none of
// them, the ciphertext is in the complete request.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startBroker } from "./lib/broker.mjs";
import { launchBrowser, guardPage, requestsText, screenshot } from "./lib/browser.mjs";
import { TestAgent, ALG_LINKAUTH, ALG_JWE, sessionIdOf } from "./lib/agent.mjs";
import { ALL_FIELD_TYPES, cardText, controlValues, errorKind, fillForm, makeSecret, waitForState } from "./lib/consent.mjs";
import { PAGE_CSP } from "./lib/env.mjs";

function encodings(s) {
  const b = Buffer.from(s, "utf8");
  return [b, Buffer.from(s, "utf16le"), Buffer.from(b.toString("base64").replace(/=+$/, ""))];
}

function assertAbsent(haystack, secret, where) {
  const buf = Buffer.isBuffer(haystack) ? haystack : Buffer.from(haystack, "utf8");
  for (const enc of encodings(secret)) {
    assert.equal(buf.indexOf(enc), -1, `secret found in ${where}`);
  }
}

async function fullFlow(envelope) {
  const broker = await startBroker();
  const b = await launchBrowser();
  const g = await guardPage(b.page);
  const page = b.page;
  try {
    const agent = await TestAgent.create(broker.url);
    const created = await agent.createSession({
      fields: ALL_FIELD_TYPES,
      display_name: "Staging API key",
      agent_name: "e2e-agent",
      reason: "End-to-end test of the consent page.",
      envelope,
      ttl: 300,
    });
    assert.equal(created.session_id, sessionIdOf(agent.code), "session id is SHA-256 of the code");
    const url = created.verification_uri_complete || created.url;
    assert.ok(url.startsWith(broker.url), `verification URL ${url} is on the broker`);

    const nav = await page.goto(url);
    const csp = nav.headers()["content-security-policy"] || "";
    for (const directive of PAGE_CSP.split("; ")) assert.ok(csp.includes(directive), `broker CSP has ${directive}: ${csp}`);
    await waitForState(page, "review");
    // One response held all the review needed (crates/broker/src/page.rs): the
    // page's style sheet and script are in it under their hashes (never
    // 'unsafe-inline'), and so is the look-up, which the page does not fetch.
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval' 'sha256-[A-Za-z0-9+/]+=*';/);
    assert.match(csp, /style-src 'self' 'sha256-[A-Za-z0-9+/]+=*';/);
    assert.ok(!csp.includes("unsafe-inline"), csp);
    const loaded = g.requests.map((r) => `${r.method} ${new URL(r.url).pathname}`);
    assert.ok(!loaded.some((r) => r.includes("/assets/") || r.startsWith("GET /v1/connect/")), loaded.join("\n"));
    assert.equal(await page.locator("#sp-lookup").count(), 0, "the data block is read once and removed");
    assert.equal(await page.getByTestId("code").innerText(), agent.code.replace(/^(.{4})-?(.{4})$/, "$1-$2"));
    assert.equal(await page.getByTestId("fingerprint").innerText(), agent.fingerprint.short, "fingerprint computed in the page equals the agent's");
    assert.equal(await page.getByTestId("fingerprint-long").textContent(), agent.fingerprint.long);
    const text = await cardText(page);
    assert.match(text, /Staging API key/);
    assert.match(text, /e2e-agent/);
    assert.match(text, /End-to-end test of the consent page\./);
    assert.match(await page.getByTestId("countdown").innerText(), /^[45]:\d\d$/);

    await page.getByLabel("Optional: paste the fingerprint your agent printed").fill(agent.fingerprint.long);
    await page.getByTestId("confirm").click();
    await waitForState(page, "form");
    const secret = makeSecret(envelope);
    const values = { api_key: secret, account: "ops@example.com", region: "us-east-1", notes: `multi\nline ${envelope}` };
    await fillForm(page, { "API key": secret, Account: values.account, Region: values.region, Notes: values.notes });
    await page.getByTestId("submit").click();
    await waitForState(page, "done");
    await screenshot(page, `consent-e2e-${envelope}-done`);

    // --- blindness proof, before the agent collects -------------------------
    const complete = g.requests.filter((r) => r.method === "POST" && r.url.endsWith("/complete"));
    assert.equal(complete.length, 1, "one complete request");
    const sent = JSON.parse(complete[0].body);
    assert.equal(sent.algorithm, envelope === "jwe" ? ALG_JWE : ALG_LINKAUTH);
    assert.ok(sent.ciphertext.length > 100, "ciphertext sent");
    assertAbsent(requestsText(g), secret, "the page's requests (URL, headers, bodies)");
    const before = await broker.dbBytes();
    assert.ok(before.names.includes("broker.db"), `db files: ${before.names}`);
    assertAbsent(before.bytes, secret, `the broker database (${before.names.join(", ")})`);
    assert.notEqual(before.bytes.indexOf(Buffer.from(sent.ciphertext.slice(0, 64))), -1, "the ciphertext is what the broker stored");
    assert.deepEqual(
      (await controlValues(page)).filter((v) => v.includes(secret)),
      [],
      "no input keeps the plaintext",
    );

    // --- the agent opens exactly what was typed ------------------------------
    const ready = await agent.pollUntilReady({ intervalMs: 200, timeoutMs: 20_000 });
    assert.equal(ready.algorithm, sent.algorithm);
    assert.equal(ready.ciphertext, sent.ciphertext, "the agent receives the ciphertext the page sent");
    const creds = await agent.open(ready.ciphertext, ready.algorithm);
    assert.deepEqual(creds, values);
    if (envelope === "jwe") assert.equal(agent.lastJweHeader.kid, agent.fingerprint.long);

    const after = await broker.dbBytes();
    assertAbsent(after.bytes, secret, "the broker database after collection");
    assertAbsent(broker.logs(), secret, "the broker's stdout/stderr");
    assert.ok(broker.logs().length > 0, "the broker logged something (RUST_LOG=debug)");

    // Reopening the finished request: the broker says 410 (or 404), the page explains.
    await page.goto(url);
    await waitForState(page, "error");
    assert.ok(["completed", "not-found"].includes(await errorKind(page)));

    // No cookies, no storage, nothing third-party.
    assert.deepEqual(await b.context.cookies(), [], "no cookies");
    assert.ok(g.requests.every((r) => !("cookie" in r.headers)), "no Cookie header sent");
    assert.ok(g.requests.every((r) => r.url.startsWith(broker.url)), "every request goes to the broker's origin");
    assert.deepEqual(await page.evaluate(() => [localStorage.length, sessionStorage.length]), [0, 0], "no web storage");

    assert.deepEqual(g.cspViolations, [], "no CSP violation under the broker's real CSP");
    assert.deepEqual(g.errors, []);
  } finally {
    await b.close();
    await broker.stop();
  }
}

test("real broker, LinkAuth envelope: the agent opens exactly the typed values; broker blind", () => fullFlow("linkauth"));
test("real broker, JWE envelope: the agent opens exactly the typed values; broker blind", () => fullFlow("jwe"));

// The broker compresses the page's text once and joins each view's data block
// to it (crates/broker/src/page.rs): a browser decodes both codings' joins and
// draws the review from them.
test("real broker: the page as gzip and as brotli (compressed once, the data block joined) draws the review", async () => {
  const broker = await startBroker();
  const b = await launchBrowser();
  try {
    const agent = await TestAgent.create(broker.url);
    const created = await agent.createSession({ template: "api_key", display_name: "Joined page" });
    const cdp = await b.page.context().newCDPSession(b.page);
    await cdp.send("Network.enable");
    for (const [accept, coding] of [["gzip, deflate", "gzip"], ["gzip, deflate, br, zstd", "br"]]) {
      await cdp.send("Network.setExtraHTTPHeaders", { headers: { "Accept-Encoding": accept } });
      const nav = await b.page.goto(created.verification_uri_complete || created.url);
      assert.equal(nav.headers()["content-encoding"], coding, accept);
      await waitForState(b.page, "review");
      assert.equal(await b.page.getByTestId("code").innerText(), agent.code.replace(/^(.{4})-?(.{4})$/, "$1-$2"), coding);
      assert.equal(await b.page.getByTestId("fingerprint").innerText(), agent.fingerprint.short, coding);
      assert.match(await cardText(b.page), /Joined page/, coding);
    }
  } finally {
    await b.close();
    await broker.stop();
  }
});

// Nothing preloads the seal bundle (www/main.js): its two files are asked for
// once the review is drawn, and a page that never shows a review (an unknown
// code) never asks for them.
test("real broker: the seal bundle is fetched after the review is drawn, never for an unknown code", async () => {
  const broker = await startBroker();
  const b = await launchBrowser();
  try {
    const asked = [];
    b.page.on("request", (r) => asked.push(new URL(r.url()).pathname));
    // First, in the fresh profile (nothing cached): an unknown code.
    await b.page.goto(`${broker.url}/connect/ZZZZ-9999`);
    await waitForState(b.page, "error");
    // Longer than the flow's latest bundle start (200 ms after a review).
    await b.page.waitForTimeout(600);
    assert.deepEqual(asked.filter((p) => p.startsWith("/pkg/")), [], "an error page loaded the bundle");

    const agent = await TestAgent.create(broker.url);
    const created = await agent.createSession({ template: "api_key", display_name: "Bundle after review" });
    await b.page.goto(created.verification_uri_complete || created.url);
    await waitForState(b.page, "review");
    await b.page.waitForFunction(() => performance.getEntriesByName("sealpost:bundle-ready").length > 0);
    const t = await b.page.evaluate(() => ({
      review: performance.getEntriesByName("sealpost:review")[0].startTime,
      bundle: performance
        .getEntriesByType("resource")
        .filter((r) => new URL(r.name).pathname.startsWith("/pkg/"))
        .map((r) => [new URL(r.name).pathname, r.startTime]),
    }));
    assert.deepEqual(t.bundle.map(([p]) => p).sort(), ["/pkg/sealpost_wasm.js", "/pkg/sealpost_wasm_bg.wasm"]);
    for (const [p, start] of t.bundle) assert.ok(start > t.review, `${p} asked for at ${start} ms, before the review (${t.review} ms)`);
    // And the bundle checks the key: confirm goes on to the form.
    await b.page.getByTestId("confirm").click();
    await waitForState(b.page, "form");
  } finally {
    await b.close();
    await broker.stop();
  }
});

test("real broker: manual code entry, second viewer refused, unknown code", async () => {
  const broker = await startBroker();
  const b = await launchBrowser();
  const g = await guardPage(b.page);
  try {
    const agent = await TestAgent.create(broker.url);
    const created = await agent.createSession({ template: "api_key", display_name: "Manual entry" });
    const entryUrl = created.verification_uri || `${broker.url}/connect`;

    // Unknown code first: stays on entry with a message.
    await b.page.goto(entryUrl);
    await waitForState(b.page, "entry");
    await b.page.getByLabel("Code", { exact: true }).fill("ZZZZ-9999");
    await b.page.getByLabel("Code", { exact: true }).press("Enter");
    await b.page.waitForFunction(() => document.querySelector("[data-state]").shadowRoot.querySelector("#sp-code-error"));
    assert.match(await cardText(b.page), /isn’t valid any more/);

    // The real code, typed lower case without the hyphen.
    await b.page.getByLabel("Code", { exact: true }).fill(agent.code.toLowerCase().replace("-", ""));
    await b.page.getByLabel("Code", { exact: true }).press("Enter");
    await waitForState(b.page, "review");
    assert.equal(await b.page.getByTestId("fingerprint").innerText(), agent.fingerprint.short);

    // A second viewer opens the link, then the first confirms: the second is refused.
    const second = await b.context.newPage();
    const g2 = await guardPage(second);
    await second.goto(created.verification_uri_complete || created.url);
    await waitForState(second, "review");
    await b.page.getByTestId("confirm").click();
    await waitForState(b.page, "form");
    await second.getByTestId("confirm").click();
    await waitForState(second, "error");
    assert.equal(await errorKind(second), "taken");
    assert.match(await cardText(second), /opened somewhere else/);

    // Template fields from the broker: one password field.
    const secret = makeSecret("manual");
    await fillForm(b.page, { "API key": secret });
    await b.page.getByTestId("submit").click();
    await waitForState(b.page, "done");
    const ready = await agent.pollUntilReady({ intervalMs: 200, timeoutMs: 20_000 });
    assert.deepEqual(await agent.open(ready.ciphertext, ready.algorithm), { api_key: secret });
    assert.deepEqual([...g.cspViolations, ...g2.cspViolations], []);
    assert.deepEqual([...g.errors, ...g2.errors], []);
  } finally {
    await b.close();
    await broker.stop();
  }
});

test("real broker: its 429 (rate limit per client and code) renders the wait-and-retry message", async () => {
  const broker = await startBroker();
  const b = await launchBrowser();
  const g = await guardPage(b.page);
  try {
    const agent = await TestAgent.create(broker.url);
    const created = await agent.createSession({ template: "api_key" });
    // Use up the attempts for this code from this client (loopback, like the browser).
    let status = 200;
    for (let i = 0; i < 30 && status !== 429; i++) {
      status = (await fetch(`${broker.url}/v1/connect/${created.code}`)).status;
    }
    assert.equal(status, 429, "the broker rate-limits connect lookups");
    await b.page.goto(created.verification_uri_complete || created.url);
    await waitForState(b.page, "error");
    assert.equal(await errorKind(b.page), "rate-limited");
    assert.match(await cardText(b.page), /Too many attempts/);
    const retry = b.page.getByTestId("retry");
    assert.equal(await retry.getAttribute("aria-disabled"), "true", "retry waits for the broker's Retry-After");
    assert.match(await retry.innerText(), /Try again in \d+ s/);
    assert.deepEqual(g.cspViolations, []);
    assert.deepEqual(g.errors, []);
  } finally {
    await b.close();
    await broker.stop();
  }
});
