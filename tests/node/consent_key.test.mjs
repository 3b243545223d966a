// www/consent-key.js, the consent page's fingerprint before the WASM bundle is
// there, against the built seal bundle's `fingerprint` (sealpost-core's key
// rules). The one property the flow relies on: whenever consent-key.js gives
// a fingerprint, the bundle accepts the same key text and gives the same
// fingerprint. And it must give one for every key the core writes (the wire
// form a broker stores), or the early review would never happen. Anything
// the core refuses, or spells differently, gives null (the flow then waits for
// the bundle, whose checks and error codes decide).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { canonicalKeyDer, earlyFingerprint, fingerprintForms } from '../../www/consent-key.js';
import { loadBundle, b64, pem, rsaSpki, der } from './wasm_helpers.mjs';

let seal;
before(async () => {
  seal = await loadBundle('seal');
});

const E65537 = [1, 0, 1];

/** The bundle's answer: `{fp}` or `{code}`. */
function wasm(text) {
  try {
    const out = seal.fingerprint(text);
    return { fp: { short: out.short, long: out.long } };
  } catch (e) {
    assert.equal(e.name, 'SealpostError', `a real SealpostError for ${text.slice(0, 40)}`);
    return { code: e.code };
  }
}

/** The early fingerprint must be null or the bundle's; returns it. */
async function agrees(text, what) {
  const early = await earlyFingerprint(text);
  const w = wasm(text);
  if (early !== null) assert.deepEqual(w, { fp: early }, `${what}: consent-key.js answered, the bundle must agree`);
  return { early, wasm: w };
}

/** A random odd modulus of exactly `bits` bits. */
function modulus(bits) {
  const n = randomBytes(Math.ceil(bits / 8));
  const top = bits % 8 || 8;
  n[0] &= (1 << top) - 1;
  n[0] |= 1 << (top - 1);
  n[n.length - 1] |= 1;
  return n;
}

function generated(bits, publicExponent = 65537) {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent });
  return new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
}

test('keys from OpenSSL (2048, 3072, 4096 bits, e = 65537): the same fingerprint as the bundle and as SHA-256 of the DER', async () => {
  let n = 0;
  for (const [bits, count] of [[2048, 8], [3072, 4], [4096, 3]]) {
    for (let i = 0; i < count; i++) {
      const spki = generated(bits);
      const text = b64(spki);
      const { early } = await agrees(text, `${bits}-bit key ${i}`);
      assert.ok(early, `${bits}-bit key ${i}: the wire form gets an early fingerprint`);
      assert.deepEqual(early, fingerprintForms(createHash('sha256').update(spki).digest()));
      // The short form: hex of the first 6 bytes in three groups of four.
      assert.match(early.short, /^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$/);
      assert.equal(early.short.replaceAll('-', ''), createHash('sha256').update(spki).digest('hex').slice(0, 12));
      n++;
    }
  }
  assert.equal(n, 15);
});

test('other public exponents (3, 17, 257, 65539 from OpenSSL; 1, 5, 65539, 2^32+1, 2^24+2^8 written by hand): null early, ERR_KEY_BAD_EXPONENT in the bundle', async () => {
  for (const e of [3, 17, 257, 65539]) {
    const text = b64(generated(2048, e));
    const r = await agrees(text, `e = ${e}`);
    assert.equal(r.early, null, `e = ${e}`);
    assert.deepEqual(r.wasm, { code: 'ERR_KEY_BAD_EXPONENT' });
  }
  for (const e of [[1], [5], [1, 0, 3], [1, 0, 0, 0, 1], [1, 0, 1, 0]]) {
    const r = await agrees(b64(rsaSpki(modulus(2048), e)), `e = ${e}`);
    assert.equal(r.early, null);
    assert.equal(r.wasm.code, 'ERR_KEY_BAD_EXPONENT', `e bytes ${e}`);
  }
});

test('random odd moduli at every size edge and top-bit pattern: early exactly when the bundle accepts', async () => {
  const sizes = [1024, 2040, 2047, 2048, 2049, 2055, 2056, 2057, 3071, 3072, 3073, 4095, 4096, 4097, 6000, 8185, 8191, 8192, 8193, 8200];
  let accepted = 0;
  for (const bits of sizes) {
    for (let i = 0; i < 3; i++) {
      const text = b64(rsaSpki(modulus(bits), E65537));
      const r = await agrees(text, `${bits} bits`);
      const ok = bits >= 2048 && bits <= 8192;
      assert.equal(r.early !== null, ok, `${bits} bits: early fingerprint iff the size is accepted`);
      if (ok) accepted++;
      else assert.equal(r.wasm.code, bits < 2048 ? 'ERR_KEY_TOO_SMALL' : 'ERR_KEY_TOO_LARGE');
    }
  }
  assert.equal(accepted, 3 * 15);
  // Even modulus: refused by both.
  const even = modulus(2048);
  even[even.length - 1] &= 0xfe;
  const r = await agrees(b64(rsaSpki(even, E65537)), 'even modulus');
  assert.equal(r.early, null);
  assert.equal(r.wasm.code, 'ERR_KEY_MALFORMED');
});

