//! The `/v1` handlers: docs/protocol.md, agent-facing, browser-facing and inbox.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use sealpost_core::keys::AgentPublicKey;
use sealpost_core::protocol::{
    CompleteRequest, ConfirmResponse, ConnectResponse, CreateInboxResponse, CreateSenderRequest, CreateSenderResponse,
    CreateSessionRequest, CreateSessionResponse, FieldSpec, InboxRequest, PollResponse, ResolveRequest, SenderInfo,
    SessionStatus, format_user_code, is_unsafe_display_char, normalize_sender_name, normalize_user_code, template,
    validate_fields,
};

use crate::app::{App, Limit};
use crate::problem::ApiError;
use crate::store::{Caps, InboxAccess, NewSender, NewSession, PollOutcome, SessionView, Store, StoreError, Transition};
use crate::util::{self, TokenHash, hash_token, now_ms};

/// Largest `ciphertext` accepted by `complete`, in bytes.
pub const MAX_CIPHERTEXT: usize = 32 * 1024;
const MAX_DISPLAY_NAME: usize = 200;
const MAX_AGENT_NAME: usize = 100;
const MAX_REASON: usize = 1000;
const MAX_ALGORITHM: usize = 64;
/// Seconds a client is told to wait after hitting an attempt limit.
const RETRY_AFTER: u64 = 60;

type AppState<S> = State<Arc<App<S>>>;
type Body = Result<Bytes, BytesRejection>;

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(_) => ApiError::internal().into_response(),
    }
}

fn store_failed(e: StoreError) -> ApiError {
    match e {
        StoreError::Full => {
            ApiError::unavailable("ERR_CAPACITY", "The broker holds too many open sessions; retry later.")
        }
        StoreError::TooManyInboxes => ApiError::unavailable("ERR_CAPACITY", "The broker holds too many inboxes."),
        StoreError::InboxFull => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "ERR_INBOX_FULL",
            "Inbox Full",
            "This inbox holds too many pending requests.",
        ),
        StoreError::NoInbox => ApiError::bad_request("ERR_INBOX_NOT_FOUND", "The inbox does not exist."),
        StoreError::Unsupported(what) => ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "ERR_NOT_SUPPORTED",
            "Not Implemented",
            format!("This broker's storage backend does not support {what}."),
        ),
        StoreError::SenderInvalid => sender_invalid(),
        StoreError::SenderQuota => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "ERR_SENDER_QUOTA",
            "Sender Quota Reached",
            "This sender holds too many pending requests in the inbox.",
        ),
        StoreError::TooManySenders => ApiError::new(
            StatusCode::CONFLICT,
            "ERR_TOO_MANY_SENDERS",
            "Too Many Senders",
            "This inbox has as many senders as it may; remove one first.",
        ),
        other => {
            tracing::error!(error = %other, "storage failure");
            ApiError::internal()
        }
    }
}

fn sender_invalid() -> ApiError {
    ApiError::forbidden("ERR_SENDER_INVALID", "The sender credential is not valid for any inbox (unknown or removed).")
}

fn is_json_media_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false)
}

fn unsupported_media_type() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "ERR_UNSUPPORTED_MEDIA_TYPE",
        "Unsupported Media Type",
        "Send the body as application/json.",
    )
}

/// Guard of the browser-facing POSTs (confirm, complete, resolve, inbox and
/// sender creation): a present `Origin` must be the broker's own or a browser
/// extension's (`403 ERR_ORIGIN_FORBIDDEN`), and the request must say
/// `Content-Type: application/json` even without a body (`415`). A third-party
/// page can send neither without a CORS preflight, which this broker never grants.
fn browser_post<S: Store>(app: &App<S>, headers: &HeaderMap) -> Result<(), ApiError> {
    let origins: Vec<&str> = headers.get_all(header::ORIGIN).iter().map(|v| v.to_str().unwrap_or("")).collect();
    if origins.len() > 1 || origins.first().is_some_and(|o| !app.origin_allowed(o)) {
        return Err(ApiError::forbidden("ERR_ORIGIN_FORBIDDEN", "Requests from another site are not accepted here."));
    }
    if !is_json_media_type(headers) {
        return Err(unsupported_media_type());
    }
    Ok(())
}

