// The consent flow (www/consent-flow.js) on its own, in Node, without any DOM:
// the state machine the web page and the extension's answer page share,
// driven against the Node fake broker with the real seal-only WASM bundle.
// The checks live in the flow, not only in the view: a pasted fingerprint
// that does not match blocks confirm; JWE binds the session id from the WASM
// `userCode`; the plaintext object handed over is emptied; a retry after a
// failed send reuses the ciphertext. While the bundle still loads, the review
// shows the fingerprint consent-key.js computed; nothing is confirmed before
// the bundle has checked that key, and a disagreement ends in "bad-key".
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ConsentFlow } from "../../www/consent-flow.js";
import { startFakeBroker, problem } from "./lib/fake-broker.mjs";
import { TestAgent, generateRsaKey, sessionIdOf } from "./lib/agent.mjs";
import { requireSealBundle } from "./lib/env.mjs";

const CODE = "QZ7K-4M2P";

let bundle;
async function sealBundle() {
  if (!bundle) {
    const dir = requireSealBundle();
    const mod = await import(pathToFileURL(join(dir, "sealpost_wasm.js")).href);
    await mod.default({ module_or_path: await readFile(join(dir, "sealpost_wasm_bg.wasm")) });
    bundle = mod;
  }
  return bundle;
}

/** A flow against a fake broker; `states` records every transition. `bundle`: what the flow gets instead of the loaded bundle. */
async function setup({ session = {}, handlers, bundle: given } = {}) {
  const agent = await TestAgent.create("http://unused.invalid");
  agent.sessionId = sessionIdOf(session.code || CODE);
  const fake = await startFakeBroker({
    handlers,
    session: {
      code: CODE,
      public_key: agent.publicKeyB64,
      display_name: "Staging API key",
      envelope: "linkauth",
      expires_at: new Date(Date.now() + 600_000).toISOString(),
      fields: [{ name: "api_key", label: "API key", type: "password", required: true }],
      ...session,
    },
  });
  const states = [];
  const details = [];
  let cleared = 0;
  const flow = new ConsentFlow({
    apiBase: fake.url,
    code: CODE.toLowerCase().replace("-", ""),
    bundle: given === undefined ? await sealBundle() : given,
    onState: (state, detail) => {
      states.push(state === "error" ? `error:${detail.kind}` : state);
      details.push(detail);
    },
    onClear: () => cleared++,
  });
  const until = async (pred) => {
    for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(pred(), `timed out; states: ${states.join(" > ")}`);
  };
  const api = (tail) => fake.requests.filter((r) => r.path.startsWith("/v1/") && r.path.endsWith(tail));
  return { agent, fake, flow, states, details, until, api, cleared: () => cleared };
}

test("flow: load, fingerprint computed locally, confirm, seal, complete; plaintext object emptied", async () => {
  const { agent, fake, flow, states, until, cleared } = await setup();
  try {
    flow.start();
    await until(() => flow.state === "review");
    assert.equal(flow.request.code, CODE, "canonical display form from the WASM userCode");
    assert.equal(flow.request.sessionId, sessionIdOf(CODE));
    assert.deepEqual(flow.fingerprint, { short: agent.fingerprint.short, long: agent.fingerprint.long });
    assert.equal(flow.confirm(agent.fingerprint.short), true);
    await until(() => flow.state === "form");
    const creds = { api_key: "sk-flow-secret-1" };
    assert.equal(flow.submit(creds), true);
    await until(() => flow.state === "done");
    assert.deepEqual(creds, { api_key: "" }, "the flow empties what it was handed");
    assert.ok(cleared() >= 1, "the view was told to clear its inputs");
    assert.equal(flow.sealed, null);
    assert.equal(flow.connectToken, null);
    assert.deepEqual(states, ["loading", "review", "loading", "form", "loading", "loading", "done"]);
    assert.deepEqual(await agent.open(fake.completed[0].ciphertext, fake.completed[0].algorithm), { api_key: "sk-flow-secret-1" });
  } finally {
    await fake.stop();
  }
});

