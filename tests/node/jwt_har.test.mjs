// www/jwt-har.js: finding JWTs in HAR entries (the DevTools panel),
// in URLs (the context menu) and in pasted text (the inspector). The entries
// below have the shape chrome.devtools.network hands the panel (HAR 1.2 with
// Chromium's `_` members); the tokens are real JWTs signed by the full bundle.
import { test, describe, before } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT, loadBundle } from "./wasm_helpers.mjs";

const har = await import(pathToFileURL(path.join(ROOT, "www/jwt-har.js")).href);
const NOW = 1_800_000_000;
let w;
let AT; // access token
let ID; // id token
let DPOP; // DPoP proof
let SESSION; // a cookie-held token

before(async () => {
  w = await loadBundle("full");
  const secret = "k".repeat(40);
  AT = w.signJwt({ header: { typ: "at+jwt" }, claims: { iss: "https://as.example", sub: "u1", aud: "api", client_id: "c1", scope: "read", exp: "+10m", iat: "now", jti: "a1" }, secret, now: NOW });
  ID = w.signJwt({ claims: { iss: "https://as.example", sub: "u1", aud: "c1", nonce: "n", exp: "+10m", iat: "now" }, secret, now: NOW });
  DPOP = w.signJwt({ header: { typ: "dpop+jwt" }, claims: { htm: "GET", htu: "https://api.example/r", jti: "d1", iat: "now" }, secret, now: NOW });
  SESSION = w.signJwt({ claims: { sub: "u1", sid: "s1", exp: "+1h" }, secret, now: NOW });
});

function entry({ method = "GET", url, reqHeaders = [], reqCookies = [], postData, status = 200, resHeaders = [], resCookies = [], mimeType = "text/html", text, redirectURL = "" }) {
  return {
    _initiator: { type: "script" },
    _priority: "High",
    _resourceType: "fetch",
    cache: {},
    connection: "443",
    request: {
      method,
      url,
      httpVersion: "http/2.0",
      headers: reqHeaders,
      queryString: [...new URL(url).searchParams].map(([name, value]) => ({ name, value })),
      cookies: reqCookies,
      headersSize: -1,
      bodySize: postData ? postData.text.length : 0,
      ...(postData ? { postData } : {}),
    },
    response: {
      status,
      statusText: "",
      httpVersion: "http/2.0",
      headers: resHeaders,
      cookies: resCookies,
      content: { size: text ? text.length : 0, mimeType, ...(text !== undefined ? { text } : {}) },
      redirectURL,
      headersSize: -1,
      bodySize: -1,
      _transferSize: 512,
      _error: null,
    },
    serverIPAddress: "127.0.0.1",
    startedDateTime: "2027-01-15T08:00:00.000Z",
    time: 12.5,
    timings: { blocked: 1, dns: -1, ssl: -1, connect: -1, send: 0.1, wait: 10, receive: 1.4 },
  };
}

