#!/usr/bin/env node
// Benchmark: seal 1 KB of credentials with the Sealpost WASM module and with
// WebCrypto (the full LinkAuth envelope, as a LinkAuth browser page does it), in
// the same process, interleaved, and print per key size the median times and the
// median ratio WASM / WebCrypto. A benchmark, not a test: it prints figures and
// exits 0 whatever they are (non-zero only if it cannot run at all, e.g. the
// bundle is missing or an envelope does not open).
//
//   cargo xtask build            # writes dist/seal/
//   node bench/seal.mjs [--iterations 400] [--warmup 40] [--sizes 2048,3072,4096]
//                       [--bundle dist/seal] [--json]
//
// The bundle directory defaults to $SEALPOST_DIST/seal, else <repo>/dist/seal.
// Both sides seal to the same freshly generated key, given as the base64 DER
// SPKI wire string (so both include parsing/importing the key in every seal).

import { readFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { webcrypto } from "node:crypto";
import os from "node:os";

const subtle = webcrypto.subtle;
const here = dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const opts = { iterations: 400, warmup: 40, sizes: [2048, 3072, 4096], bundle: null, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--iterations") opts.iterations = Number.parseInt(next(), 10);
    else if (a === "--warmup") opts.warmup = Number.parseInt(next(), 10);
    else if (a === "--sizes") opts.sizes = next().split(",").map((s) => Number.parseInt(s, 10));
    else if (a === "--bundle") opts.bundle = next();
    else if (a === "--json") opts.json = true;
    else if (a === "--help" || a === "-h") {
      console.log("node bench/seal.mjs [--iterations N] [--warmup N] [--sizes 2048,3072,4096] [--bundle DIR] [--json]");
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!(opts.iterations > 0) || !(opts.warmup >= 0) || opts.sizes.some((s) => ![2048, 3072, 4096].includes(s))) {
    throw new Error("iterations > 0, warmup >= 0, sizes among 2048,3072,4096");
  }
  return opts;
}

// --- base64 exactly as a browser page would do it (btoa over a binary string).
function b64(bytes) {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = "";
  for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000));
  return btoa(s);
}
function unb64(text) {
  const s = atob(text);
  const u8 = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) u8[i] = s.charCodeAt(i);
  return u8;
}

/** Credentials whose JSON serialization is exactly 1024 bytes. */
function credentials1k() {
  const base = { username: "agent@example.com", password: "" };
  const overhead = JSON.stringify(base).length;
  const creds = { username: base.username, password: "s".repeat(1024 - overhead) };
  if (new TextEncoder().encode(JSON.stringify(creds)).length !== 1024) throw new Error("credentials are not 1 KB");
  return creds;
}

/** The LinkAuth envelope with WebCrypto: what a LinkAuth consent page runs per seal. */
async function webcryptoSeal(publicKeyB64, credentials) {
  const rsaKey = await subtle.importKey("spki", unb64(publicKeyB64), { name: "RSA-OAEP", hash: "SHA-256" }, false, ["wrapKey"]);
  const aesKey = await subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt"]);
  const iv = webcrypto.getRandomValues(new Uint8Array(12));
  const plaintext = new TextEncoder().encode(JSON.stringify(credentials));
  const ct = await subtle.encrypt({ name: "AES-GCM", iv }, aesKey, plaintext);
  const wrapped = await subtle.wrapKey("raw", aesKey, rsaKey, { name: "RSA-OAEP" });
  const inner = JSON.stringify({ wrapped_key: b64(wrapped), iv: b64(iv), ciphertext: b64(ct) });
  return b64(new TextEncoder().encode(inner));
}

/** Opens a LinkAuth envelope with WebCrypto (used once per side as a sanity check). */
async function webcryptoOpen(privateKey, ciphertext) {
  const inner = JSON.parse(new TextDecoder().decode(unb64(ciphertext)));
  const aesKey = await subtle.unwrapKey("raw", unb64(inner.wrapped_key), privateKey, { name: "RSA-OAEP" },
    { name: "AES-GCM", length: 256 }, false, ["decrypt"]);
  const pt = await subtle.decrypt({ name: "AES-GCM", iv: unb64(inner.iv) }, aesKey, unb64(inner.ciphertext));
  return JSON.parse(new TextDecoder().decode(pt));
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))];
}

