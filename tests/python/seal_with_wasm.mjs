// Helper for tests/python: seal with a built WASM bundle from the command line.
//   node seal_with_wasm.mjs <bundle dir> <public key file> <credentials.json> [jwe session id]
// Prints the wire ciphertext (LinkAuth envelope, or JWE compact when a session id is given).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [dir, keyFile, credsFile, sid] = process.argv.slice(2);
const mod = await import(pathToFileURL(path.join(dir, 'sealpost_wasm.js')).href);
mod.initSync({ module: readFileSync(path.join(dir, 'sealpost_wasm_bg.wasm')) });
const key = readFileSync(keyFile, 'utf8').trim();
const creds = JSON.parse(readFileSync(credsFile, 'utf8'));
try {
  process.stdout.write(sid === undefined ? mod.seal(key, creds) : mod.sealJwe(key, creds, sid));
} catch (e) {
  console.error(`error: ${e.code}: ${e.message}`);
  process.exit(1);
}
