//! LinkAuth callbacks: when a session with a `callback_url` becomes `ready`,
//! the broker POSTs `{"session_id","status":"ready","ciphertext","algorithm"}`
//! there, signed with the session's callback secret.
//!
//! - **Outbox.** The delivery is queued in the database in the transaction that
//!   made the session ready ([`crate::store::Store::claim_callbacks`]); a worker
//!   on every instance leases due rows, so a restart or another instance
//!   finishes what a crashed one started. The same `X-LinkAuth-Delivery-Id` is
//!   sent on every attempt.
//! - **SSRF guard.** Only `https://` URLs, except loopback `http(s)://` on a
//!   broker in development mode (public URL on a loopback host). The host is
//!   resolved once per check; every address must be public (no private,
//!   loopback, link-local, multicast, unspecified, shared, documentation or
//!   cloud metadata range) unless `--callback-allow` lists it, and the
//!   connection goes to the address that was checked, never to a second
//!   lookup (no DNS rebinding). Redirects are never followed.
//! - **Attempts.** 10 s each; retried after about 1 s, 4 s and 16 s on a network
//!   error or a 5xx answer; a 3xx or 4xx answer ends the delivery.
//!
//! Nothing here logs the URL's path or query, the secret or the body.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use sha2::Sha256;
use tokio::sync::Notify;

use crate::app::App;
use crate::proxy::IpNet;
use crate::store::{CallbackJob, Store};
use crate::util;

/// Longest accepted `callback_url`, in bytes.
pub const MAX_URL: usize = 2048;
/// Time allowed for one attempt (connect, TLS, request and response head).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Wait before the 2nd, 3rd and 4th attempt.
pub const BACKOFF_SECS: [i64; 3] = [1, 4, 16];
/// Deliveries leased per claim.
const CLAIM_BATCH: u32 = 16;

/// Why a callback URL is refused at session creation (400, stable codes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// Not an absolute http(s) URL this broker can use.
    #[error("{0}")]
    Invalid(&'static str),
    /// Plain http outside development mode.
    #[error("callback_url must use https")]
    NotHttps,
    /// The host resolves to an address the broker refuses to call.
    #[error(
        "callback_url resolves to an address this broker does not call (private, loopback, link-local, multicast, unspecified or metadata)"
    )]
    Forbidden,
    /// The host name does not resolve.
    #[error("the host of callback_url does not resolve")]
    Unresolvable,
}

impl CallbackError {
    /// Stable error code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "ERR_CALLBACK_URL_INVALID",
            Self::NotHttps => "ERR_CALLBACK_URL_INVALID",
            Self::Forbidden => "ERR_CALLBACK_FORBIDDEN",
            Self::Unresolvable => "ERR_CALLBACK_UNRESOLVABLE",
        }
    }
}

/// Which targets this broker calls.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Development mode: loopback targets allowed, over http too.
    pub dev: bool,
    /// `--callback-allow`: networks allowed even though private or special.
    pub allow: Vec<IpNet>,
}

impl Policy {
    /// The policy of a running broker.
    pub fn of<S: Store>(app: &App<S>) -> Self {
        Self { dev: app.security.mode == "development", allow: app.cfg.callback_allow.clone() }
    }

    fn allowed(&self, ip: IpAddr) -> bool {
        let ip = crate::proxy::canonical(ip);
        if self.allow.iter().any(|n| n.contains(ip)) {
            return true;
        }
        if self.dev && ip.is_loopback() {
            return true;
        }
        is_public(ip)
    }
}

/// A parsed callback URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `https` or `http`.
    pub https: bool,
    /// Host as written (brackets removed from IPv6 literals), lower case.
    pub host: String,
    /// Port (default 443/80).
    pub port: u16,
    /// Path and query (`/` at least), fragment dropped.
    pub path: String,
}

impl Target {
    /// The `Host` header value.
    fn host_header(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        let default = if self.https { 443 } else { 80 };
        if self.port == default { host } else { format!("{host}:{}", self.port) }
    }
}

