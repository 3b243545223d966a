#!/usr/bin/env node
// Benchmark: JWT inspection and verification in the Sealpost full WASM bundle vs
// panva `jose` / WebCrypto, in the same Node process. Prints ops/s and ratios.
// A benchmark, not a test: exits 0 whatever the figures (non-zero only if it
// cannot run, e.g. dist/full is missing).
//
//   cargo xtask build                       # writes dist/full/
//   node bench/jwt.mjs [--seconds 2] [--bundle dist/full] [--json]
//
// 1. decode+inspect of a typical ~800-byte RS256 access token:
//    WASM inspectJwt (full report: decode, explain, every rule)  vs  jose decodeJwt + decodeProtectedHeader
// 2. RS256 and ES256 verify: WASM inspectJwt with the key  vs  WebCrypto verify (key imported once)

import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { webcrypto } from 'node:crypto';
import * as jose from 'jose';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const args = process.argv.slice(2);
const arg = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const seconds = Number(arg('--seconds', '2'));
const bundle = resolve(arg('--bundle', join(process.env.SEALPOST_DIST ?? join(root, 'dist'), 'full')));
const asJson = args.includes('--json');
const js = join(bundle, 'sealpost_wasm.js');
if (!existsSync(js)) { console.error(`missing ${js}: run \`cargo xtask build\``); process.exit(2); }
const w = await import(pathToFileURL(js).href);
w.initSync({ module: readFileSync(join(bundle, 'sealpost_wasm_bg.wasm')) });

const FIX = join(root, 'crates/core/tests/fixtures/jwt');
const fix = (n) => readFileSync(join(FIX, n), 'utf8');
const NOW = 1_800_000_000;
const CLAIMS = { iss: 'https://login.example.com/tenant-7f3a', sub: '248289761001', aud: 'https://api.example.com', client_id: 's6BhdRkqt3', scope: 'openid profile orders:read orders:write', iat: 'now', nbf: 'now', exp: '+1h', jti: 'c9f2a4e1-7b3d-4f0e-9a61-2d8e5b7c3f10', auth_time: '-5m', acr: 'urn:mace:incommon:iap:silver', amr: ['pwd', 'otp'] };
const header = { typ: 'at+jwt', kid: '2024-11-rsa-1' };
const rs = w.signJwt({ header, claims: CLAIMS, alg: 'RS256', key: fix('rsa2048.key'), now: NOW });
const es = w.signJwt({ header, claims: CLAIMS, alg: 'ES256', key: fix('ecp256.key'), now: NOW });

function opsPerSec(fn) {
  for (let i = 0; i < 200; i++) fn();
  let n = 0; const t0 = performance.now(); const end = t0 + seconds * 1000;
  while (performance.now() < end) { for (let i = 0; i < 50; i++) fn(); n += 50; }
  return n / ((performance.now() - t0) / 1000);
}
async function opsPerSecAsync(fn) {
  for (let i = 0; i < 50; i++) await fn();
  let n = 0; const t0 = performance.now(); const end = t0 + seconds * 1000;
  while (performance.now() < end) { await fn(); n++; }
  return n / ((performance.now() - t0) / 1000);
}

const out = { tokenBytes: rs.length };
out.wasmInspect = opsPerSec(() => w.inspectJwt(rs, { now: NOW }));
out.joseDecode = opsPerSec(() => { jose.decodeProtectedHeader(rs); jose.decodeJwt(rs); });
out.inspectRatio = out.wasmInspect / out.joseDecode;
// Floor for any eager report object: V8 parsing the report's own JSON text, with
// no inspection work at all. The report is several times the token's JSON, so
// this alone takes about as long as jose's whole decode.
const reportJson = JSON.stringify(w.inspectJwt(rs, { now: NOW }));
out.reportBytes = reportJson.length;
out.reportJsonParse = opsPerSec(() => JSON.parse(reportJson));

const subtle = webcrypto.subtle;
const split = (t) => { const i = t.lastIndexOf('.'); return [new TextEncoder().encode(t.slice(0, i)), jose.base64url.decode(t.slice(i + 1))]; };
const rsaKey = await subtle.importKey('spki', Buffer.from(fix('rsa2048.pub').replace(/-----[^-]+-----|\s/g, ''), 'base64'), { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify']);
const ecKey = await subtle.importKey('spki', Buffer.from(fix('ecp256.pub').replace(/-----[^-]+-----|\s/g, ''), 'base64'), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
const [rsIn, rsSig] = split(rs); const [esIn, esSig] = split(es);
const rsPub = fix('rsa2048.pub'); const esPub = fix('ecp256.pub');
if (w.inspectJwt(rs, { now: NOW, key: rsPub }).verification.status !== 'valid') throw new Error('RS256 does not verify in WASM');
if (!(await subtle.verify('RSASSA-PKCS1-v1_5', rsaKey, rsSig, rsIn))) throw new Error('RS256 does not verify in WebCrypto');
out.wasmRs256 = opsPerSec(() => w.inspectJwt(rs, { now: NOW, key: rsPub }));
out.webcryptoRs256 = await opsPerSecAsync(() => subtle.verify('RSASSA-PKCS1-v1_5', rsaKey, rsSig, rsIn));
out.wasmEs256 = opsPerSec(() => w.inspectJwt(es, { now: NOW, key: esPub }));
out.webcryptoEs256 = await opsPerSecAsync(() => subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, ecKey, esSig, esIn));
out.rs256TimeRatio = out.webcryptoRs256 / out.wasmRs256; // WASM time / WebCrypto time
out.es256TimeRatio = out.webcryptoEs256 / out.wasmEs256;

if (asJson) console.log(JSON.stringify(out, null, 2));
else {
  const us = (ops) => (1e6 / ops).toFixed(1) + ' µs';
  console.log(`RS256 access token: ${out.tokenBytes} bytes`);
  console.log(`inspect   WASM inspectJwt (full report) ${Math.round(out.wasmInspect)} ops/s (${us(out.wasmInspect)})`);
  console.log(`          jose decodeJwt+decodeProtectedHeader ${Math.round(out.joseDecode)} ops/s (${us(out.joseDecode)})  -> WASM/jose throughput ${out.inspectRatio.toFixed(2)}x`);
  console.log(`          floor: JSON.parse of the ${out.reportBytes}-byte report alone ${Math.round(out.reportJsonParse)} ops/s (${us(out.reportJsonParse)})`);
  console.log(`RS256     WASM inspect+verify ${us(out.wasmRs256)}  WebCrypto verify ${us(out.webcryptoRs256)}  -> WASM time = ${out.rs256TimeRatio.toFixed(2)}x WebCrypto`);
  console.log(`ES256     WASM inspect+verify ${us(out.wasmEs256)}  WebCrypto verify ${us(out.webcryptoEs256)}  -> WASM time = ${out.es256TimeRatio.toFixed(2)}x WebCrypto`);
}