test("flow: a pasted fingerprint that is not an exact match blocks confirm (nothing sent)", async () => {
  const other = await TestAgent.create("http://unused.invalid");
  const { agent, fake, flow, until, api } = await setup();
  try {
    flow.start();
    await until(() => flow.state === "review");
    for (const pasted of [other.fingerprint.short, other.fingerprint.long, agent.fingerprint.short.slice(0, 6), "nonsense"]) {
      assert.equal(flow.confirm(pasted), false, pasted);
      assert.equal(flow.state, "review");
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(api("/confirm").length, 0, "no confirm reached the broker");
    assert.equal(flow.submit({ api_key: "x" }), false, "no submit before confirm");
    flow.stop();
    assert.equal(flow.state, "stopped");
    assert.equal(flow.confirm(""), false, "stopped is final");
  } finally {
    flow.destroy();
    await fake.stop();
  }
});

test("flow: JWE binds the session id from the WASM userCode", async () => {
  const { agent, fake, flow, until } = await setup({ session: { envelope: "jwe" } });
  try {
    flow.start();
    await until(() => flow.state === "review");
    flow.confirm("");
    await until(() => flow.state === "form");
    flow.submit({ api_key: "sk-flow-jwe" });
    await until(() => flow.state === "done");
    assert.equal(fake.completed[0].algorithm, "JWE");
    assert.deepEqual(await agent.open(fake.completed[0].ciphertext, "JWE"), { api_key: "sk-flow-jwe" });
    assert.equal(agent.lastJweHeader.sid, sessionIdOf(CODE));
    assert.equal(agent.lastJweHeader.kid, agent.fingerprint.long);
  } finally {
    await fake.stop();
  }
});

test("flow: a failed send keeps only the ciphertext; the retry resends the same bytes", async () => {
  let fails = 1;
  const { agent, fake, flow, states, details, until, api } = await setup({
    handlers: {
      complete: (ctx, next) => (fails-- > 0 ? problem(503, "Service Unavailable") : next()),
    },
  });
  try {
    flow.start();
    await until(() => flow.state === "review");
    flow.confirm("");
    await until(() => flow.state === "form");
    const creds = { api_key: "sk-flow-retry" };
    flow.submit(creds);
    await until(() => flow.state === "error");
    assert.equal(states.at(-1), "error:server");
    assert.deepEqual(creds, { api_key: "" });
    assert.ok(flow.sealed && flow.sealed.ciphertext, "ciphertext kept for the retry");
    const first = JSON.parse(api("/complete")[0].body).ciphertext;
    // What the view's "Try again" button calls.
    const retry = details.at(-1).retry;
    assert.equal(typeof retry, "function", "a 503 on send can be retried");
    retry();
    await until(() => flow.state === "done");
    const sent = api("/complete").map((r) => JSON.parse(r.body).ciphertext);
    assert.equal(sent.length, 2);
    assert.equal(sent[1], first, "the same ciphertext: sealed once");
    assert.deepEqual(await agent.open(fake.completed[0].ciphertext, fake.completed[0].algorithm), { api_key: "sk-flow-retry" });
  } finally {
    await fake.stop();
  }
});

/** A promise with its resolve function outside, for a bundle that arrives when the test says. */
function later() {
  let resolve;
  const promise = new Promise((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** The real bundle, except for `fingerprint`. */
async function bundleWith(fingerprint) {
  const real = await sealBundle();
  return { seal: real.seal, sealJwe: real.sealJwe, userCode: real.userCode, fingerprint };
}

test("flow: while the bundle loads, the review shows the WebCrypto fingerprint; confirm waits for the bundle's check", async () => {
  const arrives = later();
  const { agent, fake, flow, states, until, api } = await setup({ bundle: arrives.promise });
  try {
    flow.start();
    await until(() => flow.state === "review");
    assert.equal(flow.bundleModule, null, "the bundle is not in yet");
    assert.deepEqual(flow.fingerprint, { short: agent.fingerprint.short, long: agent.fingerprint.long });
    assert.equal(flow.request.code, CODE);
    assert.equal(flow.request.checked, false);
    assert.equal(flow.request.sessionId, null, "the session id comes from the bundle");
    assert.equal(flow.confirm(agent.fingerprint.short), true);
    assert.equal(flow.state, "loading");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(api("/confirm").length, 0, "nothing confirmed before the bundle checked the key");
    arrives.resolve(await sealBundle());
    await until(() => flow.state === "form");
    assert.equal(api("/confirm").length, 1);
    assert.equal(flow.request.checked, true);
    assert.equal(flow.request.sessionId, sessionIdOf(CODE));
    flow.submit({ api_key: "sk-flow-early" });
    await until(() => flow.state === "done");
    assert.deepEqual(await agent.open(fake.completed[0].ciphertext, fake.completed[0].algorithm), { api_key: "sk-flow-early" });
    assert.deepEqual(states, ["loading", "review", "loading", "form", "loading", "loading", "done"]);
  } finally {
    await fake.stop();
  }
});

test("flow: the bundle refuses or disagrees after an early review: bad-key, nothing confirmed", async () => {
  const other = await TestAgent.create("http://unused.invalid");
  const cases = {
    // The core refuses the key (what a stricter rule in core would do).
    refuses: () => {
      throw Object.assign(new Error("refused"), { name: "SealpostError", code: "ERR_KEY_MALFORMED" });
    },
    // The core computes another fingerprint.
    disagrees: () => ({ short: other.fingerprint.short, long: other.fingerprint.long }),
  };
  for (const [what, fingerprint] of Object.entries(cases)) {
    for (const clickFirst of [false, true]) {
      const arrives = later();
      const { fake, flow, states, until, api } = await setup({ bundle: arrives.promise });
      try {
        flow.start();
        await until(() => flow.state === "review");
        if (clickFirst) assert.equal(flow.confirm(""), true, `${what}: confirm clicked while the bundle loads`);
        arrives.resolve(await bundleWith(fingerprint));
        await until(() => flow.state === "error");
        assert.equal(states.at(-1), "error:bad-key", `${what}, confirm clicked first: ${clickFirst}`);
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(api("/confirm").length, 0, `${what}: no confirm reached the broker`);
        assert.equal(flow.confirm(""), false);
        assert.equal(flow.submit({ api_key: "x" }), false);
      } finally {
        flow.destroy();
        await fake.stop();
      }
    }
  }
});

test("flow: the bundle fails to load after an early review: the 'bundle' error, nothing confirmed", async () => {
  const arrives = later();
  const { fake, flow, states, until, api } = await setup({ bundle: arrives.promise });
  try {
    flow.start();
    await until(() => flow.state === "review");
    arrives.resolve(Promise.reject(new Error("blocked")));
    await until(() => flow.state === "error");
    assert.equal(states.at(-1), "error:bundle");
    assert.equal(api("/confirm").length, 0);
  } finally {
    await fake.stop();
  }
});

test("flow: a key in another spelling (PEM) or an unusable one waits for the bundle, which decides", async () => {
  const agent = await TestAgent.create("http://unused.invalid");
  const der = Buffer.from(agent.publicKeyB64, "base64");
  const pem = `-----BEGIN PUBLIC KEY-----\n${der.toString("base64").match(/.{1,64}/g).join("\n")}\n-----END PUBLIC KEY-----\n`;
  const arrives = later();
  const { fake, flow, until } = await setup({ session: { public_key: pem }, bundle: arrives.promise });
  try {
    flow.start();
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(flow.state, "loading", "no early review for a PEM key");
    arrives.resolve(await sealBundle());
    await until(() => flow.state === "review");
    assert.deepEqual(flow.fingerprint, { short: agent.fingerprint.short, long: agent.fingerprint.long }, "the bundle's fingerprint of the same key");
    assert.equal(flow.request.checked, true);
  } finally {
    await fake.stop();
  }
  // A key the core refuses (1024 bits): no early review either, the bundle says bad-key.
  const small = await generateRsaKey(1024);
  const s2 = await setup({ session: { public_key: small.publicKeyB64 } });
  try {
    s2.flow.start();
    await s2.until(() => s2.flow.state === "error");
    assert.deepEqual(s2.states, ["loading", "error:bad-key"]);
  } finally {
    await s2.fake.stop();
  }
});

test("flow: a bundle given as a function is started only when needed: after an early review, by confirm or at the latest 200 ms on", async () => {
  for (const via of ["confirm", "timer", "view"]) {
    let calls = 0;
    const { fake, flow, until, api } = await setup({
      bundle: () => {
        calls++;
        return sealBundle();
      },
    });
    try {
      flow.start();
      await until(() => flow.state === "review");
      assert.equal(calls, 0, `${via}: the review did not need the bundle`);
      if (via === "confirm") {
        flow.confirm("");
        assert.equal(calls, 1, "confirm starts it");
        await until(() => flow.state === "form");
        assert.equal(api("/confirm").length, 1);
      } else if (via === "timer") {
        await until(() => calls === 1);
        await until(() => flow.request.checked);
      } else {
        // What the view does once the review is drawn; later calls do nothing.
        flow.startBundle();
        flow.startBundle();
        assert.equal(calls, 1);
        await until(() => flow.request.checked);
      }
      await new Promise((r) => setTimeout(r, 250));
      assert.equal(calls, 1, "started once");
    } finally {
      flow.destroy();
      await fake.stop();
    }
  }
});
