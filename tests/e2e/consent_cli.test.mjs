// The consent page with the real agent CLI (`sealpost request`) and the real
// broker: the fingerprint the CLI prints is the one the page computes, and the
// CLI prints exactly what was typed. Both envelope kinds.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { startBroker } from "./lib/broker.mjs";
import { launchBrowser, guardPage } from "./lib/browser.mjs";
import { fillForm, makeSecret, waitForState } from "./lib/consent.mjs";
import { CLI_BIN, requireBuilt } from "./lib/env.mjs";

/** Run `sealpost request`, resolve once it printed link and fingerprint. */
function startCli(brokerUrl, extra) {
  requireBuilt(CLI_BIN, "build it with `cargo build -p sealpost` or run `cargo xtask test`");
  const child = spawn(
    CLI_BIN,
    ["request", "--broker", brokerUrl, "--quiet", "--key-bits", "2048", "--field", "api_key:API key:password", "--field", "user:User:text", ...extra],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } },
  );
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  const done = new Promise((res) => child.once("exit", (code) => res({ code, out, err })));
  const printed = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`CLI printed no link:\n${err}`)), 20_000);
    child.stderr.on("data", (d) => {
      err += d;
      const url = /(https?:\/\/[^\s]+\/connect\/[A-Za-z0-9-]+)/.exec(err);
      const fp = /\b([0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4})\b/.exec(err);
      if (url && fp) {
        clearTimeout(t);
        resolve({ url: url[1], fingerprint: fp[1] });
      }
    });
    done.then(({ code }) => reject(new Error(`CLI exited ${code}:\n${err}`)));
  });
  return { child, printed, done };
}

for (const jwe of [false, true]) {
  test(`agent CLI + broker + page, ${jwe ? "JWE" : "LinkAuth"} envelope: same fingerprint, exact values`, async () => {
    const broker = await startBroker();
    const b = await launchBrowser();
    const g = await guardPage(b.page);
    const cli = startCli(broker.url, jwe ? ["--jwe", "--display-name", "CLI JWE"] : ["--display-name", "CLI"]);
    try {
      const { url, fingerprint } = await cli.printed;
      await b.page.goto(url);
      await waitForState(b.page, "review");
      assert.equal(await b.page.getByTestId("fingerprint").innerText(), fingerprint, "page and CLI agree on the fingerprint");
      await b.page.getByLabel("Optional: paste the fingerprint your agent printed").fill(fingerprint);
      await b.page.getByTestId("confirm").click();
      await waitForState(b.page, "form");
      const secret = makeSecret("cli");
      await fillForm(b.page, { "API key": secret, User: "robot" });
      await b.page.getByTestId("submit").click();
      await waitForState(b.page, "done");
      const { code, out, err } = await cli.done;
      assert.equal(code, 0, err);
      assert.deepEqual(JSON.parse(out), { api_key: secret, user: "robot" });
      const sent = g.requests.find((r) => r.url.endsWith("/complete"));
      assert.equal(JSON.parse(sent.body).algorithm, jwe ? "JWE" : "RSA-OAEP-256+AES-256-GCM");
      assert.deepEqual(g.cspViolations, []);
      assert.deepEqual(g.errors, []);
    } finally {
      if (cli.child.exitCode === null) cli.child.kill("SIGTERM");
      await b.close();
      await broker.stop();
    }
  });
}
