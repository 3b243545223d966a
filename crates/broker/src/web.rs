//! The consent page and the seal-only bundle (files prepared by [`crate::assets`]),
//! the offline JWT inspector page (`/jwt`, the full bundle), security headers,
//! request logs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::App;
pub use crate::assets::AssetDir;
use crate::assets::{Assets, Coding, negotiate, none_match};
use crate::problem::ApiError;
use crate::store::Store;

/// Content-Security-Policy of every response (pages and API alike).
pub const CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Content-Security-Policy of the JWT inspector page (`GET /jwt`): no network
/// at all (`connect-src 'none'`). The page gets the full WASM bundle as script
/// modules (the glue and the .wasm as a base64 module, see [`jwt_pkg`]), so it
/// never needs `fetch`; whatever is pasted into it stays in the page.
pub const CSP_JWT: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
connect-src 'none'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Security headers hyper's own error answers get (see [`crate::errio`]),
/// the same as [`headers_and_log`] sets, as header lines.
pub fn error_headers(hsts: bool) -> &'static str {
    const BASE: &str = concat!(
        "content-security-policy: default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; ",
        "connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'\r\n",
        "referrer-policy: no-referrer\r\n",
        "x-content-type-options: nosniff\r\n",
        "cache-control: no-store\r\n",
        "x-frame-options: DENY\r\n",
        "cross-origin-opener-policy: same-origin\r\n",
        "cross-origin-resource-policy: same-origin\r\n",
    );
    const WITH_HSTS: &str = concat!(
        "content-security-policy: default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; ",
        "connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'\r\n",
        "referrer-policy: no-referrer\r\n",
        "x-content-type-options: nosniff\r\n",
        "cache-control: no-store\r\n",
        "x-frame-options: DENY\r\n",
        "cross-origin-opener-policy: same-origin\r\n",
        "cross-origin-resource-policy: same-origin\r\n",
        "strict-transport-security: max-age=31536000\r\n",
    );
    if hsts { WITH_HSTS } else { BASE }
}

/// Longest asset file name served.
const MAX_ASSET_NAME: usize = 128;

/// A file name safe to join to a directory: one segment of `[A-Za-z0-9._-]`,
/// not starting with a dot (so no `..`, no hidden files, no separators).
pub fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_ASSET_NAME
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// Media type by extension.
pub fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "woff2" => "font/woff2",
        "txt" | "ts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

pub(crate) fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "ERR_NOT_FOUND", "Not Found", "No such resource.")
}

/// `Cache-Control` of the HTML page: always revalidate (a new deploy is seen at
/// once), and never kept by shared caches (its URL carries the user code).
const CACHE_PAGE: &str = "private, no-cache";
/// `Cache-Control` of page assets and the bundle: their names carry no content
/// hash, so every use revalidates with the ETag (a 304 costs a few hundred bytes).
const CACHE_ASSET: &str = "no-cache";

fn header_values(headers: &HeaderMap, name: header::HeaderName) -> Vec<&str> {
    headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect()
}

/// Answer with the file `name` of `dir`: the best content coding the client
/// accepts, a strong ETag per coding, `Vary: Accept-Encoding`, and `304 Not
/// Modified` when `If-None-Match` names the ETag of what would be sent.
async fn serve_file(dir: &Assets, name: &str, req: &HeaderMap, cache_control: &'static str) -> Response {
    if !safe_name(name) {
        return not_found().into_response();
    }
    let content_type = content_type(name);
    let Some(file) = dir.get(name, content_type).await else {
        return not_found().into_response();
    };
    respond(file, content_type, req, cache_control)
}

/// The answer for a prepared file (see [`serve_file`]).
fn respond(
    file: Arc<crate::assets::Prepared>,
    content_type: &'static str,
    req: &HeaderMap,
    cache_control: &'static str,
) -> Response {
    let coding = negotiate(&header_values(req, header::ACCEPT_ENCODING), &file);
    let etag = file.etag(coding);
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    if none_match(&header_values(req, header::IF_NONE_MATCH), &etag) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(token) = coding.token() {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(token));
    }
    let body = file.variant(coding).or(file.variant(Coding::Identity)).cloned().unwrap_or_default();
    (headers, body).into_response()
}

