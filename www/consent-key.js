// Sealpost consent: the agent key's fingerprint before the WASM bundle is
// there, for the one spelling a broker normally sends, so the review (code,
// fingerprint, confirm) can be drawn while the bundle still loads.
//
// `earlyFingerprint(text)` answers only when `text` is, character for
// character, the wire form the core itself writes for a key it accepts
// (crates/core/src/keys.rs `AgentPublicKey::to_wire`; the broker stores every
// key in that form): padded standard base64, nothing around it, of the
// canonical DER SubjectPublicKeyInfo
//   SEQUENCE { SEQUENCE { rsaEncryption, NULL },
//              BIT STRING { SEQUENCE { INTEGER n, INTEGER 65537 } } }
// with n odd and of 2048 to 8192 bits (`MIN_KEY_BITS`, `MAX_KEY_BITS`,
// `REQUIRED_EXPONENT`). The text is decoded, the modulus read, the canonical
// SPKI of that modulus written again and encoded again, and the two texts must
// be equal: every spelling the core would refuse, and every other spelling it
// accepts (PEM, PKCS#1, unpadded or URL-safe base64, whitespace, absent
// algorithm parameters), gives null. For a text this accepts, the core parses
// the same key and fingerprints the same DER bytes, so the fingerprint (SHA-256
// with WebCrypto's `digest`) is the core's. Null also when WebCrypto is missing
// (an insecure context).
//
// Null never refuses a key: the flow then waits for the WASM, whose checks and
// error codes decide (consent-flow.js `load`). And an early fingerprint is
// only shown, never relied on: the flow has the WASM compute it again before
// anything is confirmed or sealed, and stops with "bad-key" if they differ.

/** `SEQUENCE { rsaEncryption, NULL }`, as the core writes it. */
const ALGORITHM = [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
/** `INTEGER 65537`. */
const EXPONENT = [0x02, 0x03, 0x01, 0x00, 0x01];
const MIN_KEY_BITS = 2048;
const MAX_KEY_BITS = 8192;
/** Longest text looked at: the wire form of an 8192-bit key is 1,404 characters. */
const MAX_TEXT = 2048;

/** DER tag and length. */
function header(out, tag, len) {
  out.push(tag);
  if (len < 0x80) out.push(len);
  else if (len < 0x100) out.push(0x81, len);
  else out.push(0x82, len >> 8, len & 0xff);
}

const derLen = (len) => len + (len < 0x80 ? 2 : len < 0x100 ? 3 : 4);

/** The canonical SPKI of modulus `n` (no leading zero byte), as keys.rs `encode_spki`. */
export function canonicalSpki(n) {
  const sign = n[0] & 0x80 ? 1 : 0;
  const rsaKey = derLen(sign + n.length) + EXPONENT.length;
  const bitString = 1 + derLen(rsaKey);
  const info = ALGORITHM.length + derLen(bitString);
  const out = [];
  header(out, 0x30, info);
  out.push(...ALGORITHM);
  header(out, 0x03, bitString);
  out.push(0);
  header(out, 0x30, rsaKey);
  header(out, 0x02, sign + n.length);
  if (sign) out.push(0);
  const head = Uint8Array.from(out);
  const der = new Uint8Array(head.length + n.length + EXPONENT.length);
  der.set(head);
  der.set(n, head.length);
  der.set(EXPONENT, head.length + n.length);
  return der;
}

/** `[tag, start, end]` of the element at `at` in `b` (contents b[start..end]), or null. Short and 1-2 byte lengths only. */
function element(b, at) {
  if (at + 2 > b.length) return null;
  const tag = b[at];
  let len = b[at + 1];
  let start = at + 2;
  if (len === 0x81) {
    len = b[at + 2];
    start = at + 3;
  } else if (len === 0x82) {
    len = (b[at + 2] << 8) | b[at + 3];
    start = at + 4;
  } else if (len > 0x80) return null;
  const end = start + len;
  return end <= b.length && start <= b.length ? [tag, start, end] : null;
}

/**
 * The modulus of the RSA key in DER SPKI `der` (big-endian, without the sign
 * byte), when the key has the canonical shape, or null. Loose by itself: the
 * caller compares the whole text with the one written again from it.
 */
function modulusOf(der) {
  const info = element(der, 0);
  if (!info || info[0] !== 0x30) return null;
  const alg = element(der, info[1]);
  if (!alg || alg[0] !== 0x30) return null;
  const bits = element(der, alg[2]);
  if (!bits || bits[0] !== 0x03 || der[bits[1]] !== 0) return null;
  const key = element(der, bits[1] + 1);
  if (!key || key[0] !== 0x30) return null;
  const n = element(der, key[1]);
  if (!n || n[0] !== 0x02) return null;
  let start = n[1];
  if (der[start] === 0 && start + 1 < n[2]) start += 1;
  return der.subarray(start, n[2]);
}

/**
 * The DER SPKI of `text` when `text` is exactly the core's wire form of a key
 * the core accepts (see the top of this file), or null.
 */
export function canonicalKeyDer(text) {
  if (typeof text !== "string" || text.length > MAX_TEXT || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  let bin;
  try {
    bin = atob(text);
  } catch {
    return null;
  }
  const der = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) der[i] = bin.charCodeAt(i);
  const n = modulusOf(der);
  if (!n || !n.length || n[0] === 0 || (n[n.length - 1] & 1) === 0) return null;
  const bits = n.length * 8 - Math.clz32(n[0]) + 24;
  if (bits < MIN_KEY_BITS || bits > MAX_KEY_BITS) return null;
  const canonical = canonicalSpki(n);
  if (canonical.length !== der.length || canonical.some((b, i) => b !== der[i])) return null;
  // The same bytes may have other base64 spellings (non-zero padding bits):
  // only the one the core writes counts.
  let again = "";
  for (let i = 0; i < canonical.length; i += 0x2000) again += String.fromCharCode(...canonical.subarray(i, i + 0x2000));
  return btoa(again) === text ? canonical : null;
}

/** `{short, long}` of a SHA-256 digest, as keys.rs `Fingerprint::short` and `long`. */
export function fingerprintForms(digest) {
  const d = new Uint8Array(digest);
  let hex = "";
  for (let i = 0; i < 6; i++) hex += d[i].toString(16).padStart(2, "0");
  let bin = "";
  for (const b of d) bin += String.fromCharCode(b);
  return {
    short: `${hex.slice(0, 4)}-${hex.slice(4, 8)}-${hex.slice(8, 12)}`,
    long: `SHA256:${btoa(bin).replace(/=+$/, "")}`,
  };
}

/**
 * A promise of `{short, long}`, the core's fingerprint of the key in `text`,
 * or of null when this module cannot tell (see the top of this file). Never rejects.
 */
export async function earlyFingerprint(text) {
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (!subtle || typeof subtle.digest !== "function") return null;
  const der = canonicalKeyDer(text);
  if (!der) return null;
  try {
    return fingerprintForms(await subtle.digest("SHA-256", der));
  } catch {
    return null;
  }
}
