// The answer page's first module (an async script, so it runs as soon as its
// two small imports are in, before the view's module): starts compiling the
// seal-only WASM bundle (./pkg-seal/) when the page is opened for a request.
// answer.js and the consent view get the same promise (loadBundle: one per URL).
import { loadBundle } from "./www/consent-flow.js";

export const BUNDLE_URL = new URL("./pkg-seal/sealpost_wasm.js", import.meta.url).href;

const q = new URLSearchParams(location.search);
if (q.get("link") || q.get("broker")) loadBundle(BUNDLE_URL).catch(() => {});
