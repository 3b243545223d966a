// Both bundles in real headless Chromium, loaded the way a page loads them:
// `await init()` with no argument (the .wasm is fetched next to the JS glue),
// randomness from crypto.getRandomValues, sealed envelopes opened by the
// browser's own WebCrypto, errors are real Errors with a `code`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { DIST, BUNDLES } from './wasm_helpers.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const TYPES = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };

let server, base, browser;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} missing (cargo xtask test installs it)`);
  server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>t</title>');
      return;
    }
    const file = path.join(DIST, path.normalize(url.pathname).replace(/^(\.\.[/\\])+/, ''));
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
    // launch() always starts from a fresh temporary user-data-dir, deleted on close.
  });
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
});

for (const name of BUNDLES) {
  test(`dist/${name} in Chromium: init() without arguments, seal opens with WebCrypto`, async () => {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e));
    await page.goto(`${base}/`);
    const result = await page.evaluate(async (bundleUrl) => {
      const w = await import(bundleUrl);
      await w.default();
      const subtle = crypto.subtle;
      const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)));
      const unb64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
      const pair = await subtle.generateKey(
        { name: 'RSA-OAEP', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
        true, ['wrapKey', 'unwrapKey'],
      );
      const spki = await subtle.exportKey('spki', pair.publicKey);
      const creds = { api_key: 'sk-\u00e9-\u{1F511}' };
      const inner = JSON.parse(atob(w.seal(b64(spki), creds)));
      const aes = await subtle.unwrapKey('raw', unb64(inner.wrapped_key), pair.privateKey, { name: 'RSA-OAEP' },
        { name: 'AES-GCM' }, false, ['decrypt']);
      const plain = await subtle.decrypt({ name: 'AES-GCM', iv: unb64(inner.iv) }, aes, unb64(inner.ciphertext));
      const digest = new Uint8Array(await subtle.digest('SHA-256', spki));
      let err;
      try { w.seal('AAAA', creds); } catch (e) { err = e; }
      return {
        opened: JSON.parse(new TextDecoder().decode(plain)),
        creds,
        fp: w.fingerprint(b64(spki)),
        expectedLong: 'SHA256:' + b64(digest).replace(/=+$/, ''),
        errIsError: err instanceof Error,
        errIsTrap: err instanceof WebAssembly.RuntimeError,
        errCode: err?.code,
        twoSealsDiffer: w.seal(b64(spki), creds) !== w.seal(b64(spki), creds),
      };
    }, `${base}/${name}/sealpost_wasm.js`);
    await page.close();
    assert.deepEqual(errors, []);
    assert.deepEqual(result.opened, result.creds);
    assert.equal(result.fp.long, result.expectedLong);
    assert.equal(result.errIsError, true);
    assert.equal(result.errIsTrap, false);
    assert.equal(result.errCode, 'ERR_KEY_MALFORMED');
    assert.equal(result.twoSealsDiffer, true);
  });
}
