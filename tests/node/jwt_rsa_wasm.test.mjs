// RSA signature verification (RS256/384/512, PS256/384/512) in the full
// bundle's WASM build (dist/full), against signatures made by a second
// implementation (node:crypto / OpenSSL). In WASM the modular arithmetic of
// crates/core/src/jwt/rsa_verify.rs runs on SIMD128 lanes that native
// `cargo test` never executes (it runs the same algorithm on plain arrays), so
// this is where a wrong lane operation shows: every valid signature must
// verify and every altered one must not, for key sizes on both sides of the
// edges of the 28-bit-limb layout (limb counts of every residue mod 4, the
// most limbs the 28-bit path takes, and the first size it leaves to the
// word-level path, 4,116 bits).
//
// The Wycheproof RSA vectors run natively (crates/core/tests/jwt_wycheproof.rs):
// they sign arbitrary messages, and the bundle verifies only a JWS signing input.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, constants } from 'node:crypto';
import { loadBundle } from './wasm_helpers.mjs';

const NOW = 1_800_000_000;
// Bits -> 28-bit limbs (bits/28 + 1): 2047..2070 -> 74, 2072 -> 75,
// 2100 -> 76, 2128 -> 77, 3072/3078 -> 110, 4096/4114 -> 147 (the most),
// 4116 -> word-level path. (OpenSSL makes an odd size other than 2047 one
// bit short, so the sizes are those it makes exactly.)
const SIZES = [2047, 2048, 2070, 2072, 2100, 2128, 3072, 3078, 4096, 4114, 4116];
const ALGS = {
  RS256: ['sha256', constants.RSA_PKCS1_PADDING],
  RS384: ['sha384', constants.RSA_PKCS1_PADDING],
  RS512: ['sha512', constants.RSA_PKCS1_PADDING],
  PS256: ['sha256', constants.RSA_PKCS1_PSS_PADDING, 32],
  PS384: ['sha384', constants.RSA_PKCS1_PSS_PADDING, 48],
  PS512: ['sha512', constants.RSA_PKCS1_PSS_PADDING, 64],
};
const b64u = (x) => Buffer.from(x).toString('base64url');

/** A compact JWS signed by node:crypto. */
function token(alg, privateKey, claims) {
  const input = `${b64u(JSON.stringify({ alg, typ: 'JWT' }))}.${b64u(JSON.stringify(claims))}`;
  const [hash, padding, saltLength] = ALGS[alg];
  const sig = sign(hash, Buffer.from(input), { key: privateKey, padding, saltLength });
  return { input, sig };
}

let w;
const keys = [];
before(async () => {
  w = await loadBundle('full');
  for (const bits of SIZES) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
    const jwk = publicKey.export({ format: 'jwk' });
    const n = Buffer.from(jwk.n, 'base64url');
    assert.equal(n.length * 8 - Math.clz32(n[0]) + 24, bits, `a ${bits}-bit modulus`);
    keys.push({ bits, privateKey, jwk, text: JSON.stringify(jwk) });
  }
});

const status = (t, key) => w.inspectJwt(t, { now: NOW, key }).verification.status;

describe('RSA verification in the WASM bundle (node:crypto signatures)', () => {
  test('every valid signature verifies, for every size and algorithm', () => {
    let n = 0;
    for (const k of keys) {
      for (const alg of Object.keys(ALGS)) {
        for (let i = 0; i < 4; i++) {
          const { input, sig } = token(alg, k.privateKey, { sub: `user-${i}`, n: i, iat: NOW, exp: NOW + 600 });
          assert.equal(status(`${input}.${b64u(sig)}`, k.text), 'valid', `${alg} ${k.bits} bits, token ${i}`);
          n++;
        }
      }
    }
    assert.equal(n, SIZES.length * 6 * 4);
  });

  test('a signature with one bit flipped, anywhere, is invalid', () => {
    let n = 0;
    for (const k of keys) {
      for (const alg of ['RS256', 'PS256', 'RS512']) {
        const { input, sig } = token(alg, k.privateKey, { sub: 'flip', iat: NOW });
        // The top byte, the bottom byte and bytes in between: the flipped
        // value may even be at or above n, which is refused before the
        // arithmetic; the others go through it and must come out wrong.
        for (const pos of [0, 1, sig.length >> 1, sig.length - 2, sig.length - 1]) {
          for (const bit of [0, 3, 7]) {
            const bad = Buffer.from(sig);
            bad[pos] ^= 1 << bit;
            assert.equal(status(`${input}.${b64u(bad)}`, k.text), 'invalid', `${alg} ${k.bits} bits, byte ${pos} bit ${bit}`);
            n++;
          }
        }
      }
    }
    assert.equal(n, SIZES.length * 3 * 5 * 3);
  });

  test('edge signature values are invalid: 0, 1, n - 1, n, all ones; another key\'s signature too', () => {
    let n = 0;
    for (const [i, k] of keys.entries()) {
      const { input, sig } = token('RS256', k.privateKey, { sub: 'edge', iat: NOW });
      const mod = Buffer.from(k.jwk.n, 'base64url');
      const len = mod.length;
      const one = Buffer.alloc(len);
      one[len - 1] = 1;
      const nMinus1 = Buffer.from(mod);
      nMinus1[len - 1] ^= 1; // n is odd
      for (const bad of [Buffer.alloc(len), one, nMinus1, mod, Buffer.alloc(len, 0xff)]) {
        assert.equal(status(`${input}.${b64u(bad)}`, k.text), 'invalid', `${k.bits} bits`);
        n++;
      }
      // The right signature under the next key (same size class or not): invalid.
      const other = keys[(i + 1) % keys.length];
      assert.equal(status(`${input}.${b64u(sig)}`, other.text), 'invalid', `${k.bits} under ${other.bits}`);
      n++;
    }
    assert.equal(n, SIZES.length * 6);
  });

  test('the same key text many times (cached per-modulus parameters) keeps verifying', () => {
    const k = keys.find((x) => x.bits === 2048);
    const toks = Object.keys(ALGS).map((alg) => token(alg, k.privateKey, { sub: alg, iat: NOW }));
    for (let r = 0; r < 20; r++) {
      for (const { input, sig } of toks) assert.equal(status(`${input}.${b64u(sig)}`, k.text), 'valid');
      // Other moduli in between, past the cache's size.
      for (const o of keys.slice(0, 9)) status(`${toks[0].input}.${b64u(toks[0].sig)}`, o.text);
    }
  });
});
