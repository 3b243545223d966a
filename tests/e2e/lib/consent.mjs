// Helpers to drive the consent page (www/) in tests.

/** Wait until the consent component reports `state` (data-state on its host). */
export async function waitForState(page, state, { timeout = 15_000 } = {}) {
  const states = Array.isArray(state) ? state : [state];
  await page.waitForFunction(
    (s) => {
      const host = document.querySelector("[data-state]");
      return host && s.includes(host.getAttribute("data-state"));
    },
    states,
    { timeout },
  );
  return page.evaluate(() => document.querySelector("[data-state]").getAttribute("data-state"));
}

export async function currentState(page) {
  return page.evaluate(() => document.querySelector("[data-state]")?.getAttribute("data-state") ?? null);
}

/** The failure kind shown by the error view (data-error on the host). */
export async function errorKind(page) {
  return page.evaluate(() => document.querySelector("[data-state]")?.getAttribute("data-error") ?? null);
}

/** Visible text of the consent card (inside the shadow root). */
export async function cardText(page) {
  return page.locator(".sp-card").innerText();
}

/** All values currently in form controls inside the component. */
export async function controlValues(page) {
  return page.evaluate(() => {
    const host = document.querySelector("[data-state]");
    const root = host && host.shadowRoot;
    return root ? [...root.querySelectorAll("input, textarea, select")].map((e) => e.value) : [];
  });
}

/** The form control labelled `label` (or `label (optional)`), case-insensitive. */
export function controlFor(page, label) {
  const esc = label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return page.getByLabel(new RegExp(`^${esc}( \\(optional\\))?$`, "i"));
}

/** Fill the form: values maps field label -> value. Uses the accessible labels. */
export async function fillForm(page, values) {
  for (const [label, value] of Object.entries(values)) {
    const control = controlFor(page, label);
    const tag = await control.evaluate((e) => e.tagName);
    if (tag === "SELECT") await control.selectOption(value);
    else await control.fill(value);
  }
}

/** A form using every field type. */
export const ALL_FIELD_TYPES = [
  { name: "api_key", label: "API key", type: "password", required: true },
  { name: "account", label: "Account", type: "text", required: false },
  { name: "region", label: "Region", type: "select", required: true, options: ["eu-west-1", "us-east-1"] },
  { name: "notes", label: "Notes", type: "textarea", required: false },
];

/** A secret that is easy to search for in bytes and unlikely by chance. */
export function makeSecret(tag = "secret") {
  const rnd = Math.random().toString(36).slice(2, 10);
  return `sk-${tag}-${rnd}-Zq7`;
}

/** Element focused inside the component, described as "tag#id[label]". */
export async function focusedInComponent(page) {
  return page.evaluate(() => {
    let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    if (!el || el === document.body) return "body";
    const label = el.getAttribute("aria-label") || el.getAttribute("data-testid") || el.textContent.trim().slice(0, 40);
    return `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}[${label}]`;
  });
}

/** Wait until the element focused inside the component matches `re` (focus may move a frame after a view is drawn). */
export async function waitForFocus(page, re, timeout = 3000) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    last = await focusedInComponent(page);
    if (re.test(last)) return last;
    await page.waitForTimeout(50);
  }
  throw new Error(`focus on ${last}, expected ${re}`);
}

/**
 * Search the page's JS heap (after a full GC) for a string, via a DevTools
 * heap snapshot. Returns true when the string is still referenced anywhere.
 */
export async function heapContains(page, needle) {
  const cdp = await page.context().newCDPSession(page);
  const chunks = [];
  cdp.on("HeapProfiler.addHeapSnapshotChunk", (e) => chunks.push(e.chunk));
  await cdp.send("HeapProfiler.enable");
  await cdp.send("HeapProfiler.collectGarbage");
  await cdp.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
  await cdp.detach();
  return chunks.join("").includes(needle);
}