/// Parse an absolute `http(s)://host[:port]/path?query` URL (no user info).
pub fn parse_url(url: &str) -> Result<Target, CallbackError> {
    if url.len() > MAX_URL {
        return Err(CallbackError::Invalid("callback_url is longer than 2048 bytes"));
    }
    if url.bytes().any(|b| !b.is_ascii_graphic()) {
        return Err(CallbackError::Invalid("callback_url must be printable ASCII without spaces"));
    }
    let (scheme, rest) = url.split_once("://").ok_or(CallbackError::Invalid("callback_url must be an absolute URL"))?;
    let https = match scheme.to_ascii_lowercase().as_str() {
        "https" => true,
        "http" => false,
        _ => return Err(CallbackError::Invalid("callback_url must be an http(s) URL")),
    };
    let rest = rest.split('#').next().unwrap_or("");
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    if authority.contains('@') {
        return Err(CallbackError::Invalid("callback_url must not carry user information"));
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (h, after) = v6.split_once(']').ok_or(CallbackError::Invalid("callback_url has a malformed host"))?;
            h.parse::<Ipv6Addr>().map_err(|_| CallbackError::Invalid("callback_url has a malformed host"))?;
            (h, after.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        },
    };
    let port = match port {
        None => {
            if https {
                443
            } else {
                80
            }
        }
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or(CallbackError::Invalid("callback_url has a malformed port"))?,
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && (host.parse::<IpAddr>().is_ok()
            || host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
    if !host_ok {
        return Err(CallbackError::Invalid("callback_url has a malformed host"));
    }
    let path = if path.starts_with('/') { path.to_owned() } else { format!("/{path}") };
    Ok(Target { https, host, port, path })
}

/// Whether `ip` is an ordinary public unicast address.
#[must_use]
pub fn is_public(ip: IpAddr) -> bool {
    match crate::proxy::canonical(ip) {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    const REFUSED: [([u8; 4], u32); 16] = [
        ([0, 0, 0, 0], 8),       // "this network", unspecified
        ([10, 0, 0, 0], 8),      // private
        ([100, 64, 0, 0], 10),   // shared address space (CGNAT; Alibaba metadata 100.100.100.200)
        ([127, 0, 0, 0], 8),     // loopback
        ([169, 254, 0, 0], 16),  // link-local (AWS/GCP/Azure metadata 169.254.169.254)
        ([172, 16, 0, 0], 12),   // private
        ([192, 0, 0, 0], 24),    // IETF protocol assignments (Oracle metadata 192.0.0.192)
        ([192, 0, 2, 0], 24),    // documentation
        ([192, 88, 99, 0], 24),  // 6to4 relay anycast
        ([192, 168, 0, 0], 16),  // private
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // documentation
        ([203, 0, 113, 0], 24),  // documentation
        ([224, 0, 0, 0], 4),     // multicast
        ([240, 0, 0, 0], 4),     // reserved, broadcast
        ([255, 255, 255, 255], 32),
    ];
    !REFUSED.iter().any(|(net, prefix)| in_v4(ip, *net, *prefix))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let bits = ip.to_bits();
    let in_net = |net: u128, prefix: u32| {
        let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
        bits & mask == net & mask
    };
    // Addresses that embed an IPv4 address are judged by it.
    if in_net(0x0064_ff9b_0000_0000_0000_0000_0000_0000, 96) || in_net(0, 96) {
        // NAT64 well-known prefix, IPv4-compatible (deprecated; covers :: and ::1).
        return bits > 1 && is_public_v4(Ipv4Addr::from((bits & 0xffff_ffff) as u32));
    }
    if in_net(0x2002_0000_0000_0000_0000_0000_0000_0000, 16) {
        // 6to4: the IPv4 address follows the prefix.
        return is_public_v4(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32));
    }
    const REFUSED: [(u128, u32); 9] = [
        (0x0064_ff9b_0001_0000_0000_0000_0000_0000, 48), // local-use NAT64
        (0x0100_0000_0000_0000_0000_0000_0000_0000, 64), // discard-only
        (0x2001_0000_0000_0000_0000_0000_0000_0000, 32), // Teredo
        (0x2001_0002_0000_0000_0000_0000_0000_0000, 48), // benchmarking
        (0x2001_0db8_0000_0000_0000_0000_0000_0000, 32), // documentation
        (0xfc00_0000_0000_0000_0000_0000_0000_0000, 7),  // unique local (AWS metadata fd00:ec2::254)
        (0xfe80_0000_0000_0000_0000_0000_0000_0000, 10), // link-local
        (0xfec0_0000_0000_0000_0000_0000_0000_0000, 10), // site-local (deprecated)
        (0xff00_0000_0000_0000_0000_0000_0000_0000, 8),  // multicast
    ];
    !REFUSED.iter().any(|(net, prefix)| in_net(*net, *prefix))
}

/// Resolve `target` once and check every address against `policy`; returns
/// the address to connect to (the first one).
pub async fn resolve_checked(policy: &Policy, target: &Target) -> Result<SocketAddr, CallbackError> {
    let addrs: Vec<SocketAddr> = match target.host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, target.port)],
        Err(_) => match tokio::time::timeout(
            Duration::from_secs(5),
            tokio::net::lookup_host((target.host.as_str(), target.port)),
        )
        .await
        {
            Ok(Ok(it)) => it.collect(),
            _ => return Err(CallbackError::Unresolvable),
        },
    };
    let first = *addrs.first().ok_or(CallbackError::Unresolvable)?;
    if addrs.iter().any(|a| !policy.allowed(a.ip())) {
        return Err(CallbackError::Forbidden);
    }
    // Plain http only to loopback in development mode.
    let loopback_dev = policy.dev && addrs.iter().all(|a| crate::proxy::canonical(a.ip()).is_loopback());
    if !(target.https || loopback_dev) {
        return Err(CallbackError::NotHttps);
    }
    Ok(first)
}

