//! The embedded SQLite store.
//!
//! One dedicated thread owns the connection; async handlers send it closures
//! over a bounded channel and await the answer. The thread runs whatever is
//! queued as one transaction (group commit: one fsync for many requests), each
//! request inside its own SAVEPOINT so a failing one rolls back alone, and
//! answers only after COMMIT returned: nobody is told "done" about a write a
//! crash could lose.
//!
//! Every state transition is a single `UPDATE ... WHERE state = ... RETURNING`
//! statement, so delivery stays exactly-once even with several broker
//! processes on one database file (each takes the write lock with
//! `BEGIN IMMEDIATE`). Ciphertext lives in its own table so that consuming it
//! is `DELETE ... RETURNING`, and `secure_delete` overwrites the freed bytes.

use std::path::Path;
use std::thread::JoinHandle;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sealpost_core::protocol::{EnvelopeKind, FieldSpec, SessionStatus};
use tokio::sync::{mpsc, oneshot};

use crate::config::SyncMode;
use crate::store::{
    Caps, InboxAccess, NewSender, NewSession, PollOutcome, SenderView, SessionId, SessionView, Store, StoreError,
    Transition,
};
use crate::util::{TokenHash, hashes_equal};

mod readers;
use readers::{Checkpointer, Pace, Readers, Recounter};

/// Requests folded into one transaction at most.
const MAX_BATCH: usize = 256;
/// Sessions removed per sweep call, so a sweep never stalls the writer long
/// (each call is one job in a group transaction, with `secure_delete`).
pub const SWEEP_CHUNK: i64 = 500;

/// `sessions` is a rowid table (its `id` key is a separate unique index): a
/// session id is a SHA-256, so in a `WITHOUT ROWID` table every creation
/// rewrote a random ~4 KiB leaf full of ~600-byte rows (and split one every
/// few inserts); here the row is appended to the last leaf and only a 32-byte
/// index entry lands at a random place, which roughly halves the WAL frames,
/// checksums and checkpoint writes per creation. Databases created before keep
/// their `WITHOUT ROWID` table: every statement works on both layouts.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    id           BLOB NOT NULL PRIMARY KEY,
    code         TEXT,
    state        TEXT NOT NULL CHECK (state IN ('pending','confirmed','ready','consumed','declined')),
    public_key   TEXT NOT NULL,
    display_name TEXT NOT NULL,
    fields       TEXT NOT NULL,
    envelope     TEXT NOT NULL,
    agent_name   TEXT,
    reason       TEXT,
    inbox_id     TEXT,
    poll_hash    BLOB NOT NULL,
    connect_hash BLOB,
    algorithm    TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    interval_s   INTEGER NOT NULL,
    last_poll_at INTEGER
);
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at);
CREATE INDEX IF NOT EXISTS sessions_open ON sessions (expires_at, state) WHERE state IN ('pending','confirmed','ready');
CREATE INDEX IF NOT EXISTS sessions_inbox ON sessions (inbox_id, state) WHERE inbox_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS envelopes (
    session_id BLOB PRIMARY KEY,
    ciphertext TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inboxes (
    id           TEXT PRIMARY KEY,
    token_hash   BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Version 2: inbox senders. A version-1 database gains the `sessions.sender_id`
/// column (NULL for requests stored before) and the `senders` table.
const SCHEMA_V2: &str = "
CREATE TABLE IF NOT EXISTS senders (
    id           TEXT PRIMARY KEY,
    inbox_id     TEXT NOT NULL,
    name         TEXT NOT NULL,
    cred_hash    BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    sent         INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS senders_inbox ON senders (inbox_id);
CREATE INDEX IF NOT EXISTS sessions_sender ON sessions (sender_id, state) WHERE sender_id IS NOT NULL;
";

/// `PRAGMA user_version` this build writes (3: callbacks and webhook relay, see `outbox`).
pub const SCHEMA_VERSION: i64 = 3;

mod outbox;

/// Create or upgrade the schema in one write transaction (several processes
/// may open the same file at once: the second sees the first one's result).
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let txn = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = txn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew(version));
    }
    txn.execute_batch(SCHEMA)?;
    if version < 2 {
        let has_sender: bool =
            txn.prepare("SELECT 1 FROM pragma_table_info('sessions') WHERE name = 'sender_id'")?.exists([])?;
        if !has_sender {
            txn.execute_batch("ALTER TABLE sessions ADD COLUMN sender_id TEXT;")?;
        }
        txn.execute_batch(SCHEMA_V2)?;
    }
    if version < 3 {
        outbox::migrate_v3(&txn)?;
        txn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION};"))?;
        if version > 0 {
            tracing::info!(from = version, to = SCHEMA_VERSION, "database schema upgraded");
        }
    }
    txn.commit()?;
    Ok(())
}