test('other spellings of a valid key and broken encodings: null early (the bundle decides), never a different fingerprint', async () => {
  const spki = generated(2048);
  const text = b64(spki);
  const n = spki.subarray(spki.length - 5 - 256, spki.length - 5);
  const bytes = [...spki];
  const variants = {
    pem: pem('PUBLIC KEY', spki),
    'pem pkcs1': pem('RSA PUBLIC KEY', spki.subarray(24)),
    // (A 2056-bit key: its text ends in padding, which this one does not.)
    unpadded: b64(rsaSpki(modulus(2056), E65537)).replace(/=+$/, ''),
    urlsafe: text.replace(/\+/g, '-').replace(/\//g, '_'),
    'leading space': ` ${text}`,
    'trailing newline': `${text}\n`,
    'line breaks': text.match(/.{1,64}/g).join('\n'),
    'absent parameters': b64(der(0x30, [...der(0x30, [...der(0x06, [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01])]), ...der(0x03, [0, ...spki.subarray(24)])])),
    'trailing byte': b64(new Uint8Array([...bytes, 0])),
    'truncated': b64(spki.subarray(0, spki.length - 1)),
    'unused bits': b64(new Uint8Array(bytes.map((b, i) => (i === 23 ? 1 : b)))),
    'other oid': b64(new Uint8Array(bytes.map((b, i) => (i === 16 ? 2 : b)))),
    'long-form short length': b64(der(0x30, [0x30, 0x81, 0x0d, ...spki.subarray(6, 19), ...spki.subarray(19)])),
    'modulus without sign byte': b64(der(0x30, [...spki.subarray(4, 19), ...der(0x03, [0, ...der(0x30, [...der(0x02, [...n]), 2, 3, 1, 0, 1])])])),
    'modulus with two zero bytes': b64(der(0x30, [...spki.subarray(4, 19), ...der(0x03, [0, ...der(0x30, [...der(0x02, [0, 0, ...n]), 2, 3, 1, 0, 1])])])),
    'exponent with a zero byte': b64(der(0x30, [...spki.subarray(4, 19), ...der(0x03, [0, ...der(0x30, [...der(0x02, [0, ...n]), 2, 4, 0, 1, 0, 1])])])),
    jwk: JSON.stringify({ kty: 'RSA', n: Buffer.from(n).toString('base64url'), e: 'AQAB' }),
    empty: '',
    garbage: '!!!',
    'huge': 'A'.repeat(20_000),
  };
  for (const [what, v] of Object.entries(variants)) {
    assert.notEqual(v, text, `${what}: another text`);
    const r = await agrees(v, what);
    assert.equal(r.early, null, `${what}: not the core's wire form, no early fingerprint`);
    assert.equal(canonicalKeyDer(v), null, what);
  }
  // The positive control: the same key as the core writes it.
  const again = seal.fingerprint(text);
  assert.deepEqual(await earlyFingerprint(text), { short: again.short, long: again.long });
  // Non-zero padding bits (the last character before "=" or "=="): the same
  // bytes, another text, which the core refuses.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (const bits of [2056, 2064]) {
    const padded = b64(rsaSpki(modulus(bits), E65537));
    assert.match(padded, /[^=]=+$/, `${bits} bits: a text with padding`);
    assert.ok(await earlyFingerprint(padded), `${bits} bits, clean padding bits: answered`);
    const body = padded.replace(/=+$/, '');
    const dirty = `${body.slice(0, -1)}${alphabet[alphabet.indexOf(body.at(-1)) | 1]}${padded.slice(body.length)}`;
    const r = await agrees(dirty, `${bits} bits, dirty padding bits`);
    assert.equal(r.early, null);
    assert.equal(r.wasm.code, 'ERR_KEY_MALFORMED');
  }
  // Non-strings.
  for (const v of [undefined, null, 42, {}, ['x']]) assert.equal(await earlyFingerprint(v), null);
});

test('random single-byte changes of a valid key: whenever consent-key.js answers, the bundle gives the same fingerprint', async () => {
  const spki = generated(2048);
  let early = 0;
  for (let i = 0; i < 600; i++) {
    const b = new Uint8Array(spki);
    const at = i < spki.length ? i : Math.floor(Math.random() * spki.length);
    b[at] ^= i < spki.length ? 0xff : 1 << Math.floor(Math.random() * 8);
    const r = await agrees(b64(b), `byte ${at} changed`);
    if (r.early) early++;
  }
  // Changes inside the modulus keep a valid key (odd, right size), changes to
  // the structure do not; both kinds were tried.
  assert.ok(early > 200 && early < 600, `early fingerprints for ${early} of 600 changed keys`);
});

test('without WebCrypto (an insecure context): null, the flow waits for the bundle', async () => {
  const text = b64(generated(2048));
  const desc = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true, writable: true });
  try {
    assert.equal(await earlyFingerprint(text), null);
  } finally {
    Object.defineProperty(globalThis, 'crypto', desc);
  }
  assert.ok(await earlyFingerprint(text), 'WebCrypto back: answered again');
});