/// Parse a JSON body: `Content-Type: application/json` is required (a cross-site
/// form cannot send it without a CORS preflight, which this broker never answers).
fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, body: Body) -> Result<T, ApiError> {
    from_json(&json_body(headers, body)?)
}

/// The bytes of a JSON body (`Content-Type: application/json` required, see [`parse_json`]).
fn json_body(headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "ERR_BODY_TOO_LARGE",
                "Payload Too Large",
                "The request body exceeds 64 KiB.",
            )
        } else {
            ApiError::bad_request("ERR_BAD_REQUEST", "The request body could not be read.")
        }
    })?;
    if !is_json_media_type(headers) {
        return Err(unsupported_media_type());
    }
    Ok(body)
}

/// Deserialize a JSON body read by [`json_body`].
fn from_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        // serde messages can quote input values: only pass through the ones that
        // name a missing field, never a value.
        let msg = e.to_string();
        if e.is_data() && msg.starts_with("missing field") {
            ApiError::bad_request("ERR_BAD_REQUEST", msg.split(" at line").next().unwrap_or("missing field").to_owned())
        } else if e.is_data() {
            ApiError::bad_request("ERR_BAD_REQUEST", "The request body does not match the expected schema.")
        } else {
            ApiError::bad_request("ERR_BAD_REQUEST", "The request body is not valid JSON.")
        }
    })
}

/// `Authorization: Bearer <token>`, hashed; `None` if missing or malformed.
fn bearer(headers: &HeaderMap) -> Option<TokenHash> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' ')).then(|| hash_token(token))
}

/// Check `X-API-Key` when keys are configured; returns whether a valid key was shown.
fn api_key<S: Store>(app: &App<S>, headers: &HeaderMap) -> Result<bool, ApiError> {
    let presented = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    if app.api_key_hashes.is_empty() {
        return Ok(false);
    }
    let Some(key) = presented else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "ERR_API_KEY_REQUIRED",
            "Unauthorized",
            "This broker requires an X-API-Key header.",
        ));
    };
    let h = hash_token(key);
    // Compare against every key, constant time each, without early exit.
    let valid = app.api_key_hashes.iter().fold(false, |acc, k| acc | util::hashes_equal(k, &h));
    if valid { Ok(true) } else { Err(ApiError::forbidden("ERR_API_KEY_INVALID", "The API key is not valid.")) }
}

/// The client address that rate limits count against: the TCP peer, or behind
/// a trusted reverse proxy the address it forwarded for (see [`crate::proxy`]).
/// An IPv6 client counts as its /64 network: one host is normally given a whole
/// /64 and could otherwise take a fresh budget with every address in it.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

/// The rate-limit identity of an address: IPv4 as is, IPv6 as its /64 prefix.
#[must_use]
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
    }
}

impl<S: Store> FromRequestParts<Arc<App<S>>> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App<S>>) -> Result<Self, ApiError> {
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            tracing::error!("no peer address on the request");
            return Err(ApiError::internal());
        };
        Ok(ClientIp(limit_key(app.proxies.client_ip(peer.ip(), &parts.headers))))
    }
}

fn check_text(value: Option<&str>, max: usize, what: &'static str, allow_newlines: bool) -> Result<(), ApiError> {
    let Some(v) = value else { return Ok(()) };
    if v.chars().count() > max {
        return Err(ApiError::bad_request(
            "ERR_FIELDS_INVALID",
            format!("{what} is too long (at most {max} characters)."),
        ));
    }
    // Shown to a person: no controls, no bidi overrides/isolates that reorder
    // what they read, no line separators that fake extra lines.
    if v.chars().any(|c| is_unsafe_display_char(c) && !(allow_newlines && (c == '\n' || c == '\t'))) {
        return Err(ApiError::bad_request(
            "ERR_TEXT_INVALID",
            format!("{what} contains control characters, bidirectional overrides or isolates, or line separators."),
        ));
    }
    Ok(())
}

