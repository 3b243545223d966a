//! SQLite side of callbacks and webhook relay (issue 14), kept apart from the
//! writer internals in `sqlite.rs`.
//!
//! Schema version 3 adds three session columns and the callback outbox:
//! - `sessions.callback_url`, `sessions.callback_secret`: set at creation when
//!   the agent asked for a callback. The secret is copied into the outbox row
//!   when the session becomes `ready` and cleared from the session then.
//! - `sessions.webhook_hash`: SHA-256 of the webhook relay token.
//! - `callback_outbox`: one row per pending delivery. The row carries its own
//!   copy of the ciphertext, so the agent may poll (consuming the session) and
//!   the callback is still delivered. A worker leases rows with one
//!   `UPDATE ... RETURNING`; a crashed instance's lease runs out and another
//!   instance (or the restarted one) takes the row over.

use rusqlite::{Connection, OptionalExtension, params};
use sealpost_core::protocol::EnvelopeKind;

use super::{Ctx, SqliteStore, classify_miss, insert_session, store_ready, token_gate};
use crate::store::{CallbackJob, Caps, NewSession, SessionExtras, SessionId, StoreError, Transition, WebhookTarget};
use crate::util::{TokenHash, hashes_equal};

const SCHEMA_V3: &str = "
CREATE TABLE IF NOT EXISTS callback_outbox (
    delivery_id TEXT PRIMARY KEY,
    session_id  BLOB NOT NULL,
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL,
    ciphertext  TEXT NOT NULL,
    algorithm   TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER NOT NULL,
    lease_until INTEGER NOT NULL DEFAULT 0,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS callback_outbox_due ON callback_outbox (next_at);
";

/// A random version-4 UUID computed by SQLite (a delivery id is not a secret).
const UUID_V4: &str =
    "lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-'
     || substr('89AB', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))";

/// Upgrade to version 3 inside the migration transaction (idempotent).
pub(super) fn migrate_v3(conn: &Connection) -> Result<(), StoreError> {
    for (column, kind) in [("callback_url", "TEXT"), ("callback_secret", "TEXT"), ("webhook_hash", "BLOB")] {
        let exists = conn.prepare("SELECT 1 FROM pragma_table_info('sessions') WHERE name = ?1")?.exists([column])?;
        if !exists {
            conn.execute_batch(&format!("ALTER TABLE sessions ADD COLUMN {column} {kind};"))?;
        }
    }
    conn.execute_batch(SCHEMA_V3)?;
    Ok(())
}

/// Called in the transaction that made session `id` ready (after its envelope
/// row exists): queue the callback if the session has one, and forget the
/// secret on the session row (the outbox row keeps the copy that signs).
pub(super) fn enqueue_callback(conn: &Connection, id: &SessionId) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO callback_outbox (delivery_id, session_id, url, secret, ciphertext, algorithm, attempts, next_at, lease_until, expires_at)
         SELECT {UUID_V4}, s.id, s.callback_url, s.callback_secret, e.ciphertext, coalesce(s.algorithm, ''), 0, 0, 0, s.expires_at
         FROM sessions s JOIN envelopes e ON e.session_id = s.id
         WHERE s.id = ?1 AND s.callback_url IS NOT NULL AND s.callback_secret IS NOT NULL"
    );
    let queued = conn.prepare_cached(&sql)?.execute([&id[..]])?;
    if queued > 0 {
        conn.prepare_cached("UPDATE sessions SET callback_secret = NULL WHERE id = ?1")?.execute([&id[..]])?;
    }
    Ok(())
}

/// state, webhook_hash, expires_at, public_key, envelope
type TargetRow = (String, Option<Vec<u8>>, i64, String, String);

type OutboxRow = (String, Vec<u8>, String, String, String, String, i64);

impl SqliteStore {
    pub(super) async fn outbox_create_session_ext(
        &self,
        s: NewSession,
        caps: Caps,
        extras: SessionExtras,
    ) -> Result<(), StoreError> {
        let fields = serde_json::to_string(&s.fields).map_err(|_| StoreError::Corrupt)?;
        if s.sender.is_none() && extras.is_empty() {
            // The common creation: one INSERT and nothing after it, no SAVEPOINT.
            return self.call_single(move |ctx: &mut Ctx<'_>| insert_session(ctx, &s, &fields, caps)).await;
        }
        self.call(move |ctx: &mut Ctx<'_>| {
            insert_session(ctx, &s, &fields, caps)?;
            if !extras.is_empty() {
                let (url, secret) = extras.callback.as_ref().map(|(u, k)| (u.as_str(), k.as_str())).unzip();
                ctx.conn
                    .prepare_cached(
                        "UPDATE sessions SET callback_url = ?2, callback_secret = ?3, webhook_hash = ?4 WHERE id = ?1",
                    )?
                    .execute(params![&s.id[..], url, secret, extras.webhook_hash.as_ref().map(|h| &h[..])])?;
            }
            Ok(())
        })
        .await
    }

