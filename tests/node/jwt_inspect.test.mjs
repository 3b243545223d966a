// inspectJwt / signJwt from the full bundle (dist/full), in Node: structured
// report as plain objects, findings, verification with JWK/PEM/secret, typed
// errors with codes, and cross-checks against panva `jose` and WebCrypto.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as jose from 'jose';
import { ROOT, loadBundle } from './wasm_helpers.mjs';

const FIX = path.join(ROOT, 'crates/core/tests/fixtures/jwt');
const fix = (n) => readFileSync(path.join(FIX, n), 'utf8');
const NOW = 1_800_000_000;

let w;
before(async () => { w = await loadBundle('full'); });

describe('inspectJwt (full bundle)', () => {
  test('the seal-only bundle does not carry the JWT exports', async () => {
    const seal = await loadBundle('seal');
    assert.equal(seal.inspectJwt, undefined);
    assert.equal(typeof w.inspectJwt, 'function');
  });

  test('alg none: a plain-object report with a critical finding', () => {
    const r = w.inspectJwt('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', { now: NOW });
    assert.equal(Object.getPrototypeOf(r), Object.prototype);
    assert.equal(Object.getPrototypeOf(r.header), Object.prototype);
    assert.deepEqual(r.header, { alg: 'none' });
    const f = r.findings.find((x) => x.code === 'JWT_ALG_NONE');
    assert.equal(f.severity, 'critical');
    assert.equal(f.location, 'header.alg');
    assert.equal(r.summary.highest, 'critical');
    assert.equal(r.verification.status, 'unsupported');
    JSON.stringify(r); // JSON-compatible
  });

  test('the report carries any JSON the token holds: escapes, control characters, non-ASCII, numbers', () => {
    // The bundle's whole path for the report: core's JSON text, the WASM buffer
    // it goes through, JSON.parse.
    const odd = 'q"uote\\back/slash \u0000\u0001\b\t\n\f\r\u001f\u007f é ☃ 😀 \u2028';
    const payload = {
      [odd]: odd, s: odd, empty: '', n: [0, -1, 1.5, -0.25, 1e300, 2.5e-8, 9007199254740991, -9007199254740991],
      nested: { a: [null, true, false, { '': [[], {}] }] }, exp: NOW + 60, iat: NOW,
    };
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const r = w.inspectJwt(`${b64({ alg: 'none', kid: odd })}.${b64(payload)}.`, { now: NOW });
    assert.deepEqual(r.payload, payload);
    assert.deepEqual(r.header, { alg: 'none', kid: odd });
    assert.equal(r.explanation.kid, odd);
    // a finding message quoting the header, and a non-JSON payload as text
    const t = w.inspectJwt(`${b64({ alg: `x"${odd}` })}.${Buffer.from(`not json ${odd}`).toString('base64url')}.`, { now: NOW });
    assert.equal(t.payloadText, `not json ${odd}`);
    assert.ok(t.findings.some((f) => f.message.includes('x"q"uote')), JSON.stringify(t.findings));
  });

  test('signJwt ES256 -> inspectJwt verifies with the PEM key; jose agrees', async () => {
    const token = w.signJwt({ header: { typ: 'at+jwt' }, claims: { iss: 'https://i.example', sub: 'u1', aud: 'api', client_id: 'c', jti: 'j', iat: 'now', exp: '+10m' }, key: fix('ecp256.key'), now: NOW });
    const r = w.inspectJwt(token, { now: NOW, key: fix('ecp256.pub'), issuer: 'https://i.example', audience: ['api'], typ: 'at+jwt' });
    assert.equal(r.verification.status, 'valid');
    assert.deepEqual(r.findings, []);
    assert.equal(r.explanation.kind, 'access_token');
    assert.equal(r.explanation.times.find((t) => t.claim === 'exp').relative, 'in 10m');
    const pub = await jose.importSPKI(fix('ecp256.pub'), 'ES256');
    const { payload } = await jose.jwtVerify(token, pub, { currentDate: new Date(NOW * 1000) });
    assert.equal(payload.exp, NOW + 600);
  });

  test('a jose-signed RS256 token verifies; a tampered one is JWT_SIGNATURE_INVALID', async () => {
    const priv = await jose.importPKCS8(fix('rsa2048.key'), 'RS256');
    const token = await new jose.SignJWT({ sub: 'x', aud: 'a', iss: 'i' }).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).setIssuedAt(NOW).setExpirationTime(NOW + 60).sign(priv);
    assert.equal(w.inspectJwt(token, { now: NOW, key: fix('rsa2048.pub') }).verification.status, 'valid');
    const parts = token.split('.');
    const tampered = [parts[0], jose.base64url.encode(JSON.stringify({ sub: 'admin', aud: 'a', iss: 'i', exp: NOW + 60 })), parts[2]].join('.');
    const r = w.inspectJwt(tampered, { now: NOW, key: fix('rsa2048.pub') });
    assert.equal(r.verification.status, 'invalid');
    assert.ok(r.findings.some((f) => f.code === 'JWT_SIGNATURE_INVALID'));
  });

  test('weak HMAC secret, jwks selection, broken tokens', () => {
    const t = w.signJwt({ claims: { sub: 'x' }, secret: 'your-256-bit-secret', now: NOW });
    const r = w.inspectJwt(t, { now: NOW });
    assert.ok(r.findings.some((f) => f.code === 'JWT_HMAC_WEAK_SECRET'));
    const stripped = w.signJwt({ claims: { sub: 'x' }, secret: 'your-256-bit-secret', broken: 'strip-signature', now: NOW });
    assert.ok(stripped.endsWith('.'));
    assert.ok(w.inspectJwt(stripped, { now: NOW }).findings.some((f) => f.code === 'JWT_SIGNATURE_EMPTY'));
    const none = w.signJwt({ claims: { sub: 'x' }, broken: 'alg-none', now: NOW });
    assert.ok(w.inspectJwt(none, { now: NOW }).findings.some((f) => f.code === 'JWT_ALG_NONE'));
    const jwks = JSON.stringify({ keys: [{ kty: 'oct', kid: 'a', k: 'AAAA' }] });
    const nm = w.inspectJwt(w.signJwt({ header: { kid: 'zzz' }, claims: {}, secret: 'x'.repeat(40), now: NOW }), { now: NOW, jwks });
    assert.equal(nm.verification.status, 'no_matching_key');
  });

  test('malformed input still yields a report with byte offsets', () => {
    const r = w.inspectJwt('eyJhbGciOiJIUzI1NiJ9.ab$d.x', { now: NOW });
    const f = r.findings.find((x) => x.code === 'JWT_B64_INVALID');
    assert.match(f.message, /byte 2 \(token offset 23\)/);
    assert.deepEqual(r.header, { alg: 'HS256' });
  });

  test('errors are real Errors with stable codes', () => {
    assert.throws(() => w.inspectJwt('x.y.z', { key: 'not a key' }), (e) => e instanceof Error && e.code === 'ERR_JWT_KEY_MALFORMED');
    assert.throws(() => w.inspectJwt(42), (e) => e.code === 'ERR_JWT_OPTIONS_INVALID');
    assert.throws(() => w.signJwt({ claims: { exp: '+1 fortnight' }, secret: 's' }), (e) => e.code === 'ERR_JWT_TIME_INVALID');
    assert.throws(() => w.signJwt({ claims: {}, alg: 'ES256', secret: 's' }), (e) => e.code === 'ERR_JWT_ALG_KEY_MISMATCH');
  });

  test('repeated and alternating keys: parsed-key reuse never mixes keys up', () => {
    const rs = w.signJwt({ claims: { sub: 'x' }, alg: 'RS256', key: fix('rsa2048.key'), now: NOW });
    const es = w.signJwt({ claims: { sub: 'x' }, alg: 'ES256', key: fix('ecp256.key'), now: NOW });
    const keys = ['rsa2048.pub', 'ecp256.pub', 'ecp384.pub', 'ecp521.pub', 'ed25519.pub', 'rsa2048.pkcs1.pub'].map(fix);
    for (let round = 0; round < 3; round++) {
      for (const k of keys) {
        const rsWant = k === fix('rsa2048.pub') || k === fix('rsa2048.pkcs1.pub') ? 'valid' : 'alg_mismatch';
        assert.equal(w.inspectJwt(rs, { now: NOW, key: k }).verification.status, rsWant);
        assert.equal(w.inspectJwt(es, { now: NOW, key: k }).verification.status, k === fix('ecp256.pub') ? 'valid' : 'alg_mismatch');
      }
    }
    // A private key as `key` works each time (never kept, parsed afresh).
    for (let i = 0; i < 2; i++) assert.equal(w.inspectJwt(rs, { now: NOW, key: fix('rsa2048.key') }).verification.status, 'valid');
  });

  test('options of the wrong type are refused with a message naming the option', () => {
    const t = w.signJwt({ claims: { sub: 'x', iss: 'a', aud: 'b' }, secret: 'x'.repeat(40), now: NOW });
    const bad = [
      [{ issuer: 5 }, /issuer/], [{ audience: [1] }, /audience/], [{ now: 'soon' }, /now/], [{ key: {} }, /key/],
      [{ requiredClaims: 5 }, /requiredClaims/], [{ maxActDepth: -1 }, /maxActDepth/], [{ maxLifetime: 'long' }, /maxLifetime/],
      ['not an object', /InspectJwtOptions/], [[1, 2], /InspectJwtOptions/],
    ];
    for (const [opts, re] of bad) {
      assert.throws(() => w.inspectJwt(t, opts), (e) => e.code === 'ERR_JWT_OPTIONS_INVALID' && re.test(e.message), JSON.stringify(opts));
    }
    assert.throws(() => w.inspectJwt(t, { now: 10n }), (e) => e.code === 'ERR_JWT_OPTIONS_INVALID');
    assert.throws(() => w.signJwt({ claims: {}, secret: 5 }), (e) => e.code === 'ERR_JWT_OPTIONS_INVALID' && /secret/.test(e.message));
    // Accepted shapes: one string or several; null means "not given" (maxLifetime: null turns the check off).
    const ok = w.inspectJwt(t, { now: NOW, issuer: ['z', 'a'], audience: 'b', typ: null, maxLifetime: null, secret: 'x'.repeat(40) });
    assert.equal(ok.verification.status, 'valid');
    assert.ok(!ok.findings.some((f) => f.code === 'JWT_ISS_MISMATCH' || f.code === 'JWT_AUD_MISMATCH'), JSON.stringify(ok.findings.map((f) => f.code)));
    const wrongIss = w.inspectJwt(t, { now: NOW, issuer: 'z' });
    assert.ok(wrongIss.findings.some((f) => f.code === 'JWT_ISS_MISMATCH'), JSON.stringify(wrongIss.findings.map((f) => f.code)));
  });
});

