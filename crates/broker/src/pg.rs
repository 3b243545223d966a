//! The PostgreSQL store: several broker processes on one database.
//!
//! A pool of connections (deadpool-postgres over tokio-postgres; TLS with the
//! server's certificate verified when the URL's `sslmode` asks for it, see
//! [`tls`]; otherwise reach the server over a Unix socket or a private
//! network). Every state transition
//! is one statement (`UPDATE ... WHERE state = ... RETURNING`, with its side
//! effects in data-modifying CTEs of the same statement), so two instances on
//! one database keep what one instance guarantees: a ciphertext is delivered
//! once (the `ready -> consumed` UPDATE and the DELETE of the envelope are one
//! statement), a code is confirmed once, a declined request stays declined.
//!
//! Caps hold across instances, checked in the same statement or transaction as
//! the insert:
//! - open sessions: a counter split over [`SHARDS`] rows (`open_counts`); an
//!   insert bumps one random shard only if the sum is below the cap. Concurrent
//!   inserts each see the sum before the others commit, so the cap may be passed
//!   by at most the number of creations in flight; each sweep recounts exactly.
//! - pending requests per inbox and per sender: the inbox row is locked
//!   (`FOR UPDATE`) for the check and the insert, so those caps are exact.
//! - rate limits ([`Store::shared_limit`]): one upsert per (key, window) on an
//!   UNLOGGED table (no WAL, no fsync; emptied by a server crash, which only
//!   resets budgets).
//!
//! Migrations are versioned (`sealpost_migrations`) and applied at start in one
//! transaction under a transaction-level advisory lock, so instances starting
//! at once apply each migration exactly once.

use std::sync::atomic::{AtomicU32, Ordering};

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, PoolError, RecyclingMethod};
use sealpost_core::protocol::{EnvelopeKind, FieldSpec, SessionStatus};
use tokio_postgres::types::ToSql;

use crate::store::{
    CallbackJob, Caps, InboxAccess, NewSender, NewSession, PollOutcome, SenderView, SessionExtras, SessionId,
    SessionView, Store, StoreError, Transition, WebhookTarget,
};
use crate::util::{TokenHash, hashes_equal};

pub mod create;
pub mod tls;

use tls::DbTls;

/// Rows of the open-session counter (16 before migration 3). More rows than
/// transactions that can hold one at once (two instances' pools), so a writer
/// nearly always finds a free row (`SKIP LOCKED`, see `pick_shard`).
pub const SHARDS: u32 = 64;
/// Sessions removed per sweep call (same as the SQLite store).
pub const SWEEP_CHUNK: i64 = crate::sqlite::SWEEP_CHUNK;
/// Advisory lock key held while migrating ("sealpost" in ASCII, truncated).
const MIGRATION_LOCK: i64 = 0x7365_616c_706f_7374;
/// Rate-limit rows whose window started this long ago are deleted by sweeps.
const RATE_ROW_TTL_S: i64 = 3600;

/// Schema migrations: (version, SQL). Append only; never edit a released one.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        "
CREATE TABLE sessions (
    id           BYTEA PRIMARY KEY,
    code         TEXT,
    state        TEXT NOT NULL CHECK (state IN ('pending','confirmed','ready','consumed','declined')),
    public_key   TEXT NOT NULL,
    display_name TEXT NOT NULL,
    fields       TEXT NOT NULL,
    envelope     TEXT NOT NULL,
    agent_name   TEXT,
    reason       TEXT,
    inbox_id     TEXT,
    sender_id    TEXT,
    poll_hash    BYTEA NOT NULL,
    connect_hash BYTEA,
    algorithm    TEXT,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    interval_s   BIGINT NOT NULL,
    last_poll_at BIGINT
);
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE INDEX sessions_inbox ON sessions (inbox_id, state) WHERE inbox_id IS NOT NULL;
CREATE INDEX sessions_sender ON sessions (sender_id, state) WHERE sender_id IS NOT NULL;
CREATE TABLE envelopes (
    session_id BYTEA PRIMARY KEY,
    ciphertext TEXT NOT NULL
);
CREATE TABLE inboxes (
    id           TEXT PRIMARY KEY,
    token_hash   BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL
);
CREATE TABLE senders (
    id           TEXT PRIMARY KEY,
    inbox_id     TEXT NOT NULL,
    name         TEXT NOT NULL,
    cred_hash    BYTEA NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    sent         BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX senders_inbox ON senders (inbox_id);
CREATE TABLE open_counts (
    shard INTEGER PRIMARY KEY,
    n     BIGINT NOT NULL
);
INSERT INTO open_counts (shard, n) SELECT g, 0 FROM generate_series(0, 15) AS g;
CREATE UNLOGGED TABLE rate_limits (
    key          BYTEA PRIMARY KEY,
    window_start BIGINT NOT NULL,
    count        INTEGER NOT NULL
);
CREATE INDEX rate_limits_window ON rate_limits (window_start);
",
    ),
    (
        2,
        // Callbacks and webhook relay (issue 14; the SQLite store's schema 3).
        "
ALTER TABLE sessions ADD COLUMN callback_url TEXT, ADD COLUMN callback_secret TEXT, ADD COLUMN webhook_hash BYTEA;
CREATE TABLE callback_outbox (
    delivery_id TEXT PRIMARY KEY,
    session_id  BYTEA NOT NULL,
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL,
    ciphertext  TEXT NOT NULL,
    algorithm   TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     BIGINT NOT NULL,
    lease_until BIGINT NOT NULL DEFAULT 0,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX callback_outbox_due ON callback_outbox (next_at);
",
    ),
    (
        3,
        // 64 counter rows instead of 16 (fewer writers waiting on one row). The sum
        // is unchanged (new rows count 0); older instances keep using rows 0-15.
        "INSERT INTO open_counts (shard, n) SELECT g, 0 FROM generate_series(16, 63) AS g ON CONFLICT DO NOTHING;",
    ),
];

/// Latest schema version this build writes.
pub const SCHEMA_VERSION: i32 = 3;