/// `Link` header entries (comma-separated) for what the `<head>` of `html`
/// loads: stylesheets as `rel=preload; as=style`, `rel=preload` hints as they
/// are (`as`, `type`, `crossorigin`), then module scripts and
/// `rel=modulepreload` as `rel=modulepreload` (none for a URL the head also
/// preloads `as=script`); each in document order. Only
/// same-origin absolute paths of plain characters are taken; anything else is
/// left to the HTML.
pub fn head_preloads(html: &[u8]) -> String {
    let html = String::from_utf8_lossy(html);
    let lower = html.to_ascii_lowercase();
    let head = &html[..lower.find("</head").unwrap_or(html.len())];
    let mut out: Vec<String> = Vec::new();
    let mut rest = head;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let name_len = rest.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(rest.len());
        let name = rest[..name_len].to_ascii_lowercase();
        let Some(end) = rest.find('>') else { break };
        let attrs = tag_attributes(&rest[name_len..end]);
        rest = &rest[end + 1..];
        let attr = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let entry = match name.as_str() {
            "script" if attr("type").is_some_and(|t| t.eq_ignore_ascii_case("module")) => {
                attr("src").filter(|u| hint_path(u)).map(|u| format!("<{u}>; rel=modulepreload"))
            }
            "link" => {
                let rel = attr("rel").unwrap_or("").to_ascii_lowercase();
                let has = |t: &str| rel.split_ascii_whitespace().any(|r| r == t);
                let href = attr("href").filter(|u| hint_path(u));
                match href {
                    None => None,
                    Some(u) if has("modulepreload") => Some(format!("<{u}>; rel=modulepreload")),
                    Some(u) if has("stylesheet") => Some(format!("<{u}>; rel=preload; as=style")),
                    Some(u) if has("preload") => {
                        let kind = attr("as").unwrap_or("").to_ascii_lowercase();
                        let known = ["fetch", "style", "script", "font", "image"].contains(&kind.as_str());
                        known.then(|| {
                            let mut e = format!("<{u}>; rel=preload; as={kind}");
                            if let Some(t) = attr("type").filter(|t| {
                                !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"/+.-".contains(&b))
                            }) {
                                e.push_str(&format!("; type=\"{t}\""));
                            }
                            match attr("crossorigin").map(str::to_ascii_lowercase).as_deref() {
                                None => {}
                                Some("use-credentials") => e.push_str("; crossorigin=use-credentials"),
                                Some(_) => e.push_str("; crossorigin"),
                            }
                            e
                        })
                    }
                    Some(_) => None,
                }
            }
            _ => None,
        };
        if let Some(e) = entry
            && !out.contains(&e)
        {
            out.push(e);
        }
    }
    // Plain preloads first: a module preload makes the browser set up the
    // page's script context first (measured: the entries after one started
    // ~15 ms later), and the fetches and stylesheets need none. A module the
    // head also preloads as a script (`rel=preload as=script crossorigin`:
    // fetched with the plain ones, ~50 ms sooner than a module preload on a
    // busy machine) gets no second, module preload entry.
    let (modules, plain): (Vec<String>, Vec<String>) = out.into_iter().partition(|e| e.ends_with("rel=modulepreload"));
    let as_script = |m: &str| {
        let url = m.split_once('>').map_or("", |(u, _)| u);
        plain.iter().any(|p| p.starts_with(url) && p[url.len()..].starts_with(">; rel=preload; as=script"))
    };
    let modules: Vec<String> = modules.into_iter().filter(|m| !as_script(m)).collect();
    plain.into_iter().chain(modules).collect::<Vec<_>>().join(", ")
}

/// A path worth a preload hint: same origin (`/x`, not `//host`), plain characters only.
fn hint_path(u: &str) -> bool {
    u.starts_with('/')
        && !u.starts_with("//")
        && u.len() <= 256
        && u.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-~".contains(&b))
}

/// The attributes of one start tag (the text between its name and `>`):
/// lower-cased names, values unquoted (`""` for a bare attribute).
pub(crate) fn tag_attributes(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'/' {
            i += 1;
        }
        if start == i {
            break;
        }
        let name = text[start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let vs = i + 1;
                let ve = b[vs..].iter().position(|&c| c == q).map_or(b.len(), |p| vs + p);
                value = text[vs..ve].to_owned();
                i = (ve + 1).min(b.len());
            } else {
                let vs = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = text[vs..i].to_owned();
            }
        }
        out.push((name, value));
    }
    out
}

/// `GET /assets/{file}`: files of the page directory.
pub async fn asset<S: Store>(State(app): State<Arc<App<S>>>, Path(file): Path<String>, headers: HeaderMap) -> Response {
    let cache = if content_type(&file).starts_with("text/html") { CACHE_PAGE } else { CACHE_ASSET };
    let mut res = serve_file(&app.www, &file, &headers, cache).await;
    if file == "jwt.html" {
        // The inspector keeps its policy under any URL.
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP_JWT));
    }
    res
}

