// The generated TypeScript declarations (dist/*/sealpost_wasm.d.ts) type-check
// real usage and reject misuse: `tsc --noEmit -p tests/types`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT, DIST, BUNDLES } from './wasm_helpers.mjs';

test('tsc --noEmit over tests/types/bundle_usage.ts passes', () => {
  const tsc = path.join(ROOT, 'node_modules', '.bin', 'tsc');
  assert.ok(existsSync(tsc), 'node_modules/.bin/tsc missing: run npm ci');
  assert.equal(path.resolve(DIST), path.join(ROOT, 'dist'), 'tests/types imports ../../dist');
  const r = spawnSync(tsc, ['--noEmit', '-p', path.join(ROOT, 'tests/types/tsconfig.json')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `tsc failed:\n${r.stdout}${r.stderr}`);
});

for (const name of BUNDLES) {
  test(`dist/${name}/sealpost_wasm.d.ts documents the API and its errors`, () => {
    const dts = readFileSync(path.join(DIST, name, 'sealpost_wasm.d.ts'), 'utf8');
    assert.match(dts, /export function seal\(publicKey: string, credentials: Record<string, string>\): string;/);
    assert.match(dts, /export function sealJwe\(publicKey: string, credentials: Record<string, string>, sessionId: string\): string;/);
    assert.match(dts, /export function fingerprint\(publicKey: string\): Fingerprint;/);
    assert.match(dts, /export interface Fingerprint \{/);
    assert.match(dts, /export interface SealpostError extends Error/);
    assert.match(dts, /@throws \{SealpostError\}/);
  });

  test(`dist/${name}/package.json makes it an npm package`, () => {
    const pkg = JSON.parse(readFileSync(path.join(DIST, name, 'package.json'), 'utf8'));
    assert.equal(pkg.type, 'module');
    for (const f of [pkg.main, pkg.types, ...pkg.files]) {
      assert.ok(existsSync(path.join(DIST, name, f)), `${f} listed but missing`);
    }
  });
}
