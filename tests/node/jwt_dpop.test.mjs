// DPoP proofs (RFC 9449) through inspectJwt of the full bundle (dist/full):
// proofs made by panva `jose` with fresh keys verify with their own header key,
// the thumbprint agrees with jose's RFC 7638 calculateJwkThumbprint, and the
// `accessToken` option checks ath and cnf.jkt.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as jose from 'jose';
import { loadBundle } from './wasm_helpers.mjs';

const NOW = Math.floor(Date.now() / 1000);

let w;
let proofKey;
let proofJwk;
let issuerKey;
before(async () => {
  w = await loadBundle('full');
  const pair = await jose.generateKeyPair('ES256', { extractable: true });
  proofKey = pair.privateKey;
  proofJwk = await jose.exportJWK(pair.publicKey);
  issuerKey = (await jose.generateKeyPair('RS256', { extractable: true })).privateKey;
});

const ath = (at) => createHash('sha256').update(at, 'ascii').digest('base64url');

async function proof(claims = {}, header = {}) {
  return new jose.SignJWT({ jti: 'p-1', htm: 'POST', htu: 'https://rs.example/api', iat: NOW, ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: proofJwk, ...header })
    .sign(proofKey);
}

async function accessToken(jkt) {
  const claims = { iss: 'https://as.example', sub: 'u1', aud: 'https://rs.example', client_id: 'app', jti: 'at-1' };
  if (jkt) claims.cnf = { jkt };
  return new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt' }).setIssuedAt(NOW).setExpirationTime(NOW + 600).sign(issuerKey);
}

const codes = (r) => r.findings.map((f) => f.code);

describe('inspectJwt: DPoP proofs', () => {
  test('a jose proof verifies with its own header key; the thumbprint is jose\'s RFC 7638 value', async () => {
    const r = w.inspectJwt(await proof(), { now: NOW });
    assert.equal(r.explanation.kind, 'dpop_proof');
    assert.equal(r.dpop.proofKeyStatus, 'valid');
    assert.equal(r.dpop.proofKeyVerified, true);
    assert.equal(r.dpop.thumbprint, await jose.calculateJwkThumbprint(proofJwk, 'sha256'));
    assert.equal(r.dpop.key.source, 'header.jwk');
    // Kept apart from verification with a trusted key.
    assert.equal(r.verification.status, 'not_attempted');
    assert.equal(r.summary.signatureVerified, false);
    assert.ok(!codes(r).includes('JWT_HEADER_JWK'), codes(r).join());
    assert.ok(!codes(r).some((c) => c.startsWith('JWT_DPOP_')), codes(r).join());
    assert.equal(r.dpop.accessTokenGiven, false);
    assert.equal(r.dpop.ath, null);
  });

  test('accessToken: ath and cnf.jkt match', async () => {
    const at = await accessToken(await jose.calculateJwkThumbprint(proofJwk));
    const r = w.inspectJwt(await proof({ ath: ath(at) }), { now: NOW, accessToken: `DPoP ${at}` });
    assert.equal(r.dpop.accessTokenGiven, true);
    assert.deepEqual(r.dpop.ath, { status: 'match', expected: ath(at), actual: ath(at) });
    assert.equal(r.dpop.jkt.status, 'match');
    assert.ok(!codes(r).some((c) => c.startsWith('JWT_DPOP_')), codes(r).join());
  });

  test('accessToken: mismatches, missing ath, unbound token are findings with codes', async () => {
    const at = await accessToken(await jose.calculateJwkThumbprint(proofJwk));
    const other = await accessToken('0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I');
    let r = w.inspectJwt(await proof({ ath: ath(other) }), { now: NOW, accessToken: at });
    assert.ok(codes(r).includes('JWT_DPOP_ATH_MISMATCH'));
    r = w.inspectJwt(await proof({ ath: ath(other) }), { now: NOW, accessToken: other });
    assert.ok(codes(r).includes('JWT_DPOP_JKT_MISMATCH'));
    assert.equal(r.dpop.jkt.actual, '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I');
    r = w.inspectJwt(await proof(), { now: NOW, accessToken: at });
    assert.ok(codes(r).includes('JWT_DPOP_ATH_MISSING'));
    const unbound = await accessToken(null);
    r = w.inspectJwt(await proof({ ath: ath(unbound) }), { now: NOW, accessToken: unbound });
    assert.ok(codes(r).includes('JWT_DPOP_JKT_MISSING'));
  });

  test('a private header jwk is refused; missing claims and a bad typ are findings', async () => {
    const priv = await jose.exportJWK(proofKey);
    const r = w.inspectJwt(await proof({}, { jwk: priv }), { now: NOW });
    assert.equal(r.dpop.proofKeyStatus, 'private_key');
    assert.equal(r.dpop.proofKeyVerified, false);
    const f = r.findings.find((x) => x.code === 'JWT_DPOP_PRIVATE_KEY');
    assert.equal(f.severity, 'critical');
    assert.ok(!f.message.includes(priv.d) && !r.dpop.detail.includes(priv.d));
    const noJti = await new jose.SignJWT({ htm: 'GET', htu: 'https://rs.example/', iat: NOW }).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: proofJwk }).sign(proofKey);
    assert.ok(w.inspectJwt(noJti, { now: NOW }).findings.some((x) => x.code === 'JWT_DPOP_CLAIM_MISSING' && x.location === 'payload.jti'));
  });

  test('accessToken must be a string', () => {
    assert.throws(() => w.inspectJwt('a.b.c', { accessToken: 42 }), (e) => e.code === 'ERR_JWT_OPTIONS_INVALID');
  });
});
