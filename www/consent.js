// Sealpost consent page: one embeddable ES module.
//
//   import { mountConsent } from "https://broker.example/assets/consent.js";
//   mountConsent(element, { apiBase, code, bundleUrl });
//
// or, declaratively, <sealpost-consent api-base="…" code="…"></sealpost-consent>.
//
// The page fetches the request (LinkAuth v1 browser API, docs/protocol.md),
// computes the agent key's fingerprint itself with the WASM bundle, lets the
// person compare code and fingerprint, then seals what they type with the
// bundle and sends only ciphertext. No inline script or style (the broker's
// CSP forbids both), no cookies, no storage, no third-party assets.
//
// The work lives in flat modules that the extension's answer page imports
// too (one copy of the flow): consent-api.js (HTTP client), consent-key.js
// (the key fingerprint before the WASM is in), consent-flow.js (states and
// checks, no DOM), consent-view.js (the DOM); and, for pages only,
// consent-bundle.js (the WASM bundle loaded from `bundleUrl`: the extension
// imports its bundle itself). This file imports them all directly, so an
// embedder that loads only this file still fetches them in one parallel round.

import "./consent-api.js";
import "./consent-bundle.js";
import { mountConsent } from "./consent-view.js";

export { ApiError, NetworkError, callApi, connectApi } from "./consent-api.js";
export {
  ALG_JWE,
  ALG_LINKAUTH,
  ConsentFlow,
  classify,
  codeFromPath,
  compareFingerprint,
  confirmKey,
  formatCode,
  normalizeCode,
  originSecurityMode,
  parseAnswerLink,
  parseRequest,
  userCodeOf,
} from "./consent-flow.js";
export { loadBundle } from "./consent-bundle.js";
export { earlyFingerprint } from "./consent-key.js";
export { ConsentView, FAILURES, mountConsent } from "./consent-view.js";

// A plain base class outside browsers, so the pure helpers can be imported
// (and unit-tested) in Node.
const ElementBase = globalThis.HTMLElement || class {};

export class SealpostConsentElement extends ElementBase {
  connectedCallback() {
    if (this._mounted) return;
    this._mounted = mountConsent(this, {
      apiBase: this.getAttribute("api-base") || "",
      code: this.getAttribute("code") || "",
      bundleUrl: this.getAttribute("bundle-url") || undefined,
      stylesUrl: this.getAttribute("styles-url") || undefined,
    });
  }

  disconnectedCallback() {
    if (this._mounted) this._mounted.destroy();
    this._mounted = null;
  }
}

if (globalThis.customElements && !customElements.get("sealpost-consent")) {
  customElements.define("sealpost-consent", SealpostConsentElement);
}