/// Owner-only access (0600) to a database file, whatever the umask: created
/// with that mode when `create` and missing, and narrowed if it exists.
#[cfg(unix)]
fn restrict_file(path: &Path, create: bool) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if create {
        std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path).map_err(StoreError::Io)?;
    }
    match std::fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o077 != 0 => {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(StoreError::Io)
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !create => Ok(()),
        Err(e) => Err(StoreError::Io(e)),
    }
}

#[cfg(not(unix))]
fn restrict_file(_path: &Path, _create: bool) -> Result<(), StoreError> {
    Ok(())
}

/// State the writer thread keeps next to its connection.
struct Ctx<'a> {
    conn: &'a Connection,
    /// Open sessions (pending, confirmed, ready): recounted after each sweep
    /// (exactly, in a snapshot, off this thread: see `readers::Recounter`),
    /// adjusted by inserts and terminal transitions in between.
    open: &'a mut i64,
}

type Reply = Box<dyn FnOnce(bool) + Send>;
type Work = Box<dyn for<'a> FnOnce(&mut Ctx<'a>) -> (bool, Reply) + Send>;

/// One request for the writer thread.
struct Job {
    work: Work,
    /// The job writes with at most one statement and, when it fails, has
    /// written nothing but that statement (which SQLite itself rolls back
    /// alone: statement atomicity). It needs no SAVEPOINT of its own: a
    /// session creation, the hot write, saves two statement runs this way.
    single: bool,
}

/// SQLite-backed [`Store`]: writes on the writer thread, reads on the reader
/// pool (see `sqlite/readers.rs`).
pub struct SqliteStore {
    tx: mpsc::Sender<Job>,
    readers: Readers,
    pace: Pace,
    /// Set by a sweep: the writer thread starts a recount of open sessions.
    recount: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

/// Handle to join the writer (and reader) threads after the last [`SqliteStore`] clone is dropped.
pub struct WriterHandle(Option<JoinHandle<()>>, Vec<JoinHandle<()>>);

impl WriterHandle {
    /// Wait until every queued request is committed and the database is closed.
    pub fn join(mut self) {
        if let Some(h) = self.0.take() {
            let _ = h.join();
        }
        for h in self.1.drain(..) {
            let _ = h.join();
        }
    }
}

impl SqliteStore {
    /// Open (creating file, parent directories and schema as needed) and start
    /// the writer thread.
    pub fn open(path: &Path, sync: SyncMode) -> Result<(Self, WriterHandle), StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|_| StoreError::Closed)?;
        }
        restrict_file(path, true)?;
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let sync = match sync {
            SyncMode::Full => "FULL",
            SyncMode::Normal => "NORMAL",
        };
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = {sync};
             PRAGMA secure_delete = ON;
             PRAGMA journal_size_limit = 67108864;
             PRAGMA cache_size = -4096;
             PRAGMA temp_store = MEMORY;
             PRAGMA wal_autocheckpoint = 16384;"
        ))?;
        // Checkpoints run on the checkpointer thread; the writer's own automatic
        // checkpoint (above, at 64 MiB of WAL) is only a backstop.
        let mut conn = conn;
        migrate(&mut conn)?;
        // SQLite gives the WAL and shared-memory files the database file's mode;
        // make sure of it (they exist now that the schema was written).
        for suffix in ["-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            restrict_file(Path::new(&p), false)?;
        }
        conn.set_prepared_statement_cache_capacity(32);
        let mut open = count_open(&conn, crate::util::now_ms())?;
        let (readers, reader_handles) = Readers::start(path, sync)?;
        let ckpt = Checkpointer::start(path, sync)?;
        let mut recounter = Recounter::new(path, sync)?;
        let recount = recounter.asked.clone();

        let (tx, mut rx) = mpsc::channel::<Job>(4096);
        let handle = std::thread::Builder::new()
            .name("sealpost-sqlite".into())
            .spawn(move || {
                let mut conn = conn;
                let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
                while let Some(first) = rx.blocking_recv() {
                    batch.push(first);
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    recounter.tick(&mut open);
                    if !run_batch(&mut conn, &mut open, &mut batch) {
                        recounter.invalidate();
                    }
                    ckpt.committed();
                    recounter.tick(&mut open);
                }
                // Channel closed: every request was answered. Checkpoint and close.
                recounter.finish();
                ckpt.stop();
                let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
                let _ = conn.close();
            })
            .map_err(|_| StoreError::Closed)?;
        Ok((
            Self { tx, readers, pace: Pace::new(crate::util::now_ms()), recount },
            WriterHandle(Some(handle), reader_handles),
        ))
    }

    /// Run `f` on the writer thread inside the current group transaction.
    async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&mut Ctx<'a>) -> Result<T, StoreError> + Send + 'static,
    {
        self.call_as(false, f).await
    }

    /// [`Self::call`] for a job with at most one write statement, after which it
    /// cannot fail (see [`Job::single`]): it runs without a SAVEPOINT.
    async fn call_single<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&mut Ctx<'a>) -> Result<T, StoreError> + Send + 'static,
    {
        self.call_as(true, f).await
    }

    async fn call_as<T, F>(&self, single: bool, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&mut Ctx<'a>) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply_tx, reply_rx) = oneshot::channel();
        let work: Work = Box::new(move |ctx| {
            let result = f(ctx);
            let ok = result.is_ok();
            let reply: Reply = Box::new(move |committed| {
                let _ = reply_tx.send(if committed { result } else { Err(StoreError::Closed) });
            });
            (ok, reply)
        });
        self.tx.send(Job { work, single }).await.map_err(|_| StoreError::Closed)?;
        reply_rx.await.map_err(|_| StoreError::Closed)?
    }
}

