// The broker's consent page with the real broker, for keyboard and screen
// reader users: where focus is on each view and what comes next.
//  - the first review view puts focus on its heading (so the code and the
//    fingerprint are read next), without scrolling; Tab then reaches the
//    "Long form" fingerprint toggle, which has the page's 3 px focus ring
//    (light and dark), not the browser's thin default one;
//  - error views are not dead ends: a code the broker does not know, and a
//    request that expires while it is reviewed, focus the error heading and
//    offer "Enter a code" (the same page's code entry, which the broker
//    answers with POST /v1/connect/resolve), which leads to a review;
//  - the end views: "Stopped" (the codes don't match) focuses its heading,
//    says to close the tab and offers no other code on this page; "Done"
//    focuses its heading, says the tab can be closed and offers "Enter
//    another code", which leads to the next request's review;
//  - the development broker's banner is above the review and the form only:
//    on an error, "Stopped" and "Done" the view's heading comes first.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startBroker } from "./lib/broker.mjs";
import { launchBrowser, guardPage, runAxe, screenshot } from "./lib/browser.mjs";
import { TestAgent } from "./lib/agent.mjs";
import { cardText, errorKind, fillForm, focusedInComponent, waitForFocus, waitForState } from "./lib/consent.mjs";

let broker;
before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker?.stop();
});

/** The focus ring of the focused element inside the component. */
function focusRing(page) {
  return page.evaluate(() => {
    let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    const s = getComputedStyle(el);
    return { style: s.outlineStyle, width: s.outlineWidth, color: s.outlineColor, focusVisible: el.matches(":focus-visible") };
  });
}

const serious = (violations) => violations.filter((v) => v.impact === "serious" || v.impact === "critical");

const RING = { light: "rgb(37, 99, 235)", dark: "rgb(138, 180, 255)" };

async function session(agent, extra = {}) {
  const created = await agent.createSession({ template: "api_key", display_name: "Staging API key", ttl: 300, ...extra });
  return created.verification_uri_complete || created.url;
}

