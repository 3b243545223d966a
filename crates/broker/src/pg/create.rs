//! Group commit for session creations (the PostgreSQL store).
//!
//! A creation is one durable commit: with one connection per request, each
//! creation is a statement, a transaction and a backend wake-up of its own, and
//! on a small machine those, not the disk, bound the rate. Here concurrent
//! creations queue; a few worker tasks each take what is queued (up to
//! [`MAX_BATCH`]) and insert it with ONE statement (`unnest` of per-column
//! arrays, the open-session cap and counter in data-modifying CTEs of the same
//! statement), which commits once (`synchronous_commit` as the server has it:
//! on by default, so the commit waits for the WAL flush). Each request is
//! answered only after that statement returned, i.e. after its COMMIT.
//!
//! A row's own outcome stays its own: an id that exists already (or twice in
//! the batch) answers `Duplicate` for that row (the handler draws a new code),
//! rows past the open-session cap answer `Full`. If PostgreSQL rejects the
//! statement as a whole (an error the server reports, so nothing of it was
//! committed), each creation of the batch runs again alone, so one bad
//! creation fails only itself. A connection lost mid-statement is reported to
//! every creation of the batch (as it was to the one creation before: its
//! commit may or may not have happened).
//!
//! Inbox creations (a sender credential) are not batched: their per-inbox and
//! per-sender caps need the inbox row locked in a transaction of their own.
//!
//! Two settings, for measuring (defaults [`WORKERS`] and [`MAX_BATCH`]; read
//! once at start, a value that is not a number is ignored with a warning):
//! `SEALPOST_PG_CREATE_WORKERS` (1-32, groups in flight at once per instance)
//! and `SEALPOST_PG_CREATE_GROUP` (1-64, creations per group at most). A free
//! worker takes what is queued at once (it never waits for a group to fill).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use deadpool_postgres::Pool;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_postgres::types::ToSql;

use super::{insert_session, pick_shard, pool_err, shard, to_i64};
use crate::store::{Caps, NewSession, SessionExtras, StoreError};

/// Creations per statement at most.
pub const MAX_BATCH: usize = 64;
/// Worker tasks (each holds a pooled connection while its batch runs): while
/// one batch waits for its commit, the next one forms and runs.
pub const WORKERS: usize = 3;

/// One creation to insert (not an inbox request).
pub struct Creation {
    /// The session.
    pub session: NewSession,
    /// `session.fields` as JSON.
    pub fields: String,
    /// The open-session cap (`max_open`) applies.
    pub caps: Caps,
    /// Callback and webhook columns.
    pub extras: SessionExtras,
}

struct Job {
    creation: Creation,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

/// The queue in front of the workers.
#[derive(Clone)]
pub(super) struct Batcher {
    tx: mpsc::Sender<Job>,
    stats: Arc<Stats>,
}

/// Statements run and creations they carried (diagnostics, tests).
#[derive(Default)]
struct Stats {
    batches: AtomicU64,
    creations: AtomicU64,
}

impl Batcher {
    /// Start `workers` tasks on the current runtime; they stop when every
    /// clone of the returned handle is dropped.
    pub(super) fn start(pool: Pool, workers: usize) -> Self {
        let (tx, rx) = mpsc::channel(4096);
        let rx = Arc::new(Mutex::new(rx));
        let stats = Arc::new(Stats::default());
        let workers = env_usize("SEALPOST_PG_CREATE_WORKERS").unwrap_or(workers).clamp(1, 32);
        let group = env_usize("SEALPOST_PG_CREATE_GROUP").unwrap_or(MAX_BATCH).clamp(1, MAX_BATCH);
        for _ in 0..workers {
            tokio::spawn(worker(pool.clone(), rx.clone(), stats.clone(), group));
        }
        Self { tx, stats }
    }

    /// (batches run, creations they carried) since the start.
    pub(super) fn stats(&self) -> (u64, u64) {
        (self.stats.batches.load(Ordering::Relaxed), self.stats.creations.load(Ordering::Relaxed))
    }

