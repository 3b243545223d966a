//! The broker's shared state ([`App`]): configuration, store, rate limiters,
//! static files, and the checks the handlers share (rate limits, allowed
//! origins). The router and the server loop are in the crate root.

use sealpost_core::protocol::SecurityInfo;

use crate::assets::{AssetDir, Assets};
use crate::config::Config;
use crate::limiter::RateLimiter;
use crate::proxy::TrustedProxies;
use crate::store::Store;
use crate::util::{self, TokenHash};

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
    /// The consent page with its files written into it ([`crate::page`]).
    pub page: crate::page::PageCache,
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
            page: crate::page::PageCache::default(),
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
            message: Some("Traffic between this page and the broker stays on this computer.".into()),
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
