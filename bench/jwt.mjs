#!/usr/bin/env node
// Benchmark: JWT inspection and verification in the Sealpost full WASM bundle vs
// panva `jose` / WebCrypto, in the same Node process. Prints ops/s and ratios.
// A benchmark, not a test: exits 0 whatever the figures (non-zero only if it
// cannot run, e.g. dist/full is missing).
//
//   cargo xtask build                       # writes dist/full/
//   node bench/jwt.mjs [--seconds 2] [--runs 3] [--bundle dist/full] [--browser] [--baseline DIR] [--cold N] [--json]
//
// 1. decode+inspect of a typical ~800-byte RS256 access token:
//    WASM inspectJwt (full report: decode, explain, every rule)  vs  jose decodeJwt + decodeProtectedHeader
// 2. ES256, RS256, PS256, EdDSA verify: median of per-iteration paired ratios
//    WASM inspectJwt (same JWK / JWKS text every time) / WebCrypto verify (key
//    imported once), interleaved, after warm-up, --runs runs; the same report
//    without a key (inspection alone); first use of a new key text (uses 1, 2
//    and 3) vs WebCrypto importKey + verify; the same with keys never seen
//    (fresh key pairs: per-key precomputation, such as ES256's table made on
//    a key's second use, shows there; a new text of a known key reuses it).
// 3. With --browser: the verify medians of 2. again inside headless Chromium
//    (Debian's, as the e2e tests run it), against the browser's own
//    crypto.subtle.verify: the extension and the inspector page run there,
//    and Chromium's WebCrypto is not Node's (in Chromium an RS256 verify
//    round trip takes ~25-35 us on this machine, in Node 45-200 us). The page
//    is cross-origin isolated (COOP/COEP) so performance.now() counts in 5 us
//    steps instead of 100 us.
// 4. With --baseline DIR (another build of the full bundle, e.g. a copy of
//    dist/full made before a change): per algorithm, the median of paired
//    per-iteration ratios this bundle / that one (inspectJwt, same JWK text,
//    interleaved): a before/after figure that stays steady on a busy machine;
//    and the same for the RS256 token without a key (inspection alone).
// 5. Fresh processes (--cold N, default 5; 0 skips): per algorithm, N new
//    Node processes each load the bundle and time their first inspectJwt
//    (no key), then a first key's first verification, that key's second,
//    and a second key's first: what a one-shot caller pays (a CLI run, a
//    page that checks one token, a cold serverless instance), where code is
//    not yet optimised and any per-process table is made. Medians. With
//    --baseline, the baseline bundle's processes alternate with these.

import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { webcrypto, createPublicKey, generateKeyPairSync } from 'node:crypto';
import * as jose from 'jose';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log('node bench/jwt.mjs [--seconds 2] [--runs 3] [--bundle dist/full] [--browser] [--baseline DIR] [--cold N] [--json]\n' +
    '  --bundle DIR    the full bundle to measure (a directory holding sealpost_wasm.js), default $SEALPOST_DIST/full or dist/full\n' +
    '  --browser       also the verify medians inside headless Chromium ($CHROMIUM or /usr/bin/chromium) against its crypto.subtle\n' +
    '  --baseline DIR  another build of the full bundle: paired ratios this / that per algorithm, and without a key\n' +
    '  --cold N        N fresh processes per algorithm timing their first calls (default 5, 0 skips)');
  process.exit(0);
}
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

