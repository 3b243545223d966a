// The extension's answer page (extension/answer.html) in Chromium with the
// unpacked extension: it answers `…/connect/CODE` links of any broker with the
// extension's own copy of the consent flow and the bundled WASM, calling only
// the broker's JSON API.
//  - real broker, both envelopes: the agent gets exactly the typed values;
//  - a LinkAuth-shaped fake broker (reference field names, no inbox API),
//    link pasted into the page: answered, and the agent opens it;
//  - an agent-supplied reason with HTML renders as text;
//  - an origin without host permission: the page asks first, calls nothing;
//  - tamper resistance: a broker in the middle (lib/evil-broker.mjs) with a
//    page that steals and a substituted key: the extension never requests its
//    page or scripts, shows a fingerprint other than the agent's, a pasted
//    agent fingerprint blocks confirm; and even a person who ignores all that
//    sends only ciphertext (the substituted key is why the fingerprint matters).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startBroker } from "./lib/broker.mjs";
import { startFakeBroker } from "./lib/fake-broker.mjs";
import { startEvilBroker } from "./lib/evil-broker.mjs";
import { TestAgent, ALG_JWE, ALG_LINKAUTH, sessionIdOf } from "./lib/agent.mjs";
import { launchWithExtension } from "./lib/extension.mjs";
import { ALL_FIELD_TYPES, controlValues, fillForm, focusedInComponent, heapContains, makeSecret, waitForFocus, waitForState } from "./lib/consent.mjs";
import { runAxe, screenshot } from "./lib/browser.mjs";

const inMinutes = (m) => new Date(Date.now() + m * 60_000).toISOString();

// One real broker for the tests that need it, started on first use.
let broker;
let brokerStarting;
const realBroker = async () => (broker ??= await (brokerStarting ??= startBroker()));
after(async () => {
  await broker?.stop();
});

/** Every request the page makes: url, method, resource type, body. */
function recordRequests(page) {
  const log = [];
  page.on("request", (r) => log.push({ url: r.url(), method: r.method(), type: r.resourceType(), body: r.postData() || "" }));
  return log;
}

/** Requests to `origin` must all be JSON calls to its /v1/connect API. */
function assertOnlyApiCalls(log, origin) {
  const to = log.filter((r) => r.url.startsWith(origin + "/"));
  assert.ok(to.length > 0, "the page talked to the broker");
  for (const r of to) {
    const path = new URL(r.url).pathname;
    assert.match(path, /^\/v1\/connect\//, `only the JSON API is called, not ${r.method} ${path}`);
    assert.equal(r.type, "fetch", `${r.method} ${path} is a fetch, not a ${r.type}`);
  }
}

/** Open the answer page for a link; returns { page, log, errors }. */
async function openAnswer(ext, query) {
  const page = await ext.context.newPage();
  const log = recordRequests(page);
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(`console: ${m.text()}`));
  await ext.openPage("answer.html", query, page);
  return { page, log, errors };
}

async function answerWithRealBroker(envelope) {
  await realBroker();
  const agent = await TestAgent.create(broker.url);
  const created = await agent.createSession({ fields: ALL_FIELD_TYPES, display_name: "Staging API key", ...(envelope === "jwe" ? { envelope: "jwe" } : {}) });
  const link = created.verification_uri_complete || created.url;
  const ext = await launchWithExtension();
  try {
    const { page, log, errors } = await openAnswer(ext, { link });
    await waitForState(page, "review");
    const origin = new URL(broker.url).origin;
    assert.equal(await page.getByTestId("origin").innerText(), `Request from ${origin}`);
    assert.equal(await page.getByTestId("code").innerText(), agent.code);
    assert.equal(await page.getByTestId("fingerprint").innerText(), agent.fingerprint.short, "fingerprint computed in the extension = the agent's");
    await page.getByLabel("Optional: paste the fingerprint your agent printed").fill(agent.fingerprint.long);
    await page.getByTestId("confirm").click();
    await waitForState(page, "form");
    const secret = makeSecret(`ext-${envelope}`);
    await fillForm(page, { "API key": secret, Account: "me@example.com", Region: "us-east-1", Notes: "line 1\nline 2 ✓" });
    await page.getByTestId("submit").click();
    await waitForState(page, "done");
    await screenshot(page, `extension-answer-done-${envelope}`);

    const ready = await agent.pollUntilReady({ intervalMs: 300 });
    assert.equal(ready.algorithm, envelope === "jwe" ? ALG_JWE : ALG_LINKAUTH);
    const creds = await agent.open(ready.ciphertext, ready.algorithm);
    assert.deepEqual(creds, { api_key: secret, account: "me@example.com", region: "us-east-1", notes: "line 1\nline 2 ✓" });
    if (envelope === "jwe") assert.equal(agent.lastJweHeader.sid, sessionIdOf(agent.code), "sid from the WASM userCode");

    assertOnlyApiCalls(log, origin);
    const sent = log.map((r) => `${r.method} ${r.url}\n${r.body}`).join("\n");
    assert.ok(!sent.includes(secret), "the secret is in no request in clear");
    assert.deepEqual((await controlValues(page)).filter((v) => v.includes(secret)), [], "plaintext cleared");
    assert.equal(await heapContains(page, secret), false, "secret not reachable from the page's JS heap");
    assert.deepEqual(errors, []);
  } finally {
    await ext.close();
  }
}

