//! Storage behind a small trait. Each method is one atomic state transition.
//!
//! The handlers never see a token: they pass SHA-256 hashes, and the store
//! compares them in constant time. Ciphertext is opaque bytes of text here.

use std::future::Future;

use sealpost_core::protocol::{EnvelopeKind, FieldSpec, SessionStatus};

use crate::util::TokenHash;

/// Raw 32-byte session id (SHA-256 of the normalized code).
pub type SessionId = [u8; 32];

/// A session to insert.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Raw session id.
    pub id: SessionId,
    /// Display code, kept only for inbox sessions (the inbox lists it).
    pub code: String,
    /// Canonical base64 DER SPKI.
    pub public_key: String,
    /// Title.
    pub display_name: String,
    /// Expanded form.
    pub fields: Vec<FieldSpec>,
    /// Requested envelope.
    pub envelope: EnvelopeKind,
    /// Sealpost extension.
    pub agent_name: Option<String>,
    /// Sealpost extension.
    pub reason: Option<String>,
    /// SHA-256 of the sender credential naming the target inbox, if any.
    pub sender: Option<TokenHash>,
    /// SHA-256 of the poll token.
    pub poll_hash: TokenHash,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub expires_at: i64,
    /// Polling interval (seconds).
    pub interval: u64,
}

/// Caps checked atomically with an insert.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    /// Open sessions overall.
    pub max_open: u64,
    /// Pending requests per inbox.
    pub max_per_inbox: u64,
    /// Pending requests per sender.
    pub max_per_sender: u64,
}

/// A sender to insert.
#[derive(Debug, Clone)]
pub struct NewSender {
    /// Public id, `sd_...`.
    pub id: String,
    /// Validated name.
    pub name: String,
    /// SHA-256 of the sender credential.
    pub credential_hash: TokenHash,
    /// Unix ms.
    pub created_at: i64,
}

/// A sender as its inbox owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderView {
    /// Public id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms of its last accepted request.
    pub last_used_at: Option<i64>,
    /// Requests still waiting (pending or confirmed, not expired).
    pub pending: u64,
    /// Requests ever posted.
    pub sent: u64,
}

/// What a pending session shows to the browser.
#[derive(Debug, Clone)]
pub struct SessionView {
    /// State (declined sessions are never returned).
    pub status: SessionStatus,
    /// Display code (inbox sessions only).
    pub code: Option<String>,
    /// Title.
    pub display_name: String,
    /// Form.
    pub fields: Vec<FieldSpec>,
    /// Base64 DER SPKI.
    pub public_key: String,
    /// Requested envelope.
    pub envelope: EnvelopeKind,
    /// Sealpost extension.
    pub agent_name: Option<String>,
    /// Sealpost extension.
    pub reason: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub expires_at: i64,
    /// Raw session id (inbox listings only).
    pub id: Option<SessionId>,
    /// Sender id and name (inbox listings only).
    pub sender: Option<(String, String)>,
}

/// Result of a poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollOutcome {
    /// Unknown or expired.
    NotFound,
    /// Declined through an inbox.
    Declined,
    /// Wrong poll token.
    Forbidden,
    /// Polled faster than the interval; carries the interval to announce.
    SlowDown(u64),
    /// Current state, no ciphertext.
    Status { status: SessionStatus, expires_at: i64, interval: u64 },
    /// The one delivery; the session is now consumed.
    Delivered { ciphertext: String, algorithm: String, expires_at: i64, interval: u64 },
}

/// Result of confirm, complete and decline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Done.
    Done,
    /// Unknown, expired or declined.
    NotFound,
    /// Missing or wrong token.
    Forbidden,
    /// Not in the state the transition starts from.
    Conflict,
}

/// Inbox check result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxAccess<T> {
    /// Token matched.
    Granted(T),
    /// No such inbox.
    NotFound,
    /// Wrong token.
    Forbidden,
}

/// Storage failures (never carry request data).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    /// A file of the database could not be created or its mode set.
    #[error("database file: {0}")]
    Io(std::io::Error),
    /// The storage thread is gone.
    #[error("storage closed")]
    Closed,
    /// A stored row could not be decoded.
    #[error("corrupt row")]
    Corrupt,
    /// Too many open sessions overall.
    #[error("open session cap reached")]
    Full,
    /// Too many pending requests in this inbox.
    #[error("inbox cap reached")]
    InboxFull,
    /// The inbox named at creation does not exist.
    #[error("no such inbox")]
    NoInbox,
    /// The sender credential is unknown or was removed.
    #[error("unknown sender")]
    SenderInvalid,
    /// The sender holds too many pending requests.
    #[error("sender quota reached")]
    SenderQuota,
    /// The inbox has too many senders.
    #[error("sender cap reached")]
    TooManySenders,
    /// Too many inboxes.
    #[error("inbox cap reached")]
    TooManyInboxes,
    /// The database was written by a newer broker.
    #[error("database schema version {0} is newer than this broker understands")]
    SchemaTooNew(i64),
    /// The id already exists (a code collision: retry with a fresh code).
    #[error("duplicate id")]
    Duplicate,
    /// This storage backend does not implement the operation (callbacks,
    /// webhook relay); the name says which.
    #[error("not supported by this storage backend: {0}")]
    Unsupported(&'static str),
    /// A database server (PostgreSQL) failed or is unreachable. The text names
    /// the failure (SQLSTATE, constraint, connection error), never a value.
    #[error("database error: {0}")]
    Backend(String),
}