test("first review: focus on the heading without scrolling, the code and fingerprint read next", async () => {
  const agent = await TestAgent.create(broker.url);
  const url = await session(agent);
  const b = await launchBrowser({ viewport: { width: 1024, height: 600 } });
  const g = await guardPage(b.page);
  const page = b.page;
  try {
    await page.goto(url);
    await waitForState(page, "review");
    await waitForFocus(page, /^h1#sp-h-review\[title\]/);
    assert.equal(await page.evaluate(() => window.scrollY), 0, "focusing the heading did not scroll");
    // Focus set by script on a fresh page draws no ring around the title.
    assert.equal((await focusRing(page)).style, "none", "no ring drawn around the title on load");
    // The heading names the view; the code and fingerprint follow it in reading order.
    const order = await page.evaluate(() => {
      const root = document.getElementById("consent").shadowRoot;
      const h = root.activeElement;
      const after = (sel) => Boolean(h.compareDocumentPosition(root.querySelector(sel)) & Node.DOCUMENT_POSITION_FOLLOWING);
      return { code: after("[data-testid=code]"), fp: after("[data-testid=fingerprint]"), labelled: root.querySelector(".sp-card").getAttribute("aria-labelledby") === h.id };
    });
    assert.deepEqual(order, { code: true, fp: true, labelled: true });
    await page.keyboard.press("Tab");
    assert.match(await focusedInComponent(page), /^summary\[Long form\]/, "Tab from the heading reaches the Long form toggle");
    assert.deepEqual(g.cspViolations, []);
    assert.deepEqual(g.errors, []);
  } finally {
    await b.close();
  }
});

for (const scheme of ["light", "dark"]) {
  test(`review, ${scheme}: the Long form toggle has the page's 3 px focus ring, as the buttons do`, async () => {
    const agent = await TestAgent.create(broker.url);
    const url = await session(agent);
    const b = await launchBrowser({ colorScheme: scheme });
    const page = b.page;
    try {
      await page.goto(url);
      await waitForState(page, "review");
      await page.keyboard.press("Tab");
      assert.match(await focusedInComponent(page), /^summary\[Long form\]/);
      const ring = await focusRing(page);
      assert.deepEqual(ring, { style: "solid", width: "3px", color: RING[scheme], focusVisible: true }, "the toggle's ring is the page's 3 px ring");
      await screenshot(page, `consent-${scheme}-review-long-form-focus`, { fullPage: false });
      await page.keyboard.press("Tab");
      await page.keyboard.press("Tab");
      assert.match(await focusedInComponent(page), /^button\[confirm\]/);
      assert.deepEqual(await focusRing(page), ring, "the same ring as the buttons'");
    } finally {
      await b.close();
    }
  });
}

test("a code the broker does not know: the error heading has focus and 'Enter a code' leads to a review", async () => {
  const agent = await TestAgent.create(broker.url);
  await session(agent);
  const b = await launchBrowser();
  const g = await guardPage(b.page);
  const page = b.page;
  try {
    await page.goto(`${broker.url}/connect/ZZZZ-9999`);
    await waitForState(page, "error");
    assert.equal(await errorKind(page), "not-found");
    assert.match(await cardText(page), /This code isn’t valid any more/);
    await waitForFocus(page, /^h1#sp-h-error\[This code isn’t valid any more\]/);
    await screenshot(page, "consent-light-error-not-found");
    assert.deepEqual(serious(await runAxe(page)), [], "axe: no serious violation on the error view");
    // Keyboard: the next step is the next Tab stop.
    await page.keyboard.press("Tab");
    assert.match(await focusedInComponent(page), /^button\[Enter a code\]/);
    await page.keyboard.press("Enter");
    await waitForState(page, "entry");
    // The code from the link stays in the box to be corrected, and has focus.
    const input = page.getByLabel("Code", { exact: true });
    assert.equal(await input.inputValue(), "ZZZZ-9999");
    await waitForFocus(page, /^input#sp-code-input/);
    await input.fill(agent.code.toLowerCase());
    await input.press("Enter");
    await waitForState(page, "review");
    assert.equal(await page.getByTestId("fingerprint").innerText(), agent.fingerprint.short);
    await waitForFocus(page, /^h1#sp-h-review\[/);
    assert.equal(await page.evaluate(() => document.getElementById("consent").hasAttribute("data-error")), false, "no failure left on the host");
    assert.deepEqual(g.cspViolations, []);
    assert.deepEqual(g.errors, []);
  } finally {
    await b.close();
  }
});

for (const scheme of ["light", "dark"]) {
  test(`a request that expires under review, ${scheme}: focus on the error heading, 'Enter a code' with an empty box`, async () => {
    const agent = await TestAgent.create(broker.url);
    const url = await session(agent, { ttl: 2 });
    const b = await launchBrowser({ colorScheme: scheme });
    const g = await guardPage(b.page);
    const page = b.page;
    try {
      await page.goto(url);
      await waitForState(page, "review");
      await waitForState(page, "error", { timeout: 8000 });
      assert.equal(await errorKind(page), "expired");
      await waitForFocus(page, /^h1#sp-h-error\[This request has expired\]/);
      const again = page.getByRole("button", { name: "Enter a code" });
      assert.ok(await again.isVisible());
      await screenshot(page, `consent-${scheme}-error-expired`);
      assert.deepEqual(serious(await runAxe(page)), [], "axe: no serious violation on the error view");
      await again.click();
      await waitForState(page, "entry");
      assert.equal(await page.getByLabel("Code", { exact: true }).inputValue(), "", "an expired code is not offered again");
      await waitForFocus(page, /^input#sp-code-input/);
      assert.deepEqual(g.cspViolations, []);
      assert.deepEqual(g.errors, []);
    } finally {
      await b.close();
    }
  });
}

/** The buttons on the consent card, by their text. */
const cardButtons = (page) => page.locator(".sp-card").getByRole("button").allInnerTexts();

/** Whether the transport banner above the card is drawn. */
const bannerShown = (page) => page.locator(".sp-banner").isVisible();

for (const scheme of ["light", "dark"]) {
  test(`Stopped, ${scheme}: focus on the heading, no button, the tab can be closed; no development banner above it`, async () => {
    const agent = await TestAgent.create(broker.url);
    const url = await session(agent);
    const b = await launchBrowser({ colorScheme: scheme });
    const g = await guardPage(b.page);
    const page = b.page;
    try {
      await page.goto(url);
      await waitForState(page, "review");
      // The broker on 127.0.0.1 is a development broker: the review warns about it.
      assert.equal(await bannerShown(page), true, "the review shows the development banner");
      // The page's own words and the broker's security.message, neither said twice.
      const banner = (await page.locator(".sp-banner").innerText()).replace(/\s+/g, " ");
      assert.equal(banner.match(/development broker/gi)?.length, 1, banner);
      assert.match(banner, /stays on this computer/, banner);
      await page.getByRole("button", { name: "They don’t match" }).click();
      await waitForState(page, "stopped");
      await waitForFocus(page, /^h1#sp-h-stopped\[Stopped\. Nothing was sent\.\]/);
      const text = await cardText(page);
      assert.doesNotMatch(text, /Close this page/, "no 'close this page' (the old wording)");
      assert.match(text, /this page may not be talking to your agent\./);
      assert.match(text, /What to do: Tell your agent to cancel this request, then close this tab\. Check the code and fingerprint again on its next one\./);
      // Another code on this page is not offered: it may not be talking to the agent.
      assert.deepEqual(await cardButtons(page), [], "no button on Stopped on the page");
      assert.equal(await bannerShown(page), false, "the heading is the first thing on the view, not the banner");
      // Reading order: nothing before the heading but the page header.
      assert.equal(await page.evaluate(() => document.getElementById("consent").shadowRoot.querySelector(".sp-card h1") === document.getElementById("consent").shadowRoot.querySelector(".sp-card").firstElementChild), true);
      await screenshot(page, `consent-${scheme}-stopped`);
      assert.deepEqual(serious(await runAxe(page)), [], "axe: no serious violation on Stopped");
      assert.deepEqual(g.cspViolations, []);
      assert.deepEqual(g.errors, []);
    } finally {
      await b.close();
    }
  });

  test(`Done, ${scheme}: focus on the heading, the tab can be closed, 'Enter another code' leads to the next request's review`, async () => {
    const agent = await TestAgent.create(broker.url);
    const url = await session(agent);
    const b = await launchBrowser({ colorScheme: scheme });
    const g = await guardPage(b.page);
    const page = b.page;
    try {
      await page.goto(url);
      await waitForState(page, "review");
      await page.getByTestId("confirm").click();
      await waitForState(page, "form");
      await fillForm(page, { "API key": "sk-done-focus" });
      await page.getByTestId("submit").click();
      await waitForState(page, "done");
      await waitForFocus(page, /^h1#sp-h-done\[Sent securely\]/);
      const text = await cardText(page);
      assert.match(text, /Your agent can now read it\. You can close this tab\./);
      assert.match(text, /Encrypted in this browser to the key [0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}\./);
      assert.deepEqual(await cardButtons(page), ["Enter another code"]);
      assert.equal(await bannerShown(page), false, "no development banner above Done");
      await screenshot(page, `consent-${scheme}-done`);
      assert.deepEqual(serious(await runAxe(page)), [], "axe: no serious violation on Done");
      const ready = await agent.pollUntilReady({ intervalMs: 300 });
      assert.deepEqual(await agent.open(ready.ciphertext, ready.algorithm), { api_key: "sk-done-focus" });
      // Keyboard: the button is the next Tab stop; it opens an empty code entry with focus.
      await page.keyboard.press("Tab");
      assert.match(await focusedInComponent(page), /^button\[Enter another code\]/);
      await page.keyboard.press("Enter");
      await waitForState(page, "entry");
      const input = page.getByLabel("Code", { exact: true });
      assert.equal(await input.inputValue(), "", "the answered code is not offered again");
      await waitForFocus(page, /^input#sp-code-input/);
      // The address no longer holds the answered code: a reload shows the entry.
      assert.equal(new URL(page.url()).pathname, "/connect");
      await page.reload();
      await waitForState(page, "entry");
      await waitForFocus(page, /^input#sp-code-input/);
      // The agent's next request, by its code: its review, warned about again.
      const next = await TestAgent.create(broker.url);
      await session(next);
      await input.fill(next.code);
      await input.press("Enter");
      await waitForState(page, "review");
      assert.equal(await page.getByTestId("fingerprint").innerText(), next.fingerprint.short);
      await waitForFocus(page, /^h1#sp-h-review\[/);
      assert.equal(await bannerShown(page), true, "the next review shows the development banner again");
      assert.deepEqual(g.cspViolations, []);
      assert.deepEqual(g.errors, []);
    } finally {
      await b.close();
    }
  });
}

test("an error after the review: the development banner gives way, the error heading comes first", async () => {
  const agent = await TestAgent.create(broker.url);
  const url = await session(agent, { ttl: 2 });
  const b = await launchBrowser({ viewport: { width: 400, height: 700 } });
  const page = b.page;
  try {
    await page.goto(url);
    await waitForState(page, "review");
    assert.equal(await bannerShown(page), true);
    await waitForState(page, "error", { timeout: 8000 });
    await waitForFocus(page, /^h1#sp-h-error\[This request has expired\]/);
    assert.equal(await bannerShown(page), false, "no banner above the error");
    await screenshot(page, "consent-light-error-expired-popup-width", { fullPage: false });
  } finally {
    await b.close();
  }
});