test("answer page, real broker, LinkAuth envelope: exactly the typed values reach the agent", async () => {
  await answerWithRealBroker("linkauth");
});

test("answer page, real broker, --jwe envelope: exactly the typed values reach the agent", async () => {
  await answerWithRealBroker("jwe");
});

test("a pasted link from a LinkAuth-shaped broker (reference names, no inbox API) is answered", async () => {
  const agent = await TestAgent.create("http://unused.invalid");
  const code = "QZ7K-4M2P";
  agent.sessionId = sessionIdOf(code);
  const fake = await startFakeBroker({
    referenceOnly: true,
    session: { code, public_key: agent.publicKeyB64, display_name: "Reference broker key", fields: [{ name: "api_key", label: "API key", type: "password", required: true }] },
  });
  const ext = await launchWithExtension();
  try {
    const { page, log, errors } = await openAnswer(ext, {});
    await page.getByLabel("Link or broker address").fill(`${fake.url}/connect/${code.toLowerCase()}`);
    await page.getByRole("button", { name: "Open the request" }).click();
    await waitForState(page, "review");
    assert.equal(await page.getByTestId("code").innerText(), code);
    assert.equal(await page.getByTestId("fingerprint").innerText(), agent.fingerprint.short);
    await page.getByTestId("confirm").click();
    await waitForState(page, "form");
    const secret = makeSecret("reference");
    await fillForm(page, { "API key": secret });
    await page.getByTestId("submit").click();
    await waitForState(page, "done");
    assert.equal(fake.completed.length, 1);
    assert.equal(fake.completed[0].algorithm, ALG_LINKAUTH);
    assert.deepEqual(await agent.open(fake.completed[0].ciphertext, fake.completed[0].algorithm), { api_key: secret });
    // The broker saw only its JSON API, never a request for a page or a script.
    assert.deepEqual(
      fake.requests.map((r) => `${r.method} ${r.path}`),
      [`GET /v1/connect/${code}`, `POST /v1/connect/${code}/confirm`, `POST /v1/connect/${code}/complete`],
    );
    assertOnlyApiCalls(log, fake.url);
    assert.deepEqual(errors, []);
  } finally {
    await ext.close();
    await fake.stop();
  }
});

test("what the agent claims (name, reason with HTML) renders as text", async () => {
  const agent = await TestAgent.create("http://unused.invalid");
  const code = "HT7L-0X9Z";
  const reason = `<img src=x onerror="document.title='pwned'"> rotate`;
  const fake = await startFakeBroker({
    session: {
      code,
      public_key: agent.publicKeyB64,
      display_name: "<b>bold</b> key",
      agent_name: "<script>alert(1)</script>",
      reason,
      expires_at: inMinutes(10),
      fields: [{ name: "api_key", label: "API key", type: "password", required: true }],
    },
  });
  const ext = await launchWithExtension();
  try {
    const { page, log, errors } = await openAnswer(ext, { broker: fake.url, code });
    await waitForState(page, "review");
    assert.equal(await page.getByTestId("reason").innerText(), reason);
    assert.equal(await page.getByTestId("agent-name").innerText(), "<script>alert(1)</script>");
    assert.equal(await page.getByTestId("title").innerText(), "<b>bold</b> key");
    const counts = await page.evaluate(() => {
      const root = document.getElementById("consent").shadowRoot;
      return { img: root.querySelectorAll("img").length, script: root.querySelectorAll("script").length, b: root.querySelectorAll("b").length };
    });
    assert.deepEqual(counts, { img: 0, script: 0, b: 0 });
    assert.ok(!(await page.title()).includes("pwned"));
    assert.ok(!log.some((r) => new URL(r.url).pathname === "/x" || r.url.endsWith("/x")), "no image fetched");
    assert.deepEqual(errors, []);
  } finally {
    await ext.close();
    await fake.stop();
  }
});

