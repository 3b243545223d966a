// Consent page against a fake broker in Node: fingerprint mismatch, every
// failure state, reference LinkAuth field names, manual entry, keyboard-only
// use, retry without double submission, plaintext clearing. Real headless
// Chromium, the real WASM bundle, the broker's exact CSP.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startFakeBroker, problem } from "./lib/fake-broker.mjs";
import { launchBrowser, guardPage, requestsText } from "./lib/browser.mjs";
import { TestAgent, generateRsaKey, ALG_LINKAUTH, ALG_JWE, sessionIdOf } from "./lib/agent.mjs";
import {
  ALL_FIELD_TYPES,
  cardText,
  controlFor,
  controlValues,
  errorKind,
  fillForm,
  focusedInComponent,
  heapContains,
  makeSecret,
  waitForState,
} from "./lib/consent.mjs";

const CODE = "QZ7K-4M2P";
const inMinutes = (m) => new Date(Date.now() + m * 60_000).toISOString();

async function setup({ session = {}, handlers, referenceOnly, browser = {}, agentKey, pages } = {}) {
  const agent = await TestAgent.create("http://unused.invalid");
  if (agentKey) agent.key = agentKey;
  agent.sessionId = sessionIdOf(session.code || CODE);
  const fake = await startFakeBroker({
    referenceOnly,
    handlers,
    pages,
    session: {
      code: CODE,
      public_key: agent.publicKeyB64,
      display_name: "Staging API key",
      agent_name: "deploy-bot",
      reason: "Rotate the staging key.",
      envelope: "linkauth",
      expires_at: inMinutes(10),
      fields: ALL_FIELD_TYPES,
      ...session,
    },
  });
  const b = await launchBrowser(browser);
  const g = await guardPage(b.page);
  const ctx = {
    agent,
    fake,
    page: b.page,
    g,
    async close() {
      await b.close();
      await fake.stop();
    },
    assertClean() {
      assert.deepEqual(g.cspViolations, [], "no CSP violation");
      assert.deepEqual(g.errors, [], "no uncaught page error");
    },
    apiRequests(kind) {
      return fake.requests.filter((r) => r.path.startsWith("/v1/") && r.path.endsWith(kind));
    },
  };
  return ctx;
}

async function run(opts, fn) {
  const ctx = await setup(opts);
  try {
    await fn(ctx);
    ctx.assertClean();
  } finally {
    await ctx.close();
  }
}

test("reference LinkAuth field names only (code, no user_code/expires_at/envelope): full flow", async () => {
  await run({ referenceOnly: true }, async ({ page, fake, agent }) => {
    await page.goto(`${fake.url}/connect/${CODE}`);
    await waitForState(page, "review");
    assert.equal(await page.getByTestId("code").innerText(), CODE);
    assert.equal(await page.getByTestId("fingerprint").innerText(), agent.fingerprint.short);
    assert.equal(await page.getByTestId("countdown").count(), 0, "no countdown without expires_at");
    await page.getByTestId("confirm").click();
    await waitForState(page, "form");
    const secret = makeSecret("ref");
    await fillForm(page, { "API key": secret, Region: "us-east-1" });
    await page.getByTestId("submit").click();
    await waitForState(page, "done");
    assert.equal(fake.completed.length, 1);
    assert.equal(fake.completed[0].algorithm, ALG_LINKAUTH);
    const creds = await agent.open(fake.completed[0].ciphertext, fake.completed[0].algorithm);
    assert.deepEqual(creds, { api_key: secret, account: "", region: "us-east-1", notes: "" });
  });
});

test("JWE envelope through the fake broker: sid bound, kid is the long fingerprint", async () => {
  await run({ session: { envelope: "jwe" } }, async ({ page, fake, agent }) => {
    await page.goto(`${fake.url}/connect/${CODE.toLowerCase()}`);
    await waitForState(page, "review");
    await page.getByTestId("confirm").click();
    await waitForState(page, "form");
    const secret = makeSecret("jwe");
    await fillForm(page, { "API key": secret, Account: "ops@example.com", Region: "eu-west-1", Notes: "line one\nline two" });
    await page.getByTestId("submit").click();
    await waitForState(page, "done");
    assert.equal(fake.completed[0].algorithm, ALG_JWE);
    const creds = await agent.open(fake.completed[0].ciphertext, ALG_JWE);
    assert.deepEqual(creds, { api_key: secret, account: "ops@example.com", region: "eu-west-1", notes: "line one\nline two" });
    assert.equal(agent.lastJweHeader.kid, agent.fingerprint.long);
  });
});

