// The broker's consent page in Firefox (Debian's firefox-esr, headless,
// WebDriver BiDi through tests/e2e/lib/firefox.mjs): the page arrives as one
// answer (crates/broker/src/page.rs: its script and style sheet written into
// it under a CSP of their hashes, the request's look-up in a JSON data block),
// so Firefox must run that inline module under the hashed policy, read the
// data block without fetching the look-up, show code and fingerprint, and
// seal with the WASM; the agent then opens exactly what was typed. A
// screenshot of the review goes to test-artifacts/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { FIREFOX, launchFirefox } from "./lib/firefox.mjs";
import { startBroker } from "./lib/broker.mjs";
import { TestAgent } from "./lib/agent.mjs";

let ff;
let broker;

before(async () => {
  assert.ok(existsSync(FIREFOX), `${FIREFOX} missing: cargo xtask test installs firefox-esr`);
  broker = await startBroker();
  ff = await launchFirefox();
  await ff.subscribe(["network.beforeRequestSent", "log.entryAdded"]);
});

after(async () => {
  await ff?.close();
  await broker?.stop();
});

/** Runs in the page: the consent component's shadow root, queried. */
const IN_VIEW = `(sel, prop) => {
  const root = document.getElementById("consent")?.shadowRoot;
  const el = root && root.querySelector(sel);
  if (!el) return null;
  return prop === "visible" ? el.getBoundingClientRect().height > 0 : el[prop];
}`;

test("Firefox: the one-answer consent page runs under its hashed CSP, reads the look-up from the page, seals; the agent opens it", async () => {
  const agent = await TestAgent.create(broker.url);
  const created = await agent.createSession({ template: "api_key", display_name: "Firefox key", reason: "Firefox e2e.", ttl: 300 });
  const url = created.verification_uri_complete || created.url;
  const { context } = await ff.send("browsingContext.create", { type: "tab" });
  await ff.setViewport(context, 1024, 900);
  await ff.send("browsingContext.navigate", { context, url, wait: "complete" });
  await ff.waitFor(context, IN_VIEW, ["[data-testid=confirm]", "visible"], { what: "review with its confirm button" });
  assert.equal(await ff.call(context, IN_VIEW, ["[data-testid=code]", "textContent"]), agent.code.replace(/^(.{4})-?(.{4})$/, "$1-$2"));
  assert.equal(await ff.call(context, IN_VIEW, ["[data-testid=fingerprint]", "textContent"]), agent.fingerprint.short);
  assert.equal(await ff.call(context, "() => document.getElementById('sp-lookup') === null"), true, "data block read and removed");
  // The shadow root has the page's styles (adopted from its <style data-href>).
  const styled = await ff.call(context, `() => getComputedStyle(document.getElementById("consent").shadowRoot.querySelector("[data-testid=code]")).fontFamily`);
  assert.match(styled, /monospace/i);
  await ff.screenshot(context, "consent-firefox-review");

  await ff.call(context, `() => { document.getElementById("consent").shadowRoot.querySelector("[data-testid=confirm]").click(); return true; }`);
  await ff.waitFor(context, IN_VIEW, ["[data-testid=submit]", "visible"], { what: "the form" });
  const secret = `sk-firefox-${Date.now()}`;
  await ff.call(
    context,
    `(v) => { const root = document.getElementById("consent").shadowRoot; const input = root.querySelector("input[type=password]"); input.value = v; input.dispatchEvent(new Event("input", { bubbles: true })); root.querySelector("[data-testid=submit]").click(); return true; }`,
    [secret],
  );
  await ff.waitFor(context, `() => document.getElementById("consent").shadowRoot.querySelector(".sp-done-mark") !== null`, [], { what: "done", timeoutMs: 20_000 });
  const ready = await agent.pollUntilReady({ intervalMs: 200 });
  const opened = await agent.open(ready.ciphertext, ready.algorithm);
  assert.equal(opened.api_key, secret);

  // One answer held the page's script, style sheet and look-up.
  const paths = ff.bidi.events
    .filter((e) => e.method === "network.beforeRequestSent" && e.params.context === context)
    .map((e) => `${e.params.request.method} ${new URL(e.params.request.url).pathname}`);
  assert.ok(!paths.some((p) => p.includes("/assets/") || p.startsWith("GET /v1/connect/")), paths.join("\n"));
  assert.ok(paths.some((p) => p.endsWith("/complete")), paths.join("\n"));
  // Nothing was blocked or failed (Firefox reports CSP refusals to the console).
  const problems = ff.logEntries().filter((e) => e.level === "error" || /Content[- ]Security[- ]Policy/i.test(e.text));
  assert.deepEqual(problems, []);
  await ff.closeContext(context);
});
