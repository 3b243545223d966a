// Start the real broker (crates/broker) as a child process on a free port.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BROKER_BIN, WWW_DIR, requireBuilt, requireSealBundle } from "./env.mjs";

const READY = /sealpost-broker listening on (https?:\/\/\S+)/;

/**
 * Start `sealpost-broker --listen 127.0.0.1:0 --db <tmp>/broker.db …`.
 * Resolves once its first stdout line announces the URL.
 * Returns { url, dbPath, dataDir, logs(), dbBytes(), stop() }.
 */
export async function startBroker({ env = {}, args = [], timeoutMs = 30_000 } = {}) {
  requireBuilt(BROKER_BIN, "build it with `cargo build -p sealpost-broker` or run `cargo xtask test`");
  const bundleDir = requireSealBundle();
  const dataDir = await mkdtemp(join(tmpdir(), "sealpost-broker-"));
  const dbPath = join(dataDir, "broker.db");
  const child = spawn(
    BROKER_BIN,
    ["--listen", "127.0.0.1:0", "--db", dbPath, "--www-dir", WWW_DIR, "--bundle-dir", bundleDir, ...args],
    { env: { ...process.env, RUST_LOG: "debug", ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  const out = [];
  const err = [];
  child.stdout.on("data", (d) => out.push(d));
  child.stderr.on("data", (d) => err.push(d));
  const exited = new Promise((res) => child.once("exit", (code, signal) => res({ code, signal })));

  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start in ${timeoutMs} ms:\n${Buffer.concat(err)}`)), timeoutMs);
    let buf = "";
    const onData = (d) => {
      buf += d.toString("utf8");
      const nl = buf.indexOf("\n");
      if (nl === -1) return;
      const m = READY.exec(buf.slice(0, nl));
      clearTimeout(timer);
      child.stdout.off("data", onData);
      if (m) resolve(m[1].replace(/\/+$/, ""));
      else reject(new Error(`unexpected first broker line: ${buf.slice(0, nl)}`));
    };
    child.stdout.on("data", onData);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`broker exited early (${code ?? signal}):\n${Buffer.concat(err)}`));
    });
  });

  return {
    url,
    dbPath,
    dataDir,
    pid: child.pid,
    /** Everything the broker wrote to stdout and stderr so far. */
    logs: () => Buffer.concat([...out, ...err]),
    /** The database and its side files (-wal, -shm, -journal), concatenated. */
    async dbBytes() {
      const names = (await readdir(dataDir)).filter((n) => n.startsWith("broker.db"));
      const parts = await Promise.all(names.map((n) => readFile(join(dataDir, n)).catch(() => Buffer.alloc(0))));
      return { names, bytes: Buffer.concat(parts) };
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(t);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
