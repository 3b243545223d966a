// Where things are, for browser end-to-end tests. `cargo xtask test` exports
// SEALPOST_ROOT, SEALPOST_DIST, SEALPOST_BROKER_BIN, SEALPOST_CLI_BIN and
// CHROMIUM; local runs fall back to the repository layout.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** Repository root. */
export const ROOT = resolve(process.env.SEALPOST_ROOT || join(here, "..", "..", ".."));
/** `dist/` with the WASM bundles. */
export const DIST = resolve(process.env.SEALPOST_DIST || join(ROOT, "dist"));
/** The seal-only bundle served under /pkg/ (override: SEALPOST_SEAL_BUNDLE_DIR). */
export const SEAL_BUNDLE_DIR = resolve(process.env.SEALPOST_SEAL_BUNDLE_DIR || join(DIST, "seal"));
/** The consent page sources. */
export const WWW_DIR = join(ROOT, "www");
/** Screenshots and other artifacts (git-ignored). */
export const ARTIFACTS_DIR = join(ROOT, "test-artifacts");
/** Headless Chromium binary (never downloaded). */
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

function firstExisting(candidates) {
  return candidates.find((p) => p && existsSync(p)) || candidates.find(Boolean);
}

/** The broker binary: SEALPOST_BROKER_BIN, else target/debug under CARGO_TARGET_DIR or the repo. */
export const BROKER_BIN = firstExisting([
  process.env.SEALPOST_BROKER_BIN,
  process.env.CARGO_TARGET_DIR && join(process.env.CARGO_TARGET_DIR, "debug", "sealpost-broker"),
  join(ROOT, "target", "debug", "sealpost-broker"),
]);

/** The agent CLI binary, same rules. */
export const CLI_BIN = firstExisting([
  process.env.SEALPOST_CLI_BIN,
  process.env.CARGO_TARGET_DIR && join(process.env.CARGO_TARGET_DIR, "debug", "sealpost"),
  join(ROOT, "target", "debug", "sealpost"),
]);

/**
 * The Content-Security-Policy the broker sends on its pages (the contract in
 * the broker issue). The fake broker sends exactly this.
 */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self'; " +
  "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Throw a helpful error when a build product is missing. */
export function requireBuilt(path, how) {
  if (!existsSync(path)) throw new Error(`missing ${path}: ${how}`);
  return path;
}

export function requireSealBundle() {
  requireBuilt(join(SEAL_BUNDLE_DIR, "sealpost_wasm.js"), "run `cargo xtask build` first");
  return SEAL_BUNDLE_DIR;
}
