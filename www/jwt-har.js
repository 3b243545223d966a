// Finding JWTs where they appear in traffic and in pasted text. Pure functions,
// no DOM and no extension API: the DevTools panel, the background's context
// menu and the inspector all use them, and tests/node/jwt_har.test.mjs runs
// them in Node on recorded HAR entries.
//
// A token is only *found* here, never judged: every token found goes to the
// WASM inspector (inspectJwt) for the report.

/** Compact JWS (3 segments, the signature may be empty) or JWE (5 segments). */
const JWT_RE = /eyJ[A-Za-z0-9_-]{2,}(?:\.[A-Za-z0-9_-]*){2,4}/g;
/** Longest text scanned in one header or body (bytes of UTF-16). */
export const MAX_SCAN = 512 * 1024;
/** Most tokens reported for one entry. */
export const MAX_PER_ENTRY = 50;

/** Parameter names that carry tokens in OAuth / OIDC traffic. */
export const TOKEN_PARAMS = [
  "access_token",
  "id_token",
  "refresh_token",
  "logout_token",
  "token",
  "assertion",
  "client_assertion",
  "subject_token",
  "actor_token",
  "request",
  "response",
  "jwt",
];

/** Is `s` exactly one JWT (3 or 5 segments, JSON header)? */
export function isJwt(s) {
  if (typeof s !== "string" || s.length < 10) return false;
  const m = s.match(JWT_RE);
  return !!m && m.length === 1 && m[0] === s && segmentsOk(s);
}

function segmentsOk(t) {
  const n = t.split(".").length;
  if (n !== 3 && n !== 5) return false;
  // The header must decode to something that starts like a JSON object.
  const head = t.slice(0, t.indexOf("."));
  try {
    const text = b64urlText(head.slice(0, 16));
    return text.startsWith("{");
  } catch {
    return false;
  }
}

function b64urlText(s) {
  const b = s.replace(/-/g, "+").replace(/_/g, "/");
  const pad = b.length % 4 === 0 ? b : b + "=".repeat(4 - (b.length % 4));
  // atob exists in browsers and in Node >= 16.
  return atob(pad.length % 4 === 1 ? pad.slice(0, -1) : pad);
}

/**
 * What a person pasted, as the token to inspect: surrounding whitespace, a
 * `Bearer `/`DPoP ` prefix (any case), an `Authorization:` header name, quotes,
 * and line breaks inside the token are removed. Text that holds a JWT
 * somewhere (a URL with `#id_token=`, a JSON response) yields that JWT.
 * Otherwise the trimmed text is returned as is (the inspector still reports on it).
 */
export function normalizeToken(text) {
  if (typeof text !== "string") return "";
  let t = text.trim();
  t = t.replace(/^(?:authorization|dpop)\s*:\s*/i, "");
  t = t.replace(/^(?:bearer|dpop)\s+/i, "");
  t = t.replace(/^["'`]+|["'`,;]+$/g, "").trim();
  const joined = t.replace(/\s+/g, "");
  if (isJwt(joined)) return joined;
  const found = tokensInText(t);
  if (found.length > 0) return found[0];
  return joined.length > 0 && !/\s/.test(t) ? joined : t;
}

/** Every distinct JWT in free text, in order of appearance. */
export function tokensInText(text) {
  if (typeof text !== "string" || text.length === 0) return [];
  const out = [];
  for (const m of text.slice(0, MAX_SCAN).matchAll(JWT_RE)) {
    const t = m[0];
    if (segmentsOk(t) && !out.includes(t)) out.push(t);
  }
  return out;
}

/**
 * JWTs carried by a URL: query and fragment parameters (`id_token=` in a
 * fragment after an implicit-flow redirect, `access_token=` in a query), or a
 * token anywhere in the path. Returns [{token, name, part: "query"|"fragment"|"path"}].
 */
export function tokensFromUrl(url) {
  const out = [];
  let u;
  try {
    u = new URL(url);
  } catch {
    return tokensInText(String(url || "")).map((token) => ({ token, name: null, part: "text" }));
  }
  const params = (s, part) => {
    const raw = s.replace(/^[?#]/, "");
    if (!raw) return;
    let sp;
    try {
      sp = new URLSearchParams(raw);
    } catch {
      return;
    }
    for (const [name, value] of sp) {
      for (const token of tokensInText(value)) out.push({ token, name, part });
    }
  };
  params(u.search, "query");
  params(u.hash, "fragment");
  let path = u.pathname;
  try {
    path = decodeURIComponent(path);
  } catch {
    /* keep it raw */
  }
  for (const token of tokensInText(path)) out.push({ token, name: null, part: "path" });
  return out;
}

/** Is there a JWT in this URL (for the context menu on links)? */
export function urlCarriesToken(url) {
  return tokensFromUrl(url).length > 0;
}

function headerList(headers) {
  return Array.isArray(headers) ? headers.filter((x) => x && typeof x.name === "string" && typeof x.value === "string") : [];
}

function cookiePairs(text) {
  return String(text || "")
    .split(";")
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const i = p.indexOf("=");
      return i < 0 ? { name: p, value: "" } : { name: p.slice(0, i).trim(), value: p.slice(i + 1).trim() };
    });
}

/** JWT-valued strings in parsed JSON (objects and arrays, a few levels deep), with the member path. */
function tokensInJson(value, path, out, depth = 0) {
  if (depth > 6 || out.length >= MAX_PER_ENTRY) return;
  if (typeof value === "string") {
    if (isJwt(value.trim())) out.push({ token: value.trim(), name: path || null });
    return;
  }
  if (Array.isArray(value)) {
    value.slice(0, 200).forEach((v, i) => tokensInJson(v, `${path}[${i}]`, out, depth + 1));
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value).slice(0, 200)) tokensInJson(v, path ? `${path}.${k}` : k, out, depth + 1);
  }
}