/// A database failure as text without any value of the request.
fn db_err(e: &tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(d) => StoreError::Backend(match d.constraint() {
            Some(c) => format!("SQLSTATE {} ({c})", d.code().code()),
            None => format!("SQLSTATE {}: {}", d.code().code(), d.message()),
        }),
        // Connection-level errors (refused, closed, TLS) carry no data, and their
        // cause (the certificate refused, the address refused) is in the source chain.
        None => {
            let mut msg = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                msg.push_str(": ");
                msg.push_str(&c.to_string());
                cause = c.source();
            }
            StoreError::Backend(msg)
        }
    }
}

fn pool_err(e: PoolError) -> StoreError {
    match e {
        PoolError::Backend(e) => db_err(&e),
        PoolError::Timeout(_) => StoreError::Backend("timed out waiting for a database connection".into()),
        PoolError::Closed => StoreError::Closed,
        other => StoreError::Backend(format!("connection pool: {other}")),
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        db_err(&e)
    }
}

/// Where a writer starts looking for a free row of the open-session counter
/// (round robin, from a per-process offset so instances start apart).
fn shard() -> i32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed).wrapping_add(std::process::id().wrapping_mul(7));
    i32::try_from(n % SHARDS).unwrap_or(0)
}

/// The counter row a writer adjusts: the first one no other transaction holds,
/// from row `$N` on (`{p}` is that parameter), locked for this statement's
/// transaction; if every row is held, row `$N` itself (and wait for it). Without
/// it, creations that hit a row another creation holds until its commit is on
/// disk would queue behind that fsync instead of sharing it.
fn pick_shard(p: &str) -> String {
    format!("coalesce((SELECT shard FROM open_counts ORDER BY shard < {p}, shard LIMIT 1 FOR UPDATE SKIP LOCKED), {p})")
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// PostgreSQL-backed [`Store`].
#[derive(Clone)]
pub struct PgStore {
    /// Connections lent to one request at a time: transactions and every
    /// write that must be on disk before the answer (each commit waits for its
    /// fsync, and many connections let commits share one).
    pool: Pool,
    /// Connections shared by all requests at once for reads and the poll-pace
    /// stamp (see [`Readers`]).
    readers: std::sync::Arc<Readers>,
    /// Creations (other than inbox requests) go through a queue and are
    /// committed in groups, one statement per group (see [`create`]).
    creations: create::Batcher,
}

/// The hot single-statement reads (a poll's session row, a view) go to a few
/// connections that every request uses at once: tokio-postgres pipelines the
/// statements of concurrent requests on one socket, so PostgreSQL reads and
/// answers them in batches instead of one backend wake-up per request (on two
/// cores, 16 backends taking turns cost more than the statements themselves).
///
/// These connections run with `synchronous_commit = off` and carry two kinds
/// of write: `sessions.last_poll_at`, the stamp only `slow_down` pacing reads
/// (a server crash may forget the last stamps: a client may then poll once
/// early), and the shared rate-limit upserts (an `UNLOGGED` table, whose
/// commits never waited for a WAL flush anyway). No state transition, session
/// or ciphertext is written here. A rate-limit upsert may wait for another
/// instance's upsert of the same key: one short autocommit statement.
/// Only autocommit statements run on them (never a transaction block), so
/// requests sharing one cannot see each other's state.
struct Readers {
    cfg: tokio_postgres::Config,
    tls: DbTls,
    slots: Vec<ReaderSlot>,
    next: std::sync::atomic::AtomicUsize,
}

#[derive(Default)]
struct ReaderSlot {
    conn: std::sync::RwLock<Option<std::sync::Arc<Reader>>>,
    /// Held while (re)connecting, so a dead connection is replaced once.
    connecting: tokio::sync::Mutex<()>,
}

/// One shared connection and its prepared statements.
struct Reader {
    client: tokio_postgres::Client,
    poll: tokio_postgres::Statement,
    view: tokio_postgres::Statement,
    stamp: tokio_postgres::Statement,
    limit: tokio_postgres::Statement,
}

const POLL_SQL: &str = "SELECT state, poll_hash, expires_at, interval_s, last_poll_at FROM sessions WHERE id = $1";
/// The pace stamp skips a row another transaction holds (a transition in
/// progress): a forgotten stamp is one early poll, a wait would stall every
/// request pipelined on the connection behind that transaction's fsync.
const STAMP_SQL: &str = "UPDATE sessions SET last_poll_at = GREATEST(coalesce(last_poll_at, $2), $2)
     WHERE id = (SELECT id FROM sessions WHERE id = $1 FOR UPDATE SKIP LOCKED)";

/// A shared rate-limit budget: one atomic upsert per attempt (see
/// [`Store::shared_limit`]); `$1` key, `$2` now (s), `$3` window (s).
const LIMIT_SQL: &str = "INSERT INTO rate_limits AS r (key, window_start, count) VALUES ($1, $2, 1)
     ON CONFLICT (key) DO UPDATE SET
       count = CASE WHEN r.window_start <= $2 - $3 THEN 1 ELSE LEAST(r.count, 1000000000) + 1 END,
       window_start = CASE WHEN r.window_start <= $2 - $3 THEN $2 ELSE r.window_start END
     RETURNING count";

fn view_sql() -> String {
    format!("SELECT {VIEW_COLUMNS} FROM sessions WHERE id = $1 AND expires_at > $2 AND state <> 'declined'")
}

/// Shared connections for a pool of `pool_size`: a quarter of it, 1 to 2.
fn reader_count(pool_size: usize) -> usize {
    (pool_size / 4).clamp(1, 2)
}

impl Readers {
    fn new(cfg: tokio_postgres::Config, tls: DbTls, n: usize) -> Self {
        Self { cfg, tls, slots: (0..n).map(|_| ReaderSlot::default()).collect(), next: Default::default() }
    }

    /// A live shared connection (round robin), connecting when needed.
    async fn get(&self) -> Result<std::sync::Arc<Reader>, StoreError> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len().max(1);
        let Some(slot) = self.slots.get(i) else { return Err(StoreError::Closed) };
        if let Some(r) = Self::live(slot) {
            return Ok(r);
        }
        let _guard = slot.connecting.lock().await;
        if let Some(r) = Self::live(slot) {
            return Ok(r);
        }
        let r = std::sync::Arc::new(self.connect().await?);
        *slot.conn.write().unwrap_or_else(|e| e.into_inner()) = Some(r.clone());
        Ok(r)
    }

    fn live(slot: &ReaderSlot) -> Option<std::sync::Arc<Reader>> {
        let conn = slot.conn.read().unwrap_or_else(|e| e.into_inner());
        conn.as_ref().filter(|r| !r.client.is_closed()).cloned()
    }

    /// Run a shared connection until it closes.
    async fn drive<F: std::future::Future<Output = Result<(), tokio_postgres::Error>>>(conn: F) {
        if let Err(e) = conn.await {
            tracing::warn!(error = %db_err(&e), "shared database connection closed");
        }
    }

    async fn connect(&self) -> Result<Reader, StoreError> {
        let connect = async {
            let client = match &self.tls {
                DbTls::Plain => {
                    let (client, conn) = self.cfg.connect(tokio_postgres::NoTls).await?;
                    tokio::spawn(Self::drive(conn));
                    client
                }
                DbTls::Verified(tls) => {
                    let (client, conn) = self.cfg.connect(tls.clone()).await?;
                    tokio::spawn(Self::drive(conn));
                    client
                }
            };
            client.batch_execute("SET synchronous_commit = off").await?;
            let poll = client.prepare(POLL_SQL).await?;
            let view = client.prepare(&view_sql()).await?;
            let stamp = client.prepare(STAMP_SQL).await?;
            let limit = client.prepare(LIMIT_SQL).await?;
            Ok::<_, tokio_postgres::Error>(Reader { client, poll, view, stamp, limit })
        };
        match tokio::time::timeout(std::time::Duration::from_secs(10), connect).await {
            Ok(r) => r.map_err(|e| db_err(&e)),
            Err(_) => Err(StoreError::Backend("timed out connecting to the database".into())),
        }
    }
}

