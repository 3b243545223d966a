//! `jwt verify --jwks-url / --oidc-issuer`: fetching a JWKS or an OpenID
//! configuration, and the rules every key URL and redirect must pass.

use std::time::Duration;

use sealpost_core::jwt::KeySet;

use super::jwt_err;

/// Largest JWKS or OpenID configuration body read.
const MAX_FETCH: u64 = 1 << 20;

/// Why a JWKS or OpenID configuration could not be fetched. Each variant has its
/// own stable code; URLs in messages are sanitised (a `jwks_uri` is remote text).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// Not https://, and not http:// to a loopback host.
    #[error("{url}: key URLs must be https:// (http:// only to localhost, 127.0.0.0/8 or [::1])")]
    Insecure { url: String },
    /// Network or HTTP protocol failure.
    #[error("cannot fetch {url}: {detail}")]
    Transport { url: String, detail: String },
    /// An answer other than 200 (after at most `MAX_REDIRECTS` redirects).
    #[error("cannot fetch {url}: HTTP {status}")]
    Status { url: String, status: u16 },
    /// The body is larger than `MAX_FETCH`.
    #[error("cannot fetch {url}: the body is larger than {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    /// The body is not JSON.
    #[error("{url} did not answer JSON")]
    NotJson { url: String },
    /// An OpenID configuration without a usable `jwks_uri`.
    #[error("{url}: the OpenID configuration has no jwks_uri")]
    NoJwksUri { url: String },
    /// The configuration names another issuer (OpenID Connect Discovery 1.0, section 4.3).
    #[error(
        "{url} names issuer {found}, not {expected}; refusing its keys (OpenID Connect Discovery 1.0, section 4.3)"
    )]
    IssuerMismatch { url: String, expected: String, found: String },
}

impl FetchError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            FetchError::Insecure { .. } => "ERR_JWT_URL",
            FetchError::Transport { .. } => "ERR_JWT_FETCH",
            FetchError::Status { .. } => "ERR_JWT_FETCH_STATUS",
            FetchError::TooLarge { .. } => "ERR_JWT_FETCH_TOO_LARGE",
            FetchError::NotJson { .. } => "ERR_JWT_FETCH_NOT_JSON",
            FetchError::NoJwksUri { .. } => "ERR_JWT_DISCOVERY",
            FetchError::IssuerMismatch { .. } => "ERR_JWT_ISSUER_MISMATCH",
        }
    }
}

impl From<FetchError> for (&'static str, String) {
    fn from(e: FetchError) -> Self {
        (e.code(), e.to_string())
    }
}

/// Redirects followed per fetch (each hop is checked like the first URL).
const MAX_REDIRECTS: usize = 3;

fn shown(url: &str) -> String {
    crate::errors::sanitize(url, 200)
}