function isJsonMime(mime) {
  return /(^|[/+])json\b/i.test(String(mime || ""));
}

function decodeBody(content) {
  if (!content || typeof content.text !== "string") return null;
  if (content.encoding === "base64") {
    try {
      const bin = atob(content.text);
      const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
      return new TextDecoder().decode(bytes);
    } catch {
      return null;
    }
  }
  return content.text;
}

/**
 * Should the panel ask DevTools for this response's body? Only JSON bodies of
 * a reasonable size: token endpoints answer with JSON (RFC 6749 §5.1).
 */
export function wantsResponseBody(entry) {
  const c = entry && entry.response && entry.response.content;
  if (!c || !isJsonMime(c.mimeType)) return false;
  const size = Number(c.size);
  return !(size > MAX_SCAN);
}

/**
 * Every JWT in one HAR entry (HAR 1.2, as `chrome.devtools.network` gives it):
 * request and response headers (`Authorization: Bearer|DPoP`, `DPoP`, any
 * header holding a JWT), cookies and `Set-Cookie`, the URL's query and
 * fragment, a redirect `Location` (implicit flow: `#id_token=`), form and JSON
 * request bodies (`client_assertion`, `subject_token`…), and JSON response
 * bodies (token endpoints: `access_token`, `id_token`, `refresh_token`).
 *
 * `body` is the response text when it was fetched separately
 * (`entry.getContent`); otherwise `entry.response.content.text` is used.
 *
 * Returns [{token, where, name, scheme}] without duplicates (same token at
 * the same place): `where` is "request header", "request cookie", "url query",
 * "url fragment", "url path", "request body", "response header",
 * "response cookie", "redirect query", "redirect fragment" or "response body".
 */
export function tokensFromHarEntry(entry, body = undefined) {
  const out = [];
  const seen = new Set();
  const add = (token, where, name = null, scheme = null) => {
    if (out.length >= MAX_PER_ENTRY) return;
    const key = `${where}\u0000${name}\u0000${token}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ token, where, name, scheme });
  };
  if (!entry || typeof entry !== "object") return out;
  const req = entry.request || {};
  const res = entry.response || {};

  for (const t of tokensFromUrl(req.url || "")) add(t.token, `url ${t.part}`, t.name);

  const reqHeaders = headerList(req.headers);
  const reqCookies = Array.isArray(req.cookies) && req.cookies.length > 0 ? req.cookies : null;
  for (const { name, value } of reqHeaders) {
    const lname = name.toLowerCase();
    if (lname === "cookie") {
      if (!reqCookies) for (const c of cookiePairs(value)) for (const t of tokensInText(safeDecode(c.value))) add(t, "request cookie", c.name);
      continue;
    }
    const scheme = lname === "authorization" ? (value.match(/^\s*(\S+)\s/) || [])[1] || null : lname === "dpop" ? "DPoP proof" : null;
    for (const t of tokensInText(value)) add(t, "request header", name, scheme);
  }
  for (const c of reqCookies || []) for (const t of tokensInText(safeDecode(String(c.value || "")))) add(t, "request cookie", c.name);

  const post = req.postData;
  if (post) {
    if (Array.isArray(post.params) && post.params.length > 0) {
      for (const p of post.params) for (const t of tokensInText(safeDecode(String(p.value || "")))) add(t, "request body", p.name);
    } else if (typeof post.text === "string" && post.text.length <= MAX_SCAN) {
      if (isJsonMime(post.mimeType)) {
        const found = [];
        try {
          tokensInJson(JSON.parse(post.text), "", found);
        } catch {
          /* not JSON after all */
        }
        for (const f of found) add(f.token, "request body", f.name);
      } else if (/x-www-form-urlencoded/i.test(post.mimeType || "")) {
        for (const [name, value] of new URLSearchParams(post.text)) for (const t of tokensInText(value)) add(t, "request body", name);
      }
      for (const t of tokensInText(post.text)) add(t, "request body", null);
    }
  }

  const resHeaders = headerList(res.headers);
  const resCookies = Array.isArray(res.cookies) && res.cookies.length > 0 ? res.cookies : null;
  for (const { name, value } of resHeaders) {
    const lname = name.toLowerCase();
    if (lname === "set-cookie") {
      if (!resCookies) {
        for (const line of value.split("\n")) {
          const first = cookiePairs(line)[0];
          if (first) for (const t of tokensInText(safeDecode(first.value))) add(t, "response cookie", first.name);
        }
      }
      continue;
    }
    if (lname === "location") {
      let abs = value;
      try {
        abs = new URL(value, req.url || undefined).href;
      } catch {
        /* relative without a base */
      }
      for (const t of tokensFromUrl(abs)) add(t.token, `redirect ${t.part}`, t.name);
      continue;
    }
    for (const t of tokensInText(value)) add(t, "response header", name);
  }
  for (const c of resCookies || []) for (const t of tokensInText(safeDecode(String(c.value || "")))) add(t, "response cookie", c.name);
  if (res.redirectURL && !resHeaders.some((x) => x.name.toLowerCase() === "location")) {
    for (const t of tokensFromUrl(res.redirectURL)) add(t.token, `redirect ${t.part}`, t.name);
  }

  const text = typeof body === "string" ? body : decodeBody(res.content);
  if (typeof text === "string" && text.length <= MAX_SCAN && isJsonMime(res.content && res.content.mimeType)) {
    const found = [];
    try {
      tokensInJson(JSON.parse(text), "", found);
    } catch {
      for (const t of tokensInText(text)) found.push({ token: t, name: null });
    }
    for (const f of found) add(f.token, "response body", f.name);
  }
  return out;
}

function safeDecode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
