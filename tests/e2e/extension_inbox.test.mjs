// The extension's inbox, end to end in Debian's headless Chromium with the
// packaged extension (dist/extension/chromium) and a real broker:
// pairing through the options page, agents (senders) added and removed,
// the badge, the popup's list (code, locally computed fingerprint, claims as
// text), decline, answering from the popup, and removing a broker.
//
//   cargo xtask build && cargo build -p sealpost-broker
//   node --test --test-concurrency=1 tests/e2e/extension_inbox.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXTENSION_DIR, launchWithExtension } from "./lib/extension.mjs";
import { ROOT } from "./lib/env.mjs";
import { startBroker } from "./lib/broker.mjs";
import { TestAgent } from "./lib/agent.mjs";
import { runAxe, screenshot } from "./lib/browser.mjs";
import { fillForm, makeSecret, waitForState } from "./lib/consent.mjs";

/** Everything the page reports that a user would see as breakage. */
function watch(page, errors) {
  page.on("pageerror", (e) => errors.push(`pageerror: ${e}`));
  page.on("console", (m) => m.type() === "error" && errors.push(`console: ${m.text()}`));
  page.on("dialog", (d) => {
    errors.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
}

/** Pair through the options page, as a person does. Returns the options page. */
async function pair(ext, brokerUrl, errors) {
  const page = await ext.context.newPage();
  watch(page, errors);
  await ext.openPage("options.html", {}, page);
  await page.getByLabel("Broker address").fill(brokerUrl);
  await page.getByRole("button", { name: "Add broker" }).click();
  await page.getByTestId("broker").filter({ hasText: brokerUrl }).waitFor();
  await page.getByText(`Added ${brokerUrl}`).waitFor();
  return page;
}

/** Add an agent on the options page; returns { credential, command }. */
async function addAgent(page, name) {
  await page.getByLabel("Agent name").fill(name);
  await page.getByRole("button", { name: "Add agent" }).click();
  await page.getByRole("heading", { name: `Command for “${name}”` }).waitFor();
  const command = await page.getByTestId("agent-command").inputValue();
  const m = /--inbox (is_[A-Za-z0-9_-]+) /.exec(command);
  assert.ok(m, `a sender credential in ${command}`);
  await page.getByRole("button", { name: "Done, hide it" }).click();
  return { credential: m[1], command };
}

/** Open the popup (as a page of the popup's size) and wait for its fresh list. */
async function openPopup(ext, errors) {
  const page = await ext.context.newPage();
  watch(page, errors);
  await page.setViewportSize({ width: 400, height: 600 });
  await ext.openPage("popup.html", {}, page);
  await page.locator("main[aria-busy=false]").waitFor({ timeout: 15_000 });
  return page;
}

/** Codes of the requests waiting in the paired inbox, as the broker lists them. */
async function waitingAtBroker(ext, brokerUrl) {
  const { inbox_id: inboxId, inbox_token: inboxToken } = (await ext.storage()).local.brokers[0];
  const res = await fetch(`${brokerUrl}/v1/inboxes/${inboxId}/requests`, { headers: { Authorization: `Bearer ${inboxToken}` } });
  assert.equal(res.status, 200);
  const body = await res.json();
  return (body.requests ?? body).map((r) => r.code).sort();
}

/** The agent's poll, at the pace the broker asks (a 429 slow_down waits and polls again). */
async function pollPaced(agent) {
  for (let i = 0; i < 10; i++) {
    const res = await agent.pollOnce();
    if (res.status !== 429) return res;
    await new Promise((r) => setTimeout(r, (Number(res.body?.interval) || agent.interval || 5) * 1000));
  }
  assert.fail("the broker kept answering 429");
}

/** POST /v1/sessions as a raw agent would; returns { status, body }. */
async function postSession(brokerUrl, agent, extra) {
  const res = await fetch(`${brokerUrl}/v1/sessions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ public_key: agent.publicKeyB64, template: "api_key", ...extra }),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function withStack(fn, { colorScheme = "light", brokerArgs = [] } = {}) {
  const broker = await startBroker({ args: brokerArgs });
  const ext = await launchWithExtension({ colorScheme });
  const errors = [];
  try {
    await fn({ broker, ext, errors });
  } finally {
    await ext.close();
    await broker.stop();
  }
}

test("install opens the first-run page, which explains the extension; nothing is stored yet", async () => {
  await withStack(async ({ ext }) => {
    const isWelcome = (p) => p.url().endsWith("/options.html?welcome=1");
    const page = ext.context.pages().find(isWelcome) || (await ext.context.waitForEvent("page", { predicate: isWelcome }));
    await page.getByRole("heading", { level: 1, name: "Welcome to Sealpost" }).waitFor();
    const about = await page.locator("#about p").allInnerTexts();
    assert.equal(about.length, 3, "three sentences on what it does");
    assert.equal(await page.getByLabel("Broker address").count(), 1);
    const { local, sync } = await ext.storage();
    assert.deepEqual(sync, {}, "nothing in sync storage");
    assert.equal(local.brokers, undefined);
    assert.equal(await ext.badgeText(), "");
    const alarm = await ext.inWorker(() => chrome.alarms.get("poll"));
    assert.equal(alarm.periodInMinutes * 60, 30, "polls every 30 s by default");
    // The option changes the alarm.
    await page.getByLabel("Check every (seconds)").fill("10");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("Sealpost checks every 30 seconds.").waitFor();
    await page.getByLabel("Check every (seconds)").fill("90");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("Sealpost checks every 90 seconds.").waitFor();
    let period = 0;
    for (let i = 0; i < 50 && period !== 90; i++) {
      period = Math.round(((await ext.inWorker(() => chrome.alarms.get("poll"))) || {}).periodInMinutes * 60);
      if (period !== 90) await page.waitForTimeout(100);
    }
    assert.equal(period, 90);
    assert.deepEqual((await ext.storage()).local.settings, { pollSeconds: 90 });
  });
});

test("pair, add an agent, its request: badge 1, popup shows the code, the agent's own fingerprint, its claims as text", async () => {
  await withStack(async ({ broker, ext, errors }) => {
    const options = await pair(ext, broker.url, errors);
    const { credential, command } = await addAgent(options, "CI runner");
    assert.equal(command, `sealpost request --broker ${broker.url} --inbox ${credential} --template api_key`);

    // Secrets: the inbox token in storage.local only; the sender credential nowhere.
    const { local, sync } = await ext.storage();
    assert.deepEqual(sync, {});
    assert.equal(local.brokers.length, 1);
    const stored = local.brokers[0];
    assert.equal(stored.origin, broker.url);
    assert.match(stored.inbox_id, /^ib_/);
    assert.match(stored.inbox_token, /^it_/);
    assert.deepEqual(stored.senders.map((s) => s.name), ["CI runner"]);
    assert.ok(!JSON.stringify(local).includes(credential), "the sender credential is not stored");
    assert.equal(await options.getByTestId("agent-command").count(), 0, "the command is gone once hidden");

    const agent = await TestAgent.create(broker.url);
    const reason = `<img src=x onerror="window.__pwned=1;alert(1)"> rotate the key`;
    await agent.createSession({ inbox: credential, template: "api_key", display_name: "Staging API key", agent_name: "deploy-bot <b>root</b>", reason });

    const popup = await openPopup(ext, errors);
    const item = popup.getByTestId("request");
    assert.equal(await item.count(), 1);
    assert.equal(await ext.badgeText(), "1");
    assert.equal(await item.getByTestId("code").innerText(), agent.code);
    assert.equal(await item.getByTestId("fingerprint").innerText(), agent.fingerprint.short, "computed in the extension = the agent's");
    assert.equal(await item.getByTestId("origin").innerText(), broker.url);
    assert.equal(await item.getByTestId("sender").innerText(), "CI runner");
    assert.equal(await item.getByTestId("display-name").innerText(), "Staging API key");
    assert.equal(await item.getByTestId("fields").innerText(), "API Key");
    assert.equal(await item.getByTestId("reason").innerText(), reason, "the reason renders as text");
    assert.equal(await item.getByTestId("agent-name").innerText(), "deploy-bot <b>root</b>");
    assert.match(await item.getByTestId("claims").innerText(), /What the agent claims/);
    assert.equal(await popup.locator("#requests img, #requests b").count(), 0, "no element made from agent text");
    assert.equal(await popup.evaluate(() => window.__pwned), undefined);
    assert.match(await item.locator(".pop-countdown").innerText(), /^expires in \d+ min \d\d s$/);
    const notes = await ext.inWorker(() => chrome.notifications.getAll());
    assert.deepEqual(Object.keys(notes), [`request:${broker.url}/connect/${agent.code}`], "one notification for the new request");
    await screenshot(popup, "extension-inbox-popup-pending");
    assert.deepEqual(errors, []);
  });
});

/** Paired, one agent added, two of its requests waiting ("GitHub token", "npm token"): their test agents. */
async function twoWaiting(ext, brokerUrl, errors) {
  const options = await pair(ext, brokerUrl, errors);
  const { credential } = await addAgent(options, "laptop");
  const agent = await TestAgent.create(brokerUrl);
  await agent.createSession({ inbox: credential, template: "api_key", display_name: "GitHub token", ttl: 300 });
  const other = await TestAgent.create(brokerUrl);
  await other.createSession({ inbox: credential, template: "api_key", display_name: "npm token", ttl: 600 });
  return { agent, other };
}

/** The popup's focused element as "TEXT in CODE" (the code of its request, or "-"). */
const focusedIn = (popup) => popup.evaluate(() => `${document.activeElement.textContent} in ${document.activeElement.closest("li")?.dataset.code ?? "-"}`);

test("decline: the agent's next poll ends with 404 Request Declined and the badge clears", async () => {
  await withStack(async ({ broker, ext, errors }) => {
    const { agent, other } = await twoWaiting(ext, broker.url, errors);
    assert.equal((await agent.pollOnce()).status, 200);

    const popup = await openPopup(ext, errors);
    assert.equal(await ext.badgeText(), "2");
    // Declined from the keyboard: asked first in the item (focus on "Keep it"), then
    // confirmed; the item leaves the list, the page's live region says what was
    // declined, and focus moves to the request that took its place (not to the body).
    const focused = () => focusedIn(popup);
    const first = popup.getByTestId("request").filter({ hasText: "GitHub token" });
    await first.getByRole("button", { name: "Answer" }).and(popup.locator(":enabled")).waitFor();
    await first.getByRole("button", { name: "Decline", exact: true }).focus();
    await popup.keyboard.press("Enter");
    await first.getByRole("group", { name: "Decline “GitHub token”" }).waitFor();
    assert.equal(await focused(), `Keep it in ${agent.code}`);
    assert.deepEqual(await waitingAtBroker(ext, broker.url), [agent.code, other.code].sort(), "asking declines nothing yet");
    await popup.keyboard.press("Shift+Tab");
    assert.equal(await focused(), `Yes, decline it in ${agent.code}`);
    await popup.keyboard.press("Enter");
    await first.waitFor({ state: "detached" });
    const status = popup.getByRole("status").first();
    await popup.waitForFunction(() => /Declined/.test(document.getElementById("status").textContent));
    assert.equal(await status.innerText(), `Declined “GitHub token” (code ${agent.code}). The agent is told its request was declined.`);
    assert.equal(await focused(), `Answer in ${other.code}`);
    const { status: code, body } = await agent.pollOnce();
    assert.equal(code, 404);
    assert.equal(body.title, "Request Declined");
    assert.equal((await other.pollOnce()).status, 200, "only that request was declined");

    // The last one: focus goes to "Check now".
    await popup.keyboard.press("Tab");
    assert.equal(await focused(), `Decline in ${other.code}`);
    await popup.keyboard.press("Enter");
    assert.equal(await focused(), `Keep it in ${other.code}`);
    await popup.keyboard.press("Shift+Tab");
    await popup.keyboard.press("Enter");
    await popup.getByText("No requests waiting.").waitFor();
    assert.match(await popup.locator("#status").innerText(), /^Declined “npm token”/);
    assert.equal(await focused(), "Check now in -");
    assert.equal(await ext.badgeText(), "");
    assert.deepEqual(errors, []);
  });
});

test("decline is asked first: Keep it and Escape leave the request pending, focus back on Decline; one question at a time; a refresh keeps it", async () => {
  await withStack(async ({ broker, ext, errors }) => {
    const { agent, other } = await twoWaiting(ext, broker.url, errors);

    const popup = await openPopup(ext, errors);
    const focused = () => focusedIn(popup);
    const first = popup.getByTestId("request").filter({ hasText: "GitHub token" });
    const second = popup.getByTestId("request").filter({ hasText: "npm token" });
    const decline = (li) => li.getByRole("button", { name: "Decline", exact: true });
    const question = (li, title) => li.getByRole("group", { name: `Decline “${title}”` });
    await first.getByRole("button", { name: "Answer" }).and(popup.locator(":enabled")).waitFor();

    // A click asks, in the item; nothing is sent to the broker yet.
    await decline(first).click();
    const q = question(first, "GitHub token");
    await q.waitFor();
    assert.equal(await q.locator("p").first().innerText(), "Decline “GitHub token”? The agent is told you declined it and has to ask again.");
    assert.equal(await q.getAttribute("aria-describedby"), await q.locator("p").first().getAttribute("id"), "the question describes the group");
    assert.equal(await focused(), `Keep it in ${agent.code}`, "focus on the safe choice");
    assert.equal(await decline(first).isDisabled(), true, "its Decline waits for the answer");
    assert.deepEqual(await waitingAtBroker(ext, broker.url), [agent.code, other.code].sort(), "asking declines nothing");

    // Keep it: the question goes, focus back on Decline, the request still pending.
    await q.getByRole("button", { name: "Keep it" }).click();
    await q.waitFor({ state: "detached" });
    assert.equal(await focused(), `Decline in ${agent.code}`);
    assert.deepEqual(await waitingAtBroker(ext, broker.url), [agent.code, other.code].sort(), "Keep it: still waiting at the broker");

    // Escape, the same.
    await popup.keyboard.press("Enter");
    await q.waitFor();
    assert.equal(await focused(), `Keep it in ${agent.code}`);
    await popup.keyboard.press("Escape");
    await q.waitFor({ state: "detached" });
    assert.equal(await focused(), `Decline in ${agent.code}`);
    assert.deepEqual(await waitingAtBroker(ext, broker.url), [agent.code, other.code].sort(), "Escape: still waiting at the broker");
    assert.equal((await pollPaced(agent)).status, 200, "the agent's poll is still pending");
    assert.equal(await ext.badgeText(), "2");

    // One question at a time: asking about the second closes the first.
    await decline(first).click();
    await q.waitFor();
    await decline(second).click();
    await question(second, "npm token").waitFor();
    assert.equal(await popup.getByRole("group", { name: /^Decline/ }).count(), 1);
    assert.equal(await decline(first).isEnabled(), true);
    assert.equal(await focused(), `Keep it in ${other.code}`);

    // A refresh of the list (the button clicked from script: focus stays where it is)
    // keeps the question and its focus.
    await popup.evaluate(() => document.getElementById("refresh").click());
    await popup.locator("main[aria-busy=false]").waitFor();
    await question(second, "npm token").waitFor();
    assert.equal(await focused(), `Keep it in ${other.code}`, "focus survives the re-render");

    // The request asked about is declined elsewhere: the next refresh closes the
    // question, says so, and moves focus to the request left.
    const { inbox_id: inboxId, inbox_token: inboxToken } = (await ext.storage()).local.brokers[0];
    const res = await fetch(`${broker.url}/v1/inboxes/${inboxId}/requests/${encodeURIComponent(other.code)}`, {
      method: "DELETE",
      headers: { Authorization: `Bearer ${inboxToken}` },
    });
    assert.ok(res.ok, `DELETE at the broker: ${res.status}`);
    await popup.evaluate(() => document.getElementById("refresh").click());
    await second.waitFor({ state: "detached" });
    await popup.locator("main[aria-busy=false]").waitFor();
    assert.equal(await popup.locator("#status").innerText(), "“npm token” is no longer waiting: it was answered, declined or expired elsewhere.");
    assert.equal(await popup.getByRole("group", { name: /^Decline/ }).count(), 0);
    assert.equal(await focused(), `Answer in ${agent.code}`);
    assert.deepEqual(await waitingAtBroker(ext, broker.url), [agent.code], "the other request is untouched");
    assert.deepEqual(errors, []);
  });
});

for (const colorScheme of ["light", "dark"]) {
  test(`the decline question: axe finds no serious or critical violation, the title stays text; screenshot (${colorScheme})`, async () => {
    await withStack(
      async ({ broker, ext, errors }) => {
        const options = await pair(ext, broker.url, errors);
        const { credential } = await addAgent(options, "laptop");
        const agent = await TestAgent.create(broker.url);
        const title = 'Prod <img src=x onerror="window.__pwned=1"> token';
        await agent.createSession({ inbox: credential, template: "api_key", display_name: title, ttl: 300, reason: "deploy" });
        const popup = await openPopup(ext, errors);
        const item = popup.getByTestId("request").first();
        await item.getByRole("button", { name: "Answer" }).and(popup.locator(":enabled")).waitFor();
        await item.getByRole("button", { name: "Decline", exact: true }).click();
        const q = item.getByRole("group", { name: `Decline “${title}”` });
        await q.waitFor();
        assert.equal(await q.locator("p").first().innerText(), `Decline “${title}”? The agent is told you declined it and has to ask again.`);
        assert.equal(await popup.locator("#requests img").count(), 0, "no element made from the title");
        assert.equal(await popup.evaluate(() => window.__pwned), undefined);
        const violations = (await runAxe(popup)).filter((v) => v.impact === "serious" || v.impact === "critical");
        assert.deepEqual(violations, []);
        // Fits the 400 px popup: no horizontal scroll.
        assert.ok(await popup.evaluate(() => document.documentElement.scrollWidth <= 400), "no horizontal overflow");
        await screenshot(popup, `extension-inbox-popup-decline-question-${colorScheme}`);
        assert.deepEqual(await waitingAtBroker(ext, broker.url), [agent.code]);
        assert.deepEqual(errors, []);
      },
      { colorScheme },
    );
  });
}

test("agents: a second agent of the same name is refused; hiding the command and cancelling a removal keep focus", async () => {
  await withStack(async ({ broker, ext, errors }) => {
    const options = await pair(ext, broker.url, errors);
    await addAgent(options, "laptop");
    const focused = () => options.evaluate(() => document.activeElement.getAttribute("name") || document.activeElement.textContent);
    assert.equal(await focused(), "agent", "Done, hide it: focus on the next agent's name, not the page");
    // Requests name the agent they came through: "Laptop " would be indistinguishable.
    await options.getByLabel("Agent name", { exact: true }).fill("Laptop ");
    await options.getByRole("button", { name: "Add agent" }).click();
    await options.getByText("You already have an agent named “Laptop” here.", { exact: false }).waitFor();
    assert.equal(await options.getByLabel("Agent name", { exact: true }).getAttribute("aria-invalid"), "true");
    assert.equal(await options.getByTestId("agent-command").count(), 0, "no command: nothing was created");
    await options.waitForTimeout(300);
    assert.deepEqual(
      (await options.getByTestId("sender").allInnerTexts()).map((t) => t.split("\n")[0]),
      ["laptop"],
      "one agent at the broker",
    );
    assert.equal((await ext.storage()).local.brokers[0].senders.length, 1);
    // Another name goes through.
    await addAgent(options, "CI runner");

    // Escape backs out of "Remove broker", focus back on its button.
    await options.getByRole("button", { name: "Remove broker" }).click();
    await options.getByRole("button", { name: "Yes, remove it" }).waitFor();
    assert.equal(await options.evaluate(() => document.activeElement.textContent), "Cancel");
    await options.keyboard.press("Escape");
    await options.getByRole("button", { name: "Yes, remove it" }).waitFor({ state: "detached" });
    assert.equal(await focused(), "Remove broker");
    assert.equal((await ext.storage()).local.brokers.length, 1, "still paired");
    assert.deepEqual(errors, []);
  });
});

test("senders: no credential or a removed one is refused; the list shows each sender's name and requests", async () => {
  await withStack(async ({ broker, ext, errors }) => {
    const options = await pair(ext, broker.url, errors);
    const ci = await addAgent(options, "CI runner");
    const laptop = await addAgent(options, "laptop");
    const { local } = await ext.storage();
    const inboxId = local.brokers[0].inbox_id;
    const agent = await TestAgent.create(broker.url);

    const bare = await postSession(broker.url, agent, { inbox: inboxId });
    assert.equal(bare.status, 400, "a bare inbox id is not enough");
    assert.equal(bare.body.code, "ERR_SENDER_REQUIRED");
    const forged = await postSession(broker.url, agent, { inbox: `is_${"A".repeat(43)}` });
    assert.equal(forged.status, 403);
    assert.equal(forged.body.code, "ERR_SENDER_INVALID");

    await agent.createSession({ inbox: ci.credential, template: "api_key", agent_name: "ci" });
    await options.reload();
    const senders = options.getByTestId("sender");
    await senders.filter({ hasText: "1 request sent" }).waitFor();
    const rows = await senders.allInnerTexts();
    assert.equal(rows.length, 2);
    assert.match(rows.find((r) => r.startsWith("CI runner")), /1 pending · 1 request sent/);
    assert.match(rows.find((r) => r.startsWith("laptop")), /0 pending · 0 requests sent · not used yet/);

    // The popup names the sender the request came through.
    const popup = await openPopup(ext, errors);
    assert.equal(await popup.getByTestId("request").getByTestId("sender").innerText(), "CI runner");
    await popup.close();

    // Removing an agent is asked first: Escape (or Cancel) keeps it, focus back on its button.
    const removeLaptop = options.getByRole("button", { name: "Remove agent laptop" });
    await removeLaptop.click();
    const confirm = options.getByRole("group", { name: "Remove agent laptop" });
    await confirm.getByText("Remove “laptop”? Its key stops working at once and its waiting requests are declined.", { exact: false }).waitFor();
    // Focus starts on the safe choice (Enter twice does not remove it).
    assert.equal(await options.evaluate(() => document.activeElement.textContent), "Cancel");
    await options.keyboard.press("Escape");
    await confirm.waitFor({ state: "detached" });
    assert.equal(await options.evaluate(() => document.activeElement.getAttribute("aria-label")), "Remove agent laptop");
    assert.equal((await postSession(broker.url, await TestAgent.create(broker.url), { inbox: laptop.credential })).status, 201, "kept");
    // Remove "laptop": its credential stops working at once.
    await removeLaptop.click();
    await confirm.getByRole("button", { name: "Yes, remove this agent" }).click();
    await senders.filter({ hasText: "laptop" }).waitFor({ state: "detached" });
    const removed = await postSession(broker.url, await TestAgent.create(broker.url), { inbox: laptop.credential });
    assert.equal(removed.status, 403);
    assert.equal(removed.body.code, "ERR_SENDER_INVALID");

    // Remove "CI runner": its pending request ends as declined.
    await options.getByRole("button", { name: "Remove agent CI runner" }).click();
    await options.getByRole("button", { name: "Yes, remove this agent" }).click();
    await options.getByText("No agent yet").waitFor();
    const { status, body } = await agent.pollOnce();
    assert.equal(status, 404);
    assert.equal(body.title, "Request Declined");
    assert.deepEqual((await ext.storage()).local.brokers[0].senders, []);
    await screenshot(options, "extension-inbox-options-no-agents");
    assert.deepEqual(errors, []);
  });
});

for (const colorScheme of ["light", "dark"]) {
  test(`an agent at its limit of waiting requests: the broker refuses it (429) and its agent line says why (${colorScheme})`, async () => {
    await withStack(
      async ({ broker, ext, errors }) => {
        const options = await pair(ext, broker.url, errors);
        const ci = await addAgent(options, "CI runner");
        await addAgent(options, "laptop");
        const agent = await TestAgent.create(broker.url);
        // Below the limit: nothing new on the line.
        assert.equal((await postSession(broker.url, agent, { inbox: ci.credential })).status, 201);
        await options.reload();
        const senders = options.getByTestId("sender");
        await senders.filter({ hasText: "1 request sent" }).waitFor();
        assert.equal(await options.getByTestId("sender-full").count(), 0);
        // Post until the broker refuses.
        let refused;
        for (let i = 0; i < 5 && !refused; i++) {
          const r = await postSession(broker.url, agent, { inbox: ci.credential });
          if (r.status !== 201) refused = r;
        }
        assert.equal(refused?.status, 429);
        assert.equal(refused.body.code, "ERR_SENDER_QUOTA");

        await options.reload();
        const ciRow = senders.filter({ hasText: "CI runner" });
        const full = ciRow.getByTestId("sender-full");
        await full.waitFor();
        assert.equal(
          await full.innerText(),
          "2 requests waiting — its limit: new requests from it are refused until you answer or decline one.",
        );
        assert.match(await ciRow.innerText(), /2 pending · 2 requests sent/);
        // Only the agent at its limit; the other says nothing new.
        assert.equal(await senders.filter({ hasText: "laptop" }).getByTestId("sender-full").count(), 0);
        assert.equal(await options.getByTestId("sender-full").count(), 1);
        await ciRow.scrollIntoViewIfNeeded();
        await screenshot(options, `extension-inbox-options-agent-at-limit-${colorScheme}`);

        // Declining one of its requests frees a slot: the line goes, the agent may post again.
        const popup = await openPopup(ext, errors);
        await popup.getByTestId("request").first().getByRole("button", { name: "Decline", exact: true }).click();
        await popup.getByRole("button", { name: "Yes, decline it" }).click();
        await popup.waitForFunction(() => /Declined/.test(document.getElementById("status").textContent));
        await popup.close();
        await expectNoFullLine(options);
        assert.equal((await postSession(broker.url, await TestAgent.create(broker.url), { inbox: ci.credential })).status, 201);
        assert.deepEqual(errors, []);
      },
      { colorScheme, brokerArgs: ["--max-sender-pending", "2"] },
    );
  });
}

/** Reload the options page until no agent shows the at-limit line (the broker has the decline). */
async function expectNoFullLine(options) {
  for (let i = 0; i < 20; i++) {
    await options.reload();
    await options.getByTestId("sender").first().waitFor();
    await options.getByTestId("sender").filter({ hasText: "pending" }).first().waitFor();
    if ((await options.getByTestId("sender-full").count()) === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail("the at-limit line stays after a decline");
}

test("a broker that leaves pending_limit out of its sender list (older brokers): the options page works and shows no limit line", async () => {
  await withStack(
    async ({ broker, ext, errors }) => {
      const options = await pair(ext, broker.url, errors);
      const ci = await addAgent(options, "CI runner");
      await addAgent(options, "laptop");
      const agent = await TestAgent.create(broker.url);
      // CI runner at the broker's limit of 2, which this broker would say...
      for (let i = 0; i < 2; i++) assert.equal((await postSession(broker.url, agent, { inbox: ci.credential })).status, 201);
      assert.equal((await postSession(broker.url, agent, { inbox: ci.credential })).status, 429);
      // ...but an older broker answers the list without pending_limit.
      const seen = [];
      await options.route(`${broker.url}/v1/inboxes/*/senders`, async (route) => {
        if (route.request().method() !== "GET") return route.fallback();
        const res = await route.fetch();
        const list = await res.json();
        assert.ok(list.every((s) => s.pending_limit === 2), "this broker sends pending_limit; the route takes it out");
        const old = list.map(({ pending_limit: _drop, ...rest }) => rest);
        seen.push(old);
        await route.fulfill({ response: res, json: old });
      });
      await options.reload();
      const senders = options.getByTestId("sender");
      const ciRow = senders.filter({ hasText: "CI runner" });
      await ciRow.filter({ hasText: "2 requests sent" }).waitFor();
      assert.ok(seen.length > 0 && seen.every((l) => l.every((s) => !("pending_limit" in s))), "the page got the list without pending_limit");
      assert.match(await ciRow.innerText(), /2 pending · 2 requests sent · last used /);
      assert.match(await senders.filter({ hasText: "laptop" }).innerText(), /0 pending · 0 requests sent · not used yet/);
      assert.equal(await options.getByTestId("sender-full").count(), 0, "no limit line without pending_limit");
      assert.equal(await options.getByTestId("broker").getByRole("status").filter({ hasText: /\S/ }).count(), 0, "no error or warning about the list");
      await screenshot(options, "extension-inbox-options-no-pending-limit");
      // The page still works: an agent is added and one removed, with the old-style list.
      await addAgent(options, "nightly");
      await senders.filter({ hasText: "nightly" }).waitFor();
      await senders.filter({ hasText: "laptop" }).getByRole("button", { name: "Remove agent laptop" }).click();
      await options.getByRole("button", { name: "Yes, remove this agent" }).click();
      await options.waitForFunction(() => ![...document.querySelectorAll("[data-testid=sender]")].some((li) => /laptop/.test(li.textContent)));
      assert.deepEqual(
        (await ext.storage()).local.brokers[0].senders.map((s) => s.name),
        ["CI runner", "nightly"],
      );
      assert.equal(await options.getByTestId("sender-full").count(), 0);
      // The control: the same broker's own answer (with pending_limit) does show the line.
      await options.unrouteAll();
      await options.reload();
      await ciRow.getByTestId("sender-full").waitFor();
      assert.equal(await options.getByTestId("sender-full").count(), 1);
      assert.deepEqual(errors, []);
    },
    { brokerArgs: ["--max-sender-pending", "2"] },
  );
});

test("remove a broker: the inbox is deleted at the broker, its requests end, the extension forgets it", async () => {
  await withStack(async ({ broker, ext, errors }) => {
    const options = await pair(ext, broker.url, errors);
    const { credential } = await addAgent(options, "CI runner");
    const { inbox_id: inboxId, inbox_token: inboxToken } = (await ext.storage()).local.brokers[0];
    const agent = await TestAgent.create(broker.url);
    await agent.createSession({ inbox: credential, template: "api_key" });

    await options.getByRole("button", { name: "Remove broker" }).click();
    await options.getByRole("button", { name: "Yes, remove it" }).click();
    await options.getByText(`Removed ${broker.url}.`).waitFor();
    assert.equal(await options.getByTestId("broker").count(), 0);
    assert.deepEqual((await ext.storage()).local.brokers, []);

    const res = await fetch(`${broker.url}/v1/inboxes/${inboxId}/requests`, { headers: { Authorization: `Bearer ${inboxToken}` } });
    assert.equal(res.status, 404, "the inbox no longer exists at the broker");
    const { status, body } = await agent.pollOnce();
    assert.equal(status, 404);
    assert.equal(body.title, "Request Declined");
    const late = await postSession(broker.url, await TestAgent.create(broker.url), { inbox: credential });
    assert.equal(late.status, 403, "its senders are gone too");
    const popup = await openPopup(ext, errors);
    await popup.getByText("No broker paired yet.").waitFor();
    assert.equal(await ext.badgeText(), "");
    assert.deepEqual(errors, []);
  });
});

test("remove a broker that does not answer: the error says the inbox may remain, and 'Forget it anyway' forgets it here", async () => {
  await withStack(async ({ broker, ext, errors }) => {
    const options = await pair(ext, broker.url, errors);
    await addAgent(options, "CI runner");
    await broker.stop();

    await options.getByRole("button", { name: "Remove broker" }).click();
    await options.getByRole("button", { name: "Yes, remove it" }).click();
    const alert = options.getByTestId("broker").getByRole("alert").filter({ hasText: "The inbox may still exist there." });
    await alert.waitFor();
    const { local } = await ext.storage();
    assert.equal(local.brokers.length, 1, "nothing forgotten before the person says so");
    assert.ok(!(await alert.innerText()).includes(local.brokers[0].inbox_token), "no token in error text");
    // The buttons are back after the failure; Yes is offered again beside the way out.
    const forget = options.getByRole("button", { name: "Forget it anyway" });
    assert.equal(await forget.isEnabled(), true);
    assert.equal(await options.getByRole("button", { name: "Yes, remove it" }).isEnabled(), true);
    await options.getByRole("button", { name: "Yes, remove it" }).click();
    await options.waitForFunction(() => !document.querySelector(".opt-confirm button[disabled]"));
    assert.equal(await forget.count(), 1, "a second failure does not add a second 'Forget it anyway'");

    await forget.click();
    await options.getByText(`Removed ${broker.url}.`).waitFor();
    assert.equal(await options.getByTestId("broker").count(), 0);
    assert.deepEqual((await ext.storage()).local.brokers, []);
    assert.equal(await options.evaluate(() => document.activeElement?.id), "brokers-title");
    void errors;
  });
});

test("answer from the popup: the answer page delivers the typed value, then the badge returns to 0", async () => {
  await withStack(async ({ broker, ext, errors }) => {
    const options = await pair(ext, broker.url, errors);
    const { credential } = await addAgent(options, "CI runner");
    const agent = await TestAgent.create(broker.url);
    await agent.createSession({ inbox: credential, template: "api_key", display_name: "Prod key" });

    const popup = await openPopup(ext, errors);
    assert.equal(await ext.badgeText(), "1");
    const opened = ext.context.waitForEvent("page");
    await popup.getByTestId("request").getByRole("button", { name: "Answer" }).click();
    const answer = await opened;
    watch(answer, errors);
    await answer.waitForLoadState();
    const url = new URL(answer.url());
    assert.equal(url.pathname, "/answer.html");
    assert.equal(url.searchParams.get("link"), `${broker.url}/connect/${agent.code}`);
    await waitForState(answer, "review");
    assert.equal(await answer.getByTestId("fingerprint").innerText(), agent.fingerprint.short);
    await answer.getByTestId("confirm").click();
    await waitForState(answer, "form");
    const secret = makeSecret("inbox");
    await fillForm(answer, { "API Key": secret });
    await answer.getByTestId("submit").click();
    await waitForState(answer, "done");
    const ready = await agent.pollUntilReady({ intervalMs: 300 });
    assert.deepEqual(await agent.open(ready.ciphertext, ready.algorithm), { api_key: secret });

    // The background follows a request being answered: the badge clears within seconds.
    let badge = "1";
    for (let i = 0; i < 40 && badge !== ""; i++) {
      await answer.waitForTimeout(500);
      badge = await ext.badgeText();
    }
    assert.equal(badge, "", "badge back to 0 (empty) without opening the popup");
    const again = await openPopup(ext, errors);
    await again.getByText("No requests waiting.").waitFor();
    assert.equal(await ext.badgeText(), "", "badge back to 0 (empty)");
    assert.deepEqual(errors, []);
  });
});

test("a broker that stops answering shows an error state in the popup, not an empty list", async () => {
  await withStack(async ({ broker, ext, errors }) => {
    const options = await pair(ext, broker.url, errors);
    await options.close();
    await broker.stop();
    const popup = await openPopup(ext, []);
    const alert = popup.getByTestId("broker-error");
    await alert.waitFor();
    assert.match(await alert.innerText(), new RegExp(`${broker.url.replace(/[.:/]/g, "\\$&")} did not answer`));
    assert.equal(await ext.badgeText(), "!");
    assert.equal(await popup.getByText("No requests waiting").isVisible(), false, "no claim of an empty inbox");
    const { local } = await ext.storage();
    assert.ok(!(await alert.innerText()).includes(local.brokers[0].inbox_token), "no token in error text");
    await screenshot(popup, "extension-inbox-popup-unreachable");
    void errors;
  });
});

test("a paired broker whose access was withdrawn: the popup says so and offers access, at popup width with a long address", async () => {
  await withStack(async ({ ext, errors }) => {
    const long = `https://${"a-very-long-broker-host-name-".repeat(4)}end.example.com`;
    const page = await ext.openPage("options.html");
    await page.evaluate(
      (brokers) => chrome.storage.local.set({ brokers }),
      [{ origin: long, inbox_id: `ib_${"x".repeat(22)}`, inbox_token: "it_not-used", senders: [] }],
    );
    await page.close();
    const popup = await openPopup(ext, errors);
    const alert = popup.getByTestId("broker-error");
    await alert.waitFor();
    assert.equal(await alert.locator("span").innerText(), `Sealpost may not contact ${long}. Grant access to continue.`);
    const button = alert.getByRole("button", { name: `Allow access to ${long}` });
    assert.equal(await button.innerText(), "Allow access");
    // Nothing wider than the popup, and no "no requests" guess under the alert.
    assert.ok(await popup.evaluate(() => document.documentElement.scrollWidth <= 400), "no horizontal scroll");
    const box = await alert.boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= 400, `alert inside the popup: ${JSON.stringify(box)}`);
    assert.equal(await popup.locator("#empty").isVisible(), false);
    assert.equal(await ext.badgeText(), "!");
    assert.deepEqual(errors, []);
  });
});

test("the popup's paste box opens the answer page for a link, or a broker address and a code", async () => {
  const ext = await launchWithExtension();
  const errors = [];
  try {
    /** Fill the paste box of a fresh popup, submit; the popup closes itself and opens the answer page. */
    const paste = async (link, code) => {
      const popup = await openPopup(ext, errors);
      await popup.getByText("Answer a link from an agent").click();
      await popup.getByLabel("Link, or broker address").fill(link);
      if (code) await popup.getByLabel("Code").fill(code);
      const opened = ext.context.waitForEvent("page");
      await popup.getByRole("button", { name: "Open the request" }).click();
      const page = await opened;
      await page.waitForLoadState("domcontentloaded");
      const url = new URL(page.url());
      await page.close();
      return url;
    };
    // An address without a code is refused with a reason, in the popup.
    const popup = await openPopup(ext, errors);
    await popup.getByText("Answer a link from an agent").click();
    await popup.getByLabel("Link, or broker address").fill("https://broker.example");
    await popup.getByRole("button", { name: "Open the request" }).click();
    await popup.getByRole("alert").filter({ hasText: "8-character code" }).waitFor();
    await popup.close();
    // A full link (lower case, no hyphen) is opened as the canonical link.
    let url = await paste("https://broker.example/connect/abcd1234");
    assert.equal(url.pathname, "/answer.html");
    assert.equal(url.searchParams.get("link"), "https://broker.example/connect/ABCD-1234");
    // Broker address (its manual-entry page) + code.
    url = await paste("http://127.0.0.1:8080/connect", "wxyz-9876");
    assert.equal(url.searchParams.get("link"), "http://127.0.0.1:8080/connect/WXYZ-9876");
    assert.deepEqual(errors, []);
  } finally {
    await ext.close();
  }
});

test("adding a broker refuses plain http off this computer, and a server that is not a broker, storing nothing", async () => {
  await withStack(async ({ broker, ext, errors }) => {
    const page = await ext.context.newPage();
    watch(page, errors);
    await ext.openPage("options.html", {}, page);
    const input = page.getByLabel("Broker address");
    await input.fill("http://broker.example");
    await page.getByRole("button", { name: "Add broker" }).click();
    await page.getByText("Only a broker on this computer may use http://").waitFor();
    assert.equal(await input.getAttribute("aria-invalid"), "true");
    // A loopback server that is not a Sealpost broker (nothing listens on port 9 → unreachable).
    await input.fill("http://127.0.0.1:9");
    await page.getByRole("button", { name: "Add broker" }).click();
    await page.getByText("http://127.0.0.1:9 did not answer").waitFor();
    assert.deepEqual((await ext.storage()).local.brokers ?? [], []);
    // The same broker twice is refused.
    await input.fill(broker.url);
    await page.getByRole("button", { name: "Add broker" }).click();
    await page.getByText(`Added ${broker.url}`).waitFor();
    await input.fill(`${broker.url}/`);
    await page.getByRole("button", { name: "Add broker" }).click();
    await page.getByText(`${broker.url} is already paired.`).waitFor();
    assert.equal((await ext.storage()).local.brokers.length, 1);
    await screenshot(page, "extension-inbox-options-paired");
    assert.deepEqual(errors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to load resource/.test(e)), []);
  });
});

