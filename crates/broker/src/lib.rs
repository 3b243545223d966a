//! Sealpost broker: a LinkAuth-compatible credential mailbox (docs/protocol.md)
//! that serves the consent page and the seal-only WASM bundle.
//!
//! Layout: [`api`] handlers over a [`store::Store`] (default [`sqlite::SqliteStore`]),
//! [`limiter`] fixed-memory rate limits, [`web`] static files and headers,
//! [`assets`] ETags and precompressed variants of the static files.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod api;
pub mod assets;
pub mod callbacks;
pub mod config;
pub mod conns;
pub mod errio;
pub mod limiter;
#[cfg(feature = "postgres")]
pub mod pg;
pub mod problem;
pub mod proxy;
pub mod sqlite;
pub mod store;
pub mod util;
pub mod web;
pub mod webhook;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit};
use axum::routing::{delete, get, post};
use sealpost_core::protocol::SecurityInfo;
use tokio::net::TcpListener;

use crate::assets::{AssetDir, Assets};
use crate::config::Config;
use crate::limiter::RateLimiter;
use crate::proxy::TrustedProxies;
use crate::store::Store;
use crate::util::TokenHash;

/// Largest request body, in bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// Shared state of the handlers.
pub struct App<S: Store> {
    /// Storage.
    pub store: S,
    /// Configuration as started.
    pub cfg: Config,
    /// Public base URL without trailing slash.
    pub base_url: String,
    /// `security` member of connect responses.
    pub security: SecurityInfo,
    /// SHA-256 of each configured API key.
    pub api_key_hashes: Vec<TokenHash>,
    /// Session creations per (client, has-valid-key).
    pub create_limiter: RateLimiter,
    /// Connect/resolve/confirm and complete attempts per (client, code).
    pub connect_limiter: RateLimiter,
    /// Per-client budgets across codes (connect) and inbox creation.
    pub client_limiter: RateLimiter,
    /// Origin of `base_url` (`scheme://host[:port]`, lower case, default port dropped).
    pub own_origin: String,
    /// Failed session look-ups (poll 403/404) across all clients.
    pub miss_limiter: RateLimiter,
    /// Limiter window (seconds since its start) in which the global ceiling was last logged.
    miss_logged: std::sync::atomic::AtomicU32,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub proxies: TrustedProxies,
    /// Consent page files.
    pub www: Assets,
    /// Seal-only bundle files.
    pub bundle: Assets,
}

impl<S: Store> App<S> {
    /// State for `cfg`, linking to `base_url`.
    pub fn new(store: S, cfg: Config, base_url: &str) -> Self {
        let base_url = base_url.trim_end_matches('/').to_owned();
        let security = security_info(&base_url);
        let api_key_hashes = cfg.api_keys.iter().filter(|k| !k.is_empty()).map(|k| util::hash_token(k)).collect();
        let (www, bundle) = asset_dirs(&cfg);
        let own_origin = origin_of(&base_url).unwrap_or_default();
        Self {
            store,
            own_origin,
            base_url,
            security,
            api_key_hashes,
            create_limiter: RateLimiter::new(cfg.limiter_capacity, 60),
            connect_limiter: RateLimiter::new(cfg.limiter_capacity, 60),
            client_limiter: RateLimiter::new(cfg.limiter_capacity, 60),
            miss_limiter: RateLimiter::new(16, 60),
            miss_logged: std::sync::atomic::AtomicU32::new(u32::MAX),
            proxies: TrustedProxies::new(cfg.trust_proxy.clone()),
            www: Assets::new(www),
            bundle: Assets::new(bundle),
            cfg,
        }
    }
}

/// Which rate limiter a check draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// [`App::create_limiter`].
    Create,
    /// [`App::connect_limiter`].
    Connect,
    /// [`App::client_limiter`].
    Client,
    /// [`App::miss_limiter`].
    Miss,
}

/// A `Hasher` that feeds SHA-256: the same key gives the same digest in every
/// broker process of one build (unlike the limiter's keyed SipHash).
struct StableHasher(sha2::Sha256);