    pub(super) async fn outbox_webhook_target(
        &self,
        id: SessionId,
        token_hash: TokenHash,
        now: i64,
    ) -> Result<WebhookTarget, StoreError> {
        self.call(move |ctx: &mut Ctx<'_>| {
            let row: Option<TargetRow> = ctx
                .conn
                .prepare_cached(
                    "SELECT state, webhook_hash, expires_at, public_key, envelope FROM sessions WHERE id = ?1",
                )?
                .query_row([&id[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
                .optional()?;
            let Some((state, stored, expires_at, public_key, envelope)) = row else {
                return Ok(WebhookTarget::NotFound);
            };
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
            let envelope = EnvelopeKind::parse(&envelope).ok_or(StoreError::Corrupt)?;
            Ok(WebhookTarget::Open { public_key, envelope })
        })
        .await
    }

    pub(super) async fn outbox_webhook_relay(
        &self,
        id: SessionId,
        token_hash: TokenHash,
        ciphertext: String,
        algorithm: String,
        now: i64,
    ) -> Result<Transition, StoreError> {
        self.call(move |ctx: &mut Ctx<'_>| {
            if let Some(refused) = token_gate(ctx.conn, &id, "webhook_hash", &token_hash, now)? {
                return Ok(refused);
            }
            // The gate: only one relay (or one complete) moves the row to `ready`.
            let moved = ctx
                .conn
                .prepare_cached(
                    "UPDATE sessions SET state = 'ready', algorithm = ?2, connect_hash = NULL
                     WHERE id = ?1 AND state IN ('pending','confirmed') AND expires_at > ?3 RETURNING 1",
                )?
                .query_row(params![&id[..], algorithm, now], |r| r.get::<_, i64>(0))
                .optional()?;
            if moved.is_none() {
                return classify_miss(ctx.conn, &id, now);
            }
            store_ready(ctx.conn, &id, &ciphertext)?;
            Ok(Transition::Done)
        })
        .await
    }

    pub(super) async fn outbox_claim(
        &self,
        now: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<CallbackJob>, StoreError> {
        self.call(move |ctx: &mut Ctx<'_>| {
            ctx.conn.prepare_cached("DELETE FROM callback_outbox WHERE expires_at <= ?1")?.execute([now])?;
            let mut stmt = ctx.conn.prepare_cached(
                "UPDATE callback_outbox SET lease_until = ?2, attempts = attempts + 1
                 WHERE delivery_id IN (SELECT delivery_id FROM callback_outbox
                                       WHERE next_at <= ?1 AND lease_until <= ?1 ORDER BY next_at LIMIT ?3)
                 RETURNING delivery_id, session_id, url, secret, ciphertext, algorithm, attempts",
            )?;
            let rows = stmt.query_map(params![now, now.saturating_add(lease_ms), i64::from(limit)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (delivery_id, session_id, url, secret, ciphertext, algorithm, attempts): OutboxRow = row?;
                out.push(CallbackJob {
                    delivery_id,
                    session_id: session_id.try_into().map_err(|_| StoreError::Corrupt)?,
                    url,
                    secret,
                    ciphertext,
                    algorithm,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                });
            }
            Ok(out)
        })
        .await
    }

    pub(super) async fn outbox_finished(&self, delivery_id: String) -> Result<(), StoreError> {
        self.call(move |ctx: &mut Ctx<'_>| {
            ctx.conn.prepare_cached("DELETE FROM callback_outbox WHERE delivery_id = ?1")?.execute([&delivery_id])?;
            Ok(())
        })
        .await
    }

    pub(super) async fn outbox_retry(&self, delivery_id: String, next_at: i64) -> Result<(), StoreError> {
        self.call(move |ctx: &mut Ctx<'_>| {
            ctx.conn
                .prepare_cached("UPDATE callback_outbox SET next_at = ?2, lease_until = 0 WHERE delivery_id = ?1")?
                .execute(params![delivery_id, next_at])?;
            Ok(())
        })
        .await
    }
}