test("an origin without host permission: the page asks first and calls nothing", async () => {
  const ext = await launchWithExtension();
  try {
    const { page, log, errors } = await openAnswer(ext, { link: "https://broker.example/connect/ABCD-1234" });
    await page.getByRole("heading", { name: "Allow Sealpost to talk to this broker?" }).waitFor();
    assert.equal(await page.locator("#grant-origin").innerText(), "https://broker.example");
    assert.ok(await page.getByRole("button", { name: "Allow access to this broker" }).isVisible());
    assert.deepEqual(log.filter((r) => !r.url.startsWith("chrome-extension://")), [], "no request before the person allows it");
    // A link that is not http(s) is refused with a message, in the paste form.
    await ext.openPage("answer.html", { link: "javascript:alert(1)" }, page);
    assert.match(await page.locator("#pick-error").innerText(), /Only http/);
    assert.deepEqual(errors, []);
  } finally {
    await ext.close();
  }
});

test("the paste box: an empty submit says what to paste; the logo is drawn inline, with no image request", async () => {
  const ext = await launchWithExtension();
  try {
    const { page, log, errors } = await openAnswer(ext, {});
    await page.getByLabel("Link or broker address").waitFor();
    await page.getByRole("button", { name: "Open the request" }).click();
    const error = page.locator("#pick-error");
    await error.waitFor();
    assert.equal(await error.innerText(), "Paste the link your agent printed (it ends in /connect/ and a code), or the broker’s address.");
    assert.equal(await page.getByLabel("Link or broker address").getAttribute("aria-invalid"), "true");
    assert.equal(await page.evaluate(() => document.activeElement.id), "pick-link", "focus on the box to fill");
    // Text that is not a link still gets the link message.
    await page.getByLabel("Link or broker address").fill("not a link");
    await page.getByRole("button", { name: "Open the request" }).click();
    await page.waitForFunction(() => !/^Paste the link/.test(document.getElementById("pick-error").textContent));
    // icons/icon.svg is the one source of the logo; packaging draws it inline (decorative, 20 px).
    const logo = page.locator("header svg.answer-logo");
    assert.equal(await logo.getAttribute("aria-hidden"), "true");
    const box = await logo.boundingBox();
    assert.deepEqual([box.width, box.height], [20, 20]);
    assert.deepEqual(log.filter((r) => r.url.endsWith(".svg")), [], "no image request for the logo");
    assert.deepEqual(errors, []);
  } finally {
    await ext.close();
  }
});

