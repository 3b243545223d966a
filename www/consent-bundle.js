// Sealpost consent: the WASM bundle loaded from its URL, once per URL. A
// module of its own because it holds the one dynamic import of the consent
// code: the broker's page (main.js) and the embeddable consent.js import it,
// and importing it lets `new ConsentFlow({bundleUrl})` load the bundle; the
// extension's answer page, which bundles consent-flow.js and consent-view.js
// with the seal bundle already imported, leaves it out (its package holds no
// dynamic import).

import { setBundleLoader } from "./consent-flow.js";

const bundles = new Map();

/**
 * Import and initialise the bundle at `url` (absolute); one promise per URL.
 * `wasm` (optional, used by the first call only): the bundle's WebAssembly
 * module, a promise of it, or a function that starts fetching and compiling
 * it (called once, as the glue's import starts, so both are fetched at once;
 * the broker's page streams its compile so); by default the glue fetches its
 * own `.wasm`.
 */
export function loadBundle(url, wasm) {
  let p = bundles.get(url);
  if (!p) {
    const source = typeof wasm === "function" ? wasm() : wasm;
    // Its failure is reported through `p` (the glue's own try), not here.
    if (source && typeof source.catch === "function") source.catch(() => {});
    p = import(url).then(async (mod) => {
      await mod.default(source === undefined ? undefined : { module_or_path: source });
      return mod;
    });
    p.catch(() => bundles.delete(url));
    bundles.set(url, p);
  }
  return p;
}

setBundleLoader(loadBundle);
