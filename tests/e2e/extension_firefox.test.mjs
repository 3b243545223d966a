// The extension in Firefox (Debian's firefox-esr, headless), driven over
// WebDriver BiDi (tests/e2e/lib/firefox.mjs; no geckodriver, nothing
// downloaded): the unpacked Firefox package (dist/extension/firefox) installs
// temporarily, its first-run page opens by itself, the loopback host
// permissions are granted at install, and the answer page (opened by the
// extension itself, since BiDi may not navigate to moz-extension:// URLs)
// loads the bundled WASM under the MV3 CSP and answers a session of a real
// broker end to end, for both envelopes: the agent opens exactly the typed
// values, and the page only ever called the broker's JSON API. Then pairing:
// the options page adds the broker and an agent, the popup lists that agent's
// request with the right fingerprint, and decline reaches the agent.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startBroker } from "./lib/broker.mjs";
import { TestAgent, ALG_JWE, ALG_LINKAUTH } from "./lib/agent.mjs";
import { ALL_FIELD_TYPES, makeSecret } from "./lib/consent.mjs";
import { DIST } from "./lib/env.mjs";
import { FIREFOX, launchFirefox } from "./lib/firefox.mjs";

const PACKAGE = process.env.SEALPOST_EXTENSION_FIREFOX_DIR || join(DIST, "extension", "firefox");
const GECKO_ID = "sealpost@sealpost.dev";
// Pinned through extensions.webextensions.uuids, so the origin is known in advance.
const UUID = "0b3a7c55-5ea1-4b0f-9d2e-51a1c0ffee12";
const BASE = `moz-extension://${UUID}/`;

// --- in-page helpers, looked up by accessible names (labels, button text),
// searching the document and every open shadow root (the consent view lives in one).
// Passed to script.callFunction as source text; they only use the DOM.
const PAGE_HELPERS = String.raw`
  const roots = () => {
    const out = [document];
    for (let i = 0; i < out.length; i++) {
      for (const el of out[i].querySelectorAll("*")) if (el.shadowRoot) out.push(el.shadowRoot);
    }
    return out;
  };
  const norm = (s) => String(s || "").replace(/\s+/g, " ").trim();
  const visible = (el) => !!el && !el.closest("[hidden]") && el.getClientRects().length > 0;
  const nameOf = (el) => norm(el.getAttribute("aria-label") || el.textContent);
  const byLabel = (re) => {
    for (const r of roots()) {
      for (const l of r.querySelectorAll("label[for]")) {
        if (re.test(norm(l.textContent))) {
          const c = r.getElementById ? r.getElementById(l.htmlFor) : r.querySelector("#" + CSS.escape(l.htmlFor));
          if (c && visible(c)) return c;
        }
      }
      for (const c of r.querySelectorAll("[aria-label]")) if (re.test(norm(c.getAttribute("aria-label"))) && visible(c)) return c;
    }
    return null;
  };
  // The label "Account" or "Account (optional)", case-insensitive.
  const byLabelName = (name) => {
    const n = norm(name).toLowerCase();
    return byLabel({ test: (t) => t.toLowerCase() === n || t.toLowerCase() === n + " (optional)" });
  };
  const byRole = (role, re) => {
    const sel = role === "button" ? "button, [role=button], input[type=submit]" : "[role=" + role + "]";
    for (const r of roots()) for (const el of r.querySelectorAll(sel)) if (re.test(nameOf(el)) && visible(el)) return el;
    return null;
  };
  const byTestId = (id) => {
    for (const r of roots()) { const el = r.querySelector('[data-testid="' + id + '"]'); if (el) return el; }
    return null;
  };
  const state = () => document.querySelector("[data-state]")?.getAttribute("data-state") ?? null;
  const fill = (el, value) => {
    if (el.tagName === "SELECT") el.value = value;
    else { el.focus(); el.value = value; }
    el.dispatchEvent(new Event("input", { bubbles: true, composed: true }));
    el.dispatchEvent(new Event("change", { bubbles: true, composed: true }));
    el.blur();
  };
`;

/** A function source for callFunction: `(args...) => { helpers; body }`. */
const inPage = (params, body) => `(${params}) => { ${PAGE_HELPERS}\n${body} }`;

let ff;
let broker;
let firstRun; // the first-run page's browsing context