test("a tab showing /connect/CODE of a paired broker: the popup offers to answer it", async () => {
  await withStack(async ({ broker, ext, errors }) => {
    const options = await pair(ext, broker.url, errors);
    const agent = await TestAgent.create(broker.url);
    await agent.createSession({ template: "api_key" }); // a plain LinkAuth session, no inbox
    const tab = await ext.context.newPage();
    await tab.goto(`${broker.url}/connect/${agent.code}`);
    await options.close();
    // The popup's active tab is the one it was opened over: load popup.html in
    // a background tab beside the broker's page (the real popup is opened over it).
    const opened = ext.context.waitForEvent("page", { predicate: (p) => p.url().endsWith("/popup.html") });
    await ext.inWorker(async (url) => {
      const [t] = await chrome.tabs.query({ url: `${url}/connect/*` });
      await chrome.tabs.update(t.id, { active: true });
      await chrome.tabs.create({ url: chrome.runtime.getURL("popup.html"), active: false, windowId: t.windowId });
    }, broker.url);
    const popup = await opened;
    watch(popup, errors);
    const offer = popup.getByRole("region", { name: "This tab shows a request" });
    await offer.waitFor();
    assert.match(await offer.innerText(), new RegExp(`Code ${agent.code} on ${broker.url.replace(/[.:/]/g, "\\$&")}`));
    const answer = ext.context.waitForEvent("page", { predicate: (p) => p.url().includes("/answer.html") });
    await offer.getByRole("button", { name: "Answer it in Sealpost" }).click();
    const page = await answer;
    assert.equal(new URL(page.url()).searchParams.get("link"), `${broker.url}/connect/${agent.code}`);
    assert.deepEqual(errors, []);
  });
});