/// Resolve the form the way the LinkAuth reference broker does: a built-in
/// template wins; otherwise custom `fields`; neither is an error.
fn resolve_form(req: &CreateSessionRequest) -> Result<(String, Vec<FieldSpec>), ApiError> {
    let builtin = req.template.as_deref().filter(|t| *t != "custom").and_then(template);
    let (default_name, fields) = match (builtin, &req.fields) {
        (Some((name, fields)), _) => (name.to_owned(), fields),
        (None, Some(fields)) => {
            // one rule for broker and CLI: sealpost_core::protocol::validate_fields
            validate_fields(fields).map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?;
            ("Custom Credentials".to_owned(), fields.clone())
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "ERR_TEMPLATE_UNKNOWN",
                "Unknown template and no custom fields provided.",
            ));
        }
    };
    let display_name = match req.display_name.as_deref().map(str::trim) {
        Some(n) if !n.is_empty() => n.to_owned(),
        _ => default_name,
    };
    Ok((display_name, fields))
}

/// The `POST /v1/sessions` body, read in two passes over the same bytes: the
/// core request, then the LinkAuth fields (each pass skips the other's keys).
/// Same result as a `#[serde(flatten)]` struct without its cost: flatten
/// first copies the whole object into an intermediate tree of owned values
/// (an allocation per key and string).
fn create_body(headers: &HeaderMap, body: Body) -> Result<crate::webhook::CreateBody, ApiError> {
    let bytes = json_body(headers, body)?;
    let req: CreateSessionRequest = from_json(&bytes)?;
    let linkauth = from_json(&bytes)?;
    Ok(crate::webhook::CreateBody { req, linkauth })
}