async function loadBundle(dir) {
  const js = join(dir, "sealpost_wasm.js");
  const wasm = join(dir, "sealpost_wasm_bg.wasm");
  if (!existsSync(js) || !existsSync(wasm)) {
    console.error(`seal bundle not found in ${dir} (sealpost_wasm.js, sealpost_wasm_bg.wasm); run \`cargo xtask build\` first`);
    process.exit(2);
  }
  const mod = await import(pathToFileURL(js).href);
  mod.initSync({ module: readFileSync(wasm) });
  if (typeof mod.seal !== "function") throw new Error("bundle has no seal export");
  return mod;
}

async function benchSize(wasm, bits, creds, opts) {
  const pair = await subtle.generateKey(
    { name: "RSA-OAEP", modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true, ["encrypt", "decrypt", "wrapKey", "unwrapKey"]);
  const spkiB64 = b64(await subtle.exportKey("spki", pair.publicKey));

  // Both sides must produce envelopes that open to the same credentials.
  for (const [side, ct] of [["wasm", wasm.seal(spkiB64, creds)], ["webcrypto", await webcryptoSeal(spkiB64, creds)]]) {
    const back = await webcryptoOpen(pair.privateKey, ct);
    // Member order may differ (sealpost-core serializes fields in name order).
    const canon = (o) => JSON.stringify(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    if (canon(back) !== canon(creds)) throw new Error(`${side} envelope did not open to the credentials`);
  }

  const tw = [];
  const tc = [];
  const ratios = [];
  const total = opts.warmup + opts.iterations;
  for (let i = 0; i < total; i++) {
    // Alternate which side goes first so neither always runs on a warmer cache.
    let w = 0;
    let c = 0;
    const runWasm = () => {
      const t0 = performance.now();
      const out = wasm.seal(spkiB64, creds);
      w = performance.now() - t0;
      if (out.length < 100) throw new Error("short envelope");
    };
    const runWebCrypto = async () => {
      const t0 = performance.now();
      const out = await webcryptoSeal(spkiB64, creds);
      c = performance.now() - t0;
      if (out.length < 100) throw new Error("short envelope");
    };
    if (i % 2 === 0) {
      runWasm();
      await runWebCrypto();
    } else {
      await runWebCrypto();
      runWasm();
    }
    if (i >= opts.warmup) {
      tw.push(w);
      tc.push(c);
      ratios.push(w / c);
    }
  }
  return {
    bits,
    iterations: opts.iterations,
    wasm_ms: { median: median(tw), p10: quantile(tw, 0.1), p90: quantile(tw, 0.9) },
    webcrypto_ms: { median: median(tc), p10: quantile(tc, 0.1), p90: quantile(tc, 0.9) },
    ratio_of_medians: median(tw) / median(tc),
    median_paired_ratio: median(ratios),
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const dir = resolve(opts.bundle ?? (process.env.SEALPOST_DIST ? join(process.env.SEALPOST_DIST, "seal") : join(here, "..", "dist", "seal")));
  const wasm = await loadBundle(dir);
  const creds = credentials1k();
  const results = [];
  for (const bits of opts.sizes) results.push(await benchSize(wasm, bits, creds, opts));

  if (opts.json) {
    console.log(JSON.stringify({ node: process.version, cpu: os.cpus()[0]?.model, bundle: dir, results }, null, 2));
    return;
  }
  const f = (x) => x.toFixed(3).padStart(7);
  console.log(`seal 1 KB credentials, WASM (${dir}) vs WebCrypto, Node ${process.version}, ${os.cpus()[0]?.model ?? "?"}`);
  console.log(`${opts.iterations} interleaved iterations per size after ${opts.warmup} warm-up; times in ms (median [p10..p90])`);
  console.log("key    | WASM seal                   | WebCrypto seal              | WASM/WebCrypto (median paired) | ratio of medians");
  for (const r of results) {
    console.log(
      `${String(r.bits).padEnd(6)} | ${f(r.wasm_ms.median)} [${f(r.wasm_ms.p10)}..${f(r.wasm_ms.p90)}] | ` +
        `${f(r.webcrypto_ms.median)} [${f(r.webcrypto_ms.p10)}..${f(r.webcrypto_ms.p90)}] | ` +
        `${r.median_paired_ratio.toFixed(2).padStart(30)} | ${r.ratio_of_medians.toFixed(2).padStart(16)}`,
    );
  }
}

main().catch((e) => {
  console.error(e?.stack ?? String(e));
  process.exit(1);
});