/// Whether `db` names a PostgreSQL database rather than a SQLite file.
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// `db` with any password replaced by `***` (for logs).
pub fn redact_url(db: &str) -> String {
    let Some((scheme, rest)) = db.split_once("://") else { return db.to_owned() };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let q: Vec<&str> = query
                .split('&')
                .map(|kv| if kv.to_ascii_lowercase().starts_with("password=") { "password=***" } else { kv })
                .collect();
            format!("{path}?{}", q.join("&"))
        }
        None => tail.to_owned(),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            format!("{}:***@{host}", userinfo.split(':').next().unwrap_or(""))
        }
        _ => authority.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

impl PgStore {
    /// Connect (at most `pool_size` connections, 2 at least: a pool plus one or
    /// two shared ones, see [`Readers`]) and apply migrations.
    pub async fn connect(url: &str, pool_size: usize) -> Result<Self, StoreError> {
        let (cfg, tls) = tls::parse_url(url)?;
        let readers = reader_count(pool_size);
        let shared = Readers::new(cfg.clone(), tls.clone(), readers);
        let mc = ManagerConfig { recycling_method: RecyclingMethod::Fast };
        let mgr = match tls {
            DbTls::Plain => Manager::from_config(cfg, tokio_postgres::NoTls, mc),
            DbTls::Verified(tls) => Manager::from_config(cfg, tls, mc),
        };
        let pool = Pool::builder(mgr)
            .max_size(pool_size.saturating_sub(readers).max(1))
            .wait_timeout(Some(std::time::Duration::from_secs(10)))
            .create_timeout(Some(std::time::Duration::from_secs(10)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Backend(format!("connection pool: {e}")))?;
        let creations = create::Batcher::start(pool.clone(), create::WORKERS);
        let store = Self { pool, readers: std::sync::Arc::new(shared), creations };
        store.migrate().await?;
        Ok(store)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(pool_err)
    }

    /// Apply missing migrations under an advisory lock (idempotent; safe when
    /// several instances start at once).
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let txn = client.transaction().await?;
        txn.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
        txn.batch_execute(
            "CREATE TABLE IF NOT EXISTS sealpost_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await?;
        let current: i32 =
            txn.query_one("SELECT coalesce(max(version), 0) FROM sealpost_migrations", &[]).await?.get(0);
        if current > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew(i64::from(current)));
        }
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            txn.batch_execute(sql).await?;
            txn.execute(
                "INSERT INTO sealpost_migrations (version, applied_at) VALUES ($1, $2)",
                &[version, &crate::util::now_ms()],
            )
            .await?;
            tracing::info!(version, "database migration applied");
        }
        txn.commit().await?;
        Ok(())
    }

    /// Insert several creations (no inbox requests) with one statement and one
    /// commit, as the creation queue does: one result per creation, in order
    /// (tests and tools; requests go through [`Store::create_session_ext`]).
    pub async fn create_batch(&self, creations: &[create::Creation]) -> Vec<Result<(), StoreError>> {
        create::create_batch(&self.pool, creations).await
    }

    /// Creation groups committed so far and the creations they carried
    /// (diagnostics: the mean group size).
    pub fn creation_stats(&self) -> (u64, u64) {
        self.creations.stats()
    }

    /// Sum of the open-session counter (tests and diagnostics).
    pub async fn open_count(&self) -> Result<i64, StoreError> {
        let c = self.client().await?;
        Ok(c.query_one("SELECT coalesce(sum(n), 0)::BIGINT FROM open_counts", &[]).await?.get(0))
    }
}

const VIEW_COLUMNS: &str =
    "state, code, display_name, fields, public_key, envelope, agent_name, reason, created_at, expires_at";

fn status_of(s: &str) -> Result<SessionStatus, StoreError> {
    SessionStatus::parse(s).ok_or(StoreError::Corrupt)
}

fn build_view(r: &tokio_postgres::Row) -> Result<SessionView, StoreError> {
    let fields: String = r.try_get(3)?;
    let fields: Vec<FieldSpec> = serde_json::from_str(&fields).map_err(|_| StoreError::Corrupt)?;
    let envelope: String = r.try_get(5)?;
    let state: String = r.try_get(0)?;
    Ok(SessionView {
        status: status_of(&state)?,
        code: r.try_get(1)?,
        display_name: r.try_get(2)?,
        fields,
        public_key: r.try_get(4)?,
        envelope: EnvelopeKind::parse(&envelope).ok_or(StoreError::Corrupt)?,
        agent_name: r.try_get(6)?,
        reason: r.try_get(7)?,
        created_at: r.try_get(8)?,
        expires_at: r.try_get(9)?,
        id: None,
        sender: None,
    })
}

