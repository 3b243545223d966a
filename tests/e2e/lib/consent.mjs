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

/** Fill the form: values maps field label -> value. Uses the accessible labels. */
export async function fillForm(page, values) {
  for (const [label, value] of Object.entries(values)) {
    const control = page.getByLabel(label, { exact: true });
    const tag = await control.evaluate((e) => e.tagName);
    if (tag === "SELECT") await control.selectOption(value);
    else await control.fill(value);
  }
}
