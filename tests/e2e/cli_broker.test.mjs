// The real `sealpost` CLI against the real broker process, with the person's
// side played through the browser-facing API from Node (no page): the sealing
// is done by independent implementations (WebCrypto for the LinkAuth envelope,
// panva `jose` for JWE), so the CLI proves it opens what they seal. Covers
// `request --no-wait` + `poll`, the inbox (agent name, reason, decline -> exit
// 4), expiry -> exit 3, and a broker that requires an API key -> exit 7 / 0.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { webcrypto } from "node:crypto";
import { CompactEncrypt } from "jose";
import { startBroker } from "./lib/broker.mjs";
import { fingerprintOf } from "./lib/agent.mjs";
import { makeSecret } from "./lib/consent.mjs";
import { CLI_BIN, requireBuilt } from "./lib/env.mjs";

const { subtle } = webcrypto;
let broker;
let dir;

before(async () => {
  requireBuilt(CLI_BIN, "build it with `cargo build -p sealpost` or run `cargo xtask test`");
  broker = await startBroker({ args: ["--poll-interval", "1"] });
  dir = await mkdtemp(join(tmpdir(), "sealpost-cli-e2e-"));
});

after(async () => {
  await broker?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Run the CLI; `onStderr(text)` sees stderr as it grows. Resolves at exit. */
function cli(args, { env = {}, onStderr } = {}) {
  const child = spawn(CLI_BIN, args, { cwd: dir, env: { ...process.env, NO_COLOR: "1", SEALPOST_RETRY_BASE_MS: "50", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const out = [];
  let err = "";
  child.stdout.on("data", (d) => out.push(d));
  child.stderr.on("data", (d) => {
    err += d.toString("utf8");
    onStderr?.(err);
  });
  const done = new Promise((resolve) => child.once("close", (code) => resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: err })));
  return { child, done };
}

async function api(path, { method = "GET", body, token, base = broker.url } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, text };
}

/** LinkAuth envelope sealed with WebCrypto (docs/protocol.md, "The envelope"). */
async function sealLinkAuth(publicKeyB64, creds) {
  const rsa = await subtle.importKey("spki", Buffer.from(publicKeyB64, "base64"), { name: "RSA-OAEP", hash: "SHA-256" }, false, ["wrapKey"]);
  const aes = await subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt"]);
  const iv = webcrypto.getRandomValues(new Uint8Array(12));
  const ct = await subtle.encrypt({ name: "AES-GCM", iv }, aes, Buffer.from(JSON.stringify(creds)));
  const wrapped = await subtle.wrapKey("raw", aes, rsa, { name: "RSA-OAEP" });
  const inner = { wrapped_key: Buffer.from(wrapped).toString("base64"), iv: Buffer.from(iv).toString("base64"), ciphertext: Buffer.from(ct).toString("base64") };
  return Buffer.from(JSON.stringify(inner)).toString("base64");
}

/** JWE envelope sealed with panva jose, sid bound in the protected header. */
async function sealJwe(publicKeyB64, creds, sid) {
  const der = Buffer.from(publicKeyB64, "base64");
  const rsa = await subtle.importKey("spki", der, { name: "RSA-OAEP", hash: "SHA-256" }, false, ["encrypt"]);
  return new CompactEncrypt(Buffer.from(JSON.stringify(creds)))
    .setProtectedHeader({ alg: "RSA-OAEP-256", enc: "A256GCM", kid: fingerprintOf(der).long, sid })
    .encrypt(rsa);
}

/** The person's side without a page: view, confirm, seal, complete. */
async function answerViaApi(code, creds, envelope, sessionId) {
  const view = await api(`/v1/connect/${code}`);
  assert.equal(view.status, 200, view.text);
  const confirm = await api(`/v1/connect/${code}/confirm`, { method: "POST", body: {} });
  assert.equal(confirm.status, 200, confirm.text);
  const ciphertext = envelope === "jwe" ? await sealJwe(view.json.public_key, creds, sessionId) : await sealLinkAuth(view.json.public_key, creds);
  const algorithm = envelope === "jwe" ? "JWE" : "RSA-OAEP-256+AES-256-GCM";
  const complete = await api(`/v1/connect/${code}/complete`, { method: "POST", body: { ciphertext, algorithm, connect_token: confirm.json.connect_token } });
  assert.equal(complete.status, 204, complete.text);
  return view.json;
}

for (const envelope of ["linkauth", "jwe"]) {
  test(`request --no-wait then poll (${envelope}, sealed by ${envelope === "jwe" ? "jose" : "WebCrypto"})`, async () => {
    const key = `agent-${envelope}.pem`;
    const args = ["request", "--broker", broker.url, "--key-bits", "2048", "--field", "api_key:API key", "--field", "user:User:text", "--key-file", key, "--no-wait"];
    if (envelope === "jwe") args.push("--jwe");
    const created = await cli(args).done;
    assert.equal(created.code, 0, created.stderr);
    const session = JSON.parse(created.stdout);
    assert.equal((await stat(join(dir, key))).mode & 0o777, 0o600, "key file is 0600");
    assert.match(await readFile(join(dir, key), "utf8"), /^-----BEGIN PRIVATE KEY-----\n/);
    await writeFile(join(dir, `session-${envelope}.json`), created.stdout);

    const secret = makeSecret(envelope);
    const view = await answerViaApi(session.code, { api_key: secret, user: "svc-bot" }, envelope, session.session_id);
    assert.equal(fingerprintOf(Buffer.from(view.public_key, "base64")).long, session.fingerprint, "the broker holds the CLI's key");

    const got = await cli(["poll", "--session", `session-${envelope}.json`, "--key-file", key, "--format", "env"]).done;
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, `export API_KEY='${secret}'\nexport USER='svc-bot'\n`);
    assert.match(got.stderr, new RegExp(`in a ${envelope === "jwe" ? "JWE" : "LinkAuth"} envelope`));
    assert.equal(got.stderr.indexOf(secret), -1);

    // exactly once: a second collection finds the session consumed
    const again = await cli(["poll", "--session", `session-${envelope}.json`, "--key-file", key]).done;
    assert.equal(again.code, 6, `consumed session: ${again.stderr}`);
    assert.match(again.stderr, /ERR_SESSION_CONSUMED/);
    assert.equal(again.stdout, "");
  });
}

test("inbox: the request shows agent name, reason and key; declining ends the CLI with exit 4", async () => {
  const inbox = await api("/v1/inboxes", { method: "POST", body: {} });
  assert.equal(inbox.status, 201, inbox.text);
  const { inbox_id, inbox_token } = inbox.json;
  // an inbox takes requests only from senders its owner added (the CLI refuses a bare ib_ id)
  const sender = await api(`/v1/inboxes/${inbox_id}/senders`, { method: "POST", body: { name: "e2e runner" }, token: inbox_token });
  assert.equal(sender.status, 201, sender.text);
  const { sender_credential } = sender.json;
  let printed;
  const bannerSeen = new Promise((resolve) => {
    const run = cli(
      ["request", "--broker", broker.url, "--key-bits", "2048", "--template", "api_key", "--inbox", sender_credential, "--agent-name", "e2e-bot", "--reason", "Nightly export"],
      {
        onStderr: (err) => {
          const code = /^\s+Code:\s+(\S+)/m.exec(err);
          const fp = /^\s+Fingerprint:\s+(\S+)/m.exec(err);
          if (code && fp && !printed) {
            printed = { code: code[1], fp: fp[1] };
            resolve(run);
          }
        },
      },
    );
  });
  const run = await bannerSeen;
  const list = await api(`/v1/inboxes/${inbox_id}/requests`, { token: inbox_token });
  assert.equal(list.status, 200, list.text);
  const items = Array.isArray(list.json) ? list.json : list.json.requests;
  const item = items.find((r) => r.code.replace("-", "") === printed.code.replace("-", ""));
  assert.ok(item, `request ${printed.code} in ${list.text}`);
  assert.equal(item.agent_name, "e2e-bot");
  assert.equal(item.reason, "Nightly export");
  assert.equal(item.sender_name, "e2e runner", "every listed request names its sender");
  assert.equal(fingerprintOf(Buffer.from(item.public_key, "base64")).short, printed.fp, "inbox shows the key the CLI printed");
  const del = await api(`/v1/inboxes/${inbox_id}/requests/${item.code}`, { method: "DELETE", token: inbox_token });
  assert.ok([200, 204].includes(del.status), del.text);
  const res = await run.done;
  assert.equal(res.code, 4, res.stderr);
  assert.match(res.stderr, /declined.*\[ERR_REQUEST_DECLINED\]/);
});

test("a session nobody answers expires: exit 3", async () => {
  const res = await cli(["request", "--broker", broker.url, "--key-bits", "2048", "--template", "api_key", "--ttl", "1"]).done;
  assert.equal(res.code, 3, res.stderr);
  assert.match(res.stderr, /ERR_SESSION_EXPIRED/);
});

test("a broker that requires an API key: refused without it (exit 7), accepted with SEALPOST_API_KEY", async () => {
  const locked = await startBroker({ args: ["--api-key", "k-e2e-123"] });
  try {
    const base = ["request", "--broker", locked.url, "--key-bits", "2048", "--template", "api_key", "--key-file", "locked.pem", "--force", "--no-wait"];
    const refused = await cli(base, { env: { SEALPOST_API_KEY: "" } }).done;
    assert.equal(refused.code, 7, refused.stderr);
    assert.match(refused.stderr, /HTTP 40[13].*\[ERR_BROKER_REJECTED\]/);
    const ok = await cli(base, { env: { SEALPOST_API_KEY: "k-e2e-123" } }).done;
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(JSON.parse(ok.stdout).session_id);
    assert.equal(ok.stderr.indexOf("k-e2e-123"), -1, "the API key is not printed");
  } finally {
    await locked.stop();
  }
});