describe("tokensFromHarEntry", () => {
  test("Authorization: Bearer and a DPoP proof in request headers", () => {
    const e = entry({
      url: "https://api.example/r",
      reqHeaders: [
        { name: ":authority", value: "api.example" },
        { name: "authorization", value: `DPoP ${AT}` },
        { name: "dpop", value: DPOP },
        { name: "accept", value: "application/json" },
      ],
    });
    const found = har.tokensFromHarEntry(e);
    assert.deepEqual(found, [
      { token: AT, where: "request header", name: "authorization", scheme: "DPoP" },
      { token: DPOP, where: "request header", name: "dpop", scheme: "DPoP proof" },
    ]);
    const bearer = har.tokensFromHarEntry(entry({ url: "https://api.example/r", reqHeaders: [{ name: "Authorization", value: `Bearer ${AT}` }] }));
    assert.deepEqual(bearer, [{ token: AT, where: "request header", name: "Authorization", scheme: "Bearer" }]);
  });

  test("cookies: the request's parsed cookies and Set-Cookie in the response, once each", () => {
    const e = entry({
      url: "https://app.example/home",
      reqHeaders: [{ name: "cookie", value: `theme=dark; session=${SESSION}` }],
      reqCookies: [
        { name: "theme", value: "dark", expires: null, httpOnly: false, secure: false },
        { name: "session", value: SESSION, expires: null, httpOnly: false, secure: false },
      ],
      resHeaders: [{ name: "set-cookie", value: `id=${encodeURIComponent(ID)}; Path=/; HttpOnly; Secure\nother=1` }],
    });
    const found = har.tokensFromHarEntry(e);
    assert.deepEqual(found, [
      { token: SESSION, where: "request cookie", name: "session", scheme: null },
      { token: ID, where: "response cookie", name: "id", scheme: null },
    ]);
    // Without the parsed list, the Cookie header itself is read.
    const raw = har.tokensFromHarEntry(entry({ url: "https://app.example/", reqHeaders: [{ name: "Cookie", value: `a=1; jwt=${SESSION}` }] }));
    assert.deepEqual(raw, [{ token: SESSION, where: "request cookie", name: "jwt", scheme: null }]);
  });

  test("fragment: an implicit-flow redirect's Location carries id_token and access_token", () => {
    const e = entry({
      url: "https://as.example/authorize?client_id=c1&response_type=id_token%20token",
      status: 302,
      resHeaders: [{ name: "location", value: `https://app.example/cb#id_token=${ID}&access_token=${AT}&state=xyz` }],
      redirectURL: `https://app.example/cb#id_token=${ID}&access_token=${AT}&state=xyz`,
    });
    assert.deepEqual(har.tokensFromHarEntry(e), [
      { token: ID, where: "redirect fragment", name: "id_token", scheme: null },
      { token: AT, where: "redirect fragment", name: "access_token", scheme: null },
    ]);
    // A token in the request URL's query (access_token=) and a relative Location.
    const q = har.tokensFromHarEntry(
      entry({ url: `https://api.example/r?access_token=${AT}`, status: 302, resHeaders: [{ name: "Location", value: `/cb?x=1#id_token=${ID}` }] }),
    );
    assert.deepEqual(q, [
      { token: AT, where: "url query", name: "access_token", scheme: null },
      { token: ID, where: "redirect fragment", name: "id_token", scheme: null },
    ]);
  });

  test("token endpoint: JSON response body (given inline or fetched with getContent) and the form request body", () => {
    const body = JSON.stringify({ access_token: AT, token_type: "DPoP", expires_in: 600, id_token: ID, refresh_token: "opaque-refresh", scope: "read" });
    const post = {
      mimeType: "application/x-www-form-urlencoded",
      text: `grant_type=authorization_code&code=abc&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=${SESSION}`,
      params: [
        { name: "grant_type", value: "authorization_code" },
        { name: "code", value: "abc" },
        { name: "client_assertion", value: SESSION },
      ],
    };
    const e = entry({ method: "POST", url: "https://as.example/token", reqHeaders: [{ name: "DPoP", value: DPOP }], postData: post, mimeType: "application/json; charset=utf-8" });
    assert.equal(har.wantsResponseBody(e), true);
    const fetched = har.tokensFromHarEntry(e, body);
    assert.deepEqual(fetched, [
      { token: DPOP, where: "request header", name: "DPoP", scheme: "DPoP proof" },
      { token: SESSION, where: "request body", name: "client_assertion", scheme: null },
      { token: AT, where: "response body", name: "access_token", scheme: null },
      { token: ID, where: "response body", name: "id_token", scheme: null },
    ]);
    // The same body inline in the HAR, base64-encoded as Chromium stores some bodies.
    const inline = entry({ method: "POST", url: "https://as.example/token", mimeType: "application/json", text: Buffer.from(body).toString("base64") });
    inline.response.content.encoding = "base64";
    assert.deepEqual(
      har.tokensFromHarEntry(inline).map((f) => [f.where, f.name]),
      [["response body", "access_token"], ["response body", "id_token"]],
    );
    // An HTML body is neither fetched nor scanned.
    const html = entry({ url: "https://app.example/", mimeType: "text/html", text: `<p>${AT}</p>` });
    assert.equal(har.wantsResponseBody(html), false);
    assert.deepEqual(har.tokensFromHarEntry(html), []);
  });

  test("entries without tokens, garbage and look-alikes yield nothing and never throw", () => {
    assert.deepEqual(har.tokensFromHarEntry(entry({ url: "https://x.example/a.eyJhbGciOi.js", reqHeaders: [{ name: "authorization", value: "Basic dXNlcjpwYXNz" }] })), []);
    for (const bad of [null, undefined, 42, "x", {}, { request: { headers: "no" } }, { response: { headers: [{ name: 1 }] } }]) {
      assert.deepEqual(har.tokensFromHarEntry(bad), []);
    }
    // A JSON body that is not JSON: fall back to scanning the text.
    const e = entry({ url: "https://as.example/token", mimeType: "application/json", text: `{"access_token":"${AT}"` });
    assert.deepEqual(har.tokensFromHarEntry(e).map((f) => f.token), [AT]);
  });

  test("every token found is one the WASM inspector decodes", () => {
    for (const t of [AT, ID, DPOP, SESSION]) {
      const r = w.inspectJwt(t, { now: NOW });
      assert.equal(r.input.form, "compact_jws");
      assert.ok(r.payload);
    }
    assert.equal(w.inspectJwt(DPOP, { now: NOW }).explanation.kind, "dpop_proof");
  });
});