/// Run one group transaction; `false` when it did not commit.
fn run_batch(conn: &mut Connection, open: &mut i64, batch: &mut Vec<Job>) -> bool {
    let mut replies: Vec<Reply> = Vec::with_capacity(batch.len());
    let started = std::time::Instant::now();
    let jobs = batch.len();
    let mut worked = std::time::Duration::ZERO;
    let committed = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(txn) => {
            for job in batch.drain(..) {
                let savepoint_ok =
                    !job.single && txn.prepare_cached("SAVEPOINT job").and_then(|mut st| st.execute([])).is_ok();
                let mut ctx = Ctx { conn: &txn, open: &mut *open };
                let (ok, reply) = (job.work)(&mut ctx);
                if savepoint_ok {
                    let end = if ok {
                        txn.prepare_cached("RELEASE job").and_then(|mut st| st.execute([])).map(|_| ())
                    } else {
                        txn.execute_batch("ROLLBACK TO job; RELEASE job")
                    };
                    if end.is_err() {
                        tracing::error!("savepoint release failed");
                    }
                }
                replies.push(reply);
                if txn.is_autocommit() {
                    // SQLite rolled the whole transaction back (I/O error, disk
                    // full...): nothing of this batch is written. The remaining
                    // jobs must not run outside a transaction; dropping them
                    // answers their callers with an error, and the failed
                    // COMMIT below answers the others.
                    tracing::error!("write transaction rolled back by SQLite");
                    break;
                }
            }
            batch.clear();
            worked = started.elapsed();
            match txn.commit() {
                Ok(()) => true,
                Err(e) => {
                    tracing::error!(error = %e, "commit failed");
                    false
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "could not begin a transaction");
            // Dropping a job drops its reply channel: the caller gets an error.
            batch.clear();
            false
        }
    };
    if !committed {
        // Counter may have drifted; the next sweep recounts.
        if let Ok(n) = count_open(conn, crate::util::now_ms()) {
            *open = n;
        }
    }
    let took = started.elapsed();
    if took > std::time::Duration::from_millis(20) {
        tracing::debug!(jobs, work_ms = worked.as_millis(), total_ms = took.as_millis(), "slow write batch");
    }
    for reply in replies {
        reply(committed);
    }
    committed
}

fn count_open(conn: &Connection, now: i64) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT count(*) FROM sessions WHERE state IN ('pending','confirmed','ready') AND expires_at > ?1",
        [now],
        |r| r.get(0),
    )?)
}

fn status_of(s: &str) -> Result<SessionStatus, StoreError> {
    SessionStatus::parse(s).ok_or(StoreError::Corrupt)
}

fn view_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ViewRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?))
}

const VIEW_COLUMNS: &str =
    "state, code, display_name, fields, public_key, envelope, agent_name, reason, created_at, expires_at";

/// state, poll_hash, expires_at, interval_s, created_at
type PollRow = (String, Vec<u8>, i64, i64, i64);

type ViewRow = (String, Option<String>, String, String, String, String, Option<String>, Option<String>, i64, i64);

fn build_view(row: ViewRow) -> Result<SessionView, StoreError> {
    let (state, code, display_name, fields, public_key, envelope, agent_name, reason, created_at, expires_at) = row;
    let fields: Vec<FieldSpec> = serde_json::from_str(&fields).map_err(|_| StoreError::Corrupt)?;
    Ok(SessionView {
        status: status_of(&state)?,
        code,
        display_name,
        fields,
        public_key,
        envelope: EnvelopeKind::parse(&envelope).ok_or(StoreError::Corrupt)?,
        agent_name,
        reason,
        created_at,
        expires_at,
        id: None,
        sender: None,
    })
}