/// `POST /v1/sessions`
pub async fn create_session<S: Store>(
    State(app): AppState<S>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let authed = api_key(&app, &headers)?;
    let limit = if authed { app.cfg.create_rate_api_key } else { app.cfg.create_rate };
    if !app.allow(Limit::Create, (ip, authed), limit).await {
        return Err(ApiError::rate_limited(RETRY_AFTER));
    }
    let create = create_body(&headers, body)?;
    let req = &create.req;
    if req.is_oauth() {
        return Err(ApiError::bad_request(
            "ERR_OAUTH_UNSUPPORTED",
            "This broker does not run OAuth-mediated sessions; use a form template or fields.",
        ));
    }
    let key = AgentPublicKey::from_wire(&req.public_key)
        .map_err(|e| ApiError::bad_request(e.code(), format!("Invalid public_key: {e}.")))?;
    // A webhook-only session (LinkAuth `enable_webhook` without a form) has no fields.
    let (display_name, fields) = if create.webhook() && req.template.is_none() && req.fields.is_none() {
        let name = req.display_name.as_deref().map(str::trim).filter(|n| !n.is_empty()).unwrap_or("Webhook");
        (name.to_owned(), Vec::new())
    } else {
        resolve_form(req)?
    };
    check_text(req.display_name.as_deref(), usize::MAX, "display_name", false)?;
    check_text(Some(&display_name), MAX_DISPLAY_NAME, "display_name", false)?;
    check_text(req.agent_name.as_deref(), MAX_AGENT_NAME, "agent_name", false)?;
    check_text(req.reason.as_deref(), MAX_REASON, "reason", true)?;
    // `inbox` must be a sender credential; the inbox id alone lets anyone post.
    let sender = match req.inbox.as_deref() {
        None => None,
        Some(v) if util::is_inbox_id(v.trim()) || v.trim().starts_with("ib_") => {
            return Err(ApiError::bad_request(
                "ERR_SENDER_REQUIRED",
                "Post with a sender credential (is_...) that the inbox owner created, not the inbox id.",
            ));
        }
        Some(v) if util::is_sender_credential(v) => Some(hash_token(v)),
        Some(_) => return Err(sender_invalid()),
    };
    let ttl = match req.ttl {
        None | Some(0) => app.cfg.ttl_default,
        Some(t) => t.min(app.cfg.ttl_max),
    };
    let now = now_ms();
    let expires_at = now.saturating_add(i64::try_from(ttl.saturating_mul(1000)).unwrap_or(i64::MAX));
    let poll_token = util::new_token("pt_").map_err(|_| ApiError::internal())?;
    let poll_hash = hash_token(&poll_token);
    let caps = Caps {
        max_open: app.cfg.max_open_sessions,
        max_per_inbox: app.cfg.max_inbox_sessions,
        max_per_sender: app.cfg.max_sender_pending,
    };
    let public_key = key.to_wire();
    // LinkAuth `callback_url` (SSRF-checked here) and `enable_webhook`.
    let (extras, issued) = crate::webhook::prepare(&app, &create).await?;

    // A fresh code collides with a live one with probability ~open/2^41; retry then.
    for _ in 0..4 {
        let code = util::new_user_code().map_err(|_| ApiError::internal())?;
        let Some(id) = util::raw_session_id(&code) else {
            return Err(ApiError::internal());
        };
        let session = NewSession {
            id,
            code: code.clone(),
            public_key: public_key.clone(),
            display_name: display_name.clone(),
            fields: fields.clone(),
            envelope: req.envelope.unwrap_or_default(),
            agent_name: req.agent_name.clone(),
            reason: req.reason.clone(),
            sender,
            poll_hash,
            created_at: now,
            expires_at,
            interval: app.cfg.poll_interval,
        };
        match app.store.create_session_ext(session, caps, extras.clone()).await {
            Ok(()) => {
                let body = CreateSessionResponse::new(
                    &code,
                    &app.base_url,
                    poll_token,
                    util::rfc3339(expires_at),
                    app.cfg.poll_interval,
                );
                if create.linkauth.callback_url.is_none() && !create.webhook() {
                    // No secret issued: the response is the core body as is
                    // (no detour through a `serde_json::Value` tree).
                    return Ok(json(StatusCode::CREATED, &body));
                }
                return Ok(json(StatusCode::CREATED, &issued.respond(&body, &app.base_url)?));
            }
            Err(StoreError::Duplicate) => continue,
            Err(e) => return Err(store_failed(e)),
        }
    }
    Err(ApiError::internal())
}

/// A poll that found no session (404) or the wrong token (403): the session id
/// is SHA-256 of the code, so such answers would tell a live code from a dead
/// one. Each counts against the client's attempt budget shared with
/// connect/resolve/confirm/complete, and against a ceiling across all clients;
/// past either, the answer is `429` whatever the session, so no more is learnt.
/// Polls with the right token never reach this.
async fn poll_miss<S: Store>(app: &App<S>, ip: IpAddr, answer: ApiError) -> ApiError {
    if !app.allow(Limit::Client, ("connect", ip), app.cfg.connect_rate_client).await {
        return ApiError::rate_limited(RETRY_AFTER);
    }
    if !app.allow(Limit::Miss, "poll-miss", app.cfg.poll_miss_global).await {
        app.note_global_miss_ceiling();
        return ApiError::rate_limited(RETRY_AFTER);
    }
    answer
}