test("tamper resistance: a broker that serves a stealing page and swaps the key", async () => {
  await realBroker();
  const evil = await startEvilBroker({ upstream: broker.url });
  const agent = await TestAgent.create(evil.url);
  const created = await agent.createSession({ template: "api_key", display_name: "Prod API key" });
  const link = created.verification_uri_complete || created.url;
  assert.ok(link.startsWith(broker.url), "the real broker names itself in the link");
  const evilLink = link.replace(broker.url, evil.url);

  // Control: the broker's own page really does steal what is typed into it.
  const ext = await launchWithExtension();
  try {
    const control = await ext.context.newPage();
    await control.goto(evilLink);
    await control.getByLabel("API key").fill("typed-into-the-broker-page");
    await control.waitForFunction(() => true);
    for (let i = 0; i < 50 && !evil.exfiltrated.some((b) => b.includes("typed-into-the-broker-page")); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(evil.exfiltrated.some((b) => b.includes("typed-into-the-broker-page")), "the evil page exfiltrates when used");
    await control.close();
    const seenBefore = evil.requests.length;
    const exfilBefore = evil.exfiltrated.length;

    // The extension answers the same link.
    const { page, log, errors } = await openAnswer(ext, { link: evilLink });
    await waitForState(page, "review");
    assert.equal(await page.getByTestId("origin").innerText(), `Request from ${evil.url}`);
    assert.equal(await page.getByTestId("code").innerText(), agent.code);
    const shown = await page.getByTestId("fingerprint").innerText();
    assert.notEqual(shown, agent.fingerprint.short, "the swapped key shows a different fingerprint");
    assert.equal(shown, evil.key.fingerprint.short, "it is the substituted key's fingerprint, computed in the extension");

    // The pasted agent fingerprint blocks: nothing is confirmed.
    await page.getByLabel("Optional: paste the fingerprint your agent printed").fill(agent.fingerprint.short);
    assert.equal(await page.getByTestId("confirm").getAttribute("aria-disabled"), "true");
    await page.getByTestId("confirm").click({ force: true }); // clicked anyway
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => document.getElementById("consent").getAttribute("data-state")), "review");
    assert.match(await page.locator("#sp-fp-input-status").innerText(), /Does not match/);
    await page.keyboard.press("Enter"); // Enter in the box is the same click
    await page.waitForTimeout(200);
    assert.ok(!evil.requests.some((r) => r.path.endsWith("/confirm")), "no confirm was sent");
    await screenshot(page, "extension-answer-tamper-blocked");

    // A person who ignores the fingerprint: still only ciphertext leaves the extension.
    await page.getByLabel("Optional: paste the fingerprint your agent printed").fill("");
    await page.getByTestId("confirm").click();
    await waitForState(page, "form");
    const secret = makeSecret("tamper");
    await fillForm(page, { "API key": secret });
    await page.getByTestId("submit").click();
    await waitForState(page, "done");

    const during = evil.requests.slice(seenBefore);
    assert.deepEqual(
      during.map((r) => `${r.method} ${r.path.replace(/\/v1\/connect\/[^/]+/, "/v1/connect/{code}")}`).filter((s) => !s.startsWith("GET /v1/sessions/")),
      ["GET /v1/connect/{code}", "POST /v1/connect/{code}/confirm", "POST /v1/connect/{code}/complete"],
      "the extension requested no page, no script, nothing but the JSON API",
    );
    assertOnlyApiCalls(log, evil.url);
    assert.equal(evil.exfiltrated.length, exfilBefore, "nothing reached /exfil");
    const bodies = during.map((r) => r.body).join("\n") + log.map((r) => r.body).join("\n");
    assert.ok(!bodies.includes(secret), "the secret is in no request body in clear");
    // Why the fingerprint matters: what was sealed opens with the substituted
    // key only, not the agent's.
    const ready = await agent.pollUntilReady({ intervalMs: 300 });
    await assert.rejects(agent.open(ready.ciphertext, ready.algorithm));
    assert.deepEqual(await evil.open(ready.ciphertext, ready.algorithm), { api_key: secret });
    assert.deepEqual(errors, []);
  } finally {
    await ext.close();
    await evil.stop();
  }
});

