// A small programmable broker in Node. It serves the consent page exactly like
// the real broker (same routes, same CSP) and answers the browser-facing API
// from an in-memory session, so tests can produce the answers that are hard
// to get from the real one: swapped keys, 409/410/429, reference-only field
// names, network failures.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { PAGE_CSP, WWW_DIR, requireSealBundle } from "./env.mjs";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".ts": "text/plain; charset=utf-8",
};

export function problem(status, title, detail = title, extra = {}) {
  return {
    status,
    headers: { "Content-Type": "application/problem+json" },
    body: { type: "about:blank", title, status, detail, ...extra },
  };
}

/** The connect answer for a session, with Sealpost extensions or reference names only. */
export function connectBody(session, { referenceOnly = false } = {}) {
  const base = {
    status: session.status,
    display_name: session.display_name,
    template_type: "form",
    code: session.code,
    fields: session.fields,
    public_key: session.public_key,
    security: session.security ?? { secure: false, mode: "development" },
  };
  if (referenceOnly) return base;
  return {
    ...base,
    user_code: session.code,
    agent_name: session.agent_name,
    reason: session.reason,
    envelope: session.envelope ?? "linkauth",
    expires_at: session.expires_at,
  };
}

const sameCode = (a, b) => String(a).toUpperCase().replace(/[^A-Z0-9]/g, "") === String(b).toUpperCase().replace(/[^A-Z0-9]/g, "");

/**
 * startFakeBroker({ session, referenceOnly, handlers })
 *  session: { code, public_key, fields, display_name, agent_name, reason, envelope, expires_at, security }
 *  handlers: optional overrides { connect, resolve, confirm, complete }(ctx, next) returning
 *    { status, body, headers } (async allowed) or calling next() for the default answer;
 *    { drop: true } cuts the connection without an answer (Chromium silently retries
 *    a request once on a reset keep-alive socket: for a deterministic "network down"
 *    in the browser, use page.route(…, (r) => r.abort("internetdisconnected"))).
 *    The third argument is the mutable session state ({ status, connect_token, … }).
 *  pages: extra files served as-is with the page CSP, { "/embed.html": "<!doctype html>…" }
 *    (an operator's own page embedding the component).
 * Returns { url, requests, session, completed, stop() }.
 */
export async function startFakeBroker({ session, referenceOnly = false, handlers = {}, pages = {} } = {}) {
  const bundleDir = requireSealBundle();
  const state = {
    status: "pending",
    connect_token: "ct_fake_" + Math.random().toString(36).slice(2),
    ...session,
  };
  const requests = [];
  const completed = [];

  const defaults = {
    connect(ctx) {
      if (!sameCode(ctx.code, state.code)) return problem(404, "Not Found", "Session not found or expired.");
      if (state.status === "confirmed") return problem(404, "Not Found", "Session not found or expired.");
      if (state.status === "ready" || state.status === "consumed") return problem(410, "Gone", "Session already completed.");
      return { status: 200, body: connectBody(state, { referenceOnly }) };
    },
    resolve(ctx) {
      return defaults.connect({ ...ctx, code: ctx.body && ctx.body.user_code });
    },
    confirm(ctx) {
      if (!sameCode(ctx.code, state.code)) return problem(404, "Not Found", "Session not found or expired.");
      if (state.status !== "pending") return problem(409, "Conflict", "Session already confirmed.");
      state.status = "confirmed";
      return { status: 200, body: { connect_token: state.connect_token } };
    },
    complete(ctx) {
      if (!sameCode(ctx.code, state.code)) return problem(404, "Not Found", "Session not found or expired.");
      if (!ctx.body || ctx.body.connect_token !== state.connect_token) return problem(403, "Forbidden", "Invalid connect token.");
      if (state.status !== "confirmed") return problem(409, "Conflict", "Session not confirmed.");
      state.status = "ready";
      completed.push({ ciphertext: ctx.body.ciphertext, algorithm: ctx.body.algorithm });
      return { status: 204 };
    },
  };

  async function answer(kind, ctx) {
    const next = () => defaults[kind](ctx);
    const h = handlers[kind];
    return h ? h(ctx, next, state) : next();
  }

  async function serveFile(res, dir, file) {
    const full = normalize(join(dir, file));
    if (!full.startsWith(normalize(dir) + sep)) return send(res, 404, "not found", { "Content-Type": "text/plain" });
    try {
      const data = await readFile(full);
      return send(res, 200, data, { "Content-Type": TYPES[extname(full)] || "application/octet-stream" });
    } catch {
      return send(res, 404, "not found", { "Content-Type": "text/plain" });
    }
  }

  function send(res, status, body, headers = {}) {
    if (res.destroyed) return;
    const isPage = (headers["Content-Type"] || "").startsWith("text/html");
    res.writeHead(status, {
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
      ...(isPage ? { "Content-Security-Policy": PAGE_CSP } : {}),
      ...headers,
    });
    res.end(body);
  }

  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url, "http://x");
    const path = url.pathname;
    let body = null;
    try {
      body = raw ? JSON.parse(raw) : null;
    } catch {
      body = null;
    }
    requests.push({ method: req.method, path, headers: req.headers, body: raw });
    try {
      let m;
      if (req.method === "GET" && Object.hasOwn(pages, path)) {
        return send(res, 200, pages[path], { "Content-Type": TYPES[extname(path)] || "text/html; charset=utf-8" });
      }
      if (req.method === "GET" && (path === "/connect" || path === "/connect/" || /^\/connect\/[^/]+\/?$/.test(path))) {
        return await serveFile(res, WWW_DIR, "index.html");
      }
      if (req.method === "GET" && (m = /^\/assets\/([^/]+)$/.exec(path))) return await serveFile(res, WWW_DIR, m[1]);
      if (req.method === "GET" && (m = /^\/pkg\/([^/]+)$/.exec(path))) return await serveFile(res, bundleDir, m[1]);
      let a;
      if (req.method === "POST" && path === "/v1/connect/resolve") a = await answer("resolve", { body, req, res });
      else if (req.method === "GET" && (m = /^\/v1\/connect\/([^/]+)$/.exec(path))) a = await answer("connect", { code: decodeURIComponent(m[1]), req, res });
      else if (req.method === "POST" && (m = /^\/v1\/connect\/([^/]+)\/confirm$/.exec(path))) a = await answer("confirm", { code: decodeURIComponent(m[1]), body, req, res });
      else if (req.method === "POST" && (m = /^\/v1\/connect\/([^/]+)\/complete$/.exec(path))) a = await answer("complete", { code: decodeURIComponent(m[1]), body, req, res });
      else a = problem(404, "Not Found");
      if (!a || a.drop) {
        // Simulate the network going down: cut the connection without an answer.
        req.socket.destroy();
        return;
      }
      const json = a.body === undefined ? "" : JSON.stringify(a.body);
      return send(res, a.status, a.status === 204 ? undefined : json, {
        "Content-Type": "application/json",
        ...(a.headers || {}),
      });
    } catch (e) {
      return send(res, 500, JSON.stringify({ title: "fake broker error", detail: String(e) }), { "Content-Type": "application/problem+json" });
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    session: state,
    completed,
    async stop() {
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    },
  };
}