/// `GET /v1/sessions/{session_id}`
pub async fn poll_session<S: Store>(
    State(app): AppState<S>,
    ClientIp(ip): ClientIp,
    Path(session_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    api_key(&app, &headers)?;
    let Some(token) = bearer(&headers) else {
        return Err(ApiError::unauthorized("ERR_UNAUTHORIZED", "Missing or invalid poll token."));
    };
    let Some(id) = util::parse_session_id(&session_id) else {
        return Err(ApiError::session_not_found());
    };
    let outcome = app.store.poll(id, token, now_ms()).await.map_err(store_failed)?;
    let body = match outcome {
        PollOutcome::NotFound => return Err(poll_miss(&app, ip, ApiError::session_not_found()).await),
        PollOutcome::Declined => return Err(ApiError::declined()),
        PollOutcome::Forbidden => {
            return Err(poll_miss(
                &app,
                ip,
                ApiError::forbidden("ERR_TOKEN_INVALID", "The poll token does not match this session."),
            )
            .await);
        }
        PollOutcome::SlowDown(interval) => return Err(ApiError::slow_down(interval)),
        PollOutcome::Status { status, expires_at, interval } => PollResponse {
            status,
            expires_at: Some(util::rfc3339(expires_at)),
            interval: Some(interval),
            ciphertext: None,
            algorithm: None,
        },
        PollOutcome::Delivered { ciphertext, algorithm, expires_at, interval } => {
            tracing::info!("ciphertext delivered");
            PollResponse {
                status: SessionStatus::Ready,
                expires_at: Some(util::rfc3339(expires_at)),
                interval: Some(interval),
                ciphertext: Some(ciphertext),
                algorithm: Some(algorithm),
            }
        }
    };
    Ok(json(StatusCode::OK, &body))
}

/// Which per-code attempt budget a request draws on.
#[derive(Debug, Clone, Copy, Hash)]
enum Attempt {
    /// Look-up and confirmation: `GET /v1/connect/{code}`, resolve, confirm.
    Connect,
    /// Submitting the ciphertext: `POST /v1/connect/{code}/complete`.
    Complete,
}

/// Apply the attempt limits of connect, resolve, confirm and complete: the
/// per-client budget across codes, then `--connect-rate` per client and code
/// (complete counted apart from the others); returns the raw session id.
async fn limit_code<S: Store>(
    app: &App<S>,
    ip: IpAddr,
    code: &str,
    attempt: Attempt,
) -> Result<([u8; 32], String), ApiError> {
    if !app.allow(Limit::Client, ("connect", ip), app.cfg.connect_rate_client).await {
        return Err(ApiError::rate_limited(RETRY_AFTER));
    }
    // Malformed codes cannot exist: answer like an unknown one.
    let normalized = normalize_user_code(code).ok_or_else(ApiError::session_not_found)?;
    if !app.allow(Limit::Connect, (attempt, ip, normalized.as_str()), app.cfg.connect_rate).await {
        return Err(ApiError::rate_limited(RETRY_AFTER));
    }
    let id = util::raw_session_id(&normalized).ok_or_else(ApiError::internal)?;
    let display = format_user_code(&normalized).ok_or_else(ApiError::internal)?;
    Ok((id, display))
}

fn connect_response<S: Store>(app: &App<S>, view: SessionView, code: String) -> Result<Response, ApiError> {
    // A webhook-only session has no form for a person to fill in.
    if view.fields.is_empty() {
        return Err(ApiError::session_not_found());
    }
    match view.status {
        SessionStatus::Pending => {}
        // After confirmation the page is locked: a second viewer must not see it.
        SessionStatus::Confirmed | SessionStatus::Expired => return Err(ApiError::session_not_found()),
        SessionStatus::Ready | SessionStatus::Consumed => return Err(ApiError::gone()),
    }
    let body = ConnectResponse {
        status: view.status,
        display_name: view.display_name,
        template_type: "form".to_owned(),
        code,
        fields: view.fields,
        public_key: view.public_key,
        security: app.security.clone(),
        agent_name: view.agent_name,
        reason: view.reason,
        envelope: view.envelope,
        expires_at: Some(util::rfc3339(view.expires_at)),
    };
    Ok(json(StatusCode::OK, &body))
}

pub(crate) async fn connect_lookup<S: Store>(app: &App<S>, ip: IpAddr, code: &str) -> Result<Response, ApiError> {
    let (id, display) = limit_code(app, ip, code, Attempt::Connect).await?;
    let view = app.store.view(id, now_ms()).await.map_err(store_failed)?;
    let view = view.ok_or_else(ApiError::session_not_found)?;
    connect_response(app, view, display)
}

/// `GET /v1/connect/{code}`
pub async fn connect_get<S: Store>(
    State(app): AppState<S>,
    ClientIp(ip): ClientIp,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    connect_lookup(&app, ip, &code).await
}

/// `POST /v1/connect/resolve`
pub async fn connect_resolve<S: Store>(
    State(app): AppState<S>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    browser_post(&app, &headers)?;
    let req: ResolveRequest = parse_json(&headers, body)?;
    connect_lookup(&app, ip, &req.user_code).await
}

/// `POST /v1/connect/{code}/confirm`
pub async fn connect_confirm<S: Store>(
    State(app): AppState<S>,
    ClientIp(ip): ClientIp,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    browser_post(&app, &headers)?;
    let (id, _) = limit_code(&app, ip, &code, Attempt::Connect).await?;
    let connect_token = util::new_token("ct_").map_err(|_| ApiError::internal())?;
    let outcome = app.store.confirm(id, hash_token(&connect_token), now_ms()).await.map_err(store_failed)?;
    match outcome {
        Transition::Done => Ok(json(StatusCode::OK, &ConfirmResponse { connect_token })),
        Transition::NotFound | Transition::Forbidden => Err(ApiError::session_not_found()),
        Transition::Conflict => Err(ApiError::conflict("The session was already confirmed.")),
    }
}

/// `POST /v1/connect/{code}/complete`
pub async fn connect_complete<S: Store>(
    State(app): AppState<S>,
    ClientIp(ip): ClientIp,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    browser_post(&app, &headers)?;
    // Counted before anything else: every attempt costs a write transaction.
    let (id, _) = limit_code(&app, ip, &code, Attempt::Complete).await?;
    let req: CompleteRequest = parse_json(&headers, body)?;
    // The connect token travels in the body (LinkAuth); a Bearer header also works.
    let token = match req.connect_token.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => hash_token(t),
        None => {
            bearer(&headers).ok_or_else(|| ApiError::forbidden("ERR_TOKEN_INVALID", "A connect token is required."))?
        }
    };
    if req.ciphertext.len() > MAX_CIPHERTEXT {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "ERR_CIPHERTEXT_TOO_LARGE",
            "Payload Too Large",
            "The ciphertext exceeds 32 KiB.",
        ));
    }
    if req.ciphertext.is_empty() {
        return Err(ApiError::bad_request("ERR_BAD_REQUEST", "The ciphertext is empty."));
    }
    let algorithm_ok = !req.algorithm.is_empty()
        && req.algorithm.len() <= MAX_ALGORITHM
        && req.algorithm.bytes().all(|b| b.is_ascii_graphic());
    if !algorithm_ok {
        return Err(ApiError::bad_request("ERR_BAD_REQUEST", "The algorithm identifier is malformed."));
    }
    let outcome = app.store.complete(id, token, req.ciphertext, req.algorithm, now_ms()).await.map_err(store_failed)?;
    match outcome {
        Transition::Done => {
            crate::callbacks::wake();
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Transition::NotFound => Err(ApiError::session_not_found()),
        Transition::Forbidden => Err(ApiError::forbidden("ERR_TOKEN_INVALID", "Missing or invalid connect token.")),
        Transition::Conflict => Err(ApiError::conflict("The session is not waiting for credentials.")),
    }
}