test("fingerprint mismatch: a swapped key shows a different fingerprint and the paste box blocks", async () => {
  const swapped = await generateRsaKey();
  const agentKey = await generateRsaKey();
  // The lying broker also sends the agent's real fingerprint: the page must ignore it.
  const handlers = {
    connect: (ctx, next) => {
      const a = next();
      if (a.body) Object.assign(a.body, { fingerprint: agentKey.fingerprint.short, fingerprint_long: agentKey.fingerprint.long });
      return a;
    },
  };
  await run({ agentKey, handlers, session: { public_key: swapped.publicKeyB64 } }, async ({ page, fake, agent, apiRequests }) => {
    await page.goto(`${fake.url}/connect/${CODE}`);
    await waitForState(page, "review");
    const shown = await page.getByTestId("fingerprint").innerText();
    assert.equal(shown, swapped.fingerprint.short, "page computes the fingerprint of the key it received");
    assert.notEqual(shown, agent.fingerprint.short, "which differs from the agent's (and from what the broker claims)");
    assert.ok(!(await page.locator(".sp-card").innerText()).includes(agent.fingerprint.short), "a broker-sent fingerprint is never shown");
    assert.equal(await page.getByTestId("fingerprint-long").textContent(), swapped.fingerprint.long);

    const box = page.getByLabel("Optional: paste the fingerprint your agent printed");
    await box.fill(agent.fingerprint.short);
    // aria-disabled keeps the button focusable and clickable: a click explains
    // the mismatch instead of doing nothing. Force past Playwright's check.
    await page.getByTestId("confirm").click({ force: true });
    await page.waitForTimeout(300);
    assert.equal(await waitForState(page, "review"), "review", "still on review");
    assert.equal(apiRequests("/confirm").length, 0, "no confirm was sent");
    assert.match(await cardText(page), /Does not match/);
    assert.equal(await box.getAttribute("aria-invalid"), "true");
    assert.equal(await page.getByTestId("confirm").getAttribute("aria-disabled"), "true");
    assert.match(await focusedInComponent(page), /input#sp-fp-input/, "focus returns to the box");

    // The agent's long form does not match either.
    await box.fill(agent.fingerprint.long);
    await box.press("Enter");
    await page.waitForTimeout(200);
    assert.equal(apiRequests("/confirm").length, 0);

    // Positive control: the fingerprint of the key actually received, in
    // other spellings, is accepted.
    for (const spelling of [
      swapped.fingerprint.short.toUpperCase().replace(/-/g, " "),
      `  ${swapped.fingerprint.long.toLowerCase()}  `,
      swapped.fingerprint.hex,
    ]) {
      await box.fill(spelling);
      assert.match(await cardText(page), /Matches/, `accepts ${spelling}`);
    }
    await page.getByTestId("confirm").click();
    await waitForState(page, "form");
    assert.equal(apiRequests("/confirm").length, 1);
  });
});

test("unknown or expired code: 404 renders its message", async () => {
  await run({}, async ({ page, fake }) => {
    await page.goto(`${fake.url}/connect/AAAA-0000`);
    await waitForState(page, "error");
    assert.equal(await errorKind(page), "not-found");
    const text = await cardText(page);
    assert.match(text, /isn’t valid any more/);
    assert.match(text, /ask your agent for a new link/);
  });
});

test("already completed: 410 renders its message", async () => {
  await run({ session: { status: "ready" } }, async ({ page, fake }) => {
    await page.goto(`${fake.url}/connect/${CODE}`);
    await waitForState(page, "error");
    assert.equal(await errorKind(page), "completed");
    assert.match(await cardText(page), /already answered/);
  });
});

test("already confirmed elsewhere: 409 on confirm renders its message", async () => {
  const handlers = { confirm: () => problem(409, "Conflict", "Session already confirmed.") };
  await run({ handlers }, async ({ page, fake }) => {
    await page.goto(`${fake.url}/connect/${CODE}`);
    await waitForState(page, "review");
    await page.getByTestId("confirm").click();
    await waitForState(page, "error");
    assert.equal(await errorKind(page), "taken");
    assert.match(await cardText(page), /opened somewhere else/);
    assert.equal(await page.getByTestId("retry").count(), 0, "no retry for a terminal state");
  });
});

test("confirmed elsewhere between load and confirm: 404 on confirm renders the same message", async () => {
  const handlers = { confirm: () => problem(404, "Not Found", "Session not found or expired.") };
  await run({ handlers }, async ({ page, fake }) => {
    await page.goto(`${fake.url}/connect/${CODE}`);
    await waitForState(page, "review");
    await page.getByTestId("confirm").click();
    await waitForState(page, "error");
    assert.equal(await errorKind(page), "taken");
  });
});

test("rate limited: 429 renders its message, waits Retry-After, retry succeeds", async () => {
  let calls = 0;
  const handlers = {
    connect: (ctx, next) => (++calls === 1 ? { ...problem(429, "Too Many Requests"), headers: { "Retry-After": "3" } } : next()),
  };
  await run({ handlers }, async ({ page, fake }) => {
    await page.goto(`${fake.url}/connect/${CODE}`);
    await waitForState(page, "error");
    assert.equal(await errorKind(page), "rate-limited");
    assert.match(await cardText(page), /Too many attempts/);
    const retry = page.getByTestId("retry");
    assert.equal(await retry.getAttribute("aria-disabled"), "true", "retry waits for Retry-After");
    await page.waitForFunction(() => {
      const b = document.querySelector("[data-state]").shadowRoot.querySelector("[data-testid=retry]");
      return b && !b.hasAttribute("aria-disabled");
    });
    await retry.click();
    await waitForState(page, "review");
    assert.equal(calls, 2);
  });
});

test("expiry: the countdown runs and the page switches to the expired message", async () => {
  await run({ session: { expires_at: new Date(Date.now() + 2500).toISOString() } }, async ({ page, fake }) => {
    await page.goto(`${fake.url}/connect/${CODE}`);
    await waitForState(page, "review");
    assert.match(await page.getByTestId("countdown").innerText(), /^0:0[0-3]$/);
    await waitForState(page, "error", { timeout: 6000 });
    assert.equal(await errorKind(page), "expired");
    assert.match(await cardText(page), /has expired/);
  });
});

test("network down while loading: message, retry loads the request", async () => {
  await run({}, async ({ page, fake }) => {
    await page.route(/\/v1\/connect\//, (route) => route.abort("internetdisconnected"));
    await page.goto(`${fake.url}/connect/${CODE}`);
    await waitForState(page, "error");
    assert.equal(await errorKind(page), "network");
    assert.match(await cardText(page), /Can’t reach the broker/);
    await page.unroute(/\/v1\/connect\//);
    await page.getByTestId("retry").click();
    await waitForState(page, "review");
  });
});

test("network down on send: message, retry resends the same ciphertext, never two sends at once", async () => {
  const handlers = {
    complete: async (ctx, next) => {
      await new Promise((r) => setTimeout(r, 400));
      return next();
    },
  };
  await run({ handlers }, async ({ page, fake, agent, g }) => {
    await page.goto(`${fake.url}/connect/${CODE}`);
    await waitForState(page, "review");
    // The network goes down for the first send (Chromium would silently retry
    // a POST on a reset keep-alive socket, so abort in the browser instead).
    let aborted = 0;
    await page.route(/\/complete$/, (route) => (aborted++ === 0 ? route.abort("internetdisconnected") : route.continue()));
    await page.getByTestId("confirm").click();
    await waitForState(page, "form");
    const secret = makeSecret("net");
    await fillForm(page, { "API key": secret, Region: "eu-west-1" });
    await page.getByTestId("submit").click();
    await waitForState(page, "error");
    assert.equal(await errorKind(page), "network");
    assert.match(await cardText(page), /Can’t reach the broker/);
    assert.deepEqual((await controlValues(page)).filter((v) => v.includes(secret)), [], "inputs cleared after sealing");
    // Hammer the retry button: exactly one more request goes out.
    const retry = page.getByTestId("retry");
    await retry.click();
    await retry.click({ force: true, timeout: 500 }).catch(() => {});
    await retry.click({ force: true, timeout: 500 }).catch(() => {});
    await waitForState(page, "done");
    const sent = g.requests.filter((r) => r.url.endsWith("/complete"));
    assert.equal(sent.length, 2, "first (lost) + one retry");
    assert.equal(fake.requests.filter((r) => r.path.endsWith("/complete")).length, 1, "one reached the broker");
    assert.equal(sent[0].body, sent[1].body, "the retry resends the same ciphertext, sealed once");
    const creds = await agent.open(fake.completed[0].ciphertext, fake.completed[0].algorithm);
    assert.equal(creds.api_key, secret);
  });
});

test("double submit: a second click or Enter while sending sends nothing more", async () => {
  const handlers = {
    complete: async (ctx, next) => {
      await new Promise((r) => setTimeout(r, 500));
      return next();
    },
  };
  await run({ handlers }, async ({ page, fake, apiRequests }) => {
    await page.goto(`${fake.url}/connect/${CODE}`);
    await waitForState(page, "review");
    await page.getByTestId("confirm").dblclick();
    await waitForState(page, "form");
    assert.equal(apiRequests("/confirm").length, 1, "double click on confirm confirms once");
    await fillForm(page, { "API key": makeSecret("dbl"), Region: "eu-west-1" });
    const submit = page.getByTestId("submit");
    await submit.dblclick();
    await waitForState(page, "done");
    assert.equal(apiRequests("/complete").length, 1);
    assert.equal(fake.completed.length, 1);
  });
});

test("send refused: 409, 403 and 404 on complete render their messages", async () => {
  for (const [status, kind, text] of [
    [409, "no-longer-waiting", /no longer accepts a secret/],
    [403, "forbidden", /no longer allowed to answer/],
    [404, "expired-before-send", /expired before the secret arrived/],
  ]) {
    const handlers = { complete: () => problem(status, "refused") };
    await run({ handlers }, async ({ page, fake }) => {
      await page.goto(`${fake.url}/connect/${CODE}`);
      await waitForState(page, "review");
      await page.getByTestId("confirm").click();
      await waitForState(page, "form");
      await fillForm(page, { "API key": makeSecret(), Region: "eu-west-1" });
      await page.getByTestId("submit").click();
      await waitForState(page, "error");
      assert.equal(await errorKind(page), kind);
      assert.match(await cardText(page), text);
    });
  }
});

test("required fields are enforced before anything is sealed or sent", async () => {
  await run({}, async ({ page, fake, apiRequests }) => {
    await page.goto(`${fake.url}/connect/${CODE}`);
    await waitForState(page, "review");
    await page.getByTestId("confirm").click();
    await waitForState(page, "form");
    await page.getByTestId("submit").click();
    await page.waitForTimeout(200);
    assert.equal(await waitForState(page, "form"), "form");
    assert.equal(apiRequests("/complete").length, 0);
    const text = await cardText(page);
    assert.match(text, /Enter API key\./);
    assert.match(text, /Choose Region\./);
    assert.equal(await controlFor(page, "API key").getAttribute("aria-invalid"), "true");
    assert.match(await focusedInComponent(page), /#sp-f-0/, "focus on the first empty required field");
    // Show/hide toggles the password field.
    const key = controlFor(page, "API key");
    assert.equal(await key.getAttribute("type"), "password");
    await page.getByRole("button", { name: "Show API key" }).click();
    assert.equal(await key.getAttribute("type"), "text");
    await page.getByRole("button", { name: "Hide API key" }).click();
    assert.equal(await key.getAttribute("type"), "password");
  });
});

test("manual code entry: /connect, wrong code, then the right one in lower case without hyphen", async () => {
  await run({}, async ({ page, fake, agent, apiRequests }) => {
    await page.goto(`${fake.url}/connect`);
    await waitForState(page, "entry");
    const input = page.getByLabel("Code", { exact: true });
    await input.fill("zzzz9999");
    await input.press("Enter");
    await page.waitForFunction(() => document.querySelector("[data-state]").shadowRoot.querySelector("#sp-code-error"));
    assert.equal(await waitForState(page, "entry"), "entry");
    assert.match(await cardText(page), /isn’t valid any more/);
    assert.equal(await input.getAttribute("aria-invalid"), "true");
    await page.getByLabel("Code", { exact: true }).fill(CODE.toLowerCase().replace("-", ""));
    await page.getByRole("button", { name: "Continue" }).click();
    await waitForState(page, "review");
    const resolves = apiRequests("/resolve");
    assert.equal(resolves.length, 2);
    assert.deepEqual(JSON.parse(resolves[1].body), { user_code: CODE });
    assert.equal(await page.getByTestId("code").innerText(), CODE);
    assert.equal(await page.getByTestId("fingerprint").innerText(), agent.fingerprint.short);
  });
});

test("keyboard only: tab order, confirm, fill, show/hide, submit; plaintext gone afterwards", async () => {
  await run({}, async ({ page, fake, agent }) => {
    await page.goto(`${fake.url}/connect/${CODE}`);
    await waitForState(page, "review");
    const order = [];
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press("Tab");
      order.push(await focusedInComponent(page));
    }
    assert.match(order[0], /^summary/, "long fingerprint disclosure first");
    assert.match(order[1], /^input#sp-fp-input/, "then the paste box");
    assert.match(order[2], /^button\[confirm\]/, "then continue");
    assert.match(order[3], /^button\[They don’t match\]/, "then stop");
    // Back to the paste box, type the agent's fingerprint, Enter continues.
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.type(agent.fingerprint.short);
    await page.keyboard.press("Enter");
    await waitForState(page, "form");
    assert.match(await focusedInComponent(page), /^h2#sp-h-form/, "focus moves to the form heading");

    const secret = makeSecret("kbd");
    await page.keyboard.press("Tab"); // API key
    await page.keyboard.type(secret);
    await page.keyboard.press("Tab"); // Show
    assert.match(await focusedInComponent(page), /Show API key/);
    await page.keyboard.press("Space");
    assert.equal(await controlFor(page, "API key").getAttribute("type"), "text");
    await page.keyboard.press("Tab"); // Account
    await page.keyboard.type("me");
    await page.keyboard.press("Tab"); // Region (select)
    assert.match(await focusedInComponent(page), /^select#sp-f-2/);
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Tab"); // Notes
    await page.keyboard.type("n");
    await page.keyboard.press("Tab"); // submit
    assert.match(await focusedInComponent(page), /submit/);
    await page.keyboard.press("Enter");
    await waitForState(page, "done");
    const creds = await agent.open(fake.completed[0].ciphertext, fake.completed[0].algorithm);
    assert.deepEqual(creds, { api_key: secret, account: "me", region: "eu-west-1", notes: "n" });

    // Plaintext cleared: no control holds it, the DOM does not contain it,
    // and no JS object still references it (heap snapshot after full GC).
    assert.deepEqual((await controlValues(page)).filter((v) => v.includes(secret)), []);
    const dom = await page.evaluate(() => document.querySelector("[data-state]").shadowRoot.innerHTML + document.body.innerHTML);
    assert.ok(!dom.includes(secret), "secret not in the DOM");
    assert.equal(await heapContains(page, secret), false, "secret not reachable from the JS heap");
  });
});

test("embedding: <sealpost-consent> in an operator's own page, themed, with events", async () => {
  const pages = {
    "/embed.html": `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Operator page</title>
<link rel="stylesheet" href="/embed.css">
<script type="module" src="/assets/consent.js"></script></head>
<body><main><h1>Acme broker</h1><sealpost-consent api-base="" code="${CODE}"></sealpost-consent></main></body></html>`,
    "/embed.css": "sealpost-consent { --sp-accent: rgb(67, 56, 202); --sp-accent-ink: rgb(255, 255, 255); }",
  };
  await run({ pages }, async ({ page, fake, agent }) => {
    await page.goto(`${fake.url}/embed.html`);
    await page.evaluate(() => {
      window.__events = [];
      for (const t of ["sealpost-state", "sealpost-done", "sealpost-error"]) {
        document.addEventListener(t, (e) => window.__events.push(e.type === "sealpost-state" ? `state:${e.detail.state}` : e.type));
      }
    });
    await waitForState(page, "review");
    assert.equal(await page.getByTestId("fingerprint").innerText(), agent.fingerprint.short);
    const bg = await page.getByTestId("confirm").evaluate((e) => getComputedStyle(e).backgroundColor);
    assert.equal(bg, "rgb(67, 56, 202)", "the host page themes the component through custom properties");
    assert.equal(await page.locator("h1").first().innerText(), "Acme broker", "host page styles and content untouched");
    await page.getByTestId("confirm").click();
    await waitForState(page, "form");
    const secret = makeSecret("embed");
    await fillForm(page, { "API key": secret, Region: "eu-west-1" });
    await page.getByTestId("submit").click();
    await waitForState(page, "done");
    const events = await page.evaluate(() => window.__events);
    assert.ok(events.includes("state:form") && events.includes("sealpost-done"), JSON.stringify(events));
    const creds = await agent.open(fake.completed[0].ciphertext, fake.completed[0].algorithm);
    assert.equal(creds.api_key, secret);
  });
});

test("the page's script blocked: after a few seconds the page says so instead of staying blank", async () => {
  await run({}, async ({ page, fake }) => {
    await page.route("**/assets/consent-page.js", (r) => r.abort("blockedbyclient"));
    const started = Date.now();
    await page.goto(`${fake.url}/connect/${CODE}`);
    const fallback = page.getByTestId("page-fallback");
    // Hidden at first: a page that loads normally never shows it.
    if (Date.now() - started < 3000) assert.equal(await fallback.getByText("This page hasn’t finished loading").isVisible(), false);
    await fallback.getByText("This page hasn’t finished loading").waitFor({ state: "visible", timeout: 15_000 });
    assert.ok(Date.now() - started >= 3500, "shown after its delay");
    assert.match(await fallback.innerText(), /Reload the page\. If that doesn’t help, something \(an extension, a content blocker or a firewall\) is blocking this site’s scripts\./);
    const box = await fallback.boundingBox();
    assert.ok(box && box.height > 40, "laid out with its text");
  });
  // Positive control: with its script, the page never shows that message (the
  // view's shadow root replaces the host's own content), even long after.
  await run({}, async ({ page, fake }) => {
    await page.goto(`${fake.url}/connect/${CODE}`);
    await waitForState(page, "review");
    await page.waitForTimeout(4500);
    assert.equal(await page.getByText("This page hasn’t finished loading").isVisible(), false);
    assert.equal(await waitForState(page, "review"), "review");
  });
});

test("the WASM glue slow: the review is shown from WebCrypto; confirm waits for the bundle's check of the key", async () => {
  let release;
  const held = new Promise((r) => {
    release = r;
  });
  await run({}, async ({ page, fake, agent, apiRequests }) => {
    await page.route("**/pkg/sealpost_wasm.js", async (r) => {
      await held;
      await r.continue();
    });
    await page.goto(`${fake.url}/connect/${CODE}`);
    await waitForState(page, "review");
    assert.equal(await page.getByTestId("fingerprint").innerText(), agent.fingerprint.short, "fingerprint of the key received");
    assert.equal(await page.getByTestId("code").innerText(), CODE);
    await page.getByTestId("confirm").click();
    await waitForState(page, "loading");
    await page.waitForTimeout(300);
    assert.equal(apiRequests("/confirm").length, 0, "nothing confirmed while the bundle is held");
    release();
    await waitForState(page, "form");
    assert.equal(apiRequests("/confirm").length, 1);
    const secret = makeSecret("slow-wasm");
    await fillForm(page, { "API key": secret, Region: "eu-west-1" });
    await page.getByTestId("submit").click();
    await waitForState(page, "done");
    const creds = await agent.open(fake.completed[0].ciphertext, fake.completed[0].algorithm);
    assert.equal(creds.api_key, secret);
  });
});

test("the WASM glue fails to load after the review is shown: the encryption-module message, nothing confirmed", async () => {
  await run({}, async ({ page, fake, apiRequests }) => {
    await page.route("**/pkg/sealpost_wasm.js", (r) => r.abort("blockedbyclient"));
    await page.goto(`${fake.url}/connect/${CODE}`);
    await waitForState(page, "error");
    assert.equal(await errorKind(page), "bundle");
    assert.match(await cardText(page), /encryption module didn’t load/);
    assert.equal(apiRequests("/confirm").length, 0);
  });
});

test("a key the core refuses (1024 bits): the page waits for the WASM, which says bad-key", async () => {
  const small = await generateRsaKey(1024);
  await run({ session: { public_key: small.publicKeyB64 } }, async ({ page, fake, apiRequests }) => {
    await page.goto(`${fake.url}/connect/${CODE}`);
    await waitForState(page, "error");
    assert.equal(await errorKind(page), "bad-key");
    assert.match(await cardText(page), /key can’t be used/);
    assert.equal(apiRequests("/confirm").length, 0);
  });
});