before(async () => {
  assert.ok(existsSync(FIREFOX), `${FIREFOX} missing: cargo xtask test installs firefox-esr`);
  assert.ok(existsSync(join(PACKAGE, "manifest.json")), `missing ${PACKAGE}: run \`cargo xtask build\` (or \`cargo xtask extension\`)`);
  broker = await startBroker();
  ff = await launchFirefox({ uuids: { [GECKO_ID]: UUID } });
  await ff.subscribe(["network.beforeRequestSent"]);
});

after(async () => {
  await ff?.close();
  await broker?.stop();
});

test("the Firefox package installs temporarily and opens its first-run page; loopback hosts are granted", async () => {
  const manifest = JSON.parse(readFileSync(join(PACKAGE, "manifest.json"), "utf8"));
  assert.equal(manifest.manifest_version, 3);
  assert.deepEqual(manifest.background.scripts?.length > 0, true, "Firefox MV3 uses background.scripts");
  const id = await ff.installExtension(PACKAGE);
  assert.equal(id, GECKO_ID);
  // runtime.onInstalled opens the first-run (options) page by itself.
  firstRun = await ff.waitForContext((c) => c.url.startsWith(BASE), { timeoutMs: 20_000 });
  const url = (await ff.contexts()).find((c) => c.context === firstRun).url;
  assert.match(url, /^moz-extension:\/\/[^/]+\/options\.html/, `first-run page is options.html: ${url}`);
  await ff.waitFor(firstRun, "() => document.readyState === 'complete'", [], { what: "first-run page loaded" });
  // The three-sentence explanation is there, under a heading.
  const heading = await ff.call(firstRun, inPage("", "return norm(document.querySelector('h1')?.textContent);"));
  assert.ok(heading, "the first-run page has a heading");
  // MV3 host permissions are opt-in in Firefox; the loopback ones are granted at install
  // (extensions.originControls.grantByDefault, see lib/firefox.mjs), so `cargo xtask run` works without a prompt.
  const granted = await ff.evaluate(
    firstRun,
    `Promise.all(["http://127.0.0.1/*", "http://localhost/*"].map((o) => browser.permissions.contains({ origins: [o] })))`,
  );
  assert.deepEqual(granted, [true, true]);
  assert.equal(await ff.evaluate(firstRun, `browser.permissions.contains({ origins: ["https://example.com/*"] })`), false, "no other host at install");
  await ff.setViewport(firstRun, 1024, 900);
  await ff.screenshot(firstRun, "extension-firefox-firstrun");
});

/** Open answer.html?link=… the way the extension itself does (tabs.create from one of its pages). */
async function openAnswer(link) {
  const before = new Set((await ff.contexts()).map((c) => c.context));
  await ff.call(firstRun, "(q) => browser.tabs.create({ url: 'answer.html?' + q }).then(() => true)", [new URLSearchParams({ link }).toString()]);
  return ff.waitForContext((c) => !before.has(c.context) && c.url.startsWith(`${BASE}answer.html`));
}

async function waitState(ctx, states, timeoutMs = 20_000) {
  return ff.waitFor(ctx, inPage("s", "const st = state(); return s.includes(st) ? st : null;"), [states], {
    timeoutMs,
    what: `state ${states}`,
  });
}