/// `POST /v1/inboxes`
pub async fn create_inbox<S: Store>(
    State(app): AppState<S>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    browser_post(&app, &headers)?;
    if !app.allow(Limit::Client, ("inbox", ip), app.cfg.inbox_rate).await {
        return Err(ApiError::rate_limited(RETRY_AFTER));
    }
    for _ in 0..4 {
        let inbox_id = util::new_inbox_id().map_err(|_| ApiError::internal())?;
        let inbox_token = util::new_token("it_").map_err(|_| ApiError::internal())?;
        match app.store.create_inbox(inbox_id.clone(), hash_token(&inbox_token), app.cfg.max_inboxes, now_ms()).await {
            Ok(()) => return Ok(json(StatusCode::CREATED, &CreateInboxResponse { inbox_id, inbox_token })),
            Err(StoreError::Duplicate) => continue,
            Err(e) => return Err(store_failed(e)),
        }
    }
    Err(ApiError::internal())
}

fn inbox_denied(access: &InboxAccess<impl Sized>) -> Option<ApiError> {
    match access {
        InboxAccess::Granted(_) => None,
        InboxAccess::NotFound => Some(inbox_not_found()),
        InboxAccess::Forbidden => Some(ApiError::forbidden("ERR_TOKEN_INVALID", "The inbox token does not match.")),
    }
}