/** The paste box is shown, focused, empty, and the consent view is gone (and so is the link in the address). */
async function assertBackAtPasteBox(page) {
  await page.locator("#pick").waitFor();
  assert.equal(await page.locator("#consent").isVisible(), false);
  assert.equal(await page.evaluate(() => document.querySelector("[data-state]")), null, "no consent state left on the page");
  assert.equal(await page.getByLabel("Link or broker address").inputValue(), "");
  await waitForFocus(page, /^input#pick-link/);
  assert.equal(await page.evaluate(() => location.search), "", "a reload shows the paste box, not the request that failed");
  assert.equal(await page.title(), "Answer a request · Sealpost");
}

test("error views lead back to the paste box: a code the broker does not know, then a request that expires under review", async () => {
  await realBroker();
  const ext = await launchWithExtension();
  try {
    const { page, errors } = await openAnswer(ext, { link: `${broker.url}/connect/ZZZZ-9999` });
    await waitForState(page, "error");
    assert.equal(await page.evaluate(() => document.getElementById("consent").getAttribute("data-error")), "not-found");
    // The error heading has focus on this first view; the next step is the next Tab stop.
    await waitForFocus(page, /^h1#sp-h-error\[This code isn’t valid any more\]/);
    await screenshot(page, "extension-answer-error-not-found");
    assert.deepEqual((await runAxe(page)).filter((v) => v.impact === "serious" || v.impact === "critical"), [], "axe: the error view");
    await page.keyboard.press("Tab");
    assert.match(await focusedInComponent(page), /^button\[Paste another link\]/);
    await page.keyboard.press("Enter");
    await assertBackAtPasteBox(page);

    // A request that expires while it is reviewed: the same way out.
    const agent = await TestAgent.create(broker.url);
    const created = await agent.createSession({ template: "api_key", display_name: "Short-lived key", ttl: 3 });
    await page.getByLabel("Link or broker address").fill(created.verification_uri_complete || created.url);
    await page.getByRole("button", { name: "Open the request" }).click();
    await waitForState(page, "review");
    await waitForState(page, "error", { timeout: 8000 });
    assert.equal(await page.evaluate(() => document.getElementById("consent").getAttribute("data-error")), "expired");
    await waitForFocus(page, /^h1#sp-h-error\[This request has expired\]/);
    // The review's development banner gives way: the error is the first thing on the page.
    assert.equal(await page.locator(".sp-banner").isVisible(), false, "no banner above the error");
    assert.equal(await headingDescription(page), `Request from ${new URL(broker.url).origin}`);
    await page.setViewportSize({ width: 400, height: 700 });
    await screenshot(page, "extension-light-answer-error-expired-popup-width", { fullPage: false });
    await page.getByRole("button", { name: "Paste another link" }).click();
    await assertBackAtPasteBox(page);
    // Chromium logs the broker's 404 for the unknown code; nothing else.
    assert.deepEqual(errors.filter((e) => !/status of 404/.test(e)), []);
  } finally {
    await ext.close();
  }
});

/** The buttons on the consent card, by their text. */
const cardButtons = (page) => page.locator(".sp-card").getByRole("button").allInnerTexts();

/** What a screen reader hears with the focused heading: its aria-describedby text. */
const headingDescription = (page) =>
  page.evaluate(() => {
    const root = document.getElementById("consent").shadowRoot;
    const h = root.activeElement;
    return (h.getAttribute("aria-describedby") || "").split(" ").map((id) => root.getElementById(id)?.textContent).join(" ");
  });

for (const colorScheme of ["light", "dark"]) {
  test(`'Stopped' and 'Done' (${colorScheme}): the broker's origin, focus on the heading, then 'Paste another link' back to the paste box`, async () => {
    await realBroker();
    const origin = new URL(broker.url).origin;
    const ext = await launchWithExtension({ colorScheme });
    try {
      // The codes don't match: Stopped, nothing sent; its next step is the paste box.
      const agent = await TestAgent.create(broker.url);
      const created = await agent.createSession({ template: "api_key", display_name: "Mismatched key" });
      const { page, errors } = await openAnswer(ext, { link: created.verification_uri_complete || created.url });
      await waitForState(page, "review");
      // A loopback broker: the review warns that it runs without TLS.
      assert.equal(await page.locator(".sp-banner").isVisible(), true);
      await page.getByRole("button", { name: "They don’t match" }).click();
      await waitForState(page, "stopped");
      await waitForFocus(page, /^h1#sp-h-stopped\[Stopped\. Nothing was sent\.\]/);
      // Which broker's request this was, on screen and with the heading.
      assert.equal(await page.getByTestId("origin").innerText(), `Request from ${origin}`);
      assert.equal(await headingDescription(page), `Request from ${origin}`);
      const stopped = await page.locator(".sp-card").innerText();
      assert.match(stopped, /so this request may not come from your agent\./);
      assert.match(stopped, /What to do: Tell your agent to cancel this request\. Check the code and fingerprint again on its next one\./);
      assert.doesNotMatch(stopped, /close/i, "nothing to close here: the way on is the button");
      assert.deepEqual(await cardButtons(page), ["Paste another link"]);
      assert.equal(await page.locator(".sp-banner").isVisible(), false, "no banner above Stopped");
      await screenshot(page, `extension-${colorScheme}-answer-stopped`);
      assert.deepEqual((await runAxe(page)).filter((v) => v.impact === "serious" || v.impact === "critical"), [], "axe: the stopped view");
      await page.keyboard.press("Tab");
      assert.match(await focusedInComponent(page), /^button\[Paste another link\]/);
      await page.keyboard.press("Enter");
      await assertBackAtPasteBox(page);

      // Another request, answered: Done, and the same way on to the next one.
      const next = await TestAgent.create(broker.url);
      const second = await next.createSession({ template: "api_key", display_name: "Next key" });
      await page.getByLabel("Link or broker address").fill(second.verification_uri_complete || second.url);
      await page.getByRole("button", { name: "Open the request" }).click();
      await waitForState(page, "review");
      await page.getByTestId("confirm").click();
      await waitForState(page, "form");
      assert.equal(await page.locator(".sp-banner").isVisible(), true, "the form keeps the banner");
      const secret = makeSecret("ext-another");
      await fillForm(page, { "API key": secret });
      await page.getByTestId("submit").click();
      await waitForState(page, "done");
      await waitForFocus(page, /^h1#sp-h-done\[Sent securely\]/);
      assert.equal(await page.getByTestId("origin").innerText(), `Request from ${origin}`);
      assert.equal(await headingDescription(page), `Request from ${origin}`);
      const done = await page.locator(".sp-card").innerText();
      assert.match(done, /Your agent can now read it\./);
      assert.doesNotMatch(done, /close/i);
      // True of the extension's page as of a broker's page (the header above
      // says "in this extension"; the view does not claim "in this page").
      assert.match(done, /Encrypted in this browser to the key [0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}\. Nothing readable was sent to the broker, and nothing was stored here\./);
      assert.doesNotMatch(done, /in this page/);
      assert.deepEqual(await cardButtons(page), ["Paste another link"]);
      assert.equal(await page.locator(".sp-banner").isVisible(), false, "no banner above Done");
      await screenshot(page, `extension-${colorScheme}-answer-done`);
      assert.deepEqual((await runAxe(page)).filter((v) => v.impact === "serious" || v.impact === "critical"), [], "axe: the done view");
      await page.keyboard.press("Tab");
      assert.match(await focusedInComponent(page), /^button\[Paste another link\]/);
      const ready = await next.pollUntilReady({ intervalMs: 300 });
      assert.deepEqual(await next.open(ready.ciphertext, ready.algorithm), { api_key: secret });
      await page.getByRole("button", { name: "Paste another link" }).click();
      await assertBackAtPasteBox(page);
      assert.deepEqual(errors, []);
    } finally {
      await ext.close();
    }
  });
}

for (const colorScheme of ["light", "dark"]) {
  test(`review, ${colorScheme}: focus on the heading; the Long form toggle has the page's 3 px focus ring`, async () => {
    await realBroker();
    const agent = await TestAgent.create(broker.url);
    const created = await agent.createSession({ template: "api_key", display_name: "Staging API key", ttl: 300 });
    const ext = await launchWithExtension({ colorScheme });
    try {
      const { page, errors } = await openAnswer(ext, { link: created.verification_uri_complete || created.url });
      await waitForState(page, "review");
      // Focus on the review's heading (not the body), without a scroll or a ring around it.
      await waitForFocus(page, /^h1#sp-h-review\[title\]/);
      assert.equal(await page.evaluate(() => window.scrollY), 0);
      const ring = () =>
        page.evaluate(() => {
          let el = document.activeElement;
          while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
          const s = getComputedStyle(el);
          return { style: s.outlineStyle, width: s.outlineWidth, color: s.outlineColor };
        });
      assert.equal((await ring()).style, "none");
      // The origin, said before the heading on screen, is its description for a screen reader.
      const described = await page.evaluate(() => {
        const root = document.getElementById("consent").shadowRoot;
        const h = root.activeElement;
        return (h.getAttribute("aria-describedby") || "").split(" ").map((id) => root.getElementById(id)?.textContent).join(" ");
      });
      assert.equal(described, `Request from ${new URL(broker.url).origin}`);
      await page.keyboard.press("Tab");
      assert.match(await focusedInComponent(page), /^summary\[Long form\]/);
      const expected = { style: "solid", width: "3px", color: colorScheme === "dark" ? "rgb(138, 180, 255)" : "rgb(37, 99, 235)" };
      assert.deepEqual(await ring(), expected, "the page's 3 px ring, not the browser's default");
      await screenshot(page, `extension-${colorScheme}-answer-long-form-focus`, { fullPage: false });
      await page.keyboard.press("Tab");
      await page.keyboard.press("Tab");
      assert.match(await focusedInComponent(page), /^button\[confirm\]/);
      assert.deepEqual(await ring(), expected, "as on the buttons");
      assert.deepEqual(errors, []);
    } finally {
      await ext.close();
    }
  });
}
