// The other direction: what a LinkAuth browser page (WebCrypto) and panva `jose`
// seal, native sealpost-core opens (`cargo xtask interop-open`); what native
// core seals, WebCrypto and jose open; and WASM-sealed envelopes open natively.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import {
  BUNDLES, loadBundle, rsaKeyPair, jsFingerprint, webcryptoSeal, webcryptoOpen, nativeOpen, nativeSeal,
} from './wasm_helpers.mjs';

const CREDS = { access_key_id: 'AKIAEXAMPLE', secret_access_key: 'wJalr/K7MDENG+bPxRfi\u00e9\u{1F511}', region: '' };
const SID = '5f0c6e1a'.repeat(8);

const keys = {};
before(async () => {
  for (const bits of [2048, 3072, 4096]) keys[bits] = await rsaKeyPair(bits);
});

describe('WebCrypto (LinkAuth browser page) -> native core', () => {
  for (const bits of [2048, 3072, 4096]) {
    test(`${bits}-bit: wrapKey + AES-GCM envelope opens to the exact credentials`, async () => {
      const k = keys[bits];
      const ct = await webcryptoSeal(k.spki, CREDS);
      const r = nativeOpen(k.pkcs8Pem, ct);
      assert.ok(r.ok, r.stderr);
      assert.deepEqual(r.credentials, CREDS);
    });
  }

  test('a flipped ciphertext byte: ERR_DECRYPT_FAILED', async () => {
    const k = keys[2048];
    const inner = JSON.parse(Buffer.from(await webcryptoSeal(k.spki, CREDS), 'base64').toString());
    const ct = Buffer.from(inner.ciphertext, 'base64');
    ct[3] ^= 1;
    inner.ciphertext = ct.toString('base64');
    const r = nativeOpen(k.pkcs8Pem, Buffer.from(JSON.stringify(inner)).toString('base64'));
    assert.equal(r.ok, false);
    assert.equal(r.code, 'ERR_DECRYPT_FAILED');
  });

  test('sealed to another key: ERR_DECRYPT_FAILED', async () => {
    const r = nativeOpen(keys[2048].pkcs8Pem, await webcryptoSeal(keys[3072].spki, CREDS));
    assert.equal(r.ok, false);
    assert.equal(r.code, 'ERR_DECRYPT_FAILED');
  });
});

describe('jose CompactEncrypt -> native core', () => {
  async function joseSeal(k, sid) {
    const fp = await jsFingerprint(k.spki);
    return new jose.CompactEncrypt(new TextEncoder().encode(JSON.stringify(CREDS)))
      .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: fp.long, sid })
      .encrypt(k.publicKey);
  }

  test('opens with the matching session id', async () => {
    const k = keys[3072];
    const r = nativeOpen(k.pkcs8Pem, await joseSeal(k, SID), { algorithm: 'JWE', sessionId: SID });
    assert.ok(r.ok, r.stderr);
    assert.deepEqual(r.credentials, CREDS);
  });

  test('another session id: ERR_JWE_SESSION_MISMATCH', async () => {
    const k = keys[2048];
    const r = nativeOpen(k.pkcs8Pem, await joseSeal(k, SID), { algorithm: 'JWE', sessionId: 'f'.repeat(64) });
    assert.equal(r.ok, false);
    assert.equal(r.code, 'ERR_JWE_SESSION_MISMATCH');
  });
});

describe('native core -> WebCrypto and jose', () => {
  test('native seal opens with WebCrypto', async () => {
    const k = keys[3072];
    const { credentials } = await webcryptoOpen(k.privateKey, nativeSeal(k.wire, CREDS));
    assert.deepEqual(credentials, CREDS);
  });

  test('native sealJwe opens with jose', async () => {
    const k = keys[4096];
    const { plaintext, protectedHeader } = await jose.compactDecrypt(nativeSeal(k.wire, CREDS, { jweSessionId: SID }), k.privateKey);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(plaintext)), CREDS);
    assert.equal(protectedHeader.sid, SID);
    assert.equal(protectedHeader.kid, (await jsFingerprint(k.spki)).long);
  });
});

for (const name of BUNDLES) {
  describe(`WASM (dist/${name}) -> native core`, () => {
    let w;
    before(async () => {
      w = await loadBundle(name);
    });

    test('seal opens natively', () => {
      const k = keys[3072];
      const r = nativeOpen(k.pkcs8Pem, w.seal(k.wire, CREDS));
      assert.ok(r.ok, r.stderr);
      assert.deepEqual(r.credentials, CREDS);
    });

    test('sealJwe opens natively and is bound to its session', () => {
      const k = keys[2048];
      const jwe = w.sealJwe(k.wire, CREDS, SID);
      const r = nativeOpen(k.pkcs8Pem, jwe, { algorithm: 'JWE', sessionId: SID });
      assert.ok(r.ok, r.stderr);
      assert.deepEqual(r.credentials, CREDS);
      const wrong = nativeOpen(k.pkcs8Pem, jwe, { algorithm: 'JWE', sessionId: '0'.repeat(64) });
      assert.equal(wrong.code, 'ERR_JWE_SESSION_MISMATCH');
    });
  });
}