fn inbox_auth(headers: &HeaderMap, inbox_id: &str) -> Result<TokenHash, ApiError> {
    let token =
        bearer(headers).ok_or_else(|| ApiError::unauthorized("ERR_UNAUTHORIZED", "Missing or invalid inbox token."))?;
    if !util::is_inbox_id(inbox_id) {
        return Err(inbox_not_found());
    }
    Ok(token)
}

/// `GET /v1/inboxes/{inbox_id}/requests`
pub async fn inbox_requests<S: Store>(
    State(app): AppState<S>,
    Path(inbox_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = inbox_auth(&headers, &inbox_id)?;
    let access = app.store.inbox_requests(inbox_id, token, now_ms()).await.map_err(store_failed)?;
    if let Some(e) = inbox_denied(&access) {
        return Err(e);
    }
    let InboxAccess::Granted(views) = access else { return Err(ApiError::internal()) };
    let list: Vec<InboxRequest> = views
        .into_iter()
        .filter_map(|v| {
            Some(InboxRequest {
                code: v.code.as_deref().and_then(format_user_code)?,
                display_name: v.display_name,
                agent_name: v.agent_name,
                reason: v.reason,
                template_type: "form".to_owned(),
                fields: v.fields,
                public_key: v.public_key,
                envelope: v.envelope,
                created_at: util::rfc3339(v.created_at),
                expires_at: util::rfc3339(v.expires_at),
                session_id: v.id.map(|id| util::hex(&id)),
                sender_name: v.sender.as_ref().map(|(_, name)| name.clone()),
                sender_id: v.sender.map(|(id, _)| id),
            })
        })
        .collect();
    Ok(json(StatusCode::OK, &list))
}

/// `DELETE /v1/inboxes/{inbox_id}/requests/{code}`
pub async fn inbox_decline<S: Store>(
    State(app): AppState<S>,
    Path((inbox_id, code)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = inbox_auth(&headers, &inbox_id)?;
    let Some(id) = util::raw_session_id(&code) else {
        return Err(ApiError::session_not_found());
    };
    let access = app.store.decline(inbox_id, token, id, now_ms()).await.map_err(store_failed)?;
    if let Some(e) = inbox_denied(&access) {
        return Err(e);
    }
    match access {
        InboxAccess::Granted(Transition::Done) => {
            tracing::info!("inbox request declined");
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        InboxAccess::Granted(Transition::Conflict) => {
            Err(ApiError::conflict("Credentials were already submitted for this request."))
        }
        _ => Err(ApiError::session_not_found()),
    }
}

fn inbox_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "ERR_INBOX_NOT_FOUND", "Inbox Not Found", "The inbox does not exist.")
}

fn sender_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "ERR_SENDER_NOT_FOUND",
        "Sender Not Found",
        "The sender does not exist in this inbox.",
    )
}