/// Check an inbox token in constant time; `Ok(None)` when granted. With
/// `lock`, the inbox row stays locked until the transaction ends.
async fn check_inbox(
    c: &impl GenericClient,
    inbox_id: &str,
    token_hash: &TokenHash,
    lock: bool,
) -> Result<Option<InboxAccess<()>>, StoreError> {
    let sql = if lock {
        "SELECT token_hash FROM inboxes WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT token_hash FROM inboxes WHERE id = $1"
    };
    let stmt = c.prepare_cached(sql).await?;
    let stored: Option<Vec<u8>> = c.query_opt(&stmt, &[&inbox_id]).await?.map(|r| r.get(0));
    Ok(match stored {
        None => Some(InboxAccess::NotFound),
        Some(h) if !hashes_equal(&h, token_hash) => Some(InboxAccess::Forbidden),
        Some(_) => None,
    })
}

fn deny<T>(denied: InboxAccess<()>) -> InboxAccess<T> {
    match denied {
        InboxAccess::Forbidden => InboxAccess::Forbidden,
        _ => InboxAccess::NotFound,
    }
}

/// Classify a session that a guarded UPDATE did not touch.
async fn classify_miss(c: &impl GenericClient, id: &SessionId, now: i64) -> Result<Transition, StoreError> {
    let stmt = c.prepare_cached("SELECT state, expires_at FROM sessions WHERE id = $1").await?;
    let row = c.query_opt(&stmt, &[&&id[..]]).await?;
    Ok(match row {
        None => Transition::NotFound,
        Some(r) => {
            let state: String = r.get(0);
            let exp: i64 = r.get(1);
            if exp <= now || state == "declined" { Transition::NotFound } else { Transition::Conflict }
        }
    })
}

/// End every waiting session with `column = value` as declined, adjusting the
/// open-session counter in the same statement; returns how many.
async fn decline_all(c: &impl GenericClient, column: &str, value: &str, now: i64) -> Result<i64, StoreError> {
    let sql = format!(
        "WITH d AS (UPDATE sessions SET state = 'declined', connect_hash = NULL
                    WHERE {column} = $1 AND state IN ('pending','confirmed') AND expires_at > $2 RETURNING 1),
              c AS (UPDATE open_counts SET n = n - (SELECT count(*) FROM d)
                    WHERE shard = {} AND EXISTS (SELECT 1 FROM d))
         SELECT count(*) FROM d",
        pick_shard("$3::INTEGER")
    );
    let stmt = c.prepare_cached(&sql).await?;
    Ok(c.query_one(&stmt, &[&value, &now, &shard()]).await?.get(0))
}

/// `-> ready` in one statement with everything it implies: the envelope row,
/// the callback queued in the outbox (with the secret moved off the session
/// row), so a crash leaves all of it or none. `$1` id, `$2` algorithm, `$4`
/// ciphertext; `set` adds assignments, `guard` is the state check. Answers the
/// number of sessions moved (0 or 1).
fn ready_sql(set: &str, guard: &str) -> String {
    format!(
        "WITH m AS (
            UPDATE sessions s SET state = 'ready', algorithm = $2, callback_secret = NULL{set}
            FROM (SELECT id, callback_secret AS secret FROM sessions WHERE id = $1 FOR UPDATE) o
            WHERE s.id = o.id AND {guard}
            RETURNING s.id, s.algorithm, s.callback_url, o.secret, s.expires_at),
          e AS (INSERT INTO envelopes (session_id, ciphertext) SELECT id, $4::TEXT FROM m RETURNING 1),
          q AS (INSERT INTO callback_outbox (delivery_id, session_id, url, secret, ciphertext, algorithm,
                                             attempts, next_at, lease_until, expires_at)
                SELECT gen_random_uuid()::TEXT, id, callback_url, secret, $4::TEXT, coalesce(algorithm, ''), 0, 0, 0, expires_at
                FROM m WHERE callback_url IS NOT NULL AND secret IS NOT NULL)
        SELECT count(*) FROM e"
    )
}

/// The `-> ready` transitions that a token authorises (`complete` with the
/// connect token, the webhook relay with the webhook token): a dead or declined
/// session is not found, a token that does not match the hash in `column` is
/// forbidden (compared in constant time), then [`ready_sql`] with `set` and
/// `guard` (which re-checks the hash as `$3`) moves the session, or the miss is
/// classified.
#[allow(clippy::too_many_arguments)]
async fn ready_if_hash(
    c: &impl GenericClient,
    id: &SessionId,
    column: &str,
    hash: &TokenHash,
    set: &str,
    guard: &str,
    ciphertext: &str,
    algorithm: &str,
    now: i64,
) -> Result<Transition, StoreError> {
    let stmt = c.prepare_cached(&format!("SELECT state, {column}, expires_at FROM sessions WHERE id = $1")).await?;
    let Some(row) = c.query_opt(&stmt, &[&&id[..]]).await? else {
        return Ok(Transition::NotFound);
    };
    let state: String = row.try_get(0)?;
    let stored: Option<Vec<u8>> = row.try_get(1)?;
    let expires_at: i64 = row.try_get(2)?;
    if expires_at <= now || state == "declined" {
        return Ok(Transition::NotFound);
    }
    match stored {
        Some(h) if hashes_equal(&h, hash) => {}
        _ => return Ok(Transition::Forbidden),
    }
    // State, envelope and queued callback in one statement: a crash leaves all or none.
    let stmt = c.prepare_cached(&ready_sql(set, guard)).await?;
    let moved: i64 = c.query_one(&stmt, &[&&id[..], &algorithm, &&hash[..], &ciphertext, &now]).await?.get(0);
    if moved > 0 {
        return Ok(Transition::Done);
    }
    classify_miss(c, id, now).await
}

/// Insert with the open-session cap in one statement: `(bumped, inserted)`.
fn insert_session_sql() -> String {
    format!(
        "
WITH cap AS (SELECT coalesce(sum(n), 0)::BIGINT AS open FROM open_counts),
     bump AS (UPDATE open_counts SET n = n + 1
              WHERE shard = {} AND (SELECT open FROM cap) < $16::BIGINT RETURNING 1),
     ins AS (
        INSERT INTO sessions (id, code, state, public_key, display_name, fields, envelope, agent_name, reason,
                              inbox_id, poll_hash, created_at, expires_at, interval_s, sender_id,
                              callback_url, callback_secret, webhook_hash)
        SELECT $1::BYTEA, $2::TEXT, 'pending', $3::TEXT, $4::TEXT, $5::TEXT, $6::TEXT, $7::TEXT, $8::TEXT,
               $9::TEXT, $10::BYTEA, $11::BIGINT, $12::BIGINT, $13::BIGINT, $14::TEXT,
               $17::TEXT, $18::TEXT, $19::BYTEA
        FROM bump
        ON CONFLICT (id) DO NOTHING RETURNING 1)
SELECT (SELECT count(*) FROM bump), (SELECT count(*) FROM ins)",
        pick_shard("$15::INTEGER")
    )
}

