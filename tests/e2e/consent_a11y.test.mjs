// Accessibility (axe-core) in light and dark, and screenshots at desktop and
// phone width, for every view of the consent page. Real headless Chromium
// under the broker's exact CSP (served by the fake broker).
import { test } from "node:test";
import assert from "node:assert/strict";
import { startFakeBroker, problem } from "./lib/fake-broker.mjs";
import { launchBrowser, guardPage, runAxe, screenshot } from "./lib/browser.mjs";
import { generateRsaKey } from "./lib/agent.mjs";
import { ALL_FIELD_TYPES, fillForm, waitForState } from "./lib/consent.mjs";

const CODE = "HX4T-9WQR";

async function fake(extra = {}) {
  const key = await generateRsaKey();
  return startFakeBroker({
    session: {
      code: CODE,
      public_key: key.publicKeyB64,
      display_name: "GitHub deploy token",
      agent_name: "release-agent (laptop)",
      reason: "Publish v2.3.1 to the package registry and tag the release.",
      envelope: "jwe",
      expires_at: new Date(Date.now() + 9 * 60_000 + 42_000).toISOString(),
      fields: ALL_FIELD_TYPES,
      ...extra,
    },
  });
}

function serious(violations) {
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** Walk every view; at each, run axe and take a screenshot. */
async function tour({ name, browser }) {
  const broker = await fake();
  const errBroker = await fake({ status: "ready" });
  const b = await launchBrowser(browser);
  const g = await guardPage(b.page);
  const page = b.page;
  const report = {};
  const check = async (view) => {
    await page.waitForTimeout(150); // let the stylesheet and fonts settle
    report[view] = await runAxe(page);
    await screenshot(page, `consent-${name}-${view}`);
  };
  try {
    await page.goto(`${broker.url}/connect`);
    await waitForState(page, "entry");
    await check("entry");
    await page.goto(`${broker.url}/connect/${CODE}`);
    await waitForState(page, "review");
    await check("review");
    await page.getByLabel("Optional: paste the fingerprint your agent printed").fill("0000-1111-2222");
    await page.getByLabel("Optional: paste the fingerprint your agent printed").blur();
    await check("review-mismatch");
    await page.getByLabel("Optional: paste the fingerprint your agent printed").fill("");
    await page.getByTestId("confirm").click();
    await waitForState(page, "form");
    await page.getByTestId("submit").click();
    await check("form-invalid");
    await fillForm(page, { "API key": "sk-not-a-real-secret", Region: "eu-west-1" });
    await page.getByTestId("submit").click();
    await waitForState(page, "done");
    await check("done");
    await page.goto(`${errBroker.url}/connect/${CODE}`);
    await waitForState(page, "error");
    await check("error");
    assert.deepEqual(g.cspViolations, []);
    assert.deepEqual(g.errors, []);
  } finally {
    await b.close();
    await broker.stop();
    await errBroker.stop();
  }
  return report;
}

for (const [name, browser] of [
  ["light", { colorScheme: "light" }],
  ["dark", { colorScheme: "dark" }],
  ["phone", { colorScheme: "light", viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }],
]) {
  test(`axe-core finds no serious or critical violation, ${name}; screenshots saved`, async () => {
    const report = await tour({ name, browser });
    for (const [view, violations] of Object.entries(report)) {
      assert.deepEqual(serious(violations), [], `${name}/${view}: ${JSON.stringify(violations, null, 1)}`);
    }
  });
}

test("phone width: nothing overflows horizontally", async () => {
  const broker = await fake();
  const b = await launchBrowser({ viewport: { width: 320, height: 640 }, isMobile: true, hasTouch: true });
  try {
    await b.page.goto(`${broker.url}/connect/${CODE}`);
    await waitForState(b.page, "review");
    const overflow = await b.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `horizontal overflow of ${overflow}px at 320px`);
    await screenshot(b.page, "consent-phone320-review");
  } finally {
    await b.close();
    await broker.stop();
  }
});

test("insecure mode shows the red banner; the broker's message is shown as text", async () => {
  const broker = await fake({ security: { secure: false, mode: "insecure", message: "<b>Plain HTTP</b> on a public address." } });
  const b = await launchBrowser({});
  try {
    await b.page.goto(`${broker.url}/connect/${CODE}`);
    await waitForState(b.page, "review");
    const banner = b.page.locator(".sp-banner");
    assert.match(await banner.innerText(), /Not a secure connection/);
    assert.match(await banner.innerText(), /<b>Plain HTTP<\/b>/, "HTML from the broker is text, never markup");
    await screenshot(b.page, "consent-light-insecure");
  } finally {
    await b.close();
    await broker.stop();
  }
});

test("production mode shows no banner", async () => {
  const broker = await fake({ security: { secure: true, mode: "production" } });
  const b = await launchBrowser({});
  try {
    await b.page.goto(`${broker.url}/connect/${CODE}`);
    await waitForState(b.page, "review");
    assert.equal(await b.page.locator(".sp-banner").isVisible(), false);
  } finally {
    await b.close();
    await broker.stop();
  }
});

test("the axe injection itself does not trip the CSP (sanity check of the method)", async () => {
  const broker = await fake();
  const b = await launchBrowser({});
  const g = await guardPage(b.page);
  try {
    await b.page.goto(`${broker.url}/connect/${CODE}`);
    await waitForState(b.page, "review");
    const v = await runAxe(b.page);
    assert.ok(Array.isArray(v));
    // An inline <script> (what page.addScriptTag({content}) would add) is refused by the CSP.
    await b.page.addScriptTag({ content: "window.__inline = 1" }).catch(() => {});
    await b.page.waitForTimeout(100);
    assert.equal(await b.page.evaluate(() => window.__inline), undefined, "inline script blocked");
    assert.ok(g.cspViolations.length > 0, "and the guard sees that violation");
  } finally {
    await b.close();
    await broker.stop();
  }
  void problem;
});