/// `GET /jwt`: the offline JWT inspector page, under [`CSP_JWT`]. 404 when the
/// full bundle is not there (see [`full_bundle`]).
pub async fn jwt_page<S: Store>(State(app): State<Arc<App<S>>>, headers: HeaderMap) -> Response {
    if full_bundle(&app.bundle).is_none() {
        return not_found().into_response();
    }
    let mut res = serve_file(&app.www, "jwt.html", &headers, CACHE_PAGE).await;
    res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP_JWT));
    res
}

/// Name under which the full bundle's .wasm is served as a script module.
pub const JWT_WASM_MODULE: &str = "sealpost_wasm_bg.wasm.js";

/// `GET /jwt/{file}`: files of the full WASM bundle (the JWT engine), for the
/// inspector page; `sealpost_wasm_bg.wasm.js` is the .wasm as a base64 module.
pub async fn jwt_pkg<S: Store>(
    State(app): State<Arc<App<S>>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(full) = full_bundle(&app.bundle) else {
        return not_found().into_response();
    };
    if file == JWT_WASM_MODULE {
        let Some(prepared) = full.wasm_as_module(JWT_WASM_MODULE, "sealpost_wasm_bg.wasm").await else {
            return not_found().into_response();
        };
        return respond(prepared, "text/javascript; charset=utf-8", &headers, CACHE_ASSET);
    }
    serve_file(&full, &file, &headers, CACHE_ASSET).await
}

/// The full bundle's files: the directory `full` next to the seal-only
/// bundle's (`dist/full` beside `dist/seal`), when it holds the bundle. Each
/// file is prepared on its first request ([`Assets::lazy`]: most brokers never
/// serve it). `None` for the embedded seal bundle (the full one is not embedded).
pub fn full_bundle(seal: &Assets) -> Option<Arc<Assets>> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static DIRS: OnceLock<Mutex<HashMap<std::path::PathBuf, Arc<Assets>>>> = OnceLock::new();
    let AssetDir::Disk(seal_dir) = seal.dir() else { return None };
    let dir = seal_dir.parent().unwrap_or(std::path::Path::new(".")).join("full");
    if !dir.join("sealpost_wasm.js").is_file() {
        return None;
    }
    let mut dirs = DIRS.get_or_init(Default::default).lock().ok()?;
    Some(dirs.entry(dir.clone()).or_insert_with(|| Arc::new(Assets::lazy(AssetDir::Disk(dir)))).clone())
}

/// `GET /pkg/{file}`: files of the seal-only WASM bundle.
pub async fn pkg<S: Store>(State(app): State<Arc<App<S>>>, Path(file): Path<String>, headers: HeaderMap) -> Response {
    serve_file(&app.bundle, &file, &headers, CACHE_ASSET).await
}