async fn insert_session(
    c: &impl GenericClient,
    s: &NewSession,
    fields: &str,
    caps: Caps,
    target: Option<&(String, String)>,
    extras: &SessionExtras,
) -> Result<(), StoreError> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(insert_session_sql);
    let stmt = c.prepare_cached(&SQL).await?;
    let code = target.map(|_| s.code.as_str());
    let inbox = target.map(|(i, _)| i.as_str());
    let sender = target.map(|(_, se)| se.as_str());
    let interval = to_i64(s.interval);
    let max_open = to_i64(caps.max_open);
    let sh = shard();
    let (callback_url, callback_secret) = extras.callback.as_ref().map(|(u, k)| (u.as_str(), k.as_str())).unzip();
    let webhook_hash = extras.webhook_hash.as_ref().map(|h| &h[..]);
    let params: [&(dyn ToSql + Sync); 19] = [
        &&s.id[..],
        &code,
        &s.public_key,
        &s.display_name,
        &fields,
        &s.envelope.as_str(),
        &s.agent_name,
        &s.reason,
        &inbox,
        &&s.poll_hash[..],
        &s.created_at,
        &s.expires_at,
        &interval,
        &sender,
        &sh,
        &max_open,
        &callback_url,
        &callback_secret,
        &webhook_hash,
    ];
    let row = c.query_one(&stmt, &params).await?;
    let (bumped, inserted): (i64, i64) = (row.get(0), row.get(1));
    if bumped == 0 {
        return Err(StoreError::Full);
    }
    if inserted == 0 {
        // Code collision: give back the bump.
        static UNDO: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!("UPDATE open_counts SET n = n - 1 WHERE shard = {}", pick_shard("$1::INTEGER"))
        });
        let undo = c.prepare_cached(&UNDO).await?;
        c.execute(&undo, &[&sh]).await?;
        return Err(StoreError::Duplicate);
    }
    Ok(())
}

impl Store for PgStore {
    async fn create_session(&self, s: NewSession, caps: Caps) -> Result<(), StoreError> {
        self.create_session_ext(s, caps, SessionExtras::default()).await
    }

    async fn create_session_ext(&self, s: NewSession, caps: Caps, extras: SessionExtras) -> Result<(), StoreError> {
        let fields = serde_json::to_string(&s.fields).map_err(|_| StoreError::Corrupt)?;
        let Some(cred) = s.sender else {
            // Group commit with concurrent creations; answered after the commit.
            return self.creations.create(create::Creation { session: s, fields, caps, extras }).await;
        };
        let mut client = self.client().await?;
        // Inbox requests: the inbox row lock makes the per-inbox and per-sender caps exact.
        let txn = client.transaction().await?;
        let stmt = txn
            .prepare_cached(
                "SELECT se.id, se.inbox_id FROM senders se JOIN inboxes i ON i.id = se.inbox_id
                 WHERE se.cred_hash = $1 FOR UPDATE OF i",
            )
            .await?;
        let Some(row) = txn.query_opt(&stmt, &[&&cred[..]]).await? else {
            return Err(StoreError::SenderInvalid);
        };
        let (sender_id, inbox): (String, String) = (row.get(0), row.get(1));
        let stmt = txn
            .prepare_cached(
                "SELECT count(*) FILTER (WHERE sender_id = $2), count(*) FROM sessions
                 WHERE inbox_id = $1 AND state IN ('pending','confirmed') AND expires_at > $3",
            )
            .await?;
        let row = txn.query_one(&stmt, &[&inbox, &sender_id, &s.created_at]).await?;
        let (mine, pending): (i64, i64) = (row.get(0), row.get(1));
        if u64::try_from(mine).unwrap_or(0) >= caps.max_per_sender {
            return Err(StoreError::SenderQuota);
        }
        if u64::try_from(pending).unwrap_or(0) >= caps.max_per_inbox {
            return Err(StoreError::InboxFull);
        }
        let target = (inbox, sender_id);
        insert_session(&txn, &s, &fields, caps, Some(&target), &extras).await?;
        let stmt = txn.prepare_cached("UPDATE senders SET sent = sent + 1, last_used_at = $2 WHERE id = $1").await?;
        txn.execute(&stmt, &[&target.1, &s.created_at]).await?;
        txn.commit().await?;
        Ok(())
    }

