// The consent modules' pure helpers, imported straight into Node: code
// display normalisation, fingerprint comparison, the link parser of the
// extension's answer page, and the session id, which comes from the WASM
// bundle's `userCode` (the seal-only bundle, initialised here from its bytes).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  codeFromPath,
  compareFingerprint,
  formatCode,
  normalizeCode,
  originSecurityMode,
  parseAnswerLink,
  userCodeOf,
} from "../../www/consent.js";
import { requireSealBundle } from "./lib/env.mjs";
import { fingerprintOf, generateRsaKey } from "./lib/agent.mjs";

test("codes: from the path, normalised, formatted", () => {
  assert.equal(codeFromPath("/connect/ABCD-1234"), "ABCD-1234");
  assert.equal(codeFromPath("/connect/abcd1234/"), "abcd1234");
  assert.equal(codeFromPath("/connect"), "");
  assert.equal(codeFromPath("/connect/"), "");
  assert.equal(codeFromPath("/connect/%E0%A4%A"), "", "bad escapes give no code");
  assert.equal(normalizeCode(" ab-cd 12-34 "), "ABCD1234");
  assert.equal(formatCode("abcd1234"), "ABCD-1234");
  assert.equal(formatCode("ABCD-1234"), "ABCD-1234");
  assert.equal(formatCode("abc"), "ABC");
});

async function loadSealBundle() {
  const dir = requireSealBundle();
  const mod = await import(pathToFileURL(join(dir, "sealpost_wasm.js")).href);
  await mod.default({ module_or_path: await readFile(join(dir, "sealpost_wasm_bg.wasm")) });
  return mod;
}

test("session id from the WASM userCode: lowercase hex SHA-256 of the code upper-cased without hyphen", async () => {
  const mod = await loadSealBundle();
  const expected = createHash("sha256").update("ABCD1234").digest("hex");
  for (const typed of ["abcd-1234", "ABCD1234", " ab cd-12 34 "]) {
    assert.deepEqual(userCodeOf(mod, typed), { code: "ABCD1234", display: "ABCD-1234", sessionId: expected }, typed);
  }
  for (const bad of ["", "abc", "ABCD-12345", "ÄBCD-1234", "ABCD_1234!"]) {
    assert.equal(userCodeOf(mod, bad), null, `${JSON.stringify(bad)} is not a user code`);
    assert.throws(() => mod.userCode(bad), (e) => e.code === "ERR_CODE_INVALID");
  }
});

test("answer links: any broker's /connect/CODE, a path prefix, a broker URL plus code; nothing else", () => {
  assert.deepEqual(parseAnswerLink("http://127.0.0.1:8080/connect/ABCD-1234"), { origin: "http://127.0.0.1:8080", apiBase: "http://127.0.0.1:8080", code: "ABCD-1234" });
  assert.deepEqual(parseAnswerLink("https://b.example/linkauth/connect/abcd1234/"), { origin: "https://b.example", apiBase: "https://b.example/linkauth", code: "abcd1234" });
  assert.deepEqual(parseAnswerLink("https://b.example/connect"), { origin: "https://b.example", apiBase: "https://b.example", code: "" });
  assert.deepEqual(parseAnswerLink("https://b.example/", "ABCD-1234"), { origin: "https://b.example", apiBase: "https://b.example", code: "ABCD-1234" });
  assert.deepEqual(parseAnswerLink("https://b.example/connect?user_code=ABCD1234"), { origin: "https://b.example", apiBase: "https://b.example", code: "ABCD1234" });
  for (const bad of ["", "not a url", "javascript:alert(1)", "file:///etc/passwd", "https://u:p@b.example/connect/ABCD1234", "https://b.example/connect/%E0%A4%A"]) {
    assert.throws(() => parseAnswerLink(bad), TypeError, bad);
  }
  // An empty box is told what to paste, not that it is "not a link".
  assert.throws(() => parseAnswerLink("  "), { name: "TypeError", message: /^Paste the link your agent printed/ });
  assert.throws(() => parseAnswerLink("not a url"), { message: /^That is not a link/ });
  assert.equal(originSecurityMode("https://b.example"), "production");
  assert.equal(originSecurityMode("http://127.0.0.1:8080"), "development");
  assert.equal(originSecurityMode("http://[::1]:8080"), "development");
  assert.equal(originSecurityMode("http://localhost:8080"), "development");
  assert.equal(originSecurityMode("http://b.example"), "insecure");
});

test("fingerprint comparison: spellings accepted, anything else refused", async () => {
  const key = await generateRsaKey();
  const fp = fingerprintOf(key.spki);
  const other = fingerprintOf(randomBytes(300));
  const cases = [
    ["", "empty"],
    ["   ", "empty"],
    [fp.short, "match"],
    [fp.short.toUpperCase(), "match"],
    [fp.short.replace(/-/g, " "), "match"],
    [fp.short.replace(/-/g, ""), "match"],
    [` ${fp.long} `, "match"],
    [fp.long.toLowerCase(), "match"],
    [fp.long.replace("SHA256:", "sha256: "), "match"],
    [`${fp.long}=`, "match"],
    [fp.hex, "match"],
    [fp.hex.toUpperCase().match(/.{2}/g).join(":"), "match"],
    [fp.long.slice("SHA256:".length), "match"],
    [fp.short.slice(0, 6), "incomplete"],
    [fp.long.slice(0, 20), "incomplete"],
    [other.short, "mismatch"],
    [other.long, "mismatch"],
    [other.hex, "mismatch"],
    [`${fp.short}${fp.hex[12] === "0" ? "1" : "0"}`, "mismatch"],
    [fp.hex.slice(0, 20), "incomplete"],
    [fp.short.replace(/.$/, (c) => (c === "0" ? "1" : "0")), "mismatch"],
    ["not a fingerprint", "mismatch"],
  ];
  for (const [input, want] of cases) {
    assert.equal(compareFingerprint(input, fp), want, JSON.stringify(input));
  }
});