describe("normalizeToken, tokensFromUrl, urlCarriesToken", () => {
  test("Bearer/DPoP prefixes, header names, quotes, whitespace and wrapped lines", () => {
    assert.equal(har.normalizeToken(`  Bearer ${AT}\n`), AT);
    assert.equal(har.normalizeToken(`dpop ${AT}`), AT);
    assert.equal(har.normalizeToken(`Authorization: Bearer ${AT}`), AT);
    assert.equal(har.normalizeToken(`"${AT}",`), AT);
    const wrapped = AT.match(/.{1,40}/g).join("\n  ");
    assert.equal(har.normalizeToken(wrapped), AT);
    assert.equal(har.normalizeToken(`{"id_token": "${ID}"}`), ID);
    // Not a JWT: returned trimmed, so the inspector can still say what is wrong.
    assert.equal(har.normalizeToken("  eyJhbGciOiJIUzI1NiJ9.ab$d.x "), "eyJhbGciOiJIUzI1NiJ9.ab$d.x");
    assert.equal(har.normalizeToken(42), "");
  });

  test("URLs: fragment, query, path; links without tokens", () => {
    assert.deepEqual(har.tokensFromUrl(`https://app.example/cb#id_token=${ID}&state=1`), [{ token: ID, name: "id_token", part: "fragment" }]);
    assert.deepEqual(har.tokensFromUrl(`https://app.example/cb?token=${AT}`), [{ token: AT, name: "token", part: "query" }]);
    assert.deepEqual(har.tokensFromUrl(`https://app.example/verify/${AT}`), [{ token: AT, name: null, part: "path" }]);
    assert.equal(har.urlCarriesToken(`https://app.example/cb#id_token=${ID}`), true);
    assert.equal(har.urlCarriesToken("https://app.example/connect/ABCD-1234"), false);
    assert.equal(har.urlCarriesToken("not a url"), false);
    assert.equal(har.isJwt(AT), true);
    assert.equal(har.isJwt(`${AT}.x`), false);
    assert.equal(har.isJwt("eyJhbGciOi.x.y.z"), false); // four segments
  });
});