impl std::hash::Hasher for StableHasher {
    fn write(&mut self, bytes: &[u8]) {
        sha2::Digest::update(&mut self.0, bytes);
    }
    fn finish(&self) -> u64 {
        0
    }
}

/// The 16-byte key a shared limit is stored under (no address or code in clear).
fn shared_key(which: Limit, key: &impl std::hash::Hash) -> [u8; 16] {
    use std::hash::Hash;
    let mut h = StableHasher(<sha2::Sha256 as sha2::Digest>::new());
    b"sealpost-limit-v1".hash(&mut h);
    which.hash(&mut h);
    key.hash(&mut h);
    let digest = sha2::Digest::finalize(h.0);
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

impl<S: Store> App<S> {
    /// Count one attempt for `key` against `limit` per minute; `false` past it
    /// (0 disables). The in-memory limiter answers first (this process alone
    /// over the limit means all processes together are); then, when the store
    /// is shared between processes (PostgreSQL), the store's counter decides,
    /// so N instances do not give N budgets. A store error refuses (429):
    /// these limits protect codes.
    pub async fn allow(&self, which: Limit, key: impl std::hash::Hash, limit: u32) -> bool {
        if limit == 0 {
            return true;
        }
        let local = match which {
            Limit::Create => &self.create_limiter,
            Limit::Connect => &self.connect_limiter,
            Limit::Client => &self.client_limiter,
            Limit::Miss => &self.miss_limiter,
        };
        if !local.check(&key, limit) {
            return false;
        }
        let now_s = util::now_ms() / 1000;
        match self.store.shared_limit(shared_key(which, &key), limit, 60, now_s).await {
            Ok(Some(ok)) => ok,
            Ok(None) => true,
            Err(e) => {
                tracing::error!(error = %e, "shared rate limit check failed; refusing");
                false
            }
        }
    }
}

impl<S: Store> App<S> {
    /// Log (once a minute at most) that the global ceiling on failed session
    /// look-ups is reached: someone is probably guessing codes.
    pub fn note_global_miss_ceiling(&self) {
        use std::sync::atomic::Ordering;
        let minute = self.miss_limiter.now() / 60;
        if self.miss_logged.swap(minute, Ordering::Relaxed) != minute {
            tracing::warn!(
                limit = self.cfg.poll_miss_global,
                "global ceiling on failed session look-ups reached: every failed poll gets 429 for up to a minute (code guessing?)"
            );
        }
    }
}

#[cfg(feature = "embed")]
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// Directories given on the command line win; otherwise the embedded copies
/// (`embed` feature) or the default paths on disk.
#[cfg(feature = "embed")]
fn asset_dirs(cfg: &Config) -> (AssetDir, AssetDir) {
    let www = cfg.www_dir.clone().map_or(AssetDir::Embedded(embedded::WWW), AssetDir::Disk);
    let bundle = cfg.bundle_dir.clone().map_or(AssetDir::Embedded(embedded::BUNDLE), AssetDir::Disk);
    (www, bundle)
}

#[cfg(not(feature = "embed"))]
fn asset_dirs(cfg: &Config) -> (AssetDir, AssetDir) {
    let www = cfg.www_dir.clone().unwrap_or_else(|| "www".into());
    let bundle = cfg.bundle_dir.clone().unwrap_or_else(|| "dist/seal".into());
    (AssetDir::Disk(www), AssetDir::Disk(bundle))
}

/// The origin of a URL or an `Origin` header value: `scheme://host[:port]` in
/// lower case, without the scheme's default port; `None` if it has no authority.
pub fn origin_of(url: &str) -> Option<String> {
    let lower = url.trim().to_ascii_lowercase();
    let (scheme, rest) = lower.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = match scheme {
        "https" => authority.strip_suffix(":443").unwrap_or(authority),
        "http" => authority.strip_suffix(":80").unwrap_or(authority),
        _ => authority,
    };
    Some(format!("{scheme}://{authority}"))
}

/// `(host, port)` of an http origin whose host is a loopback name or address.
fn loopback_origin(origin: &str) -> Option<(&str, &str)> {
    let rest = origin.strip_prefix("http://")?;
    let (host, port) = match rest.strip_prefix('[') {
        Some(v6) => {
            let (h, p) = v6.split_once(']')?;
            (h, p.strip_prefix(':').unwrap_or("80"))
        }
        None => rest.split_once(':').unwrap_or((rest, "80")),
    };
    let loopback =
        host == "localhost" || host == "::1" || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback());
    loopback.then_some((host, port))
}