/// Validate a `callback_url` at session creation.
pub async fn check_url(policy: &Policy, url: &str) -> Result<Target, CallbackError> {
    let target = parse_url(url)?;
    if !target.https && !policy.dev {
        return Err(CallbackError::NotHttps);
    }
    resolve_checked(policy, &target).await?;
    Ok(target)
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`.
#[must_use]
pub fn signature(secret: &str, body: &[u8]) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else {
        // HMAC takes keys of any length; this branch is unreachable.
        return String::new();
    };
    mac.update(body);
    format!("sha256={}", util::hex(&mac.finalize().into_bytes()))
}

/// The exact body POSTed for `job`.
#[must_use]
pub fn body_of(job: &CallbackJob) -> Vec<u8> {
    serde_json::json!({
        "session_id": util::hex(&job.session_id),
        "status": "ready",
        "ciphertext": job.ciphertext,
        "algorithm": job.algorithm,
    })
    .to_string()
    .into_bytes()
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx.
    Delivered(u16),
    /// 3xx or 4xx, or the target is no longer allowed: not retried.
    Refused(String),
    /// Network error, timeout or 5xx: retried while attempts remain.
    Failed(String),
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = match rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
            {
                Ok(b) => b.with_root_certificates(roots).with_no_client_auth(),
                // The ring provider supports the default versions; fall back to the process default otherwise.
                Err(_) => rustls::ClientConfig::builder()
                    .with_root_certificates(rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() })
                    .with_no_client_auth(),
            };
            Arc::new(config)
        })
        .clone()
}

async fn send<IO>(io: IO, target: &Target, job: &CallbackJob, body: Vec<u8>) -> Result<u16, String>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let conn = tokio::spawn(async move {
        let _ = conn.await;
    });
    let sig = signature(&job.secret, &body);
    let req = hyper::Request::post(target.path.as_str())
        .header(hyper::header::HOST, target.host_header())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::USER_AGENT, concat!("sealpost-broker/", env!("CARGO_PKG_VERSION")))
        .header("X-LinkAuth-Delivery-Id", job.delivery_id.as_str())
        .header("X-LinkAuth-Signature", sig)
        .header(hyper::header::CONNECTION, "close")
        .body(Full::new(Bytes::from(body)))
        .map_err(|_| "request".to_owned())?;
    let resp = sender.send_request(req).await.map_err(|e| format!("request: {e}"));
    let result = match resp {
        Ok(resp) => {
            let status = resp.status().as_u16();
            // Read at most a little of the answer; it is not used.
            let _ = tokio::time::timeout(Duration::from_secs(1), resp.into_body().collect()).await;
            Ok(status)
        }
        Err(e) => Err(e),
    };
    conn.abort();
    result
}

/// One delivery attempt: check the target again, connect to the checked
/// address, POST, and classify the answer.
pub async fn attempt(policy: &Policy, job: &CallbackJob) -> Outcome {
    let target = match parse_url(&job.url) {
        Ok(t) => t,
        Err(e) => return Outcome::Refused(e.to_string()),
    };
    let addr = match resolve_checked(policy, &target).await {
        Ok(a) => a,
        Err(CallbackError::Unresolvable) => return Outcome::Failed("the host does not resolve".into()),
        Err(e) => return Outcome::Refused(e.to_string()),
    };
    let body = body_of(job);
    let run = async {
        let tcp = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connect: {}", e.kind()))?;
        let _ = tcp.set_nodelay(true);
        if target.https {
            let name =
                rustls::pki_types::ServerName::try_from(target.host.clone()).map_err(|_| "server name".to_owned())?;
            let tls = tokio_rustls::TlsConnector::from(tls_config())
                .connect(name, tcp)
                .await
                .map_err(|e| format!("tls: {e}"))?;
            send(tls, &target, job, body).await
        } else {
            send(tcp, &target, job, body).await
        }
    };
    match tokio::time::timeout(ATTEMPT_TIMEOUT, run).await {
        Err(_) => Outcome::Failed("timed out".into()),
        Ok(Err(e)) => Outcome::Failed(e),
        Ok(Ok(status)) if (200..300).contains(&status) => Outcome::Delivered(status),
        Ok(Ok(status)) if status >= 500 => Outcome::Failed(format!("answered {status}")),
        Ok(Ok(status)) => Outcome::Refused(format!("answered {status}")),
    }
}

/// Wakes the worker of this process at once (a session just became ready).
pub fn wake() {
    waker().notify_one();
}

fn waker() -> &'static Notify {
    static WAKE: OnceLock<Notify> = OnceLock::new();
    WAKE.get_or_init(Notify::new)
}

async fn run_job<S: Store>(app: Arc<App<S>>, policy: Policy, job: CallbackJob) {
    let host = parse_url(&job.url).map(|t| t.host).unwrap_or_default();
    let outcome = attempt(&policy, &job).await;
    let store = &app.store;
    let result = match &outcome {
        Outcome::Delivered(status) => {
            tracing::info!(host = %host, delivery = %job.delivery_id, status, attempt = job.attempts, "callback delivered");
            store.callback_finished(job.delivery_id.clone()).await
        }
        Outcome::Refused(why) => {
            tracing::warn!(host = %host, delivery = %job.delivery_id, attempt = job.attempts, reason = %why, "callback refused; not retried");
            store.callback_finished(job.delivery_id.clone()).await
        }
        Outcome::Failed(why) => {
            let next =
                usize::try_from(job.attempts).ok().and_then(|n| n.checked_sub(1)).and_then(|i| BACKOFF_SECS.get(i));
            match next {
                Some(secs) => {
                    tracing::info!(host = %host, delivery = %job.delivery_id, attempt = job.attempts, reason = %why, retry_in_s = secs, "callback failed; will retry");
                    store.callback_retry(job.delivery_id.clone(), util::now_ms().saturating_add(secs * 1000)).await
                }
                None => {
                    tracing::warn!(host = %host, delivery = %job.delivery_id, attempt = job.attempts, reason = %why, "callback failed; giving up");
                    store.callback_finished(job.delivery_id.clone()).await
                }
            }
        }
    };
    if let Err(e) = result {
        tracing::error!(error = %e, "callback outbox update failed");
    }
}

/// The outbox worker: claims due deliveries every second (or at once when
/// woken) and runs each in its own task.
pub async fn worker<S: Store>(app: Arc<App<S>>) {
    let policy = Policy::of(&app);
    let lease_ms = i64::try_from(app.cfg.callback_lease.saturating_mul(1000)).unwrap_or(i64::MAX);
    loop {
        match app.store.claim_callbacks(util::now_ms(), lease_ms, CLAIM_BATCH).await {
            Ok(jobs) => {
                let full = jobs.len() >= CLAIM_BATCH as usize;
                for job in jobs {
                    tokio::spawn(run_job(app.clone(), policy.clone(), job));
                }
                if full {
                    continue;
                }
            }
            Err(crate::store::StoreError::Unsupported(_)) => return,
            Err(e) => tracing::error!(error = %e, "callback outbox claim failed"),
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), waker().notified()).await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "192.0.0.192",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fe80::1",
            "fd00:ec2::254",
            "fc00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
            "2001:db8::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["1.1.1.1", "93.184.215.14", "2606:4700:4700::1111", "64:ff9b::101:101", "::ffff:8.8.8.8"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn urls_parse_strictly() {
        let t = parse_url("https://Example.com:8443/cb?x=1#frag").unwrap();
        assert_eq!((t.https, t.host.as_str(), t.port, t.path.as_str()), (true, "example.com", 8443, "/cb?x=1"));
        let t = parse_url("http://[::1]:9/").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.host_header()), ("::1", 9, "[::1]:9".to_owned()));
        assert_eq!(parse_url("https://h").unwrap().path, "/");
        for bad in [
            "ftp://h/",
            "https://u:p@h/",
            "https://h:0/",
            "https://h:99999/",
            "https:///x",
            "https://h x/",
            "//h/",
            "https://[zz]/",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn allow_list_and_dev_mode() {
        let strict = Policy { dev: false, allow: vec![] };
        assert!(!strict.allowed("127.0.0.1".parse().unwrap()));
        let dev = Policy { dev: true, allow: vec![] };
        assert!(dev.allowed("127.0.0.1".parse().unwrap()));
        assert!(!dev.allowed("10.0.0.1".parse().unwrap()));
        let allow = Policy { dev: false, allow: vec!["10.0.0.0/8".parse().unwrap()] };
        assert!(allow.allowed("10.9.9.9".parse().unwrap()));
        assert!(!allow.allowed("192.168.0.1".parse().unwrap()));
    }

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