function opsPerSec(fn) {
  for (let i = 0; i < 200; i++) fn();
  let n = 0; const t0 = performance.now(); const end = t0 + seconds * 1000;
  while (performance.now() < end) { for (let i = 0; i < 50; i++) fn(); n += 50; }
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
const median = (a) => { const b = [...a].sort((x, y) => x - y); const m = b.length >> 1; return b.length % 2 ? b[m] : (b[m - 1] + b[m]) / 2; };

// One verify case per algorithm: the token, the key as JWK text (what a page
// holds after fetching an issuer's JWKS), the same key in a JWKS beside two
// other keys, and a WebCrypto key imported once.
const jwk = (pem, kid) => JSON.stringify({ ...createPublicKey(pem).export({ format: 'jwk' }), kid, use: 'sig' });
const PEMS = { RS256: 'rsa2048', PS256: 'rsa2048', ES256: 'ecp256', EdDSA: 'ed25519' };
const WC = {
  RS256: [{ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, 'RSASSA-PKCS1-v1_5'],
  PS256: [{ name: 'RSA-PSS', hash: 'SHA-256' }, { name: 'RSA-PSS', saltLength: 32 }],
  ES256: [{ name: 'ECDSA', namedCurve: 'P-256' }, { name: 'ECDSA', hash: 'SHA-256' }],
  EdDSA: [{ name: 'Ed25519' }, { name: 'Ed25519' }],
};
const jwksOf = (alg, kid) => JSON.stringify({ keys: ['rsa2048', 'ecp256', 'ed25519'].map((n) => JSON.parse(jwk(fix(`${n}.pub`), n === PEMS[alg] ? kid : `other-${n}`))) });
const cases = {};
for (const alg of ['ES256', 'RS256', 'PS256', 'EdDSA']) {
  const kid = `2024-11-${alg.toLowerCase()}`;
  const token = w.signJwt({ header: { typ: 'at+jwt', kid }, claims: CLAIMS, alg, key: fix(`${PEMS[alg]}.key`), now: NOW });
  const spki = Buffer.from(fix(`${PEMS[alg]}.pub`).replace(/-----[^-]+-----|\s/g, ''), 'base64');
  let key;
  try { key = await subtle.importKey('spki', spki, WC[alg][0], false, ['verify']); } catch { continue; } // (Ed25519 needs Node >= 18.4)
  const [input, sig] = split(token);
  const c = { alg, token, jwk: jwk(fix(`${PEMS[alg]}.pub`), kid), jwks: jwksOf(alg, kid), spki, key, input, sig };
  for (const k of ['jwk', 'jwks']) {
    const r = w.inspectJwt(token, { now: NOW, [k === 'jwk' ? 'key' : 'jwks']: c[k] });
    if (r.verification.status !== 'valid') throw new Error(`${alg} does not verify in WASM with the ${k}: ${r.verification.detail}`);
  }
  if (!(await subtle.verify(WC[alg][1], key, sig, input))) throw new Error(`${alg} does not verify in WebCrypto`);
  cases[alg] = c;
}

// Paired ratios: each iteration times one WASM inspectJwt (same key text every
// time, so the parsed key comes from the bundle's cache) and one WebCrypto
// verify, in alternating order, and keeps wasm/webcrypto. Load from other
// processes hits both halves of a pair alike, so the median ratio is steadier
// than a ratio of separately measured throughputs.
async function paired(wasmFn, wcFn, ms) {
  for (let i = 0; i < 100; i++) { wasmFn(); await wcFn(); }
  const ratios = []; const tw = []; const tc = [];
  const end = performance.now() + ms;
  for (let i = 0; performance.now() < end || i < 50; i++) {
    let a; let b;
    if (i & 1) {
      const t0 = performance.now(); await wcFn(); const t1 = performance.now(); wasmFn(); const t2 = performance.now();
      a = t2 - t1; b = t1 - t0;
    } else {
      const t0 = performance.now(); wasmFn(); const t1 = performance.now(); await wcFn(); const t2 = performance.now();
      a = t1 - t0; b = t2 - t1;
    }
    if (a > 0 && b > 0) { ratios.push(a / b); tw.push(a); tc.push(b); }
  }
  return { ratio: median(ratios), wasmUs: median(tw) * 1000, webcryptoUs: median(tc) * 1000, n: ratios.length };
}

const runs = Number(arg('--runs', '3'));
// Key pairs of each algorithm, for keys the bundle has never seen.
const GEN = { RS256: ['rsa', { modulusLength: 2048 }], PS256: ['rsa', { modulusLength: 2048 }], ES256: ['ec', { namedCurve: 'P-256' }], EdDSA: ['ed25519', {}] };
out.verify = {};
for (const c of Object.values(cases)) {
  const wc = () => subtle.verify(WC[c.alg][1], c.key, c.sig, c.input);
  const res = { jwk: [], jwks: [], inspectOnly: [] };
  for (let r = 0; r < runs; r++) {
    res.jwk.push(await paired(() => w.inspectJwt(c.token, { now: NOW, key: c.jwk }), wc, (seconds * 1000) / 2));
    res.jwks.push(await paired(() => w.inspectJwt(c.token, { now: NOW, jwks: c.jwks }), wc, (seconds * 1000) / 4));
    // The same report without a key: what inspection alone costs beside the verify.
    res.inspectOnly.push(await paired(() => w.inspectJwt(c.token, { now: NOW }), wc, (seconds * 1000) / 4));
  }
  // First use: a key text the bundle has not seen (parse, and whatever the first
  // verification with a new key costs) vs WebCrypto importKey + verify. Then the
  // 2nd and 3rd use of that same text (any per-key precomputation is made there).
  const first = [[], [], []]; const wcFirst = [];
  for (let i = 0; i < 40; i++) {
    const text = c.jwk.replace('{', '{' + ' '.repeat(i + 1)); // same key, new text: a cache miss
    for (let u = 0; u < 3; u++) {
      const t0 = performance.now(); w.inspectJwt(c.token, { now: NOW, key: text }); first[u].push((performance.now() - t0) * 1000);
    }
    const t0 = performance.now();
    const k = await subtle.importKey('spki', c.spki, WC[c.alg][0], false, ['verify']);
    await subtle.verify(WC[c.alg][1], k, c.sig, c.input);
    wcFirst.push((performance.now() - t0) * 1000);
  }
  // A key the bundle has never seen, not only a new text of a known key (an
  // ES256 key's table is kept by public point, so a new text of the same key
  // reuses it): fresh key pairs, generated before timing; uses 1, 2 and 3.
  const fresh = [[], [], []]; const wcFresh = [];
  const pairs = Array.from({ length: c.alg.startsWith('ES') || c.alg === 'EdDSA' ? 30 : 8 }, () => generateKeyPairSync(...GEN[c.alg]));
  for (const { privateKey, publicKey } of pairs) {
    const t = w.signJwt({ header: { typ: 'at+jwt', kid: 'fresh' }, claims: CLAIMS, alg: c.alg, key: privateKey.export({ format: 'pem', type: 'pkcs8' }), now: NOW });
    const text = JSON.stringify({ ...publicKey.export({ format: 'jwk' }), kid: 'fresh', use: 'sig' });
    for (let u = 0; u < 3; u++) {
      const t0 = performance.now(); const r = w.inspectJwt(t, { now: NOW, key: text }); fresh[u].push((performance.now() - t0) * 1000);
      if (r.verification.status !== 'valid') throw new Error(`${c.alg} fresh key does not verify: ${r.verification.detail}`);
    }
    const [fin, fsig] = split(t);
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    const t0 = performance.now();
    const k = await subtle.importKey('spki', spki, WC[c.alg][0], false, ['verify']);
    await subtle.verify(WC[c.alg][1], k, fsig, fin);
    wcFresh.push((performance.now() - t0) * 1000);
  }
  out.verify[c.alg] = { ...res, firstUseUs: first.map(median), webcryptoImportVerifyUs: median(wcFirst), freshKeyUs: fresh.map(median), webcryptoFreshUs: median(wcFresh) };
}

// The same paired medians inside headless Chromium, against its WebCrypto.
// The cases travel as text and base64; `paired` and `median` as their source,
// so the browser runs the very loop that Node ran above.
if (args.includes('--browser')) out.browser = await verifyInChromium();

async function verifyInChromium() {
  const { createServer } = await import('node:http');
  const { chromium } = await import('playwright-core');
  const { CHROMIUM_FLAGS } = await import('../tests/e2e/lib/browser.mjs');
  const { CHROMIUM } = await import('../tests/e2e/lib/env.mjs');
  const files = { '/sealpost_wasm.js': 'text/javascript', '/sealpost_wasm_bg.wasm': 'application/wasm' };
  const server = createServer((req, res) => {
    // COOP + COEP: a cross-origin isolated page, whose timers count in 5 us steps.
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cache-Control': 'no-store' };
    if (req.url === '/') return res.writeHead(200, { ...headers, 'Content-Type': 'text/html' }).end('<!doctype html><title>jwt bench</title>');
    const type = files[req.url];
    if (!type) return res.writeHead(404).end();
    res.writeHead(200, { ...headers, 'Content-Type': type }).end(readFileSync(join(bundle, req.url.slice(1))));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    const b64 = (x) => Buffer.from(x).toString('base64');
    const sent = Object.values(cases).map((c) => ({ alg: c.alg, token: c.token, jwk: c.jwk, jwks: c.jwks, spki: b64(c.spki), input: b64(c.input), sig: b64(c.sig), wc: WC[c.alg] }));
    return await page.evaluate(async ({ sent, runs, ms, now, src }) => {
      // eslint-disable-next-line no-eval
      const median = eval(src.median);
      // eslint-disable-next-line no-eval
      const paired = eval(`(${src.paired})`);
      const w = await import('/sealpost_wasm.js');
      await w.default({ module_or_path: '/sealpost_wasm_bg.wasm' });
      const bytes = (s) => Uint8Array.from(atob(s), (ch) => ch.charCodeAt(0));
      const res = { crossOriginIsolated: globalThis.crossOriginIsolated, userAgent: navigator.userAgent, verify: {} };
      for (const c of sent) {
        let key;
        try { key = await crypto.subtle.importKey('spki', bytes(c.spki), c.wc[0], false, ['verify']); } catch { continue; }
        const [sig, input] = [bytes(c.sig), bytes(c.input)];
        if (!(await crypto.subtle.verify(c.wc[1], key, sig, input))) throw new Error(`${c.alg} does not verify in Chromium's WebCrypto`);
        if (w.inspectJwt(c.token, { now, key: c.jwk }).verification.status !== 'valid') throw new Error(`${c.alg} does not verify in WASM in Chromium`);
        const wc = () => crypto.subtle.verify(c.wc[1], key, sig, input);
        const r = { jwk: [], jwks: [], inspectOnly: [] };
        for (let i = 0; i < runs; i++) {
          r.jwk.push(await paired(() => w.inspectJwt(c.token, { now, key: c.jwk }), wc, ms / 2));
          r.jwks.push(await paired(() => w.inspectJwt(c.token, { now, jwks: c.jwks }), wc, ms / 4));
          r.inspectOnly.push(await paired(() => w.inspectJwt(c.token, { now }), wc, ms / 4));
        }
        res.verify[c.alg] = r;
      }
      return res;
    }, { sent, runs, ms: seconds * 1000, now: NOW, src: { median: median.toString(), paired: paired.toString() } });
  } finally {
    await browser.close().catch(() => {});
    server.close();
  }
}

const baseDir = arg('--baseline', null);
if (baseDir) {
  const bdir = resolve(baseDir);
  const b = await import(pathToFileURL(join(bdir, 'sealpost_wasm.js')).href + '?baseline');
  b.initSync({ module: readFileSync(join(bdir, 'sealpost_wasm_bg.wasm')) });
  out.baseline = { bundle: bdir };
  for (const c of Object.values(cases)) {
    const cur = () => w.inspectJwt(c.token, { now: NOW, key: c.jwk });
    const old = () => b.inspectJwt(c.token, { now: NOW, key: c.jwk });
    if (old().verification.status !== 'valid') throw new Error(`${c.alg} does not verify in the baseline bundle`);
    const rs = [];
    for (let r = 0; r < runs; r++) rs.push(await paired(cur, async () => old(), (seconds * 1000) / 2));
    out.baseline[c.alg] = rs;
  }
  // The same without a key: inspection and the report alone, where a change
  // outside the signature check shows at its own scale.
  const c = cases.RS256;
  if (c) {
    const rs = [];
    for (let r = 0; r < runs; r++) rs.push(await paired(() => w.inspectJwt(c.token, { now: NOW }), async () => b.inspectJwt(c.token, { now: NOW }), (seconds * 1000) / 2));
    out.baseline.noKey = rs;
  }
}

// Fresh processes: the first calls of a process that has just loaded the bundle.
const coldRuns = Number(arg('--cold', '5'));
if (coldRuns > 0) {
  const { execFileSync } = await import('node:child_process');
  // The child: keys made with Node's crypto before any timing; prints JSON.
  const child = `
    import { readFileSync } from 'node:fs';
    import { generateKeyPairSync, sign } from 'node:crypto';
    const [dir, alg] = process.argv.slice(1);
    const GEN = ${JSON.stringify(GEN)};
    const b64u = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const NOW = ${NOW};
    const make = () => {
      const { privateKey, publicKey } = generateKeyPairSync(...GEN[alg]);
      const input = b64u({ alg, typ: 'JWT' }) + '.' + b64u({ sub: 'x', exp: NOW + 600 });
      const opts = alg === 'ES256' ? { key: privateKey, dsaEncoding: 'ieee-p1363' } : alg === 'PS256' ? { key: privateKey, padding: 6, saltLength: 32 } : privateKey;
      const sig = sign(alg === 'EdDSA' ? null : 'sha256', Buffer.from(input), opts);
      return { token: input + '.' + sig.toString('base64url'), key: JSON.stringify(publicKey.export({ format: 'jwk' })) };
    };
    const [a, b] = [make(), make()];
    const w = await import(dir + '/sealpost_wasm.js');
    w.initSync({ module: readFileSync(new URL(dir + '/sealpost_wasm_bg.wasm')) });
    const time = (token, key) => {
      const t0 = performance.now();
      const r = w.inspectJwt(token, key ? { now: NOW, key } : { now: NOW });
      const ms = performance.now() - t0;
      if (key && r.verification.status !== 'valid') throw new Error(alg + ': ' + r.verification.detail);
      return ms;
    };
    console.log(JSON.stringify([time(a.token), time(a.token, a.key), time(a.token, a.key), time(b.token, b.key)]));
  `;
  const bundles = [['this', bundle], ...(baseDir ? [['baseline', resolve(baseDir)]] : [])];
  out.cold = {};
  for (const alg of Object.keys(cases)) {
    const got = Object.fromEntries(bundles.map(([name]) => [name, []]));
    for (let i = 0; i < coldRuns; i++) {
      for (const [name, dir] of bundles) {
        const text = execFileSync(process.execPath, ['--input-type=module', '-e', child, pathToFileURL(dir).href, alg], { encoding: 'utf8' });
        got[name].push(JSON.parse(text));
      }
    }
    out.cold[alg] = Object.fromEntries(Object.entries(got).map(([name, rows]) => [name, [0, 1, 2, 3].map((k) => median(rows.map((r) => r[k])))]));
  }
}

if (asJson) console.log(JSON.stringify(out, null, 2));
else {
  const us = (ops) => (1e6 / ops).toFixed(1) + ' µs';
  const f = (x) => x.toFixed(2);
  console.log(`RS256 access token: ${out.tokenBytes} bytes`);
  console.log(`inspect   WASM inspectJwt (full report) ${Math.round(out.wasmInspect)} ops/s (${us(out.wasmInspect)})`);
  console.log(`          jose decodeJwt+decodeProtectedHeader ${Math.round(out.joseDecode)} ops/s (${us(out.joseDecode)})  -> WASM/jose throughput ${out.inspectRatio.toFixed(2)}x`);
  console.log(`          floor: JSON.parse of the ${out.reportBytes}-byte report alone ${Math.round(out.reportJsonParse)} ops/s (${us(out.reportJsonParse)})`);
  console.log(`verify: median of paired per-iteration ratios, WASM inspectJwt (same key text each time) / WebCrypto verify (key imported once); ${runs} runs`);
  const line = (rs) => rs.map((r) => `${f(r.ratio)}x`).join(' ') + `  (WASM ${rs.map((r) => r.wasmUs.toFixed(0)).join('/')} µs, WebCrypto ${rs.map((r) => r.webcryptoUs.toFixed(0)).join('/')} µs)`;
  const pairedLines = (alg, v) => {
    console.log(`${alg.padEnd(6)} JWK   ${line(v.jwk)}`);
    console.log(`${''.padEnd(6)} JWKS  ${line(v.jwks)}`);
    console.log(`${''.padEnd(6)} no key (inspection alone) ${line(v.inspectOnly)}`);
  };
  for (const [alg, v] of Object.entries(out.verify)) {
    pairedLines(alg, v);
    console.log(`${''.padEnd(6)} first use of a new key text: ${v.firstUseUs.map((x) => x.toFixed(0)).join(' / ')} µs (uses 1/2/3)  vs WebCrypto importKey+verify ${v.webcryptoImportVerifyUs.toFixed(0)} µs`);
    console.log(`${''.padEnd(6)} first use of a new key:      ${v.freshKeyUs.map((x) => x.toFixed(0)).join(' / ')} µs (uses 1/2/3)  vs WebCrypto importKey+verify ${v.webcryptoFreshUs.toFixed(0)} µs`);
  }
  if (out.browser) {
    const b = out.browser;
    console.log(`in Chromium (${/Chrome\/[\d.]+/.exec(b.userAgent)?.[0] ?? b.userAgent}, headless${b.crossOriginIsolated ? ', cross-origin isolated: 5 us timers' : ', NOT cross-origin isolated: 100 us timers'}): WASM inspectJwt / crypto.subtle.verify, paired medians; ${runs} runs`);
    for (const [alg, v] of Object.entries(b.verify)) pairedLines(alg, v);
  }
  if (out.baseline) {
    console.log(`vs baseline ${out.baseline.bundle}: median of paired ratios this bundle / baseline (inspectJwt, same JWK text); ${runs} runs`);
    for (const c of Object.values(cases)) {
      const rs = out.baseline[c.alg];
      console.log(`${c.alg.padEnd(6)} ${rs.map((r) => `${f(r.ratio)}x`).join(' ')}  (this ${rs.map((r) => r.wasmUs.toFixed(0)).join('/')} µs, baseline ${rs.map((r) => r.webcryptoUs.toFixed(0)).join('/')} µs)`);
    }
    const nk = out.baseline.noKey;
    if (nk) console.log(`no key (RS256 token, inspection alone) ${nk.map((r) => `${f(r.ratio)}x`).join(' ')}  (this ${nk.map((r) => r.wasmUs.toFixed(1)).join('/')} µs, baseline ${nk.map((r) => r.webcryptoUs.toFixed(1)).join('/')} µs)`);
  }
  if (out.cold) {
    console.log(`fresh process (median of ${coldRuns} per algorithm): ms for its 1st inspectJwt without a key / a 1st key's 1st verification / that key's 2nd / a 2nd key's 1st`);
    for (const [alg, v] of Object.entries(out.cold)) {
      console.log(`${alg.padEnd(6)} ${Object.entries(v).map(([name, t]) => `${name} ${t.map((x) => x.toFixed(2)).join(' / ')}`).join('   ')}`);
    }
  }
}