impl<S: Store> App<S> {
    /// Whether a browser request carrying `Origin: origin` may use the
    /// browser-facing POSTs: the broker's own origin (on a loopback broker, any
    /// loopback name for the same port), or a browser extension
    /// (`chrome-extension://`, `moz-extension://`, which hold a host permission).
    pub fn origin_allowed(&self, origin: &str) -> bool {
        let o = origin.trim().to_ascii_lowercase();
        if o.starts_with("chrome-extension://") || o.starts_with("moz-extension://") {
            return true;
        }
        let Some(o) = origin_of(&o) else { return false };
        if o == self.own_origin {
            return true;
        }
        match (loopback_origin(&o), loopback_origin(&self.own_origin)) {
            (Some((_, port)), Some((_, own_port))) => port == own_port,
            _ => false,
        }
    }
}

/// `production` over https, `development` on a loopback host, else `insecure`.
pub fn security_info(base_url: &str) -> SecurityInfo {
    let lower = base_url.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return SecurityInfo { secure: true, mode: "production".into(), message: None };
    }
    let rest = lower.strip_prefix("http://").unwrap_or(&lower);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    let loopback = matches!(host, "localhost" | "::1") || host.starts_with("127.");
    if loopback {
        SecurityInfo {
            secure: true,
            mode: "development".into(),
            message: Some("Development broker on this computer: traffic does not leave the machine.".into()),
        }
    } else {
        SecurityInfo {
            secure: false,
            mode: "insecure".into(),
            message: Some(
                "This broker is not served over HTTPS: the page and the code can be tampered with on the network."
                    .into(),
            ),
        }
    }
}

/// The full route table.
pub fn router<S: Store>(app: Arc<App<S>>) -> Router {
    let hsts = app.base_url.to_ascii_lowercase().starts_with("https://");
    let body_timeout = Duration::from_secs(app.cfg.body_read_timeout.max(1));
    Router::new()
        .route("/v1/sessions", post(api::create_session::<S>))
        .route("/v1/sessions/{session_id}", get(api::poll_session::<S>))
        .route("/v1/sessions/{session_id}/webhook", post(webhook::relay::<S>))
        .route("/v1/connect/resolve", post(api::connect_resolve::<S>))
        .route("/v1/connect/{code}", get(api::connect_get::<S>))
        .route("/v1/connect/{code}/confirm", post(api::connect_confirm::<S>))
        .route("/v1/connect/{code}/complete", post(api::connect_complete::<S>))
        .route("/v1/inboxes", post(api::create_inbox::<S>))
        .route("/v1/inboxes/{inbox_id}", delete(api::delete_inbox::<S>))
        .route("/v1/inboxes/{inbox_id}/senders", post(api::create_sender::<S>).get(api::list_senders::<S>))
        .route("/v1/inboxes/{inbox_id}/senders/{sender_id}", delete(api::delete_sender::<S>))
        .route("/v1/inboxes/{inbox_id}/requests", get(api::inbox_requests::<S>))
        .route("/v1/inboxes/{inbox_id}/requests/{code}", delete(api::inbox_decline::<S>))
        .route("/connect", get(web::page::<S>))
        .route("/connect/{code}", get(web::page::<S>))
        .route("/assets/{file}", get(web::asset::<S>))
        .route("/pkg/{file}", get(web::pkg::<S>))
        .route("/jwt", get(web::jwt_page::<S>))
        .route("/jwt/{file}", get(web::jwt_pkg::<S>))
        .route("/healthz", get(web::health::<S>))
        .fallback(web::fallback)
        .method_not_allowed_fallback(web::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(move |req, next| web::read_body_within(body_timeout, req, next)))
        .layer(axum::middleware::from_fn(move |req, next| web::headers_and_log(hsts, req, next)))
        .with_state(app)
}

