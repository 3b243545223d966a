// The broker's offline JWT inspector (/jwt, www/jwt.html). The page's CSP is
// `connect-src 'none'`: it cannot fetch anything, not even its own WASM. The
// full bundle therefore arrives as two script modules (script-src 'self'):
// the wasm-bindgen glue (/jwt/sealpost_wasm.js) and the .wasm bytes as a
// base64 string module (/jwt/sealpost_wasm_bg.wasm.js, made by the broker
// from the bundle's .wasm), loaded lazily by dynamic import once the page is
// up and handed to the glue as bytes. The inspection (options, report, per-key
// verdicts, export) is jwt-inspector.js, the same module as the extension's
// inspector.
import { createInspector, mountPanels, say } from "./jwt-inspector.js";

const $ = (id) => document.getElementById(id);

/** Standard base64 to bytes (Uint8Array.fromBase64 where the browser has it). */
export function base64Bytes(b64) {
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(b64);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Load and initialise the full bundle without any fetch (see the top of this file). */
export async function loadEngine(base = "/jwt/") {
  const [glue, wasm] = await Promise.all([import(`${base}sealpost_wasm.js`), import(`${base}sealpost_wasm_bg.wasm.js`)]);
  await glue.default({ module_or_path: base64Bytes(wasm.default) });
  return glue;
}

function main() {
  // The shared inspector (jwt-inspector.js, as the extension's): this page keeps no state.
  mountPanels({ status: "Loading the inspector engine…", keyHint: "To check against an issuer’s published keys, paste its JWKS here." });
  const ins = createInspector({ emptyStatus: "Ready." });
  ins.wire();
  loadEngine().then(
    (glue) => {
      ins.engine = glue;
      document.documentElement.dataset.engine = "ready";
      say($("status"), "Ready.");
      ins.run();
    },
    (e) => {
      document.documentElement.dataset.engine = "failed";
      say($("status"), `The inspector engine did not load: ${e && e.message ? e.message : e}`);
    },
  );
}

if (typeof document !== "undefined" && document.getElementById("report-area")) main();