    /// Queue one creation and wait until its batch has committed (or failed).
    pub(super) async fn create(&self, creation: Creation) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Job { creation, reply }).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

/// A number from the environment; `None` when unset or not a number (warned).
fn env_usize(name: &str) -> Option<usize> {
    let v = std::env::var(name).ok()?;
    let n = v.trim().parse().ok();
    if n.is_none() {
        tracing::warn!(variable = name, "not a number, using the default");
    }
    n
}

async fn worker(pool: Pool, rx: Arc<Mutex<mpsc::Receiver<Job>>>, stats: Arc<Stats>, group: usize) {
    let mut jobs = Vec::with_capacity(group);
    loop {
        {
            let mut rx = rx.lock().await;
            if rx.recv_many(&mut jobs, group).await == 0 {
                return;
            }
        }
        let (creations, replies): (Vec<_>, Vec<_>) = jobs.drain(..).map(|j| (j.creation, j.reply)).unzip();
        let results = create_batch(&pool, &creations).await;
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.creations.fetch_add(u64::try_from(creations.len()).unwrap_or(u64::MAX), Ordering::Relaxed);
        for (reply, result) in replies.into_iter().zip(results) {
            // The requester may have gone (client disconnected): its session stays created.
            let _ = reply.send(result);
        }
    }
}

/// Insert `creations` with one statement (see the module text); one result per
/// creation, in order. Answers only after the statement has committed.
pub async fn create_batch(pool: &Pool, creations: &[Creation]) -> Vec<Result<(), StoreError>> {
    let client = match pool.get().await {
        Ok(c) => c,
        Err(e) => {
            let e = pool_err(e);
            return creations.iter().map(|_| Err(copy_err(&e))).collect();
        }
    };
    // An id twice in one batch: the later one is a duplicate (its handler retries).
    let mut results: Vec<Option<Result<(), StoreError>>> = creations.iter().map(|_| None).collect();
    let mut seen = std::collections::HashSet::with_capacity(creations.len());
    let mut rows = Vec::with_capacity(creations.len());
    for (i, c) in creations.iter().enumerate() {
        if seen.insert(c.session.id) {
            rows.push(i);
        } else if let Some(r) = results.get_mut(i) {
            *r = Some(Err(StoreError::Duplicate));
        }
    }
    match insert_many(&client, creations, &rows).await {
        Ok(outcomes) => {
            for (&i, outcome) in rows.iter().zip(outcomes) {
                if let Some(r) = results.get_mut(i) {
                    *r = Some(outcome);
                }
            }
        }
        Err(e) if e.as_db_error().is_some() => {
            // The server refused the statement: nothing of it committed. Each
            // creation again on its own, so only a bad one fails.
            for &i in &rows {
                let Some(c) = creations.get(i) else { continue };
                let r = insert_session(&client, &c.session, &c.fields, c.caps, None, &c.extras).await;
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some(r);
                }
            }
        }
        Err(e) => {
            let e = StoreError::from(e);
            for &i in &rows {
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some(Err(copy_err(&e)));
                }
            }
        }
    }
    results.into_iter().map(|r| r.unwrap_or(Err(StoreError::Closed))).collect()
}

/// The same failure for every creation of a batch.
fn copy_err(e: &StoreError) -> StoreError {
    match e {
        StoreError::Closed => StoreError::Closed,
        StoreError::Backend(s) => StoreError::Backend(s.clone()),
        other => StoreError::Backend(other.to_string()),
    }
}

