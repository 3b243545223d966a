// Used by `cargo xtask compare-opt`: median time of one `seal` (3072-bit key,
// ~1 KB of credentials, key parsing included) with the bundle in argv[2].
// Prints e.g. "1.23 ms" on stdout.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.argv[2];
const w = await import(pathToFileURL(path.join(dir, 'sealpost_wasm.js')).href);
w.initSync({ module: readFileSync(path.join(dir, 'sealpost_wasm_bg.wasm')) });
const { publicKey } = await crypto.subtle.generateKey(
  { name: 'RSA-OAEP', modulusLength: 3072, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
  true, ['encrypt', 'decrypt'],
);
const wire = Buffer.from(await crypto.subtle.exportKey('spki', publicKey)).toString('base64');
const creds = { api_key: 'x'.repeat(1000) };
for (let i = 0; i < 50; i++) w.seal(wire, creds);
const times = [];
for (let i = 0; i < 400; i++) {
  const t = performance.now();
  w.seal(wire, creds);
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
console.log(`${times[times.length >> 1].toFixed(3)} ms`);