impl StoreError {
    /// The stable code. The refusals a client can meet carry the code of the
    /// problem the API answers with (`ERR_CAPACITY`, `ERR_INBOX_FULL`, ...);
    /// failures of the storage itself, which the API answers as `ERR_INTERNAL`,
    /// have their own `ERR_STORE_*` codes for logs.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Db(_) => "ERR_STORE_DATABASE",
            StoreError::Io(_) => "ERR_STORE_IO",
            StoreError::Closed => "ERR_STORE_CLOSED",
            StoreError::Corrupt => "ERR_STORE_CORRUPT",
            StoreError::Full | StoreError::TooManyInboxes => "ERR_CAPACITY",
            StoreError::InboxFull => "ERR_INBOX_FULL",
            StoreError::NoInbox => "ERR_INBOX_NOT_FOUND",
            StoreError::SenderInvalid => "ERR_SENDER_INVALID",
            StoreError::SenderQuota => "ERR_SENDER_QUOTA",
            StoreError::TooManySenders => "ERR_TOO_MANY_SENDERS",
            StoreError::SchemaTooNew(_) => "ERR_STORE_SCHEMA_TOO_NEW",
            StoreError::Duplicate => "ERR_STORE_DUPLICATE",
            StoreError::Unsupported(_) => "ERR_NOT_SUPPORTED",
            StoreError::Backend(_) => "ERR_STORE_BACKEND",
        }
    }
}

/// Optional LinkAuth features of a session, stored with it atomically
/// (see [`Store::create_session_ext`]).
#[derive(Debug, Clone, Default)]
pub struct SessionExtras {
    /// `callback_url` (already validated) and the callback secret that signs
    /// deliveries. The secret is stored because retries must be signed too.
    pub callback: Option<(String, String)>,
    /// SHA-256 of the webhook relay token (`enable_webhook`).
    pub webhook_hash: Option<TokenHash>,
}

impl SessionExtras {
    /// Neither feature asked for.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.callback.is_none() && self.webhook_hash.is_none()
    }
}

/// Where a relayed webhook must be sealed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookTarget {
    /// Unknown or expired (or declined) session.
    NotFound,
    /// The session exists but was created without `enable_webhook`.
    NotEnabled,
    /// Wrong token.
    Forbidden,
    /// The session already holds or delivered a ciphertext.
    Conflict,
    /// Token matched: seal to this key (canonical base64 DER SPKI) with this envelope.
    Open { public_key: String, envelope: EnvelopeKind },
}

/// One claimed callback delivery (a row of the outbox, leased to this instance).
#[derive(Debug, Clone)]
pub struct CallbackJob {
    /// `X-LinkAuth-Delivery-Id`: the same on every attempt.
    pub delivery_id: String,
    /// Raw session id.
    pub session_id: SessionId,
    /// Validated callback URL.
    pub url: String,
    /// HMAC key (the callback secret as returned to the agent).
    pub secret: String,
    /// Wire ciphertext.
    pub ciphertext: String,
    /// Wire algorithm.
    pub algorithm: String,
    /// Attempts including this one.
    pub attempts: u32,
}