/// The batched insert: `$1..$16` per-column arrays, `$17` the counter row to
/// start from. A row goes in if the open count before the statement plus its
/// position in the batch stays within its cap (the same check a lone insert
/// makes: `open < cap`), and its id is new. The counter row moves by the rows
/// inserted. Returns, per input row: (within the cap, inserted).
fn insert_many_sql() -> String {
    format!(
        "
WITH cap AS (SELECT coalesce(sum(n), 0)::BIGINT AS open FROM open_counts),
     input AS (
        SELECT * FROM unnest($1::BYTEA[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[], $7::TEXT[],
                             $8::BYTEA[], $9::BIGINT[], $10::BIGINT[], $11::BIGINT[], $12::TEXT[], $13::TEXT[],
                             $14::BYTEA[], $15::BIGINT[])
            WITH ORDINALITY AS t(id, public_key, display_name, fields, envelope, agent_name, reason, poll_hash,
                                 created_at, expires_at, interval_s, callback_url, callback_secret, webhook_hash,
                                 max_open, ord)),
     fit AS (SELECT input.*, (SELECT open FROM cap) + ord <= max_open AS fits FROM input),
     ins AS (
        INSERT INTO sessions (id, code, state, public_key, display_name, fields, envelope, agent_name, reason,
                              inbox_id, poll_hash, created_at, expires_at, interval_s, sender_id,
                              callback_url, callback_secret, webhook_hash)
        SELECT id, NULL, 'pending', public_key, display_name, fields, envelope, agent_name, reason,
               NULL, poll_hash, created_at, expires_at, interval_s, NULL,
               callback_url, callback_secret, webhook_hash
        FROM fit WHERE fits
        ON CONFLICT (id) DO NOTHING RETURNING id),
     bump AS (UPDATE open_counts SET n = n + (SELECT count(*) FROM ins)
              WHERE shard = {} AND EXISTS (SELECT 1 FROM ins))
SELECT fits, EXISTS (SELECT 1 FROM ins WHERE ins.id = fit.id) FROM fit ORDER BY ord",
        pick_shard("$16::INTEGER")
    )
}

async fn insert_many(
    client: &deadpool_postgres::Object,
    creations: &[Creation],
    rows: &[usize],
) -> Result<Vec<Result<(), StoreError>>, tokio_postgres::Error> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(insert_many_sql);
    let picked: Vec<&Creation> = rows.iter().filter_map(|&i| creations.get(i)).collect();
    let ids: Vec<&[u8]> = picked.iter().map(|c| &c.session.id[..]).collect();
    let public_keys: Vec<&str> = picked.iter().map(|c| c.session.public_key.as_str()).collect();
    let names: Vec<&str> = picked.iter().map(|c| c.session.display_name.as_str()).collect();
    let fields: Vec<&str> = picked.iter().map(|c| c.fields.as_str()).collect();
    let envelopes: Vec<&str> = picked.iter().map(|c| c.session.envelope.as_str()).collect();
    let agents: Vec<Option<&str>> = picked.iter().map(|c| c.session.agent_name.as_deref()).collect();
    let reasons: Vec<Option<&str>> = picked.iter().map(|c| c.session.reason.as_deref()).collect();
    let poll_hashes: Vec<&[u8]> = picked.iter().map(|c| &c.session.poll_hash[..]).collect();
    let created: Vec<i64> = picked.iter().map(|c| c.session.created_at).collect();
    let expires: Vec<i64> = picked.iter().map(|c| c.session.expires_at).collect();
    let intervals: Vec<i64> = picked.iter().map(|c| to_i64(c.session.interval)).collect();
    let urls: Vec<Option<&str>> = picked.iter().map(|c| c.extras.callback.as_ref().map(|(u, _)| u.as_str())).collect();
    let secrets: Vec<Option<&str>> =
        picked.iter().map(|c| c.extras.callback.as_ref().map(|(_, k)| k.as_str())).collect();
    let webhooks: Vec<Option<&[u8]>> = picked.iter().map(|c| c.extras.webhook_hash.as_ref().map(|h| &h[..])).collect();
    let caps: Vec<i64> = picked.iter().map(|c| to_i64(c.caps.max_open)).collect();
    let sh = shard();
    let params: [&(dyn ToSql + Sync); 16] = [
        &ids,
        &public_keys,
        &names,
        &fields,
        &envelopes,
        &agents,
        &reasons,
        &poll_hashes,
        &created,
        &expires,
        &intervals,
        &urls,
        &secrets,
        &webhooks,
        &caps,
        &sh,
    ];
    let stmt = client.prepare_cached(&SQL).await?;
    let out = client.query(&stmt, &params).await?;
    let mut results = Vec::with_capacity(picked.len());
    for row in out {
        let fits: bool = row.try_get(0)?;
        let inserted: bool = row.try_get(1)?;
        results.push(match (fits, inserted) {
            (_, true) => Ok(()),
            (false, false) => Err(StoreError::Full),
            (true, false) => Err(StoreError::Duplicate),
        });
    }
    Ok(results)
}
