// Sealpost consent: the API client for the LinkAuth v1 browser-facing API
// (docs/protocol.md, "Browser-facing API"). Plain fetch, JSON in and out,
// RFC 9457 problem+json errors with the Retry-After hint. No cookies, no
// redirects, no referrer: the same client serves the broker's own page and
// the extension's answer page, which talks to any broker's JSON API only.

/** An HTTP error answer; `status`, `code`, `problemTitle`, `retryAfter` (seconds). */
export class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super((problem && (problem.title || problem.detail)) || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = (problem && (problem.code || problem.error)) || `HTTP_${status}`;
    this.problemTitle = problem && typeof problem.title === "string" ? problem.title : "";
    this.retryAfter = retryAfter;
  }
}

/** No answer at all (connection refused, reset, offline, blocked). */
export class NetworkError extends Error {
  constructor() {
    super("network unreachable");
    this.name = "NetworkError";
    this.code = "ERR_NETWORK";
  }
}

/**
 * Seconds to wait: a Retry-After value (delta seconds; the header's text, or
 * the broker's `retryAfter` for a look-up written into its page), else a
 * slow_down `interval`.
 */
export function retryAfterSeconds(retryAfter, problem) {
  const h = retryAfter === null || retryAfter === undefined ? "" : String(retryAfter);
  const n = h && /^\d+$/.test(h.trim()) ? Number(h.trim()) : NaN;
  if (Number.isFinite(n)) return n;
  if (problem && Number.isFinite(problem.interval)) return problem.interval;
  return 0;
}

/**
 * One JSON call: resolves with the parsed body (null for 204/empty), rejects with ApiError/NetworkError.
 * `credentials` is "omit" except where a caller must match a `crossorigin` preload ("same-origin").
 */
export async function callApi(apiBase, method, path, body, credentials = "omit") {
  let res;
  try {
    res = await fetch(apiBase + path, {
      method,
      headers: body === undefined
        ? { Accept: "application/json, application/problem+json" }
        : { Accept: "application/json, application/problem+json", "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials,
      cache: "no-store",
      redirect: "error",
      referrerPolicy: "no-referrer",
    });
  } catch {
    throw new NetworkError();
  }
  let data = null;
  if (res.status !== 204) {
    const text = await res.text().catch(() => "");
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
  }
  if (!res.ok) throw new ApiError(res.status, data, retryAfterSeconds(res.headers.get("Retry-After"), data));
  return data;
}

/**
 * The four browser-facing calls against one broker. `apiBase` is the broker's
 * origin (or "" for the page's own origin); codes are path-escaped.
 */
export function connectApi(apiBase) {
  const base = String(apiBase || "").replace(/\/+$/, "");
  const at = (code, tail = "") => `/v1/connect/${encodeURIComponent(code)}${tail}`;
  return {
    base,
    /** GET /v1/connect/{code}: the pending request. */
    lookup: (code) => callApi(base, "GET", at(code)),
    /** POST /v1/connect/resolve: manual code entry. */
    resolve: (code) => callApi(base, "POST", "/v1/connect/resolve", { user_code: code }),
    /** POST /v1/connect/{code}/confirm: returns the connect token. */
    async confirm(code) {
      const data = await callApi(base, "POST", at(code, "/confirm"), {});
      const token = data && typeof data.connect_token === "string" ? data.connect_token : "";
      if (!token) throw new ApiError(502, null, 0);
      return token;
    },
    /** POST /v1/connect/{code}/complete with ciphertext only. */
    complete: (code, { ciphertext, algorithm, connectToken }) =>
      callApi(base, "POST", at(code, "/complete"), { ciphertext, algorithm, connect_token: connectToken }),
  };
}