// Issue 10, item 3: with a key, anything short of a verified signature over a
// well-formed token is critical and never "valid". One test per vector of
// crates/core/tests/fixtures/jwt/unverified.json (the same vectors as the native
// core and CLI tests), each with an HS256 MAC that matches its literal bytes.
describe('inspectJwt with a key: nothing short of a verified, well-formed token is valid (issue 10 item 3)', () => {
  const fx = JSON.parse(fix('unverified.json'));

  test('control: the canonical token verifies', () => {
    const r = w.inspectJwt(fx.good, { now: fx.now, secret: fx.secret });
    assert.equal(r.verification.status, 'valid');
    assert.equal(r.summary.signatureVerified, true);
    assert.ok(!r.findings.some((f) => f.code === 'JWT_SIGNATURE_UNVERIFIED'));
  });

  for (const c of fx.cases) {
    test(`${c.name}: ${c.why} -> ${c.status}, critical JWT_SIGNATURE_UNVERIFIED, ${c.defect}`, () => {
      const r = w.inspectJwt(c.token, { now: fx.now, secret: fx.secret });
      assert.equal(r.verification.status, c.status, JSON.stringify(r.verification));
      assert.equal(r.summary.signatureVerified, false);
      assert.equal(r.summary.highest, 'critical');
      const f = r.findings.find((x) => x.code === 'JWT_SIGNATURE_UNVERIFIED');
      assert.ok(f, JSON.stringify(r.findings.map((x) => x.code)));
      assert.equal(f.severity, 'critical');
      assert.ok(r.findings.some((x) => x.code === c.defect), JSON.stringify(r.findings.map((x) => x.code)));
      // The same verdict whether the key is a secret or a JWKS holding it.
      const k = Buffer.from(fx.secret).toString('base64url');
      const viaJwks = w.inspectJwt(c.token, { now: fx.now, jwks: JSON.stringify({ keys: [{ kty: 'oct', kid: 'k1', k }] }) });
      assert.equal(viaJwks.summary.signatureVerified, false);
      assert.equal(viaJwks.summary.highest, 'critical');
    });
  }

  test('a JWKS of only unusable keys counts as a key source: critical, not verified', () => {
    const r = w.inspectJwt(fx.good, { now: fx.now, jwks: JSON.stringify({ keys: [{ kty: 'RSA', n: 'AQAB' }] }) });
    assert.notEqual(r.verification.status, 'valid');
    assert.equal(r.summary.signatureVerified, false);
    assert.ok(r.findings.some((f) => f.code === 'JWT_SIGNATURE_UNVERIFIED' && f.severity === 'critical'));
  });
});

