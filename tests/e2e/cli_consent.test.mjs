// End to end: the real `sealpost` CLI against the real broker process, with
// headless Chromium answering on the consent page (www/). The CLI prints the
// link, code and fingerprint; the page must show the same code and compute the
// same fingerprint; the CLI receives exactly the typed values, for both
// envelope kinds, with --format json, env, raw and with --exec. The secret is
// never on the CLI's stderr, nor in the argv of the --exec child.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { startBroker } from "./lib/broker.mjs";
import { launchBrowser, guardPage, screenshot } from "./lib/browser.mjs";
import { fillForm, makeSecret, waitForState } from "./lib/consent.mjs";
import { CLI_BIN, requireBuilt } from "./lib/env.mjs";

let broker;
let browser;

before(async () => {
  requireBuilt(CLI_BIN, "build it with `cargo build -p sealpost` or run `cargo xtask test`");
  broker = await startBroker();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await broker?.stop();
});

/**
 * Start `sealpost request --broker <broker> ...args`. Resolves `banner` once
 * the URL, code and fingerprint are on stderr; `done` when the process exits.
 */
function runCli(args, env = {}) {
  const child = spawn(CLI_BIN, ["request", "--broker", broker.url, "--key-bits", "2048", ...args], {
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out = [];
  let err = "";
  child.stdout.on("data", (d) => out.push(d));
  const banner = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner from the CLI in 30 s:\n${err}`)), 30_000);
    child.stderr.on("data", (d) => {
      err += d.toString("utf8");
      const url = /^\s+(https?:\/\/\S+\/connect\/\S+)\s*$/m.exec(err);
      const code = /^\s+Code:\s+(\S+)\s*$/m.exec(err);
      const fp = /^\s+Fingerprint:\s+([0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4})\s+\((SHA256:[A-Za-z0-9+/]+)\)\s*$/m.exec(err);
      if (url && code && fp) {
        clearTimeout(timer);
        resolve({ url: url[1], code: code[1], fpShort: fp[1], fpLong: fp[2] });
      }
    });
    child.once("exit", () => {
      clearTimeout(timer);
      reject(new Error(`CLI exited before printing the banner:\n${err}`));
    });
  });
  const done = new Promise((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out).toString("utf8"), stderr: err })),
  );
  return { child, banner, done };
}

/** Play the person: open the link, compare code and fingerprint, confirm, type, submit. */
async function answer(banner, values, name) {
  const page = await browser.context.newPage();
  const g = await guardPage(page);
  try {
    assert.ok(banner.url.startsWith(broker.url), `${banner.url} is on the broker`);
    await page.goto(banner.url);
    await waitForState(page, "review");
    assert.equal(await page.getByTestId("code").innerText(), banner.code, "page shows the code the CLI printed");
    assert.equal(await page.getByTestId("fingerprint").innerText(), banner.fpShort, "page computes the fingerprint the CLI printed");
    assert.equal(await page.getByTestId("fingerprint-long").textContent(), banner.fpLong);
    await page.getByTestId("confirm").click();
    await waitForState(page, "form");
    await fillForm(page, values);
    await page.getByTestId("submit").click();
    await waitForState(page, "done");
    await screenshot(page, `cli-e2e-${name}-done`);
    assert.deepEqual(g.errors, []);
  } finally {
    await page.close();
  }
}

function assertNoSecret(text, secret, where) {
  assert.equal(text.indexOf(secret), -1, `secret found in ${where}`);
}

test("LinkAuth envelope, --format json: exactly the typed values on stdout", async () => {
  const secret = makeSecret("json");
  const run = runCli(["--field", "api_key:API key:password", "--field", "account:Account:text:false", "--display-name", "CLI e2e json"]);
  const banner = await run.banner;
  await answer(banner, { "API key": secret, Account: "ops@example.com" }, "json");
  const res = await run.done;
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(JSON.parse(res.stdout), { api_key: secret, account: "ops@example.com" });
  assert.match(res.stderr, /in a LinkAuth envelope/);
  assertNoSecret(res.stderr, secret, "the CLI's stderr");
  assertNoSecret(broker.logs().toString("utf8"), secret, "the broker's logs");
});

test("JWE envelope, --format env: shell lines with the typed values", async () => {
  const secret = makeSecret("env'quote");
  const run = runCli(["--jwe", "--field", "username:Username:text", "--field", "password:Password", "--format", "env", "--env-prefix", "DB_"]);
  const banner = await run.banner;
  await answer(banner, { Username: "alice", Password: secret }, "env-jwe");
  const res = await run.done;
  assert.equal(res.code, 0, res.stderr);
  const quoted = `'${secret.replace(/'/g, "'\\''")}'`;
  assert.equal(res.stdout, `export DB_PASSWORD=${quoted}\nexport DB_USERNAME='alice'\n`);
  assert.match(res.stderr, /in a JWE envelope/);
  assertNoSecret(res.stderr, secret, "the CLI's stderr");
});

test("JWE envelope, --format raw FIELD: only that value, no newline", async () => {
  const secret = makeSecret("raw");
  const run = runCli(["--jwe", "--field", "token:Token", "--field", "note:Note:textarea:false", "--format", "raw", "token"]);
  const banner = await run.banner;
  await answer(banner, { Token: secret, Note: "line one\nline two" }, "raw-jwe");
  const res = await run.done;
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, secret);
  assert.match(res.stderr, /in a JWE envelope/);
  assertNoSecret(res.stderr, secret, "the CLI's stderr");
});

test("LinkAuth envelope, --exec: the child gets the secret in its environment, not in argv", async () => {
  const secret = makeSecret("exec");
  const script =
    "const fs=require('fs');" +
    "process.stdout.write(JSON.stringify({key:process.env.SVC_API_KEY,argv:fs.readFileSync('/proc/self/cmdline','utf8').split('\\0')}))";
  const run = runCli(["--template", "api_key", "--env-prefix", "SVC_", "--exec", "--", process.execPath, "-e", script]);
  const banner = await run.banner;
  await answer(banner, { "API key": secret }, "exec");
  const res = await run.done;
  assert.equal(res.code, 0, res.stderr);
  const child = JSON.parse(res.stdout);
  assert.equal(child.key, secret, "the child received the value");
  assert.ok(child.argv.includes("-e"), `child argv read: ${child.argv}`);
  assert.ok(!child.argv.some((a) => a.includes(secret)), "secret not in the child's argv");
  assertNoSecret(res.stderr, secret, "the CLI's stderr");
  assert.match(res.stderr, /SVC_API_KEY/);
});

test("a JWT in the answer: identity summary (iss, sub, email, aud, exp) on stderr", async () => {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const jwt = `${b64({ alg: "RS256", typ: "JWT" })}.${b64({ iss: "https://issuer.example", sub: "user-42", email: "dev@example.com", aud: "sealpost-e2e", exp })}.c2lnbmF0dXJl`;
  const run = runCli(["--field", "id_token:ID token:textarea", "--format", "raw", "id_token"]);
  const banner = await run.banner;
  await answer(banner, { "ID token": jwt }, "jwt");
  const res = await run.done;
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, jwt);
  assert.match(res.stderr, /"id_token" holds a JWT \(RS256, not verified\): iss=https:\/\/issuer\.example sub=user-42 email=dev@example\.com aud=sealpost-e2e exp=\S+ \(in (59m\d\ds|1h00m)\)/);
  assert.equal(res.stderr.indexOf(jwt), -1, "the token itself is not printed on stderr");
});