test("lib/brokers.js address rules: broker origins, verification links, codes, poll interval", async () => {
  // The package ships each page's bundle, not the modules inlined into it:
  // this test imports the source module (extension/lib/, plain ES modules),
  // added to a copy of the package.
  const dir = await mkdtemp(join(tmpdir(), "sealpost-ext-lib-"));
  await cp(EXTENSION_DIR, dir, { recursive: true });
  await cp(join(ROOT, "extension", "lib"), join(dir, "lib"), { recursive: true });
  const ext = await launchWithExtension({ dir });
  try {
    const page = await ext.openPage("options.html");
    const r = await page.evaluate(async () => {
      const b = await import("./lib/brokers.js");
      const origin = (s) => {
        try {
          return b.brokerOrigin(s);
        } catch (e) {
          return `${e.code}`;
        }
      };
      return {
        origins: ["broker.example", "https://broker.example/x/", "localhost:8080", "http://[::1]:9/", "http://10.0.0.2", "ftp://x", "https://u:p@h.example", "", "not a url at all"].map(origin),
        links: [
          "https://b.example/connect/abcd1234",
          "https://b.example/base/connect/ABCD-1234/",
          "https://b.example/connect/ABC",
          "javascript:alert(1)//connect/ABCD-1234",
          "https://b.example/connect",
        ].map((l) => b.parseConnectUrl(l)),
        codes: ["abcd-1234", "ABCD1234", "ab", "ABCD-12345"].map(b.normalizeCode),
        polls: [undefined, 5, 30, 45.4, 99999, "60", "x"].map(b.clampPoll),
        url: b.connectUrl("https://b.example/base/", "ABCD-1234"),
        loopback: ["http://127.0.0.1:1", "http://localhost", "http://[::1]:2", "https://example.com", "http://127.0.0.1.example.com"].map(b.isLoopback),
      };
    });
    assert.deepEqual(r.origins, [
      "https://broker.example",
      "https://broker.example",
      "http://localhost:8080",
      "http://[::1]:9",
      "ERR_BROKER_URL",
      "ERR_BROKER_URL",
      "ERR_BROKER_URL",
      "ERR_BROKER_URL",
      "ERR_BROKER_URL",
    ]);
    assert.deepEqual(r.links, [
      { origin: "https://b.example", base: "https://b.example", code: "ABCD-1234" },
      { origin: "https://b.example", base: "https://b.example/base", code: "ABCD-1234" },
      null,
      null,
      null,
    ]);
    assert.deepEqual(r.codes, ["ABCD-1234", "ABCD-1234", null, null]);
    assert.deepEqual(r.polls, [30, 30, 30, 45, 3600, 60, 30]);
    assert.equal(r.url, "https://b.example/base/connect/ABCD-1234");
    assert.deepEqual(r.loopback, [true, true, true, false, false]);
  } finally {
    await ext.close();
    await rm(dir, { recursive: true, force: true });
  }
});