/// The storage operations of the broker. `now` is Unix ms.
pub trait Store: Send + Sync + 'static {
    /// Insert a pending session, enforcing `caps` and the inbox's existence.
    fn create_session(&self, s: NewSession, caps: Caps) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Authenticate a poll, apply slow_down (less than 90% of the session's
    /// interval since the last accepted poll), and deliver the ciphertext at most once.
    fn poll(
        &self,
        id: SessionId,
        poll_hash: TokenHash,
        now: i64,
    ) -> impl Future<Output = Result<PollOutcome, StoreError>> + Send;
    /// The session as the browser may see it (`None`: unknown, expired or declined).
    fn view(&self, id: SessionId, now: i64) -> impl Future<Output = Result<Option<SessionView>, StoreError>> + Send;
    /// `pending -> confirmed`, storing the connect token's hash.
    fn confirm(
        &self,
        id: SessionId,
        connect_hash: TokenHash,
        now: i64,
    ) -> impl Future<Output = Result<Transition, StoreError>> + Send;
    /// `confirmed -> ready`, storing the ciphertext.
    fn complete(
        &self,
        id: SessionId,
        connect_hash: TokenHash,
        ciphertext: String,
        algorithm: String,
        now: i64,
    ) -> impl Future<Output = Result<Transition, StoreError>> + Send;
    /// Create an inbox.
    fn create_inbox(
        &self,
        id: String,
        token_hash: TokenHash,
        max_inboxes: u64,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Pending requests of an inbox, oldest first.
    fn inbox_requests(
        &self,
        inbox_id: String,
        token_hash: TokenHash,
        now: i64,
    ) -> impl Future<Output = Result<InboxAccess<Vec<SessionView>>, StoreError>> + Send;
    /// Decline an inbox request: the session ends at once.
    fn decline(
        &self,
        inbox_id: String,
        token_hash: TokenHash,
        id: SessionId,
        now: i64,
    ) -> impl Future<Output = Result<InboxAccess<Transition>, StoreError>> + Send;
    /// Add a sender to an inbox (at most `max_senders`).
    fn create_sender(
        &self,
        inbox_id: String,
        token_hash: TokenHash,
        sender: NewSender,
        max_senders: u64,
    ) -> impl Future<Output = Result<InboxAccess<()>, StoreError>> + Send;
    /// Senders of an inbox, oldest first.
    fn list_senders(
        &self,
        inbox_id: String,
        token_hash: TokenHash,
        now: i64,
    ) -> impl Future<Output = Result<InboxAccess<Vec<SenderView>>, StoreError>> + Send;
    /// Remove a sender; its waiting requests end as declined. `Granted(false)`: no such sender in this inbox.
    fn delete_sender(
        &self,
        inbox_id: String,
        token_hash: TokenHash,
        sender_id: String,
        now: i64,
    ) -> impl Future<Output = Result<InboxAccess<bool>, StoreError>> + Send;
    /// Delete an inbox and its senders; its waiting requests end as declined.
    fn delete_inbox(
        &self,
        inbox_id: String,
        token_hash: TokenHash,
        now: i64,
    ) -> impl Future<Output = Result<InboxAccess<()>, StoreError>> + Send;
    /// Delete expired sessions (and their ciphertext) and idle inboxes; returns sessions removed.
    fn sweep(&self, now: i64, inbox_idle_ms: i64) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// A rate limit shared by every broker process on this store: count one
    /// attempt for `key` in its fixed window (`window_secs` from its first
    /// attempt; `now_s` is Unix seconds) and answer whether it is within
    /// `limit`. `Ok(None)`: this store is not shared between processes (the
    /// in-memory [`crate::limiter::RateLimiter`] alone decides).
    fn shared_limit(
        &self,
        key: [u8; 16],
        limit: u32,
        window_secs: u32,
        now_s: i64,
    ) -> impl Future<Output = Result<Option<bool>, StoreError>> + Send {
        let _ = (key, limit, window_secs, now_s);
        async { Ok(None) }
    }

    // --- Callbacks and webhook relay (issue 14). Defaults answer
    // `StoreError::Unsupported` so a backend compiles before it implements them.

    /// [`Store::create_session`] that also stores `extras` in the same atomic
    /// insert. The default handles empty extras only.
    fn create_session_ext(
        &self,
        s: NewSession,
        caps: Caps,
        extras: SessionExtras,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            if extras.is_empty() {
                self.create_session(s, caps).await
            } else {
                Err(StoreError::Unsupported("callbacks and webhook relay"))
            }
        }
    }
    /// Check a webhook relay token (constant time) and say where to seal to.
    /// Only `pending` and `confirmed` sessions are `Open`.
    fn webhook_target(
        &self,
        id: SessionId,
        token_hash: TokenHash,
        now: i64,
    ) -> impl Future<Output = Result<WebhookTarget, StoreError>> + Send {
        let _ = (id, token_hash, now);
        async { Err(StoreError::Unsupported("webhook relay")) }
    }
    /// `pending|confirmed -> ready` with the sealed webhook as ciphertext, if
    /// the token still matches; enqueues the callback like `complete` does.
    /// `Done`, or `NotFound`/`Forbidden`/`Conflict` as for `complete`.
    fn webhook_relay(
        &self,
        id: SessionId,
        token_hash: TokenHash,
        ciphertext: String,
        algorithm: String,
        now: i64,
    ) -> impl Future<Output = Result<Transition, StoreError>> + Send {
        let _ = (id, token_hash, ciphertext, algorithm, now);
        async { Err(StoreError::Unsupported("webhook relay")) }
    }
    /// Drop outbox rows whose session expired, then lease up to `limit` due
    /// deliveries (`next_at <= now`, lease free) until `now + lease_ms`, adding
    /// one to their attempt count, in one atomic statement.
    fn claim_callbacks(
        &self,
        now: i64,
        lease_ms: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<CallbackJob>, StoreError>> + Send {
        let _ = (now, lease_ms, limit);
        async { Ok(Vec::new()) }
    }
    /// The delivery is finished (delivered, refused with 4xx, or given up): delete it.
    fn callback_finished(&self, delivery_id: String) -> impl Future<Output = Result<(), StoreError>> + Send {
        let _ = delivery_id;
        async { Err(StoreError::Unsupported("callbacks")) }
    }
    /// Try again at `next_at` (Unix ms): release the lease.
    fn callback_retry(&self, delivery_id: String, next_at: i64) -> impl Future<Output = Result<(), StoreError>> + Send {
        let _ = (delivery_id, next_at);
        async { Err(StoreError::Unsupported("callbacks")) }
    }
}
