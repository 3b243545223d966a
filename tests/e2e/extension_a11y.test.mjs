// Accessibility (axe-core) of the extension's pages in Chromium with the
// unpacked extension, light and dark: the options/first-run page (empty, and
// with a paired broker and a sender), the popup (no broker; 3 pending
// requests), and the answer page (paste box, review, review with a
// mismatching fingerprint, form with errors, done). No serious or critical
// violation anywhere; a full-page screenshot of each view is saved under
// test-artifacts/extension-<scheme>-<page>-<view>.png to be looked at.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startBroker } from "./lib/broker.mjs";
import { TestAgent } from "./lib/agent.mjs";
import { runAxe, screenshot } from "./lib/browser.mjs";
import { ALL_FIELD_TYPES, fillForm, waitForState } from "./lib/consent.mjs";
import { launchWithExtension } from "./lib/extension.mjs";

const PENDING = 3;
let broker;
let pairing; // { inbox, sender }

async function post(path, body, token) {
  const res = await fetch(`${broker.url}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = await res.json().catch(() => null);
  if (res.status !== 201) throw new Error(`POST ${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

before(async () => {
  broker = await startBroker();
  const inbox = await post("/v1/inboxes", {});
  const sender = await post(`/v1/inboxes/${inbox.inbox_id}/senders`, { name: "CI runner" }, inbox.inbox_token);
  pairing = { inbox, sender };
  const reasons = [
    "Deploy the staging stack for the release candidate.",
    "Rotate the nightly backup key.",
    "Publish v2.3.1 to the package registry and tag the release.",
  ];
  for (let i = 0; i < PENDING; i++) {
    const agent = await TestAgent.create(broker.url);
    await agent.createSession({
      inbox: sender.sender_credential,
      template: "api_key",
      display_name: ["Staging API key", "Backup key", "Registry token"][i],
      agent_name: ["deploy-bot", "backup-cron", "release-agent (laptop)"][i],
      reason: reasons[i],
      ttl: 600 + i * 300,
    });
  }
});

after(async () => {
  await broker?.stop();
});

const serious = (violations) => violations.filter((v) => v.impact === "serious" || v.impact === "critical");

/** Store the pairing the way the options page does (storage.local `brokers`). */
async function pair(ext) {
  const page = await ext.openPage("options.html");
  await page.evaluate(
    (brokers) => (globalThis.browser ?? globalThis.chrome).storage.local.set({ brokers }),
    [
      {
        origin: new URL(broker.url).origin,
        inbox_id: pairing.inbox.inbox_id,
        inbox_token: pairing.inbox.inbox_token,
        senders: [{ sender_id: pairing.sender.sender_id, name: pairing.sender.name, created_at: pairing.sender.created_at }],
      },
    ],
  );
  await page.close();
}

/**
 * Launch the extension in `scheme`, run `tour(view)` where view(page, name) runs axe and
 * takes the screenshot; then assert no serious/critical violation and no page error.
 */
async function withViews(scheme, tour) {
  const ext = await launchWithExtension({ colorScheme: scheme });
  const report = {};
  const errors = [];
  const view = async (page, name) => {
    await page.waitForTimeout(200); // stylesheets and fonts settle
    report[name] = await runAxe(page);
    await screenshot(page, `extension-${scheme}-${name}`);
  };
  const open = async (name, query) => {
    const page = await ext.context.newPage();
    page.on("pageerror", (e) => errors.push(`${name}: ${e}`));
    // The popup is a small panel in the browser: look at it at a panel's size.
    if (name === "popup.html") await page.setViewportSize({ width: 400, height: 600 });
    return ext.openPage(name, query, page);
  };
  try {
    await tour({ ext, open, view });
  } finally {
    await ext.close();
  }
  for (const [name, violations] of Object.entries(report)) {
    assert.deepEqual(serious(violations), [], `${scheme}/${name}: ${JSON.stringify(violations, null, 1)}`);
  }
  assert.deepEqual(errors, [], "no uncaught page errors");
}

for (const scheme of ["light", "dark"]) {
  test(`options page, ${scheme}: first run and paired (broker + sender); no serious axe violation`, async () => {
    await withViews(scheme, async ({ ext, open, view }) => {
      let page = await open("options.html", { welcome: "1" });
      await page.getByRole("heading", { level: 1 }).waitFor();
      await view(page, "options-firstrun");
      await page.close();
      await pair(ext);
      page = await open("options.html");
      await page.getByText("CI runner").first().waitFor({ timeout: 15_000 });
      await view(page, "options-paired");
    });
  });

  test(`popup, ${scheme}: no broker, then ${PENDING} pending requests; no serious axe violation`, async () => {
    await withViews(scheme, async ({ ext, open, view }) => {
      let page = await open("popup.html");
      await page.getByRole("heading", { level: 1 }).waitFor();
      await page.waitForTimeout(500);
      await view(page, "popup-empty");
      await page.close();
      await pair(ext);
      page = await open("popup.html");
      await page.getByText("release-agent (laptop)").first().waitFor({ timeout: 15_000 });
      // Every fingerprint computed (the WASM fills them in after the list shows).
      await page.waitForFunction(
        (n) => {
          const fps = [...document.querySelectorAll("[data-testid=request] [data-testid=fingerprint]")].map((e) => e.textContent.trim());
          return fps.length >= n && fps.every((t) => /^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$/.test(t));
        },
        PENDING,
        { timeout: 15_000 },
      );
      await view(page, "popup-pending");
    });
  });

  test(`answer page, ${scheme}: paste box, review, mismatch, form errors, done; no serious axe violation`, async () => {
    await withViews(scheme, async ({ open, view }) => {
      let page = await open("answer.html");
      await page.getByLabel("Link or broker address").waitFor();
      await view(page, "answer-paste");
      await page.close();

      const agent = await TestAgent.create(broker.url);
      const created = await agent.createSession({
        fields: ALL_FIELD_TYPES,
        display_name: "GitHub deploy token",
        agent_name: "release-agent (laptop)",
        reason: "Publish v2.3.1 to the package registry and tag the release.",
        envelope: "jwe",
        ttl: 600,
      });
      page = await open("answer.html", { link: created.verification_uri_complete || created.url });
      await waitForState(page, "review");
      await view(page, "answer-review");
      const fpInput = page.getByLabel("Optional: paste the fingerprint your agent printed");
      await fpInput.fill("0000-1111-2222");
      await fpInput.blur();
      await view(page, "answer-review-mismatch");
      await fpInput.fill(agent.fingerprint.long);
      await page.getByRole("button", { name: /continue/i }).click();
      await waitForState(page, "form");
      await page.getByRole("button", { name: "Encrypt and send" }).click();
      await view(page, "answer-form-invalid");
      await fillForm(page, { "API key": "sk-not-a-real-secret", Region: "eu-west-1" });
      await page.getByRole("button", { name: "Encrypt and send" }).click();
      await waitForState(page, "done");
      await view(page, "answer-done");
    });
  });
}