/// `scheme://authority` and the host of an http(s) URL; `None` when it is not one
/// or carries userinfo (`https://good@evil/` is never meant for a key URL).
fn origin_and_host(url: &str) -> Option<(&str, &str)> {
    let scheme_len = if url.get(..8).is_some_and(|p| p.eq_ignore_ascii_case("https://")) {
        8
    } else if url.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("http://")) {
        7
    } else {
        return None;
    };
    let rest = &url[scheme_len..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if authority.contains(['@', '\\']) || authority.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => &v6[..v6.find(']')?],
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    (!host.is_empty()).then_some((&url[..scheme_len + authority.len()], host))
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Key URLs must be https://; http:// only to a loopback host (local test issuers).
fn check_url(url: &str) -> Result<(), FetchError> {
    let insecure = || FetchError::Insecure { url: shown(url) };
    let (origin, host) = origin_and_host(url).ok_or_else(insecure)?;
    if origin.get(..8).is_some_and(|p| p.eq_ignore_ascii_case("https://")) || is_loopback(host) {
        Ok(())
    } else {
        Err(insecure())
    }
}

/// Resolve a `Location` header against the URL that answered with it.
fn redirect_target(from: &str, location: &str) -> Option<String> {
    let (origin, _) = origin_and_host(from)?;
    if origin_and_host(location).is_some() {
        Some(location.to_owned())
    } else if let Some(rest) = location.strip_prefix("//") {
        Some(format!("{}//{rest}", &origin[..origin.find("//")?]))
    } else if location.starts_with('/') {
        Some(format!("{origin}{location}"))
    } else {
        None
    }
}

fn get_json(url: &str) -> Result<serde_json::Value, FetchError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        // redirects are followed below, so that every hop passes check_url
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(20)))
        .user_agent(concat!("sealpost/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut url = url.to_owned();
    for hop in 0..=MAX_REDIRECTS {
        check_url(&url)?;
        let transport =
            |detail: String| FetchError::Transport { url: shown(&url), detail: crate::errors::sanitize(&detail, 200) };
        let mut resp =
            agent.get(&url).header("Accept", "application/json").call().map_err(|e| transport(e.to_string()))?;
        let status = resp.status().as_u16();
        if matches!(status, 301 | 302 | 303 | 307 | 308) {
            let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
            let next = location.as_deref().and_then(|l| redirect_target(&url, l));
            match next {
                Some(next) if hop < MAX_REDIRECTS => {
                    url = next;
                    continue;
                }
                Some(_) => return Err(transport(format!("more than {MAX_REDIRECTS} redirects"))),
                None => return Err(transport(format!("HTTP {status} without a usable Location"))),
            }
        }
        if status != 200 {
            return Err(FetchError::Status { url: shown(&url), status });
        }
        let body = match resp.body_mut().with_config().limit(MAX_FETCH).read_to_string() {
            Ok(body) => body,
            Err(ureq::Error::BodyExceedsLimit(_)) => {
                return Err(FetchError::TooLarge { url: shown(&url), limit: MAX_FETCH });
            }
            Err(e) => return Err(transport(e.to_string())),
        };
        return serde_json::from_str(&body).map_err(|_| FetchError::NotJson { url: shown(&url) });
    }
    Err(FetchError::Transport { url: shown(&url), detail: format!("more than {MAX_REDIRECTS} redirects") })
}

fn keyset(doc: &serde_json::Value) -> Result<KeySet, (&'static str, String)> {
    KeySet::parse(&doc.to_string()).map_err(|e| jwt_err(&e))
}

/// Fetch a JWKS; an OpenID configuration document is followed to its `jwks_uri`.
pub(super) fn fetch_jwks(url: &str) -> Result<KeySet, (&'static str, String)> {
    let doc = get_json(url)?;
    match doc.get("jwks_uri").and_then(serde_json::Value::as_str) {
        Some(uri) if doc.get("keys").is_none() => keyset(&get_json(uri)?),
        _ => keyset(&doc),
    }
}

/// OpenID Connect Discovery: `{issuer}/.well-known/openid-configuration`, whose
/// `issuer` must be exactly the issuer asked for (section 4.3), then its `jwks_uri`.
pub(super) fn discover_jwks(issuer: &str) -> Result<KeySet, (&'static str, String)> {
    let conf = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
    let doc = get_json(&conf)?;
    let found = doc.get("issuer").and_then(serde_json::Value::as_str);
    if found != Some(issuer) {
        let found = found.map_or_else(|| "(none)".to_owned(), |f| format!("{:?}", crate::errors::sanitize(f, 200)));
        return Err(
            FetchError::IssuerMismatch { url: shown(&conf), expected: format!("{:?}", shown(issuer)), found }.into()
        );
    }
    let uri = doc
        .get("jwks_uri")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| FetchError::NoJwksUri { url: shown(&conf) })?;
    keyset(&get_json(uri)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_urls_https_or_loopback_http() {
        for ok in [
            "https://issuer.example/jwks",
            "HTTPS://issuer.example",
            "https://issuer.example:8443/a?b#c",
            "http://127.0.0.1:8080/jwks",
            "http://127.9.8.7/",
            "http://localhost:1/x",
            "http://LOCALHOST/x",
            "http://[::1]:8080/jwks",
            "http://[::1]/",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://issuer.example/jwks",
            "http://127.0.0.1.evil.example/jwks",
            "http://127.0.0.1@evil.example/jwks",
            "https://user@issuer.example/jwks",
            "http://localhost.evil.example/",
            "http://[::2]/",
            "http://[::1/",
            "http://0.0.0.0/",
            "http://10.0.0.1/",
            "ftp://127.0.0.1/",
            "file:///etc/passwd",
            "https://",
            "http://:80/",
            "127.0.0.1/jwks",
            "",
        ] {
            let e = check_url(bad).unwrap_err();
            assert_eq!(e.code(), "ERR_JWT_URL", "{bad}");
        }
    }

    #[test]
    fn redirects_resolve_against_the_origin() {
        assert_eq!(redirect_target("https://a.example/x/y", "/keys").as_deref(), Some("https://a.example/keys"));
        assert_eq!(redirect_target("https://a.example:1/x", "//b.example/k").as_deref(), Some("https://b.example/k"));
        assert_eq!(redirect_target("https://a.example/x", "http://b.example/k").as_deref(), Some("http://b.example/k"));
        assert_eq!(redirect_target("https://a.example/x", "keys"), None);
    }

    #[test]
    fn fetch_errors_have_distinct_codes() {
        let url = || "u".to_owned();
        let codes = [
            FetchError::Insecure { url: url() }.code(),
            FetchError::Transport { url: url(), detail: String::new() }.code(),
            FetchError::Status { url: url(), status: 404 }.code(),
            FetchError::TooLarge { url: url(), limit: 1 }.code(),
            FetchError::NotJson { url: url() }.code(),
            FetchError::NoJwksUri { url: url() }.code(),
            FetchError::IssuerMismatch { url: url(), expected: String::new(), found: String::new() }.code(),
        ];
        let mut sorted = codes.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), codes.len());
    }
}