/// End every waiting (pending or confirmed, unexpired) session matching
/// `column = value` as declined; returns how many.
fn decline_all(ctx: &mut Ctx<'_>, column: &str, value: &str, now: i64) -> Result<i64, StoreError> {
    let sql = format!(
        "UPDATE sessions SET state = 'declined', connect_hash = NULL
         WHERE {column} = ?1 AND state IN ('pending','confirmed') AND expires_at > ?2"
    );
    let n = ctx.conn.prepare_cached(&sql)?.execute(params![value, now])?;
    let n = i64::try_from(n).unwrap_or(0);
    *ctx.open -= n;
    Ok(n)
}

/// `check_inbox` mapped to the access result of another type.
fn deny<T>(denied: InboxAccess<()>) -> InboxAccess<T> {
    match denied {
        InboxAccess::Forbidden => InboxAccess::Forbidden,
        _ => InboxAccess::NotFound,
    }
}

/// Check an inbox token; `Ok(None)` when granted.
fn check_inbox(
    conn: &Connection,
    inbox_id: &str,
    token_hash: &TokenHash,
) -> Result<Option<InboxAccess<()>>, StoreError> {
    let stored: Option<Vec<u8>> = conn
        .prepare_cached("SELECT token_hash FROM inboxes WHERE id = ?1")?
        .query_row([inbox_id], |r| r.get(0))
        .optional()?;
    Ok(match stored {
        None => Some(InboxAccess::NotFound),
        Some(h) if !hashes_equal(&h, token_hash) => Some(InboxAccess::Forbidden),
        Some(_) => None,
    })
}

