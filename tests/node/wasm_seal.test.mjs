// The built WASM bundles (dist/seal and dist/full) in Node: what they seal,
// WebCrypto and panva `jose` open; fingerprints match an independent JS
// computation; bad input throws a real Error with a stable `code`, never a trap.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import * as jose from 'jose';
import {
  BUNDLES, loadBundle, rsaKeyPair, jsFingerprint, webcryptoOpen, b64, rsaSpki,
} from './wasm_helpers.mjs';

const { subtle } = globalThis.crypto;

const CREDS = {
  api_key: 'sk-test-\u00e9\u6f22\u5b57-\u{1F511}-"quoted"\\backslash\n',
  username: 'alice',
  empty: '',
};

// Keys are shared by both bundles (RSA generation is the slow part).
const keys = {};
before(async () => {
  for (const bits of [2048, 3072, 4096]) keys[bits] = await rsaKeyPair(bits);
});

/** Calls fn, expects a thrown SealpostError with `code`; returns the error. */
function throwsCode(fn, code, secret) {
  let err;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err !== undefined, `expected an error with code ${code}, nothing was thrown`);
  assert.ok(!(err instanceof WebAssembly.RuntimeError), `a WASM trap (panic?) instead of ${code}: ${err}`);
  assert.ok(err instanceof Error, `not a real Error: ${err}`);
  assert.equal(err.name, 'SealpostError');
  assert.equal(err.code, code, `wrong code (message: ${err.message})`);
  assert.equal(typeof err.message, 'string');
  assert.ok(err.message.length > 0);
  if (secret) assert.ok(!err.message.includes(secret), 'the error message leaks the secret');
  return err;
}