/// `DELETE /v1/inboxes/{inbox_id}`: the inbox, its senders, and its waiting
/// requests (declined) are gone.
pub async fn delete_inbox<S: Store>(
    State(app): AppState<S>,
    Path(inbox_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = inbox_auth(&headers, &inbox_id)?;
    let access = app.store.delete_inbox(inbox_id, token, now_ms()).await.map_err(store_failed)?;
    if let Some(e) = inbox_denied(&access) {
        return Err(e);
    }
    tracing::info!("inbox deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v1/inboxes/{inbox_id}/senders` `{name}`: 201 with the credential, the only time it is shown.
pub async fn create_sender<S: Store>(
    State(app): AppState<S>,
    Path(inbox_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    browser_post(&app, &headers)?;
    let token = inbox_auth(&headers, &inbox_id)?;
    let req: CreateSenderRequest = parse_json(&headers, body)?;
    let Some(name) = normalize_sender_name(&req.name) else {
        return Err(ApiError::bad_request(
            "ERR_SENDER_NAME_INVALID",
            "A sender name is 1-64 characters after trimming, without control characters, bidirectional overrides or isolates, or line separators.",
        ));
    };
    let now = now_ms();
    for _ in 0..4 {
        let sender_id = util::new_sender_id().map_err(|_| ApiError::internal())?;
        let credential = util::new_token("is_").map_err(|_| ApiError::internal())?;
        let sender = NewSender {
            id: sender_id.clone(),
            name: name.clone(),
            credential_hash: hash_token(&credential),
            created_at: now,
        };
        match app.store.create_sender(inbox_id.clone(), token, sender, app.cfg.max_senders).await {
            Ok(access) => {
                if let Some(e) = inbox_denied(&access) {
                    return Err(e);
                }
                tracing::info!("inbox sender added");
                let body = CreateSenderResponse {
                    sender_id,
                    name,
                    sender_credential: credential,
                    created_at: util::rfc3339(now),
                };
                return Ok(json(StatusCode::CREATED, &body));
            }
            Err(StoreError::Duplicate) => continue,
            Err(e) => return Err(store_failed(e)),
        }
    }
    Err(ApiError::internal())
}

/// `GET /v1/inboxes/{inbox_id}/senders`
pub async fn list_senders<S: Store>(
    State(app): AppState<S>,
    Path(inbox_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = inbox_auth(&headers, &inbox_id)?;
    let access = app.store.list_senders(inbox_id, token, now_ms()).await.map_err(store_failed)?;
    if let Some(e) = inbox_denied(&access) {
        return Err(e);
    }
    let InboxAccess::Granted(senders) = access else { return Err(ApiError::internal()) };
    let list: Vec<SenderInfo> = senders
        .into_iter()
        .map(|s| SenderInfo {
            sender_id: s.id,
            name: s.name,
            created_at: util::rfc3339(s.created_at),
            last_used_at: s.last_used_at.map(util::rfc3339),
            pending: s.pending,
            sent: s.sent,
            pending_limit: Some(app.cfg.max_sender_pending),
        })
        .collect();
    Ok(json(StatusCode::OK, &list))
}

/// `DELETE /v1/inboxes/{inbox_id}/senders/{sender_id}`: the credential stops
/// working at once; the sender's waiting requests end as declined.
pub async fn delete_sender<S: Store>(
    State(app): AppState<S>,
    Path((inbox_id, sender_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = inbox_auth(&headers, &inbox_id)?;
    if !util::is_sender_id(&sender_id) {
        // Still check the bearer first, so a wrong token never learns more.
        let access = app.store.list_senders(inbox_id, token, now_ms()).await.map_err(store_failed)?;
        return Err(inbox_denied(&access).unwrap_or_else(sender_not_found));
    }
    let access = app.store.delete_sender(inbox_id, token, sender_id, now_ms()).await.map_err(store_failed)?;
    if let Some(e) = inbox_denied(&access) {
        return Err(e);
    }
    match access {
        InboxAccess::Granted(true) => {
            tracing::info!("inbox sender removed");
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(sender_not_found()),
    }
}