/// `GET /healthz`: liveness plus the fill level of the fixed-size limiters.
pub async fn health<S: Store>(State(app): State<Arc<App<S>>>) -> Response {
    let stats = |l: &crate::limiter::RateLimiter| serde_json::json!({"entries": l.len(), "capacity": l.capacity()});
    let body = serde_json::json!({
        "status": "ok",
        "limiters": {
            "connect": stats(&app.connect_limiter),
            "client": stats(&app.client_limiter),
            "create": stats(&app.create_limiter),
        }
    });
    ([(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// Fallback for unknown routes.
pub async fn fallback() -> Response {
    not_found().into_response()
}

/// Fallback for a known route with another method.
pub async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "ERR_METHOD_NOT_ALLOWED",
        "Method Not Allowed",
        "This method is not allowed here.",
    )
    .into_response()
}

/// Read the whole request body, at most [`crate::MAX_BODY`] bytes, within
/// `timeout` of the request head; the handlers then read it from memory. A body
/// that trickles gets `408` and the connection is closed, so neither a slow
/// body nor a slow head (hyper's header read timeout) holds a connection for
/// long. Too large: `413`, closed as well (the rest is never read).
pub async fn read_body_within(timeout: Duration, req: Request, next: Next) -> Response {
    use http_body_util::BodyExt;
    let (parts, body) = req.into_parts();
    let limited = http_body_util::Limited::new(body, crate::MAX_BODY);
    let refused = match tokio::time::timeout(timeout, limited.collect()).await {
        Ok(Ok(collected)) => return next.run(Request::from_parts(parts, Body::from(collected.to_bytes()))).await,
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "ERR_BODY_TOO_LARGE",
            "Payload Too Large",
            "The request body exceeds 64 KiB.",
        ),
        Ok(Err(_)) => ApiError::bad_request("ERR_BAD_REQUEST", "The request body could not be read."),
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "ERR_BODY_TIMEOUT",
            "Request Timeout",
            "The request body was not received in time.",
        ),
    };
    let mut res = refused.into_response();
    res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

/// Security headers on every response; one log line per request that names the
/// route template (`/v1/connect/{code}`), never the path with its code.
pub async fn headers_and_log(hsts: bool, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    // A page with its own, stricter policy (the JWT inspector) keeps it.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    }
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Static files set their own revalidation policy; everything else is never stored.
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    if hsts {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    let status = res.status().as_u16();
    let route = route.as_deref().unwrap_or("(unmatched)");
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    if status >= 500 {
        tracing::warn!(%method, route, status, micros, "request");
    } else {
        tracing::info!(%method, route, status, micros, "request");
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_headers_carry_the_same_policy() {
        assert!(error_headers(false).contains(&format!("content-security-policy: {CSP}\r\n")));
        assert!(error_headers(true).ends_with("strict-transport-security: max-age=31536000\r\n"));
    }

    #[test]
    fn names_that_could_escape_are_refused() {
        for bad in ["", "..", "../x", ".env", "a/b", "a\\b", "%2e%2e", "x\0", "é.js"] {
            assert!(!safe_name(bad), "{bad:?}");
        }
        for good in ["app.js", "sealpost_wasm_bg.wasm", "logo-2.svg"] {
            assert!(safe_name(good), "{good}");
        }
    }

    #[test]
    fn head_preloads_mirror_what_the_head_loads() {
        let html = br#"<!doctype html><html><head>
<link rel="icon" href="data:,">
<script type="module" src="/assets/main.js"></script>
<script src="/assets/classic.js"></script>
<link rel="modulepreload" href="/pkg/sealpost_wasm.js">
<link rel=preload href=/pkg/sealpost_wasm_bg.wasm as=fetch type="application/wasm" crossorigin>
<LINK REL='stylesheet' HREF='/assets/page.css'>
<link rel="preload" href="/assets/consent.css" as="style">
<link rel="modulepreload" href="/assets/main.js">
<link rel="stylesheet" href="https://cdn.example/x.css">
<link rel="stylesheet" href="//cdn.example/x.css">
<link rel="preload" href="/a b.js" as="script">
<link rel="preload" href="/x.json" as="document">
<link rel="preload" href="/late.js" as="script">
</head><body><script type="module" src="/assets/body.js"></script></body></html>"#;
        let links = head_preloads(html);
        assert_eq!(
            links,
            "</pkg/sealpost_wasm_bg.wasm>; rel=preload; as=fetch; type=\"application/wasm\"; crossorigin, \
</assets/page.css>; rel=preload; as=style, </assets/consent.css>; rel=preload; as=style, \
</late.js>; rel=preload; as=script, </assets/main.js>; rel=modulepreload, </pkg/sealpost_wasm.js>; rel=modulepreload"
        );
        assert!(HeaderValue::from_str(&links).is_ok());
        // A module script also preloaded as a script: one entry, with the plain preloads.
        assert_eq!(
            head_preloads(
                br#"<head><link rel="preload" href="/assets/page.js" as="script" crossorigin>
<script type="module" src="/assets/page.js"></script><script type="module" src="/assets/page.jsx"></script>
<link rel="modulepreload" href="/pkg/glue.js"><link rel=stylesheet href=/a.css></head>"#
            ),
            "</assets/page.js>; rel=preload; as=script; crossorigin, </a.css>; rel=preload; as=style, \
</assets/page.jsx>; rel=modulepreload, </pkg/glue.js>; rel=modulepreload"
        );
        assert_eq!(head_preloads(b"<html><head><title>x</title></head></html>"), "");
        assert_eq!(head_preloads(b"<link rel=stylesheet href=/a.css"), "", "an unclosed tag is ignored");
        assert_eq!(
            head_preloads("<title>é</title><link rel=stylesheet href=/a.css>".as_bytes()),
            "</a.css>; rel=preload; as=style"
        );
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("a.wasm"), "application/wasm");
        assert!(content_type("a.js").starts_with("text/javascript"));
        assert!(content_type("a.css").starts_with("text/css"));
        assert_eq!(content_type("a.svg"), "image/svg+xml");
        assert_eq!(content_type("a.png"), "image/png");
        assert_eq!(content_type("README"), "application/octet-stream");
    }
}