/// Public URL: the configured one, else `http://<bound address>`.
pub fn base_url(cfg: &Config, bound: SocketAddr) -> String {
    cfg.public_url.clone().unwrap_or_else(|| format!("http://{bound}"))
}

/// Periodically sweep expired sessions until `stop` resolves.
async fn sweeper<S: Store>(app: Arc<App<S>>) {
    let every = Duration::from_secs(app.cfg.sweep_interval.max(1));
    let idle_ms = i64::try_from(app.cfg.inbox_idle_days.saturating_mul(86_400_000)).unwrap_or(i64::MAX);
    loop {
        tokio::time::sleep(every).await;
        loop {
            match app.store.sweep(util::now_ms(), idle_ms).await {
                Ok(n) if n > 0 => {
                    tracing::info!(removed = n, "swept expired sessions");
                    if i64::try_from(n).unwrap_or(0) < sqlite::SWEEP_CHUNK {
                        break;
                    }
                }
                Ok(_) => break,
                Err(e) => {
                    tracing::error!(error = %e, "sweep failed");
                    break;
                }
            }
        }
    }
}

/// Whether an accept error concerns only that one connection.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// Serve on `listener` until `shutdown` resolves, then finish in-flight requests.
/// The store is dropped on return, so the writer commits everything queued.
///
/// HTTP/1.1 with hyper directly (not `axum::serve`) for the header read timeout:
/// a connection that does not deliver a complete request head within
/// `--header-read-timeout` (slowloris), or stays idle that long between
/// requests, is closed. Bodies are bounded by [`web::read_body_within`].
pub async fn serve<S: Store>(
    app: Arc<App<S>>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let header_timeout = Duration::from_secs(app.cfg.header_read_timeout.max(1));
    let first_byte = Duration::from_secs(app.cfg.first_byte_timeout.max(1));
    let soft = conns::nofile_soft_limit();
    let tracker =
        conns::ConnTracker::new(conns::total_cap(app.cfg.max_connections, soft), app.cfg.max_connections_per_client);
    tracing::info!(
        open_files = soft.map_or_else(|| "unlimited".to_owned(), |l| l.to_string()),
        max_connections = tracker.total_cap(),
        max_connections_per_client = app.cfg.max_connections_per_client,
        "connection caps"
    );
    let proxies = app.proxies.clone();
    let error_headers = web::error_headers(app.base_url.to_ascii_lowercase().starts_with("https://"));
    let sweep = tokio::spawn(sweeper(app.clone()));
    let outbox = tokio::spawn(callbacks::worker(app.clone()));
    let router = router(app);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors or similar: back off instead of spinning.
                    tracing::error!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // A trusted proxy carries many clients: only the total cap applies to it.
        let client = (!proxies.trusted(peer.ip())).then(|| api::limit_key(proxy::canonical(peer.ip())));
        let guard = match tracker.acquire(client) {
            Ok(g) => g,
            Err(why) => {
                tracker.note_refused(why);
                drop(stream);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: axum::http::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            // A Router is always ready; `call` on a clone is the documented pattern.
            tower_service::Service::call(&mut router.clone(), req)
        });
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _guard = guard;
            // A connection that sends nothing is closed well before the header timeout.
            let mut probe = [0u8; 1];
            match tokio::time::timeout(first_byte, stream.peek(&mut probe)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return,
            }
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(
                    hyper_util::rt::TokioIo::new(errio::SecureErrors::new(stream, error_headers)),
                    service,
                );
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    sweep.abort();
    let _ = sweep.await;
    // Deliveries in flight are leased: another instance or the next start finishes them.
    outbox.abort();
    let _ = outbox.await;
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
