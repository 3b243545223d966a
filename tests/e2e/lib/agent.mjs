// A test agent in Node: WebCrypto RSA-OAEP key, LinkAuth HTTP calls, and an
// independent opener for both envelopes (WebCrypto for LinkAuth, `jose` for JWE).
import { createHash, webcrypto } from "node:crypto";
import { compactDecrypt } from "jose";

const { subtle } = webcrypto;
export const ALG_LINKAUTH = "RSA-OAEP-256+AES-256-GCM";
export const ALG_JWE = "JWE";

/** Fingerprint of a DER SPKI, computed here independently of the WASM code. */
export function fingerprintOf(spkiDer) {
  const d = createHash("sha256").update(spkiDer).digest();
  const hex = d.toString("hex");
  return {
    short: `${hex.slice(0, 4)}-${hex.slice(4, 8)}-${hex.slice(8, 12)}`,
    long: `SHA256:${d.toString("base64").replace(/=+$/, "")}`,
    hex,
  };
}

/** lowercase hex SHA-256 of the code upper-cased without hyphens. */
export function sessionIdOf(code) {
  return createHash("sha256").update(String(code).toUpperCase().replace(/[^A-Z0-9]/g, "")).digest("hex");
}

export async function generateRsaKey(bits = 2048) {
  const pair = await subtle.generateKey(
    { name: "RSA-OAEP", modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["encrypt", "decrypt", "wrapKey", "unwrapKey"],
  );
  const spki = Buffer.from(await subtle.exportKey("spki", pair.publicKey));
  return { ...pair, spki, publicKeyB64: spki.toString("base64"), fingerprint: fingerprintOf(spki) };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class TestAgent {
  /** @param {string} brokerUrl e.g. http://127.0.0.1:1234 */
  static async create(brokerUrl, { bits = 2048 } = {}) {
    const agent = new TestAgent();
    agent.brokerUrl = brokerUrl.replace(/\/+$/, "");
    agent.key = await generateRsaKey(bits);
    return agent;
  }

  get publicKeyB64() {
    return this.key.publicKeyB64;
  }

  get fingerprint() {
    return this.key.fingerprint;
  }

  /**
   * POST /v1/sessions. `request` adds fields/template/display_name/envelope/…
   * Returns the response JSON and remembers session id, poll token, interval.
   */
  async createSession(request = {}) {
    const res = await fetch(`${this.brokerUrl}/v1/sessions`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ public_key: this.publicKeyB64, ...request }),
    });
    const body = await res.json().catch(() => null);
    if (res.status !== 201) throw new Error(`create session: HTTP ${res.status} ${JSON.stringify(body)}`);
    this.session = body;
    this.code = body.user_code || body.code;
    this.sessionId = body.session_id;
    this.pollToken = body.poll_token;
    this.interval = Number(body.interval) || 5;
    this.envelope = request.envelope || "linkauth";
    return body;
  }

  /** One poll: { status, body }. */
  async pollOnce() {
    const res = await fetch(`${this.brokerUrl}/v1/sessions/${this.sessionId}`, {
      headers: { Authorization: `Bearer ${this.pollToken}` },
    });
    const body = await res.json().catch(() => null);
    return { status: res.status, body };
  }

  /** Poll (respecting interval and slow_down) until `ready`; returns the ciphertext message. */
  async pollUntilReady({ timeoutMs = 60_000, intervalMs } = {}) {
    const deadline = Date.now() + timeoutMs;
    let wait = intervalMs ?? this.interval * 1000;
    while (Date.now() < deadline) {
      const { status, body } = await this.pollOnce();
      if (status === 200 && body && body.status === "ready" && body.ciphertext) return body;
      if (status === 429) {
        const next = Number(body && body.interval);
        wait = Math.max(wait, Number.isFinite(next) ? next * 1000 : wait * 2);
      } else if (status !== 200) {
        throw new Error(`poll: HTTP ${status} ${JSON.stringify(body)}`);
      }
      await sleep(wait);
    }
    throw new Error("poll: timed out waiting for ready");
  }

  /** Open a ciphertext of either kind; checks the JWE header binds this session. */
  async open(ciphertext, algorithm) {
    if (algorithm === ALG_JWE) return this.openJwe(ciphertext);
    if (algorithm === ALG_LINKAUTH) return this.openLinkAuth(ciphertext);
    throw new Error(`unknown algorithm ${algorithm}`);
  }

  async openLinkAuth(ciphertext) {
    const inner = JSON.parse(Buffer.from(ciphertext, "base64").toString("utf8"));
    const aes = await subtle.unwrapKey(
      "raw",
      Buffer.from(inner.wrapped_key, "base64"),
      this.key.privateKey,
      { name: "RSA-OAEP" },
      { name: "AES-GCM" },
      false,
      ["decrypt"],
    );
    const plain = await subtle.decrypt(
      { name: "AES-GCM", iv: Buffer.from(inner.iv, "base64") },
      aes,
      Buffer.from(inner.ciphertext, "base64"),
    );
    return JSON.parse(Buffer.from(plain).toString("utf8"));
  }

  async openJwe(jwe) {
    const { plaintext, protectedHeader } = await compactDecrypt(jwe, this.key.privateKey);
    if (protectedHeader.alg !== "RSA-OAEP-256" || protectedHeader.enc !== "A256GCM") {
      throw new Error(`unexpected JWE header ${JSON.stringify(protectedHeader)}`);
    }
    if (protectedHeader.sid !== this.sessionId) throw new Error("JWE sid is not this session");
    this.lastJweHeader = protectedHeader;
    return JSON.parse(Buffer.from(plaintext).toString("utf8"));
  }
}