for (const name of BUNDLES) {
  describe(`dist/${name}`, () => {
    let w;
    before(async () => {
      w = await loadBundle(name);
    });

    test('exports seal, sealJwe, fingerprint', () => {
      for (const f of ['seal', 'sealJwe', 'fingerprint']) assert.equal(typeof w[f], 'function', f);
    });

    for (const bits of [2048, 3072, 4096]) {
      test(`seal with a ${bits}-bit WebCrypto key opens with WebCrypto to the exact credentials`, async () => {
        const k = keys[bits];
        const ct = w.seal(k.wire, CREDS);
        assert.match(ct, /^[A-Za-z0-9+/]+={0,2}$/, 'wire ciphertext is standard base64');
        const { inner, credentials } = await webcryptoOpen(k.privateKey, ct);
        assert.deepEqual(credentials, CREDS);
        assert.deepEqual(Object.keys(inner).sort(), ['ciphertext', 'iv', 'wrapped_key']);
        for (const v of Object.values(inner)) assert.match(v, /^[A-Za-z0-9+/]+={0,2}$/);
        assert.equal(Buffer.from(inner.iv, 'base64').length, 12);
        assert.equal(Buffer.from(inner.wrapped_key, 'base64').length, bits / 8);
        // ciphertext || 16-byte tag over the JSON text
        assert.equal(Buffer.from(inner.ciphertext, 'base64').length,
          Buffer.byteLength(JSON.stringify(CREDS)) + 16);
      });
    }

    test('every seal draws a fresh key and IV (crypto.getRandomValues is wired up)', async () => {
      const k = keys[2048];
      const seen = new Set();
      for (let i = 0; i < 5; i++) {
        const { inner } = await webcryptoOpen(k.privateKey, w.seal(k.wire, { a: 'b' }));
        seen.add(inner.iv);
        seen.add(inner.wrapped_key);
      }
      assert.equal(seen.size, 10);
    });

    test('memory stays bounded over many seals: the allocator reuses what each call frees', async () => {
      const memory = w.initSync().memory; // the instance already made (initSync returns its exports)
      const big = { token: 'x'.repeat(20_000), note: '\u6f22'.repeat(2_000), empty: '' };
      const round = (i) => {
        const k = keys[[2048, 3072, 4096][i % 3]];
        w.seal(k.wire, i % 2 ? big : CREDS);
        w.sealJwe(k.wire, CREDS, `session-${i}`);
        w.fingerprint(k.spkiPem);
        assert.throws(() => w.seal('not a key', CREDS));
      };
      for (let i = 0; i < 60; i++) round(i);
      const settled = memory.buffer.byteLength;
      for (let i = 0; i < 600; i++) round(i);
      // Odd rounds allocate well over 60 KB each and free it again: the memory
      // does not grow at all here (dlmalloc and talc alike), and a leak of 600
      // bytes per seal (tried) adds six 64 KB pages.
      const grown = memory.buffer.byteLength - settled;
      assert.ok(grown <= 2 * 65536, `memory grew by ${grown} bytes over 600 rounds (from ${settled})`);
    });

    test('a PEM public key is accepted and seals to the same key', async () => {
      const k = keys[3072];
      const { credentials } = await webcryptoOpen(k.privateKey, w.seal(k.spkiPem, CREDS));
      assert.deepEqual(credentials, CREDS);
      assert.deepEqual(w.fingerprint(k.spkiPem), w.fingerprint(k.wire));
    });

    test('fingerprint equals SHA-256(SPKI) computed in JS, in both formats', async () => {
      for (const bits of [2048, 3072, 4096]) {
        const k = keys[bits];
        const fp = w.fingerprint(k.wire);
        assert.deepEqual(Object.keys(fp).sort(), ['long', 'short']);
        assert.deepEqual({ ...fp }, await jsFingerprint(k.spki));
        assert.match(fp.short, /^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$/);
        assert.match(fp.long, /^SHA256:[A-Za-z0-9+/]{43}$/);
      }
    });

    test('sealJwe opens with jose compactDecrypt; protected header has alg, enc, kid, sid', async () => {
      const k = keys[3072];
      const sid = 'a3f1c2'.repeat(10) + 'beef';
      const jwe = w.sealJwe(k.wire, CREDS, sid);
      assert.equal(jwe.split('.').length, 5);
      const { plaintext, protectedHeader } = await jose.compactDecrypt(jwe, k.privateKey);
      assert.deepEqual(JSON.parse(new TextDecoder().decode(plaintext)), CREDS);
      const fp = await jsFingerprint(k.spki);
      assert.deepEqual(protectedHeader, { alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: fp.long, sid });
    });

    test('sealJwe binds the header as AAD: a changed sid fails to open', async () => {
      const k = keys[2048];
      const jwe = w.sealJwe(k.wire, { a: 'b' }, 'session-1');
      const [h, ...rest] = jwe.split('.');
      const header = JSON.parse(Buffer.from(h, 'base64url').toString());
      header.sid = 'session-2';
      const forged = [Buffer.from(JSON.stringify(header)).toString('base64url'), ...rest].join('.');
      await assert.rejects(jose.compactDecrypt(forged, k.privateKey));
    });

    describe('malformed input throws an Error with a stable code', () => {
      const secret = 'hunter2-do-not-leak';

      test('truncated or non-base64 key: ERR_KEY_MALFORMED', () => {
        const wire = keys[2048].wire;
        throwsCode(() => w.seal(wire.slice(0, wire.length - 10), { a: secret }), 'ERR_KEY_MALFORMED', secret);
        throwsCode(() => w.seal(wire.slice(0, 40), { a: secret }), 'ERR_KEY_MALFORMED', secret);
        throwsCode(() => w.seal('not base64 at all!!', { a: secret }), 'ERR_KEY_MALFORMED', secret);
        throwsCode(() => w.seal('', { a: secret }), 'ERR_KEY_MALFORMED', secret);
        throwsCode(() => w.fingerprint('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'), 'ERR_KEY_MALFORMED');
        throwsCode(() => w.sealJwe(wire.slice(5), { a: secret }, 'sid'), 'ERR_KEY_MALFORMED', secret);
      });

      test('non-string key: ERR_KEY_MALFORMED', () => {
        for (const bad of [undefined, null, 42, {}, keys[2048].spki, new String(keys[2048].wire)]) {
          throwsCode(() => w.seal(bad, { a: secret }), 'ERR_KEY_MALFORMED', secret);
          throwsCode(() => w.fingerprint(bad), 'ERR_KEY_MALFORMED');
        }
      });

      test('EC P-256 SPKI from WebCrypto: ERR_KEY_NOT_RSA', async () => {
        const ec = await subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
        const spki = b64(await subtle.exportKey('spki', ec.publicKey));
        throwsCode(() => w.seal(spki, { a: secret }), 'ERR_KEY_NOT_RSA', secret);
        throwsCode(() => w.fingerprint(spki), 'ERR_KEY_NOT_RSA');
      });

      test('Ed25519 SPKI: ERR_KEY_NOT_RSA', () => {
        const { publicKey } = generateKeyPairSync('ed25519');
        const spki = b64(publicKey.export({ type: 'spki', format: 'der' }));
        throwsCode(() => w.seal(spki, { a: secret }), 'ERR_KEY_NOT_RSA', secret);
      });

      test('1024-bit RSA key: ERR_KEY_TOO_SMALL', () => {
        const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
        const spki = b64(publicKey.export({ type: 'spki', format: 'der' }));
        throwsCode(() => w.seal(spki, { a: secret }), 'ERR_KEY_TOO_SMALL', secret);
        throwsCode(() => w.fingerprint(spki), 'ERR_KEY_TOO_SMALL');
      });

      test('RSA key with e = 3: ERR_KEY_BAD_EXPONENT', () => {
        const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 });
        const spki = b64(publicKey.export({ type: 'spki', format: 'der' }));
        throwsCode(() => w.seal(spki, { a: secret }), 'ERR_KEY_BAD_EXPONENT', secret);
      });

      test('RSA modulus over 8192 bits: ERR_KEY_TOO_LARGE', () => {
        // Parsing only looks at sizes: a hand-built SPKI with a 8200-bit odd modulus.
        const n = crypto.getRandomValues(new Uint8Array(1025));
        n[0] = 0x80; n[n.length - 1] |= 1;
        const spki = b64(rsaSpki(n, [1, 0, 1]));
        throwsCode(() => w.seal(spki, { a: secret }), 'ERR_KEY_TOO_LARGE', secret);
      });

      test('a hand-built 2048-bit SPKI round-trips (the DER builder is right)', () => {
        const jwk = createPublicKey({ key: Buffer.from(keys[2048].spki), format: 'der', type: 'spki' }).export({ format: 'jwk' });
        const spki = b64(rsaSpki(Buffer.from(jwk.n, 'base64url'), Buffer.from(jwk.e, 'base64url')));
        assert.equal(spki, keys[2048].wire);
        assert.equal(typeof w.seal(spki, { a: 'b' }), 'string');
      });

      test('oversize key input: ERR_INPUT_TOO_LARGE', () => {
        throwsCode(() => w.seal('A'.repeat(1 << 20), { a: secret }), 'ERR_INPUT_TOO_LARGE', secret);
        throwsCode(() => w.fingerprint('A'.repeat(8 * 1024 * 1024)), 'ERR_INPUT_TOO_LARGE');
      });

      test('non-string credential value: ERR_CREDENTIALS_INVALID', () => {
        const wire = keys[2048].wire;
        for (const bad of [1, null, undefined, true, {}, ['x'], new String('x'), 10n, Symbol('s')]) {
          throwsCode(() => w.seal(wire, { ok: secret, bad }), 'ERR_CREDENTIALS_INVALID', secret);
          throwsCode(() => w.sealJwe(wire, { ok: secret, bad }, 'sid'), 'ERR_CREDENTIALS_INVALID', secret);
        }
      });

      test('non-object credentials: ERR_CREDENTIALS_INVALID', () => {
        const wire = keys[2048].wire;
        for (const bad of [undefined, null, secret, 42, true, [secret], new Map([['a', secret]]), new Date(), () => secret]) {
          throwsCode(() => w.seal(wire, bad), 'ERR_CREDENTIALS_INVALID', secret);
        }
      });

      test('a throwing getter or proxy trap: ERR_CREDENTIALS_INVALID, not an escaped exception', () => {
        const wire = keys[2048].wire;
        const getter = Object.defineProperty({}, 'a', { enumerable: true, get() { throw new TypeError('boom'); } });
        throwsCode(() => w.seal(wire, getter), 'ERR_CREDENTIALS_INVALID');
        const proxy = new Proxy({ a: 'b' }, { ownKeys() { throw new TypeError('boom'); } });
        throwsCode(() => w.seal(wire, proxy), 'ERR_CREDENTIALS_INVALID');
      });

      test('empty field name: ERR_CREDENTIALS_INVALID', () => {
        throwsCode(() => w.seal(keys[2048].wire, { '': secret }), 'ERR_CREDENTIALS_INVALID', secret);
      });

      test('oversize credentials: ERR_INPUT_TOO_LARGE', () => {
        const wire = keys[2048].wire;
        throwsCode(() => w.seal(wire, { a: 'x'.repeat(65 * 1024) }), 'ERR_INPUT_TOO_LARGE');
        throwsCode(() => w.seal(wire, { a: 'x'.repeat(32 * 1024 * 1024) }), 'ERR_INPUT_TOO_LARGE');
        // Just over the limit only after UTF-8 encoding (3 bytes per code unit).
        throwsCode(() => w.seal(wire, { a: '\u6f22'.repeat(30 * 1024) }), 'ERR_INPUT_TOO_LARGE');
        const many = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`f${i}`, 'v']));
        throwsCode(() => w.seal(wire, many), 'ERR_INPUT_TOO_LARGE');
        throwsCode(() => w.sealJwe(wire, { a: 'b' }, 's'.repeat(10_000)), 'ERR_INPUT_TOO_LARGE');
      });

      test('non-string sessionId: ERR_INVALID_ARGUMENT', () => {
        throwsCode(() => w.sealJwe(keys[2048].wire, { a: secret }, 42), 'ERR_INVALID_ARGUMENT', secret);
        throwsCode(() => w.sealJwe(keys[2048].wire, { a: secret }), 'ERR_INVALID_ARGUMENT', secret);
      });

      test('a null-prototype object is a plain object and seals', async () => {
        const creds = Object.assign(Object.create(null), { a: 'b' });
        const { credentials } = await webcryptoOpen(keys[2048].privateKey, w.seal(keys[2048].wire, creds));
        assert.deepEqual(credentials, { a: 'b' });
      });

      // Issue 10, item 8: a lone surrogate is refused, never replaced by U+FFFD.
      const LONE = ['\uD800', '\uDFFF', 'pass\uD83Dword', 'tail\uDC00', '\uDC00\uD800'];
      test('a lone surrogate in a credential value: ERR_CREDENTIALS_INVALID from seal and sealJwe', () => {
        for (const bad of LONE) {
          throwsCode(() => w.seal(keys[2048].wire, { ok: secret, password: bad }), 'ERR_CREDENTIALS_INVALID', secret);
          throwsCode(() => w.sealJwe(keys[2048].wire, { ok: secret, password: bad }, 'sid-1'), 'ERR_CREDENTIALS_INVALID', secret);
        }
      });

      test('a lone surrogate in a credential name: ERR_CREDENTIALS_INVALID (two such names would merge)', () => {
        for (const bad of LONE) {
          throwsCode(() => w.seal(keys[2048].wire, { [bad]: secret }), 'ERR_CREDENTIALS_INVALID', secret);
          throwsCode(() => w.sealJwe(keys[2048].wire, { [bad]: secret }, 'sid-1'), 'ERR_CREDENTIALS_INVALID', secret);
        }
        throwsCode(() => w.seal(keys[2048].wire, { '\uD800': 'a', '\uDBFF': 'b' }), 'ERR_CREDENTIALS_INVALID');
      });

      test('a lone surrogate in sessionId: ERR_INVALID_ARGUMENT (it is bound into the JWE header)', () => {
        for (const bad of LONE) throwsCode(() => w.sealJwe(keys[2048].wire, { a: secret }, bad), 'ERR_INVALID_ARGUMENT', secret);
      });

      test('real U+FFFD and paired surrogates are kept exactly', async () => {
        const k = keys[2048];
        const creds = { '\uFFFD': 'literal \uFFFD replacement char', emoji: '\uD83D\uDD11 key', mixed: '\uFFFD\uD83D\uDE00\uFFFD' };
        const { credentials } = await webcryptoOpen(k.privateKey, w.seal(k.wire, creds));
        assert.deepEqual(credentials, creds);
        const sid = 'sid-\uFFFD-\uD83D\uDE00';
        const { plaintext, protectedHeader } = await jose.compactDecrypt(w.sealJwe(k.wire, creds, sid), k.privateKey);
        assert.deepEqual(JSON.parse(new TextDecoder().decode(plaintext)), creds);
        assert.equal(protectedHeader.sid, sid);
      });

      test('the module still works after all those errors', async () => {
        const k = keys[2048];
        const { credentials } = await webcryptoOpen(k.privateKey, w.seal(k.wire, CREDS));
        assert.deepEqual(credentials, CREDS);
      });
    });
  });
}
