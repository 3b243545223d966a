//! Command-line flags, each also readable from a `SEALPOST_*` environment variable.

use clap::{Parser, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Log line format on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// SQLite durability of each commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SyncMode {
    /// fsync on every group commit: a power loss never undoes a delivery.
    Full,
    /// fsync at checkpoints only: survives a process crash, not a power loss.
    Normal,
}

/// Sealpost broker: a LinkAuth-compatible credential mailbox.
#[derive(Debug, Clone, Parser)]
#[command(name = "sealpost-broker", version, about)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "SEALPOST_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Public base URL used in links (default http://<bound address>).
    #[arg(long, env = "SEALPOST_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// SQLite database file (created with its parent directories), or a
    /// PostgreSQL URL (`postgres://user@host/db`; several broker instances may
    /// share that database).
    #[arg(long, env = "SEALPOST_DB", default_value = "data/sealpost.db", hide_env_values = true)]
    pub db: PathBuf,

    /// PostgreSQL only: connections this instance keeps open to the database at most.
    #[arg(long, env = "SEALPOST_DB_POOL_SIZE", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub db_pool_size: u64,

    /// SQLite durability: `full` (fsync per group commit) or `normal`.
    #[arg(long, env = "SEALPOST_DB_SYNC", value_enum, default_value = "full")]
    pub db_sync: SyncMode,

    /// Directory of the consent page (index.html and its assets) [default: www,
    /// or the copy baked into the binary when built with the `embed` feature].
    #[arg(long, env = "SEALPOST_WWW_DIR")]
    pub www_dir: Option<PathBuf>,

    /// Directory of the seal-only WASM bundle, served under /pkg/ [default:
    /// dist/seal, or the copy baked into the binary with the `embed` feature].
    #[arg(long, env = "SEALPOST_BUNDLE_DIR")]
    pub bundle_dir: Option<PathBuf>,

    /// Session lifetime when the agent asks for none (seconds).
    #[arg(long, env = "SEALPOST_TTL_DEFAULT", default_value_t = 600)]
    pub ttl_default: u64,

    /// Longest session lifetime an agent may ask for (seconds).
    #[arg(long, env = "SEALPOST_TTL_MAX", default_value_t = 3600)]
    pub ttl_max: u64,

    /// Minimum polling interval announced to agents (seconds; 0 disables slow_down).
    #[arg(long, env = "SEALPOST_POLL_INTERVAL", default_value_t = 5)]
    pub poll_interval: u64,

    /// API key required on agent endpoints (repeatable; none = open broker).
    #[arg(long = "api-key", env = "SEALPOST_API_KEY", value_delimiter = ',', hide_env_values = true)]
    pub api_keys: Vec<String>,

    /// Log format on stderr.
    #[arg(long, env = "SEALPOST_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Log filter (tracing EnvFilter syntax).
    #[arg(long, env = "SEALPOST_LOG", default_value = "info")]
    pub log: String,

    /// Session creations per client address per minute (0 = unlimited).
    #[arg(long, env = "SEALPOST_CREATE_RATE", default_value_t = 60)]
    pub create_rate: u32,

    /// Session creations per minute for a client presenting a valid API key (0 = unlimited).
    #[arg(long, env = "SEALPOST_CREATE_RATE_API_KEY", default_value_t = 600)]
    pub create_rate_api_key: u32,

    /// Attempts per client address and code per minute on connect, resolve and
    /// confirm together, and on complete (the ciphertext submission) apart.
    #[arg(long, env = "SEALPOST_CONNECT_RATE", default_value_t = 10)]
    pub connect_rate: u32,

    /// Attempts per client address per minute on connect, resolve, confirm and
    /// complete, all codes together, plus its failed polls (403/404) (0 = unlimited).
    #[arg(long, env = "SEALPOST_CONNECT_RATE_CLIENT", default_value_t = 120)]
    pub connect_rate_client: u32,

    /// Failed session look-ups (polls answered 403 or 404) per minute across
    /// all clients; past it every failed poll gets 429 (0 = unlimited). Each
    /// client's failed polls also count against --connect-rate-client.
    #[arg(long, env = "SEALPOST_POLL_MISS_GLOBAL", default_value_t = 1000)]
    pub poll_miss_global: u32,

    /// Inbox creations per client address per minute (0 = unlimited).
    #[arg(long, env = "SEALPOST_INBOX_RATE", default_value_t = 10)]
    pub inbox_rate: u32,

    /// Seconds a connection may take to send a complete request head (request
    /// line and headers), also the longest idle time between keep-alive requests.
    #[arg(long, env = "SEALPOST_HEADER_READ_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout: u64,

    /// Seconds a new connection may stay silent before its first byte (then it
    /// is closed); the header read timeout runs from there.
    #[arg(long, env = "SEALPOST_FIRST_BYTE_TIMEOUT", default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub first_byte_timeout: u64,

    /// Cap on open connections (0 = the open-file limit less 64; never above that).
    #[arg(long, env = "SEALPOST_MAX_CONNECTIONS", default_value_t = 0)]
    pub max_connections: usize,

    /// Cap on open connections per client address (IPv6: per /64; a trusted
    /// proxy is exempt) (0 = none).
    #[arg(long, env = "SEALPOST_MAX_CONNECTIONS_PER_CLIENT", default_value_t = 64)]
    pub max_connections_per_client: usize,

    /// Seconds a request may take to send its whole body, counted from its head.
    #[arg(long, env = "SEALPOST_BODY_READ_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_read_timeout: u64,

    /// Reverse proxies to believe (comma-separated IPs or CIDR networks, e.g.
    /// `127.0.0.1,10.0.0.0/8`): a request from one of them is limited as the
    /// right-most X-Forwarded-For address that is not in this list. Empty: the
    /// TCP peer is the client and X-Forwarded-For is ignored.
    #[arg(long = "trust-proxy", env = "SEALPOST_TRUST_PROXY", value_delimiter = ',', value_name = "CIDR")]
    pub trust_proxy: Vec<crate::proxy::IpNet>,

    /// Keys tracked by each rate limiter (fixed memory, about 16 bytes each).
    #[arg(long, env = "SEALPOST_LIMITER_CAPACITY", default_value_t = 65_536)]
    pub limiter_capacity: usize,

    /// Cap on sessions not yet consumed, declined or expired.
    #[arg(long, env = "SEALPOST_MAX_OPEN_SESSIONS", default_value_t = 100_000)]
    pub max_open_sessions: u64,

    /// Cap on pending requests per inbox.
    #[arg(long, env = "SEALPOST_MAX_INBOX_SESSIONS", default_value_t = 20)]
    pub max_inbox_sessions: u64,

    /// Cap on pending requests per inbox sender.
    #[arg(long, env = "SEALPOST_MAX_SENDER_PENDING", default_value_t = 5)]
    pub max_sender_pending: u64,

    /// Cap on senders per inbox.
    #[arg(long, env = "SEALPOST_MAX_SENDERS", default_value_t = 50)]
    pub max_senders: u64,

    /// Cap on inboxes.
    #[arg(long, env = "SEALPOST_MAX_INBOXES", default_value_t = 100_000)]
    pub max_inboxes: u64,

    /// Seconds between sweeps of expired sessions.
    #[arg(long, env = "SEALPOST_SWEEP_INTERVAL", default_value_t = 30)]
    pub sweep_interval: u64,

    /// Days an unused inbox is kept.
    #[arg(long, env = "SEALPOST_INBOX_IDLE_DAYS", default_value_t = 30)]
    pub inbox_idle_days: u64,

    /// Networks a `callback_url` may resolve to although they are private,
    /// loopback, link-local or otherwise refused (comma-separated IPs or CIDR
    /// networks, e.g. `10.1.0.0/16`). Empty: only public addresses (and, on a
    /// development broker, loopback).
    #[arg(long = "callback-allow", env = "SEALPOST_CALLBACK_ALLOW", value_delimiter = ',', value_name = "CIDR")]
    pub callback_allow: Vec<crate::proxy::IpNet>,

    /// Seconds a broker instance holds a claimed callback delivery before
    /// another instance may take it over (must exceed the 10 s attempt timeout).
    #[arg(long, env = "SEALPOST_CALLBACK_LEASE", default_value_t = 30, hide = true, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub callback_lease: u64,
}