    async fn poll(&self, id: SessionId, poll_hash: TokenHash, now: i64) -> Result<PollOutcome, StoreError> {
        let reader = self.readers.get().await?;
        let Some(row) = reader.client.query_opt(&reader.poll, &[&&id[..]]).await? else {
            return Ok(PollOutcome::NotFound);
        };
        let state: String = row.try_get(0)?;
        let stored_hash: Vec<u8> = row.try_get(1)?;
        let expires_at: i64 = row.try_get(2)?;
        let interval: i64 = row.try_get(3)?;
        let last_poll: Option<i64> = row.try_get(4)?;
        if expires_at <= now {
            return Ok(PollOutcome::NotFound);
        }
        if !hashes_equal(&stored_hash, &poll_hash) {
            return Ok(PollOutcome::Forbidden);
        }
        if state == "declined" {
            return Ok(PollOutcome::Declined);
        }
        // 10% grace for network jitter; a poll stamped before the last one has a gap of 0.
        let min_gap_ms = interval.saturating_mul(900);
        let interval = u64::try_from(interval).unwrap_or(0);
        if let Some(last) = last_poll
            && now.saturating_sub(last).max(0) < min_gap_ms
        {
            return Ok(PollOutcome::SlowDown(interval + 5));
        }
        if state == "ready" {
            // The gate: one statement moves the row out of `ready`, takes the
            // envelope and adjusts the counter; only one poll on any instance can.
            static DELIVER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
                format!(
                    "WITH c AS (UPDATE sessions SET state = 'consumed', last_poll_at = $2
                                WHERE id = $1 AND state = 'ready' RETURNING id, algorithm),
                          n AS (UPDATE open_counts SET n = n - 1 WHERE shard = {} AND EXISTS (SELECT 1 FROM c)),
                          e AS (DELETE FROM envelopes WHERE session_id IN (SELECT id FROM c) RETURNING ciphertext)
                     SELECT (SELECT algorithm FROM c), (SELECT ciphertext FROM e), EXISTS (SELECT 1 FROM c)",
                    pick_shard("$3::INTEGER")
                )
            });
            let c = self.client().await?;
            let stmt = c.prepare_cached(&DELIVER).await?;
            let row = c.query_one(&stmt, &[&&id[..], &now, &shard()]).await?;
            let moved: bool = row.try_get(2)?;
            if moved {
                let algorithm: Option<String> = row.try_get(0)?;
                let ciphertext: Option<String> = row.try_get(1)?;
                let ciphertext = ciphertext.ok_or(StoreError::Corrupt)?;
                return Ok(PollOutcome::Delivered {
                    ciphertext,
                    algorithm: algorithm.unwrap_or_default(),
                    expires_at,
                    interval,
                });
            }
            return Ok(PollOutcome::Status { status: SessionStatus::Consumed, expires_at, interval });
        }
        if interval > 0 {
            // Only slow_down reads this stamp: on the shared connection, whose
            // commits do not wait for the WAL flush (a crash may forget a
            // stamp, never a transition), pipelined with other requests.
            reader.client.execute(&reader.stamp, &[&&id[..], &now]).await?;
        }
        Ok(PollOutcome::Status { status: status_of(&state)?, expires_at, interval })
    }

    async fn view(&self, id: SessionId, now: i64) -> Result<Option<SessionView>, StoreError> {
        let reader = self.readers.get().await?;
        reader.client.query_opt(&reader.view, &[&&id[..], &now]).await?.as_ref().map(build_view).transpose()
    }

    async fn confirm(&self, id: SessionId, connect_hash: TokenHash, now: i64) -> Result<Transition, StoreError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "UPDATE sessions SET state = 'confirmed', connect_hash = $2
                 WHERE id = $1 AND state = 'pending' AND expires_at > $3 RETURNING 1",
            )
            .await?;
        if c.query_opt(&stmt, &[&&id[..], &&connect_hash[..], &now]).await?.is_some() {
            return Ok(Transition::Done);
        }
        classify_miss(&c, &id, now).await
    }

    async fn complete(
        &self,
        id: SessionId,
        connect_hash: TokenHash,
        ciphertext: String,
        algorithm: String,
        now: i64,
    ) -> Result<Transition, StoreError> {
        let c = self.client().await?;
        let guard = "s.state = 'confirmed' AND s.connect_hash = $3 AND s.expires_at > $5";
        ready_if_hash(&c, &id, "connect_hash", &connect_hash, "", guard, &ciphertext, &algorithm, now).await
    }

    async fn create_inbox(
        &self,
        id: String,
        token_hash: TokenHash,
        max_inboxes: u64,
        now: i64,
    ) -> Result<(), StoreError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "INSERT INTO inboxes (id, token_hash, created_at, last_used_at)
                 SELECT $1::TEXT, $2::BYTEA, $3::BIGINT, $3::BIGINT WHERE (SELECT count(*) FROM inboxes) < $4::BIGINT
                 ON CONFLICT (id) DO NOTHING RETURNING 1",
            )
            .await?;
        let max = to_i64(max_inboxes);
        if c.query_opt(&stmt, &[&id, &&token_hash[..], &now, &max]).await?.is_some() {
            return Ok(());
        }
        let n: i64 = c.query_one("SELECT count(*) FROM inboxes", &[]).await?.get(0);
        Err(if n >= max { StoreError::TooManyInboxes } else { StoreError::Duplicate })
    }

    async fn inbox_requests(
        &self,
        inbox_id: String,
        token_hash: TokenHash,
        now: i64,
    ) -> Result<InboxAccess<Vec<SessionView>>, StoreError> {
        let c = self.client().await?;
        if let Some(denied) = check_inbox(&c, &inbox_id, &token_hash, false).await? {
            return Ok(deny(denied));
        }
        let stmt =
            c.prepare_cached("UPDATE inboxes SET last_used_at = GREATEST(last_used_at, $2) WHERE id = $1").await?;
        c.execute(&stmt, &[&inbox_id, &now]).await?;
        let stmt = c
            .prepare_cached(
                "SELECT s.state, s.code, s.display_name, s.fields, s.public_key, s.envelope, s.agent_name, s.reason,
                        s.created_at, s.expires_at, s.id, s.sender_id, se.name
                 FROM sessions s LEFT JOIN senders se ON se.id = s.sender_id
                 WHERE s.inbox_id = $1 AND s.state = 'pending' AND s.expires_at > $2
                 ORDER BY s.created_at, s.id",
            )
            .await?;
        let mut out = Vec::new();
        for r in c.query(&stmt, &[&inbox_id, &now]).await? {
            let mut view = build_view(&r)?;
            let id: Vec<u8> = r.try_get(10)?;
            view.id = Some(id.try_into().map_err(|_| StoreError::Corrupt)?);
            let sender_id: Option<String> = r.try_get(11)?;
            let sender_name: Option<String> = r.try_get(12)?;
            view.sender = sender_id.map(|sid| (sid, sender_name.unwrap_or_default()));
            out.push(view);
        }
        Ok(InboxAccess::Granted(out))
    }

    async fn decline(
        &self,
        inbox_id: String,
        token_hash: TokenHash,
        id: SessionId,
        now: i64,
    ) -> Result<InboxAccess<Transition>, StoreError> {
        let c = self.client().await?;
        if let Some(denied) = check_inbox(&c, &inbox_id, &token_hash, false).await? {
            return Ok(deny(denied));
        }
        static DECLINE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "WITH d AS (UPDATE sessions SET state = 'declined', connect_hash = NULL
                            WHERE id = $1 AND inbox_id = $2 AND state IN ('pending','confirmed') AND expires_at > $3
                            RETURNING 1),
                      n AS (UPDATE open_counts SET n = n - 1 WHERE shard = {} AND EXISTS (SELECT 1 FROM d))
                 SELECT count(*) FROM d",
                pick_shard("$4::INTEGER")
            )
        });
        let stmt = c.prepare_cached(&DECLINE).await?;
        let done: i64 = c.query_one(&stmt, &[&&id[..], &inbox_id, &now, &shard()]).await?.get(0);
        if done > 0 {
            return Ok(InboxAccess::Granted(Transition::Done));
        }
        let stmt = c.prepare_cached("SELECT 1 FROM sessions WHERE id = $1 AND inbox_id = $2").await?;
        if c.query_opt(&stmt, &[&&id[..], &inbox_id]).await?.is_none() {
            return Ok(InboxAccess::Granted(Transition::NotFound));
        }
        Ok(InboxAccess::Granted(classify_miss(&c, &id, now).await?))
    }

    async fn create_sender(
        &self,
        inbox_id: String,
        token_hash: TokenHash,
        sender: NewSender,
        max_senders: u64,
    ) -> Result<InboxAccess<()>, StoreError> {
        let mut client = self.client().await?;
        let txn = client.transaction().await?;
        if let Some(denied) = check_inbox(&txn, &inbox_id, &token_hash, true).await? {
            return Ok(deny(denied));
        }
        let stmt = txn.prepare_cached("SELECT count(*) FROM senders WHERE inbox_id = $1").await?;
        let n: i64 = txn.query_one(&stmt, &[&inbox_id]).await?.get(0);
        if u64::try_from(n).unwrap_or(0) >= max_senders {
            return Err(StoreError::TooManySenders);
        }
        let stmt = txn
            .prepare_cached(
                "INSERT INTO senders (id, inbox_id, name, cred_hash, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT DO NOTHING",
            )
            .await?;
        let inserted = txn
            .execute(&stmt, &[&sender.id, &inbox_id, &sender.name, &&sender.credential_hash[..], &sender.created_at])
            .await?;
        if inserted == 0 {
            return Err(StoreError::Duplicate);
        }
        let stmt =
            txn.prepare_cached("UPDATE inboxes SET last_used_at = GREATEST(last_used_at, $2) WHERE id = $1").await?;
        txn.execute(&stmt, &[&inbox_id, &sender.created_at]).await?;
        txn.commit().await?;
        Ok(InboxAccess::Granted(()))
    }

    async fn list_senders(
        &self,
        inbox_id: String,
        token_hash: TokenHash,
        now: i64,
    ) -> Result<InboxAccess<Vec<SenderView>>, StoreError> {
        let c = self.client().await?;
        if let Some(denied) = check_inbox(&c, &inbox_id, &token_hash, false).await? {
            return Ok(deny(denied));
        }
        let stmt =
            c.prepare_cached("UPDATE inboxes SET last_used_at = GREATEST(last_used_at, $2) WHERE id = $1").await?;
        c.execute(&stmt, &[&inbox_id, &now]).await?;
        let stmt = c
            .prepare_cached(
                "SELECT se.id, se.name, se.created_at, se.last_used_at, se.sent,
                        (SELECT count(*) FROM sessions s WHERE s.sender_id = se.id
                           AND s.state IN ('pending','confirmed') AND s.expires_at > $2)
                 FROM senders se WHERE se.inbox_id = $1 ORDER BY se.created_at, se.id",
            )
            .await?;
        let mut out = Vec::new();
        for r in c.query(&stmt, &[&inbox_id, &now]).await? {
            out.push(SenderView {
                id: r.try_get(0)?,
                name: r.try_get(1)?,
                created_at: r.try_get(2)?,
                last_used_at: r.try_get(3)?,
                sent: u64::try_from(r.try_get::<_, i64>(4)?).unwrap_or(0),
                pending: u64::try_from(r.try_get::<_, i64>(5)?).unwrap_or(0),
            });
        }
        Ok(InboxAccess::Granted(out))
    }

    async fn delete_sender(
        &self,
        inbox_id: String,
        token_hash: TokenHash,
        sender_id: String,
        now: i64,
    ) -> Result<InboxAccess<bool>, StoreError> {
        let mut client = self.client().await?;
        let txn = client.transaction().await?;
        if let Some(denied) = check_inbox(&txn, &inbox_id, &token_hash, true).await? {
            return Ok(deny(denied));
        }
        let stmt = txn.prepare_cached("DELETE FROM senders WHERE id = $1 AND inbox_id = $2").await?;
        if txn.execute(&stmt, &[&sender_id, &inbox_id]).await? == 0 {
            return Ok(InboxAccess::Granted(false));
        }
        decline_all(&txn, "sender_id", &sender_id, now).await?;
        txn.commit().await?;
        Ok(InboxAccess::Granted(true))
    }

    async fn delete_inbox(
        &self,
        inbox_id: String,
        token_hash: TokenHash,
        now: i64,
    ) -> Result<InboxAccess<()>, StoreError> {
        let mut client = self.client().await?;
        let txn = client.transaction().await?;
        if let Some(denied) = check_inbox(&txn, &inbox_id, &token_hash, true).await? {
            return Ok(deny(denied));
        }
        decline_all(&txn, "inbox_id", &inbox_id, now).await?;
        let stmt = txn.prepare_cached("DELETE FROM senders WHERE inbox_id = $1").await?;
        txn.execute(&stmt, &[&inbox_id]).await?;
        let stmt = txn.prepare_cached("DELETE FROM inboxes WHERE id = $1").await?;
        txn.execute(&stmt, &[&inbox_id]).await?;
        txn.commit().await?;
        Ok(InboxAccess::Granted(()))
    }

    async fn sweep(&self, now: i64, inbox_idle_ms: i64) -> Result<u64, StoreError> {
        // Each statement is idempotent and skips rows another sweeper holds, so
        // every instance may sweep at the same time.
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "DELETE FROM envelopes WHERE session_id IN (SELECT id FROM sessions WHERE expires_at <= $1)",
            )
            .await?;
        c.execute(&stmt, &[&now]).await?;
        let stmt = c
            .prepare_cached(
                "DELETE FROM sessions WHERE id IN
                   (SELECT id FROM sessions WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
            )
            .await?;
        let removed = c.execute(&stmt, &[&now, &SWEEP_CHUNK]).await?;
        let stmt = c
            .prepare_cached(
                "DELETE FROM inboxes WHERE last_used_at <= $1
                   AND NOT EXISTS (SELECT 1 FROM sessions WHERE sessions.inbox_id = inboxes.id)",
            )
            .await?;
        c.execute(&stmt, &[&now.saturating_sub(inbox_idle_ms)]).await?;
        let stmt = c
            .prepare_cached(
                "DELETE FROM senders WHERE NOT EXISTS (SELECT 1 FROM inboxes WHERE inboxes.id = senders.inbox_id)",
            )
            .await?;
        c.execute(&stmt, &[]).await?;
        let stmt = c.prepare_cached("DELETE FROM rate_limits WHERE window_start <= $1").await?;
        c.execute(&stmt, &[&(now / 1000 - RATE_ROW_TTL_S)]).await?;
        // Recount open sessions exactly (expired ones leave the count here).
        let stmt = c
            .prepare_cached(
                "UPDATE open_counts SET n = CASE WHEN shard = 0 THEN
                   (SELECT count(*) FROM sessions WHERE state IN ('pending','confirmed','ready') AND expires_at > $1)
                   ELSE 0 END",
            )
            .await?;
        c.execute(&stmt, &[&now]).await?;
        Ok(removed)
    }

    async fn webhook_target(
        &self,
        id: SessionId,
        token_hash: TokenHash,
        now: i64,
    ) -> Result<WebhookTarget, StoreError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached("SELECT state, webhook_hash, expires_at, public_key, envelope FROM sessions WHERE id = $1")
            .await?;
        let Some(r) = c.query_opt(&stmt, &[&&id[..]]).await? else {
            return Ok(WebhookTarget::NotFound);
        };
        let state: String = r.try_get(0)?;
        let stored: Option<Vec<u8>> = r.try_get(1)?;
        let expires_at: i64 = r.try_get(2)?;
        if expires_at <= now || state == "declined" {
            return Ok(WebhookTarget::NotFound);
        }
        let Some(stored) = stored else {
            return Ok(WebhookTarget::NotEnabled);
        };
        if !hashes_equal(&stored, &token_hash) {
            return Ok(WebhookTarget::Forbidden);
        }
        if state != "pending" && state != "confirmed" {
            return Ok(WebhookTarget::Conflict);
        }
        let envelope: String = r.try_get(4)?;
        Ok(WebhookTarget::Open {
            public_key: r.try_get(3)?,
            envelope: EnvelopeKind::parse(&envelope).ok_or(StoreError::Corrupt)?,
        })
    }

    async fn webhook_relay(
        &self,
        id: SessionId,
        token_hash: TokenHash,
        ciphertext: String,
        algorithm: String,
        now: i64,
    ) -> Result<Transition, StoreError> {
        let c = self.client().await?;
        let guard = "s.state IN ('pending','confirmed') AND s.expires_at > $5 AND s.webhook_hash = $3";
        ready_if_hash(
            &c,
            &id,
            "webhook_hash",
            &token_hash,
            ", connect_hash = NULL",
            guard,
            &ciphertext,
            &algorithm,
            now,
        )
        .await
    }

    async fn claim_callbacks(&self, now: i64, lease_ms: i64, limit: u32) -> Result<Vec<CallbackJob>, StoreError> {
        let c = self.client().await?;
        let stmt = c.prepare_cached("DELETE FROM callback_outbox WHERE expires_at <= $1").await?;
        c.execute(&stmt, &[&now]).await?;
        // SKIP LOCKED: instances claiming at once get disjoint rows.
        let stmt = c
            .prepare_cached(
                "UPDATE callback_outbox SET lease_until = $2, attempts = attempts + 1
                 WHERE delivery_id IN (SELECT delivery_id FROM callback_outbox
                                       WHERE next_at <= $1 AND lease_until <= $1
                                       ORDER BY next_at LIMIT $3 FOR UPDATE SKIP LOCKED)
                 RETURNING delivery_id, session_id, url, secret, ciphertext, algorithm, attempts",
            )
            .await?;
        let rows = c.query(&stmt, &[&now, &now.saturating_add(lease_ms), &i64::from(limit)]).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let session_id: Vec<u8> = r.try_get(1)?;
            let attempts: i32 = r.try_get(6)?;
            out.push(CallbackJob {
                delivery_id: r.try_get(0)?,
                session_id: session_id.try_into().map_err(|_| StoreError::Corrupt)?,
                url: r.try_get(2)?,
                secret: r.try_get(3)?,
                ciphertext: r.try_get(4)?,
                algorithm: r.try_get(5)?,
                attempts: u32::try_from(attempts).unwrap_or(0),
            });
        }
        Ok(out)
    }

    async fn callback_finished(&self, delivery_id: String) -> Result<(), StoreError> {
        let c = self.client().await?;
        let stmt = c.prepare_cached("DELETE FROM callback_outbox WHERE delivery_id = $1").await?;
        c.execute(&stmt, &[&delivery_id]).await?;
        Ok(())
    }

    async fn callback_retry(&self, delivery_id: String, next_at: i64) -> Result<(), StoreError> {
        let c = self.client().await?;
        let stmt =
            c.prepare_cached("UPDATE callback_outbox SET next_at = $2, lease_until = 0 WHERE delivery_id = $1").await?;
        c.execute(&stmt, &[&delivery_id, &next_at]).await?;
        Ok(())
    }

    async fn shared_limit(
        &self,
        key: [u8; 16],
        limit: u32,
        window_secs: u32,
        now_s: i64,
    ) -> Result<Option<bool>, StoreError> {
        if limit == 0 {
            return Ok(Some(true));
        }
        // One autocommit upsert on an unlogged table (no WAL to flush), so it
        // rides the shared pipelined connections instead of a pooled one.
        let reader = self.readers.get().await?;
        let count: i32 =
            reader.client.query_one(&reader.limit, &[&&key[..], &now_s, &i64::from(window_secs)]).await?.get(0);
        Ok(Some(i64::from(count) <= i64::from(limit)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("postgresql://u@h/db?password=secret&x=1"), "postgresql://u@h/db?password=***&x=1");
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
        assert_eq!(redact_url("postgres://h/db?password=x"), "postgres://h/db?password=***");
        assert!(is_postgres_url("postgresql://x") && !is_postgres_url("data/sealpost.db"));
    }
}