/// The token check of the transitions a token authorises (`complete` with the
/// connect token, the webhook relay with the webhook token): `None` when the
/// session is live and the token matches the hash in `column` (constant time),
/// else the answer (`NotFound` for dead or declined, `Forbidden`).
pub(crate) fn token_gate(
    conn: &Connection,
    id: &SessionId,
    column: &str,
    hash: &TokenHash,
    now: i64,
) -> Result<Option<Transition>, StoreError> {
    let row: Option<(String, Option<Vec<u8>>, i64)> = conn
        .prepare_cached(&format!("SELECT state, {column}, expires_at FROM sessions WHERE id = ?1"))?
        .query_row([&id[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((state, stored, expires_at)) = row else {
        return Ok(Some(Transition::NotFound));
    };
    if expires_at <= now || state == "declined" {
        return Ok(Some(Transition::NotFound));
    }
    match stored {
        Some(h) if hashes_equal(&h, hash) => Ok(None),
        _ => Ok(Some(Transition::Forbidden)),
    }
}

/// What moving a session to `ready` stores beside it, in the same transaction:
/// its envelope and the queued callback, if it has one.
pub(crate) fn store_ready(conn: &Connection, id: &SessionId, ciphertext: &str) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO envelopes (session_id, ciphertext) VALUES (?1, ?2)")?
        .execute(params![&id[..], ciphertext])?;
    outbox::enqueue_callback(conn, id)
}

/// Classify a session that a guarded UPDATE did not touch.
fn classify_miss(conn: &Connection, id: &SessionId, now: i64) -> Result<Transition, StoreError> {
    let row: Option<(String, i64)> = conn
        .prepare_cached("SELECT state, expires_at FROM sessions WHERE id = ?1")?
        .query_row([&id[..]], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match row {
        None => Transition::NotFound,
        Some((_, exp)) if exp <= now => Transition::NotFound,
        Some((state, _)) if state == "declined" => Transition::NotFound,
        Some(_) => Transition::Conflict,
    })
}

/// Insert a pending session, enforcing `caps` and the sender's inbox
/// (the body of `create_session`, shared with `create_session_ext`).
fn insert_session(ctx: &mut Ctx<'_>, s: &NewSession, fields: &str, caps: Caps) -> Result<(), StoreError> {
    if u64::try_from(*ctx.open).unwrap_or(0) >= caps.max_open {
        return Err(StoreError::Full);
    }
    let mut target: Option<(String, String)> = None;
    if let Some(cred) = &s.sender {
        let sender: Option<(String, String)> = ctx
            .conn
            .prepare_cached("SELECT id, inbox_id FROM senders WHERE cred_hash = ?1")?
            .query_row([&cred[..]], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((sender_id, inbox)) = sender else {
            return Err(StoreError::SenderInvalid);
        };
        let exists: Option<i64> = ctx
            .conn
            .prepare_cached("SELECT 1 FROM inboxes WHERE id = ?1")?
            .query_row([&inbox], |r| r.get(0))
            .optional()?;
        if exists.is_none() {
            return Err(StoreError::SenderInvalid);
        }
        let mine: i64 = ctx
            .conn
            .prepare_cached(
                "SELECT count(*) FROM sessions WHERE sender_id = ?1 AND state IN ('pending','confirmed') AND expires_at > ?2",
            )?
            .query_row(params![sender_id, s.created_at], |r| r.get(0))?;
        if u64::try_from(mine).unwrap_or(0) >= caps.max_per_sender {
            return Err(StoreError::SenderQuota);
        }
        target = Some((inbox, sender_id));
    }
    if let Some((inbox, _)) = &target {
        let pending: i64 = ctx
            .conn
            .prepare_cached(
                "SELECT count(*) FROM sessions WHERE inbox_id = ?1 AND state IN ('pending','confirmed') AND expires_at > ?2",
            )?
            .query_row(params![inbox, s.created_at], |r| r.get(0))?;
        if u64::try_from(pending).unwrap_or(0) >= caps.max_per_inbox {
            return Err(StoreError::InboxFull);
        }
    }
    let inserted = ctx
        .conn
        .prepare_cached(
            "INSERT INTO sessions (id, code, state, public_key, display_name, fields, envelope, agent_name, reason,
                                   inbox_id, poll_hash, created_at, expires_at, interval_s, sender_id)
             VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            &s.id[..],
            target.as_ref().map(|_| &s.code),
            s.public_key,
            s.display_name,
            fields,
            s.envelope.as_str(),
            s.agent_name,
            s.reason,
            target.as_ref().map(|(inbox, _)| inbox),
            &s.poll_hash[..],
            s.created_at,
            s.expires_at,
            i64::try_from(s.interval).unwrap_or(i64::MAX),
            target.as_ref().map(|(_, sender)| sender),
        ])?;
    if inserted == 0 {
        return Err(StoreError::Duplicate);
    }
    if let Some((_, sender)) = &target {
        ctx.conn
            .prepare_cached("UPDATE senders SET sent = sent + 1, last_used_at = ?2 WHERE id = ?1")?
            .execute(params![sender, s.created_at])?;
    }
    *ctx.open += 1;
    Ok(())
}

impl Store for SqliteStore {
    async fn create_session(&self, s: NewSession, caps: Caps) -> Result<(), StoreError> {
        let fields = serde_json::to_string(&s.fields).map_err(|_| StoreError::Corrupt)?;
        if s.sender.is_none() {
            // One INSERT and nothing after it (see `insert_session`).
            return self.call_single(move |ctx| insert_session(ctx, &s, &fields, caps)).await;
        }
        self.call(move |ctx| insert_session(ctx, &s, &fields, caps)).await
    }

    async fn poll(&self, id: SessionId, poll_hash: TokenHash, now: i64) -> Result<PollOutcome, StoreError> {
        // The lookup runs on a reader; a poll that only reports a status writes
        // nothing (its pace is kept in memory), so it never waits for a commit.
        let row: Option<PollRow> = self
            .readers
            .call(move |conn| {
                Ok(conn
                    .prepare_cached(
                        "SELECT state, poll_hash, expires_at, interval_s, created_at FROM sessions WHERE id = ?1",
                    )?
                    .query_row([&id[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
                    .optional()?)
            })
            .await?;
        let Some((state, stored_hash, expires_at, interval, created_at)) = row else {
            return Ok(PollOutcome::NotFound);
        };
        if expires_at <= now {
            return Ok(PollOutcome::NotFound);
        }
        if !hashes_equal(&stored_hash, &poll_hash) {
            return Ok(PollOutcome::Forbidden);
        }
        if state == "declined" {
            return Ok(PollOutcome::Declined);
        }
        let interval_s = interval;
        let interval = u64::try_from(interval).unwrap_or(0);
        if self.pace.too_soon(&id, now, interval_s, created_at) {
            return Ok(PollOutcome::SlowDown(interval + 5));
        }
        if state != "ready" {
            return Ok(PollOutcome::Status { status: status_of(&state)?, expires_at, interval });
        }
        self.call(move |ctx| {
            // The gate: only one UPDATE can move this row out of `ready`.
            let algorithm: Option<Option<String>> = ctx
                .conn
                .prepare_cached(
                    "UPDATE sessions SET state = 'consumed', last_poll_at = ?2
                     WHERE id = ?1 AND state = 'ready' RETURNING algorithm",
                )?
                .query_row(params![&id[..], now], |r| r.get(0))
                .optional()?;
            let Some(algorithm) = algorithm else {
                // Consumed by a concurrent poll (or swept) since the lookup.
                let state: Option<String> = ctx
                    .conn
                    .prepare_cached("SELECT state FROM sessions WHERE id = ?1")?
                    .query_row([&id[..]], |r| r.get(0))
                    .optional()?;
                return Ok(match state {
                    None => PollOutcome::NotFound,
                    Some(s) => PollOutcome::Status { status: status_of(&s)?, expires_at, interval },
                });
            };
            let ciphertext: Option<String> = ctx
                .conn
                .prepare_cached("DELETE FROM envelopes WHERE session_id = ?1 RETURNING ciphertext")?
                .query_row([&id[..]], |r| r.get(0))
                .optional()?;
            *ctx.open -= 1;
            let ciphertext = ciphertext.ok_or(StoreError::Corrupt)?;
            Ok(PollOutcome::Delivered { ciphertext, algorithm: algorithm.unwrap_or_default(), expires_at, interval })
        })
        .await
    }

    async fn view(&self, id: SessionId, now: i64) -> Result<Option<SessionView>, StoreError> {
        // A read: answered by the reader pool, never queued behind a commit.
        self.readers
            .call(move |conn| {
                let row = conn
                    .prepare_cached(&format!(
                        "SELECT {VIEW_COLUMNS} FROM sessions WHERE id = ?1 AND expires_at > ?2 AND state <> 'declined'"
                    ))?
                    .query_row(params![&id[..], now], view_from_row)
                    .optional()?;
                row.map(build_view).transpose()
            })
            .await
    }

    async fn confirm(&self, id: SessionId, connect_hash: TokenHash, now: i64) -> Result<Transition, StoreError> {
        self.call(move |ctx| {
            let done = ctx
                .conn
                .prepare_cached(
                    "UPDATE sessions SET state = 'confirmed', connect_hash = ?2
                     WHERE id = ?1 AND state = 'pending' AND expires_at > ?3 RETURNING 1",
                )?
                .query_row(params![&id[..], &connect_hash[..], now], |r| r.get::<_, i64>(0))
                .optional()?;
            match done {
                Some(_) => Ok(Transition::Done),
                None => classify_miss(ctx.conn, &id, now),
            }
        })
        .await
    }

    async fn complete(
        &self,
        id: SessionId,
        connect_hash: TokenHash,
        ciphertext: String,
        algorithm: String,
        now: i64,
    ) -> Result<Transition, StoreError> {
        self.call(move |ctx| {
            if let Some(refused) = token_gate(ctx.conn, &id, "connect_hash", &connect_hash, now)? {
                return Ok(refused);
            }
            let moved = ctx
                .conn
                .prepare_cached(
                    "UPDATE sessions SET state = 'ready', algorithm = ?2
                     WHERE id = ?1 AND state = 'confirmed' RETURNING 1",
                )?
                .query_row(params![&id[..], algorithm], |r| r.get::<_, i64>(0))
                .optional()?;
            if moved.is_none() {
                return Ok(Transition::Conflict);
            }
            store_ready(ctx.conn, &id, &ciphertext)?;
            Ok(Transition::Done)
        })
        .await
    }

    async fn create_inbox(
        &self,
        id: String,
        token_hash: TokenHash,
        max_inboxes: u64,
        now: i64,
    ) -> Result<(), StoreError> {
        self.call(move |ctx| {
            let n: i64 = ctx.conn.prepare_cached("SELECT count(*) FROM inboxes")?.query_row([], |r| r.get(0))?;
            if u64::try_from(n).unwrap_or(0) >= max_inboxes {
                return Err(StoreError::TooManyInboxes);
            }
            let inserted = ctx
                .conn
                .prepare_cached(
                    "INSERT INTO inboxes (id, token_hash, created_at, last_used_at) VALUES (?1, ?2, ?3, ?3)
                     ON CONFLICT (id) DO NOTHING",
                )?
                .execute(params![id, &token_hash[..], now])?;
            if inserted == 0 {
                return Err(StoreError::Duplicate);
            }
            Ok(())
        })
        .await
    }

    async fn inbox_requests(
        &self,
        inbox_id: String,
        token_hash: TokenHash,
        now: i64,
    ) -> Result<InboxAccess<Vec<SessionView>>, StoreError> {
        self.call(move |ctx| {
            if let Some(denied) = check_inbox(ctx.conn, &inbox_id, &token_hash)? {
                return Ok(match denied {
                    InboxAccess::Forbidden => InboxAccess::Forbidden,
                    _ => InboxAccess::NotFound,
                });
            }
            ctx.conn
                .prepare_cached("UPDATE inboxes SET last_used_at = ?2 WHERE id = ?1")?
                .execute(params![inbox_id, now])?;
            let mut stmt = ctx.conn.prepare_cached(
                "SELECT s.state, s.code, s.display_name, s.fields, s.public_key, s.envelope, s.agent_name, s.reason,
                        s.created_at, s.expires_at, s.id, s.sender_id, se.name
                 FROM sessions s LEFT JOIN senders se ON se.id = s.sender_id
                 WHERE s.inbox_id = ?1 AND s.state = 'pending' AND s.expires_at > ?2
                 ORDER BY s.created_at",
            )?;
            let rows = stmt.query_map(params![inbox_id, now], |r| {
                let extra: (Vec<u8>, Option<String>, Option<String>) = (r.get(10)?, r.get(11)?, r.get(12)?);
                Ok((view_from_row(r)?, extra))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (row, (id, sender_id, sender_name)) = row?;
                let mut view = build_view(row)?;
                view.id = Some(id.try_into().map_err(|_| StoreError::Corrupt)?);
                view.sender = sender_id.map(|sid| (sid, sender_name.unwrap_or_default()));
                out.push(view);
            }
            Ok(InboxAccess::Granted(out))
        })
        .await
    }

    async fn decline(
        &self,
        inbox_id: String,
        token_hash: TokenHash,
        id: SessionId,
        now: i64,
    ) -> Result<InboxAccess<Transition>, StoreError> {
        self.call(move |ctx| {
            if let Some(denied) = check_inbox(ctx.conn, &inbox_id, &token_hash)? {
                return Ok(match denied {
                    InboxAccess::Forbidden => InboxAccess::Forbidden,
                    _ => InboxAccess::NotFound,
                });
            }
            let done = ctx
                .conn
                .prepare_cached(
                    "UPDATE sessions SET state = 'declined', connect_hash = NULL
                     WHERE id = ?1 AND inbox_id = ?2 AND state IN ('pending','confirmed') AND expires_at > ?3
                     RETURNING 1",
                )?
                .query_row(params![&id[..], inbox_id, now], |r| r.get::<_, i64>(0))
                .optional()?;
            if done.is_some() {
                *ctx.open -= 1;
                return Ok(InboxAccess::Granted(Transition::Done));
            }
            // Sessions of other inboxes are "not found" here.
            let mine: Option<i64> = ctx
                .conn
                .prepare_cached("SELECT 1 FROM sessions WHERE id = ?1 AND inbox_id = ?2")?
                .query_row(params![&id[..], inbox_id], |r| r.get(0))
                .optional()?;
            if mine.is_none() {
                return Ok(InboxAccess::Granted(Transition::NotFound));
            }
            Ok(InboxAccess::Granted(classify_miss(ctx.conn, &id, now)?))
        })
        .await
    }

    async fn create_sender(
        &self,
        inbox_id: String,
        token_hash: TokenHash,
        sender: NewSender,
        max_senders: u64,
    ) -> Result<InboxAccess<()>, StoreError> {
        self.call(move |ctx| {
            if let Some(denied) = check_inbox(ctx.conn, &inbox_id, &token_hash)? {
                return Ok(deny(denied));
            }
            let n: i64 = ctx
                .conn
                .prepare_cached("SELECT count(*) FROM senders WHERE inbox_id = ?1")?
                .query_row([&inbox_id], |r| r.get(0))?;
            if u64::try_from(n).unwrap_or(0) >= max_senders {
                return Err(StoreError::TooManySenders);
            }
            let inserted = ctx
                .conn
                .prepare_cached(
                    "INSERT INTO senders (id, inbox_id, name, cred_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT DO NOTHING",
                )?
                .execute(params![sender.id, inbox_id, sender.name, &sender.credential_hash[..], sender.created_at])?;
            if inserted == 0 {
                return Err(StoreError::Duplicate);
            }
            ctx.conn
                .prepare_cached("UPDATE inboxes SET last_used_at = ?2 WHERE id = ?1")?
                .execute(params![inbox_id, sender.created_at])?;
            Ok(InboxAccess::Granted(()))
        })
        .await
    }

    async fn list_senders(
        &self,
        inbox_id: String,
        token_hash: TokenHash,
        now: i64,
    ) -> Result<InboxAccess<Vec<SenderView>>, StoreError> {
        self.call(move |ctx| {
            if let Some(denied) = check_inbox(ctx.conn, &inbox_id, &token_hash)? {
                return Ok(deny(denied));
            }
            ctx.conn
                .prepare_cached("UPDATE inboxes SET last_used_at = ?2 WHERE id = ?1")?
                .execute(params![inbox_id, now])?;
            let mut stmt = ctx.conn.prepare_cached(
                "SELECT se.id, se.name, se.created_at, se.last_used_at, se.sent,
                        (SELECT count(*) FROM sessions s WHERE s.sender_id = se.id
                           AND s.state IN ('pending','confirmed') AND s.expires_at > ?2)
                 FROM senders se WHERE se.inbox_id = ?1 ORDER BY se.created_at, se.id",
            )?;
            let rows = stmt.query_map(params![inbox_id, now], |r| {
                Ok(SenderView {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    created_at: r.get(2)?,
                    last_used_at: r.get(3)?,
                    sent: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
                    pending: u64::try_from(r.get::<_, i64>(5)?).unwrap_or(0),
                })
            })?;
            let mut out = Vec::new();
            for row in rows {
                out.push(row?);
            }
            Ok(InboxAccess::Granted(out))
        })
        .await
    }

    async fn delete_sender(
        &self,
        inbox_id: String,
        token_hash: TokenHash,
        sender_id: String,
        now: i64,
    ) -> Result<InboxAccess<bool>, StoreError> {
        self.call(move |ctx| {
            if let Some(denied) = check_inbox(ctx.conn, &inbox_id, &token_hash)? {
                return Ok(deny(denied));
            }
            let removed = ctx
                .conn
                .prepare_cached("DELETE FROM senders WHERE id = ?1 AND inbox_id = ?2")?
                .execute(params![sender_id, inbox_id])?;
            if removed == 0 {
                return Ok(InboxAccess::Granted(false));
            }
            decline_all(ctx, "sender_id", &sender_id, now)?;
            Ok(InboxAccess::Granted(true))
        })
        .await
    }

    async fn delete_inbox(
        &self,
        inbox_id: String,
        token_hash: TokenHash,
        now: i64,
    ) -> Result<InboxAccess<()>, StoreError> {
        self.call(move |ctx| {
            if let Some(denied) = check_inbox(ctx.conn, &inbox_id, &token_hash)? {
                return Ok(deny(denied));
            }
            decline_all(ctx, "inbox_id", &inbox_id, now)?;
            ctx.conn.prepare_cached("DELETE FROM senders WHERE inbox_id = ?1")?.execute([&inbox_id])?;
            ctx.conn.prepare_cached("DELETE FROM inboxes WHERE id = ?1")?.execute([&inbox_id])?;
            Ok(InboxAccess::Granted(()))
        })
        .await
    }

    async fn sweep(&self, now: i64, inbox_idle_ms: i64) -> Result<u64, StoreError> {
        self.pace.prune(now);
        let recount = self.recount.clone();
        self.call(move |ctx| {
            // Envelopes exist only for `ready` sessions: few, so no chunking.
            ctx.conn
                .prepare_cached(
                    "DELETE FROM envelopes WHERE session_id IN
                       (SELECT id FROM sessions WHERE expires_at <= ?1)",
                )?
                .execute([now])?;
            let removed = ctx
                .conn
                .prepare_cached(
                    "DELETE FROM sessions WHERE id IN
                       (SELECT id FROM sessions WHERE expires_at <= ?1 LIMIT ?2)",
                )?
                .execute(params![now, SWEEP_CHUNK])?;
            ctx.conn
                .prepare_cached(
                    "DELETE FROM inboxes WHERE last_used_at <= ?1
                       AND NOT EXISTS (SELECT 1 FROM sessions WHERE sessions.inbox_id = inboxes.id)",
                )?
                .execute([now.saturating_sub(inbox_idle_ms)])?;
            ctx.conn
                .prepare_cached(
                    "DELETE FROM senders WHERE NOT EXISTS (SELECT 1 FROM inboxes WHERE inboxes.id = senders.inbox_id)",
                )?
                .execute([])?;
            // Counted off this thread once the batch is committed.
            recount.store(now.max(1), std::sync::atomic::Ordering::Release);
            Ok(u64::try_from(removed).unwrap_or(0))
        })
        .await
    }

    // --- Callbacks and webhook relay: SQL in sqlite/outbox.rs (callbacks helper).

    async fn create_session_ext(
        &self,
        s: NewSession,
        caps: Caps,
        extras: crate::store::SessionExtras,
    ) -> Result<(), StoreError> {
        self.outbox_create_session_ext(s, caps, extras).await
    }

    async fn webhook_target(
        &self,
        id: SessionId,
        token_hash: TokenHash,
        now: i64,
    ) -> Result<crate::store::WebhookTarget, StoreError> {
        self.outbox_webhook_target(id, token_hash, now).await
    }

    async fn webhook_relay(
        &self,
        id: SessionId,
        token_hash: TokenHash,
        ciphertext: String,
        algorithm: String,
        now: i64,
    ) -> Result<Transition, StoreError> {
        self.outbox_webhook_relay(id, token_hash, ciphertext, algorithm, now).await
    }

    async fn claim_callbacks(
        &self,
        now: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<crate::store::CallbackJob>, StoreError> {
        self.outbox_claim(now, lease_ms, limit).await
    }

    async fn callback_finished(&self, delivery_id: String) -> Result<(), StoreError> {
        self.outbox_finished(delivery_id).await
    }

    async fn callback_retry(&self, delivery_id: String, next_at: i64) -> Result<(), StoreError> {
        self.outbox_retry(delivery_id, next_at).await
    }
}