async function answerInFirefox(envelope) {
  assert.ok(firstRun, "the install test ran first");
  const agent = await TestAgent.create(broker.url);
  const created = await agent.createSession({
    fields: ALL_FIELD_TYPES,
    display_name: "Firefox test key",
    agent_name: "ff-agent",
    reason: "End-to-end test of the extension in Firefox.",
    ...(envelope === "jwe" ? { envelope: "jwe" } : {}),
  });
  const link = created.verification_uri_complete || created.url;
  const netStart = ff.bidi.events.length;
  const ctx = await openAnswer(link);
  try {
    await ff.setViewport(ctx, 1024, 900);
    assert.equal(await waitState(ctx, ["review", "error"]), "review", "the request loads (WASM instantiated, fingerprint computed)");

    // The fingerprint is computed in the page by the bundled WASM: equal to the agent's own.
    const shown = await ff.call(
      ctx,
      inPage("", "return { code: norm(byTestId('code')?.textContent), fp: norm(byTestId('fingerprint')?.textContent), origin: norm(byTestId('origin')?.textContent) };"),
    );
    assert.equal(shown.fp, agent.fingerprint.short, "fingerprint from the WASM under the extension CSP = the agent's");
    assert.equal(shown.code, agent.code);
    assert.equal(shown.origin, `Request from ${new URL(broker.url).origin}`);

    // The MV3 CSP is in force on the page: an inline script does not run.
    const inlineRan = await ff.call(
      ctx,
      `() => new Promise((r) => { const s = document.createElement("script"); s.textContent = "window.__inline = 1"; document.head.append(s); setTimeout(() => r(window.__inline === 1), 100); })`,
    );
    assert.equal(inlineRan, false, "inline script blocked by script-src 'self' 'wasm-unsafe-eval'");

    // Review: paste the agent's fingerprint, continue.
    await ff.call(
      ctx,
      inPage(
        "fp",
        `const input = byLabel(/^Optional: paste the fingerprint your agent printed$/i);
         if (!input) throw new Error("no fingerprint input");
         fill(input, fp);
         const go = byRole("button", /continue/i);
         if (!go || go.disabled) throw new Error("continue button missing or disabled");
         go.click();`,
      ),
      [agent.fingerprint.long],
    );
    await waitState(ctx, ["form"]);

    // Form: fill every field by its label, send.
    const secret = makeSecret(`ff-${envelope}`);
    const values = { "API key": secret, Account: "ff@example.com", Region: "us-east-1", Notes: `line 1\nline 2 ${envelope} ✓` };
    await ff.call(
      ctx,
      inPage(
        "values",
        `for (const [label, value] of Object.entries(values)) {
           const c = byLabelName(label);
           if (!c) throw new Error("no control labelled " + label);
           fill(c, value);
         }
         const send = byRole("button", /^Encrypt and send$/);
         if (!send) throw new Error("no send button");
         send.click();`,
      ),
      [values],
    );
    const end = await waitState(ctx, ["done", "error"]);
    if (end !== "done") {
      const text = await ff.call(ctx, inPage("", "return roots().map((r) => norm(r.textContent || r.body?.textContent)).join(' | ');"));
      assert.fail(`answer ended in ${end}: ${text}`);
    }
    await ff.screenshot(ctx, `extension-firefox-answer-done-${envelope}`);
    // Plaintext cleared from the form controls.
    const left = await ff.call(ctx, inPage("", "return roots().flatMap((r) => [...r.querySelectorAll('input, textarea, select')].map((e) => e.value)).filter(Boolean);"));
    assert.ok(!left.some((v) => v.includes(secret)), "the secret is no longer in any control");

    // The agent receives exactly the typed values.
    const ready = await agent.pollUntilReady({ intervalMs: 300 });
    assert.equal(ready.algorithm, envelope === "jwe" ? ALG_JWE : ALG_LINKAUTH);
    const creds = await agent.open(ready.ciphertext, ready.algorithm);
    assert.deepEqual(creds, { api_key: secret, account: "ff@example.com", region: "us-east-1", notes: values.Notes });

    // Only the broker's JSON API was called from the extension (BiDi network events).
    const origin = new URL(broker.url).origin;
    const sent = ff.bidi.events
      .slice(netStart)
      .filter((e) => e.method === "network.beforeRequestSent" && e.params.request.url.startsWith(origin + "/"))
      .map((e) => `${e.params.request.method} ${new URL(e.params.request.url).pathname}`);
    assert.ok(sent.length >= 3, `BiDi saw the page's requests: ${sent}`);
    for (const r of sent) assert.match(r, /^(GET|POST) \/v1\/connect\//, `only the JSON API: ${r}`);
    assert.ok(sent.some((r) => r.startsWith("POST") && r.endsWith("/complete")), `complete was sent: ${sent}`);
    const secretSeen = ff.bidi.events.slice(netStart).some((e) => JSON.stringify(e).includes(secret));
    assert.equal(secretSeen, false, "the plaintext secret is in no request BiDi saw");
  } finally {
    await ff.closeContext(ctx);
  }
}

test("answer page in Firefox: WASM under the MV3 CSP, a real broker's session answered end to end (LinkAuth envelope)", async () => {
  await answerInFirefox("linkauth");
});

test("answer page in Firefox: JWE envelope", async () => {
  await answerInFirefox("jwe");
});

test("pairing in Firefox: the options page adds the loopback broker and an agent; the popup lists its request with the agent's fingerprint; decline ends it", async () => {
  assert.ok(firstRun, "the install test ran first");
  const origin = new URL(broker.url).origin;
  // Options (the first-run page): add the broker by its address, then an agent by name.
  await ff.call(
    firstRun,
    inPage(
      "url",
      `const input = byLabel(/^Broker address$/);
       if (!input) throw new Error("no broker address input");
       fill(input, url);
       byRole("button", /^Add broker$/).click();`,
    ),
    [broker.url],
  );
  await ff.waitFor(firstRun, inPage("o", "return !!document.querySelector('[data-testid=broker][data-origin=\"' + o + '\"]');"), [origin], {
    timeoutMs: 15_000,
    what: "the paired broker listed",
  });
  await ff.call(
    firstRun,
    inPage(
      "",
      `const input = byLabel(/^Agent name$/);
       if (!input) throw new Error("no agent name input");
       fill(input, "firefox agent");
       byRole("button", /^Add agent$/).click();`,
    ),
  );
  const command = await ff.waitFor(firstRun, inPage("", "return byTestId('agent-command')?.value || null;"), [], { what: "the agent command" });
  const credential = /--inbox\s+(is_[A-Za-z0-9_-]+)/.exec(command)?.[1];
  assert.ok(credential, `the agent command carries a sender credential: ${command.replace(/is_[A-Za-z0-9_-]+/, "is_…")}`);
  assert.ok(command.includes(`--broker ${origin}`) || command.includes(`--broker ${broker.url}`), "and the broker address");
  const stored = await ff.evaluate(firstRun, "browser.storage.local.get('brokers').then((x) => x.brokers)");
  assert.equal(stored.length, 1);
  assert.equal(stored[0].origin, origin);
  assert.ok(!JSON.stringify(stored).includes(credential), "the sender credential is not stored");
  assert.deepEqual(await ff.evaluate(firstRun, "browser.storage.sync.get(null)"), {}, "nothing in sync storage");

  // An agent posts through that sender; the popup (opened as a tab) lists it.
  const agent = await TestAgent.create(broker.url);
  await agent.createSession({ inbox: credential, template: "api_key", display_name: "Firefox inbox key", agent_name: "ff-inbox-agent", reason: "Pairing test." });
  const before = new Set((await ff.contexts()).map((c) => c.context));
  await ff.call(firstRun, "() => browser.tabs.create({ url: 'popup.html' }).then(() => true)");
  const popup = await ff.waitForContext((c) => !before.has(c.context) && c.url.startsWith(`${BASE}popup.html`));
  try {
    await ff.setViewport(popup, 400, 600);
    const item = await ff.waitFor(
      popup,
      inPage(
        "code",
        `const li = document.querySelector('[data-testid=request][data-code="' + code + '"]');
         const fp = li && norm(li.querySelector('[data-testid=fingerprint]')?.textContent);
         return /^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$/.test(fp || "") ? { fp, sender: norm(li.querySelector('[data-testid=sender]')?.textContent), name: norm(li.querySelector('[data-testid=agent-name]')?.textContent) } : null;`,
      ),
      [agent.code],
      { timeoutMs: 20_000, what: "the request in the popup" },
    );
    assert.equal(item.fp, agent.fingerprint.short, "the popup's fingerprint (WASM, in Firefox) = the agent's");
    assert.equal(item.sender, "firefox agent");
    assert.equal(item.name, "ff-inbox-agent");
    await ff.screenshot(popup, "extension-firefox-popup-pending");
    // Decline, asked first in the item (focus on "Keep it"), then confirmed: the agent's next poll says so.
    const asked = await ff.call(
      popup,
      inPage(
        "code",
        `const li = document.querySelector('[data-testid=request][data-code="' + code + '"]');
         [...li.querySelectorAll('button')].find((b) => norm(b.textContent) === "Decline").click();
         const q = li.querySelector('[role=group]');
         const asked = { label: q && q.getAttribute('aria-label'), focus: norm(document.activeElement.textContent) };
         [...q.querySelectorAll('button')].find((b) => norm(b.textContent) === "Yes, decline it").click();
         return asked;`,
      ),
      [agent.code],
    );
    assert.deepEqual(asked, { label: "Decline “Firefox inbox key”", focus: "Keep it" });
    const deadline = Date.now() + 15_000;
    let last;
    while (Date.now() < deadline) {
      last = await agent.pollOnce();
      if (last.status === 404) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.equal(last.status, 404, `declined: ${JSON.stringify(last)}`);
    assert.equal(last.body?.title, "Request Declined");
  } finally {
    await ff.closeContext(popup);
  }
});

test("no uncaught JavaScript error or console.error from the extension in Firefox", () => {
  assert.ok(firstRun, "the install test ran first");
  // Extension pages' errors are printed to Firefox's stdout (lib/firefox.mjs); BiDi's log module does not see them.
  assert.deepEqual(ff.pageErrors(), []);
});