// Issue 10, item 8 on the JWT side: options cross as JSON text, and a lone
// surrogate there is refused (ERR_JWT_OPTIONS_INVALID), never replaced.
describe('lone surrogates in JWT options are refused, not replaced (issue 10 item 8)', () => {
  test('secret, key text and claims with a lone surrogate: ERR_JWT_OPTIONS_INVALID', () => {
    const fx = JSON.parse(fix('unverified.json'));
    for (const bad of ['\uD800', `${fx.secret}\uDC00`]) {
      assert.throws(() => w.inspectJwt(fx.good, { now: fx.now, secret: bad }), (e) => e.code === 'ERR_JWT_OPTIONS_INVALID');
      assert.throws(() => w.signJwt({ claims: { sub: 'x' }, secret: bad, now: fx.now }), (e) => e.code === 'ERR_JWT_OPTIONS_INVALID');
    }
    assert.throws(() => w.signJwt({ claims: { sub: 'a\uD800' }, secret: fx.secret, now: fx.now }), (e) => e.code === 'ERR_JWT_OPTIONS_INVALID');
    assert.throws(() => w.inspectJwt(fx.good, { now: fx.now, jwks: `{"keys":[{"kty":"oct","k":"\uD800"}]}` }), (e) => e.code === 'ERR_JWT_OPTIONS_INVALID');
  });
});
