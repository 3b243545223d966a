// The consent module's pure helpers, imported straight into Node: code
// normalisation, fingerprint comparison, the session id and the fallback
// SHA-256 used where crypto.subtle does not exist (insecure contexts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import {
  codeFromPath,
  compareFingerprint,
  formatCode,
  normalizeCode,
  sessionIdForCode,
  sha256,
} from "../../www/consent.js";
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

test("session id: lowercase hex SHA-256 of the code upper-cased without hyphen", async () => {
  const expected = createHash("sha256").update("ABCD1234").digest("hex");
  assert.equal(await sessionIdForCode("abcd-1234"), expected);
  assert.equal(await sessionIdForCode("ABCD1234"), expected);
});

test("fallback SHA-256 equals node:crypto on edge lengths", () => {
  for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000]) {
    const data = randomBytes(n);
    assert.equal(Buffer.from(sha256(data)).toString("hex"), createHash("sha256").update(data).digest("hex"), `length ${n}`);
  }
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
