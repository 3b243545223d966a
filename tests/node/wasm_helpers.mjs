// Shared helpers for tests/node/wasm_*.test.mjs and interop_*.test.mjs:
// load the built bundles, make keys, open envelopes with WebCrypto, run the
// native opener (`cargo xtask interop-open`).
import { readFileSync, existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const { subtle } = globalThis.crypto;

export const ROOT = process.env.SEALPOST_ROOT ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DIST = process.env.SEALPOST_DIST ?? path.join(ROOT, 'dist');
export const BUNDLES = ['seal', 'full'];

/** Imports dist/<name>/sealpost_wasm.js and instantiates it synchronously from the .wasm bytes. */
export async function loadBundle(name) {
  const dir = path.join(DIST, name);
  const js = path.join(dir, 'sealpost_wasm.js');
  const wasm = path.join(dir, 'sealpost_wasm_bg.wasm');
  if (!existsSync(js) || !existsSync(wasm)) {
    throw new Error(`${dir} is not built: run \`cargo xtask build\` first`);
  }
  const mod = await import(pathToFileURL(js).href);
  mod.initSync({ module: readFileSync(wasm) });
  return mod;
}

export const b64 = (bytes) => Buffer.from(bytes).toString('base64');
export const unb64 = (s) => new Uint8Array(Buffer.from(s, 'base64'));

/** An RSA-OAEP/SHA-256 key pair from WebCrypto, plus its wire-form public key. */
export async function rsaKeyPair(bits = 3072) {
  const pair = await subtle.generateKey(
    { name: 'RSA-OAEP', modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'],
  );
  const spki = new Uint8Array(await subtle.exportKey('spki', pair.publicKey));
  const pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', pair.privateKey));
  return { ...pair, spki, wire: b64(spki), pkcs8Pem: pem('PRIVATE KEY', pkcs8), spkiPem: pem('PUBLIC KEY', spki) };
}

export function pem(label, der) {
  const lines = b64(der).match(/.{1,64}/g).join('\n');
  return `-----BEGIN ${label}-----\n${lines}\n-----END ${label}-----\n`;
}

/** Fingerprint computed independently (docs/protocol.md, "Key fingerprint"). */
export async function jsFingerprint(spki) {
  const digest = new Uint8Array(await subtle.digest('SHA-256', spki));
  const hex = Buffer.from(digest.subarray(0, 6)).toString('hex');
  return {
    short: `${hex.slice(0, 4)}-${hex.slice(4, 8)}-${hex.slice(8, 12)}`,
    long: `SHA256:${b64(digest).replace(/=+$/, '')}`,
  };
}

/** Opens a LinkAuth envelope exactly as docs/protocol.md describes, with WebCrypto only. */
export async function webcryptoOpen(privateKey, ciphertext) {
  const innerText = Buffer.from(ciphertext, 'base64').toString('utf8');
  const inner = JSON.parse(innerText);
  const aesKey = await subtle.unwrapKey(
    'raw', unb64(inner.wrapped_key), privateKey, { name: 'RSA-OAEP' }, { name: 'AES-GCM' }, false, ['decrypt'],
  );
  const plain = await subtle.decrypt({ name: 'AES-GCM', iv: unb64(inner.iv) }, aesKey, unb64(inner.ciphertext));
  return { inner, credentials: JSON.parse(new TextDecoder().decode(plain)) };
}

/** Seals exactly as a LinkAuth browser page does (WebCrypto wrapKey + AES-GCM). */
export async function webcryptoSeal(spki, credentials) {
  const rsaKey = await subtle.importKey('spki', spki, { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['wrapKey']);
  const aesKey = await subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt']);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const wrapped = await subtle.wrapKey('raw', aesKey, rsaKey, { name: 'RSA-OAEP' });
  const ct = await subtle.encrypt({ name: 'AES-GCM', iv }, aesKey, new TextEncoder().encode(JSON.stringify(credentials)));
  const inner = { wrapped_key: b64(wrapped), iv: b64(iv), ciphertext: b64(ct) };
  return b64(new TextEncoder().encode(JSON.stringify(inner)));
}

/** The xtask binary that hosts the native interop helpers. */
export function xtaskBin() {
  const fromEnv = process.env.SEALPOST_XTASK_BIN;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(ROOT, 'target');
  const bin = path.join(targetDir, 'debug', 'xtask');
  if (!existsSync(bin)) throw new Error(`${bin} missing: run \`cargo build -p xtask\` (or \`cargo xtask test\`)`);
  return bin;
}

/**
 * Opens `ciphertext` natively (sealpost-core via `xtask interop-open`).
 * Returns {ok: true, credentials} or {ok: false, code, stderr}.
 */
export function nativeOpen(pkcs8Pem, ciphertext, { algorithm, sessionId } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sealpost-interop-'));
  try {
    writeFileSync(path.join(dir, 'agent.pem'), pkcs8Pem, { mode: 0o600 });
    writeFileSync(path.join(dir, 'envelope.txt'), ciphertext);
    const args = ['interop-open', '--key', path.join(dir, 'agent.pem'), '--envelope', path.join(dir, 'envelope.txt')];
    if (algorithm) args.push('--algorithm', algorithm);
    if (sessionId !== undefined) args.push('--session-id', sessionId);
    const r = spawnSync(xtaskBin(), args, { encoding: 'utf8' });
    if (r.error) throw r.error;
    if (r.status === 0) return { ok: true, credentials: JSON.parse(r.stdout) };
    const code = /\b(ERR_[A-Z0-9_]+)\b/.exec(r.stderr)?.[1];
    return { ok: false, code, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Seals natively (sealpost-core via `xtask interop-seal`). */
export function nativeSeal(wire, credentials, { jweSessionId } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sealpost-interop-'));
  try {
    writeFileSync(path.join(dir, 'pub.txt'), wire);
    writeFileSync(path.join(dir, 'creds.json'), JSON.stringify(credentials), { mode: 0o600 });
    const args = ['interop-seal', '--public-key', path.join(dir, 'pub.txt'), '--credentials', path.join(dir, 'creds.json')];
    if (jweSessionId !== undefined) args.push('--jwe', jweSessionId);
    const r = spawnSync(xtaskBin(), args, { encoding: 'utf8' });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`interop-seal failed: ${r.stderr}`);
    return r.stdout.trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- minimal DER, to build SPKIs WebCrypto/OpenSSL refuse to generate --------
function derLen(n) {
  if (n < 0x80) return [n];
  const out = [];
  while (n > 0) { out.unshift(n & 0xff); n >>= 8; }
  return [0x80 | out.length, ...out];
}
export function der(tag, content) {
  return new Uint8Array([tag, ...derLen(content.length), ...content]);
}
const cat = (...parts) => { const a = []; for (const p of parts) a.push(...p); return new Uint8Array(a); };
function derUint(bytes) {
  let b = [...bytes];
  while (b.length > 1 && b[0] === 0) b.shift();
  if (b[0] & 0x80) b = [0, ...b];
  return der(0x02, b);
}
/** DER SPKI for rsaEncryption with modulus `n` (bytes, big-endian) and exponent `e` (bytes). */
export function rsaSpki(n, e) {
  const algId = der(0x30, cat(der(0x06, [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]), der(0x05, [])));
  const rsaPub = der(0x30, cat(derUint(n), derUint(e)));
  return der(0x30, cat(algId, der(0x03, cat([0], rsaPub))));
}
