//! The consent page and the seal-only bundle, security headers, request logs.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::App;
use crate::problem::ApiError;
use crate::store::Store;

/// Content-Security-Policy of every response (pages and API alike).
pub const CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Longest asset file name served.
const MAX_ASSET_NAME: usize = 128;

/// Where the page and the bundle come from.
#[derive(Debug, Clone)]
pub enum AssetDir {
    /// Files read from disk on each request.
    Disk(PathBuf),
    /// Files embedded in the binary at build time (`embed` feature).
    Embedded(&'static [(&'static str, &'static [u8])]),
}

impl AssetDir {
    /// The file `name` (a single, already validated path segment).
    pub async fn get(&self, name: &str) -> Option<Cow<'static, [u8]>> {
        match self {
            AssetDir::Disk(dir) => {
                let path = dir.join(name);
                // Regular files only: no directories, devices or fifos.
                let meta = tokio::fs::metadata(&path).await.ok()?;
                if !meta.is_file() {
                    return None;
                }
                tokio::fs::read(&path).await.ok().map(Cow::Owned)
            }
            AssetDir::Embedded(files) => files.iter().find(|(n, _)| *n == name).map(|(_, b)| Cow::Borrowed(*b)),
        }
    }
}

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

fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "ERR_NOT_FOUND", "Not Found", "No such resource.")
}

async fn serve_file(dir: &AssetDir, name: &str) -> Response {
    if !safe_name(name) {
        return not_found().into_response();
    }
    match dir.get(name).await {
        Some(bytes) => ([(header::CONTENT_TYPE, content_type(name))], bytes).into_response(),
        None => not_found().into_response(),
    }
}

/// `GET /connect` and `GET /connect/{code}`: the consent page.
pub async fn page<S: Store>(State(app): State<Arc<App<S>>>) -> Response {
    serve_file(&app.www, "index.html").await
}

/// `GET /assets/{file}`: files of the page directory.
pub async fn asset<S: Store>(State(app): State<Arc<App<S>>>, Path(file): Path<String>) -> Response {
    serve_file(&app.www, &file).await
}

/// `GET /pkg/{file}`: files of the seal-only WASM bundle.
pub async fn pkg<S: Store>(State(app): State<Arc<App<S>>>, Path(file): Path<String>) -> Response {
    serve_file(&app.bundle, &file).await
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
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "ERR_METHOD_NOT_ALLOWED", "Method Not Allowed", "This method is not allowed here.")
        .into_response()
}

/// Security headers on every response; one log line per request that names the
/// route template (`/v1/connect/{code}`), never the path with its code.
pub async fn headers_and_log(hsts: bool, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
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
    fn names_that_could_escape_are_refused() {
        for bad in ["", "..", "../x", ".env", "a/b", "a\\b", "%2e%2e", "x\0", "é.js"] {
            assert!(!safe_name(bad), "{bad:?}");
        }
        for good in ["app.js", "sealpost_wasm_bg.wasm", "logo-2.svg"] {
            assert!(safe_name(good), "{good}");
        }
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
