//! LinkAuth webhook relay (`enable_webhook`) and the create-time half of
//! callbacks (`callback_url`).
//!
//! A session created with `enable_webhook: true` gets a `webhook_url`
//! (`{base}/v1/sessions/{id}/webhook?token=wt_...`). Whoever holds it may POST
//! one event there: the broker seals `{"headers","body","content_type"}` to the
//! agent's key with the session's envelope (core's `seal`/`seal_jwe`), stores
//! it as the session's ciphertext (`ready`), and the agent's next poll gets it,
//! once. **The broker sees the webhook in clear before sealing it**, unlike
//! form credentials, which the browser seals.
//!
//! Headers relayed: all but these, dropped on purpose:
//! - credentials meant for the hop to the broker, not for the agent:
//!   `Authorization`, `Proxy-Authorization`, `Cookie`, `X-API-Key`;
//! - transport and proxy headers that describe the broker's own network, not
//!   the event: `Host`, `Connection`, `Keep-Alive`, `TE`, `Trailer`,
//!   `Transfer-Encoding`, `Upgrade`, `Content-Length`, `Expect`,
//!   `Accept-Encoding`, `Forwarded`, `Via`, `X-Forwarded-*`, `X-Real-IP`.
//!
//! Signature headers of webhook senders (`X-Hub-Signature-256`,
//! `Stripe-Signature`, `Webhook-Signature`, ...) are kept, so the agent can
//! verify the sender itself.

use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;

use sealpost_core::envelope::{self, ALG_JWE, ALG_LINKAUTH, Credentials, EnvelopeError};
use sealpost_core::keys::AgentPublicKey;
use sealpost_core::protocol::{CreateSessionRequest, CreateSessionResponse, EnvelopeKind};

use crate::api::ClientIp;
use crate::app::{App, Limit};
use crate::callbacks::{self, Policy};
use crate::problem::ApiError;
use crate::store::{SessionExtras, Store, StoreError, Transition, WebhookTarget};
use crate::util::{self, hash_token, now_ms};

/// Headers never relayed (lower case); see the module docs for why.
const DROPPED: [&str; 18] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
    "host",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "expect",
    "accept-encoding",
    "forwarded",
    "via",
    "x-real-ip",
    "proxy-connection",
];
/// Most headers relayed.
const MAX_HEADERS: usize = 64;
/// Longest header value relayed (longer ones are dropped).
const MAX_HEADER_VALUE: usize = 4096;

/// The LinkAuth fields of a `POST /v1/sessions` body that this module handles.
#[derive(Debug, Default, Deserialize)]
pub struct LinkAuthFields {
    /// LinkAuth `callback_url`.
    #[serde(default)]
    pub callback_url: Option<String>,
    /// LinkAuth `enable_webhook`.
    #[serde(default)]
    pub enable_webhook: Option<bool>,
}

/// `POST /v1/sessions` body: the core request plus the LinkAuth fields, read
/// in two passes over the same bytes (`api::create_body`).
#[derive(Debug)]
pub struct CreateBody {
    /// The core request.
    pub req: CreateSessionRequest,
    /// The LinkAuth fields.
    pub linkauth: LinkAuthFields,
}

impl CreateBody {
    /// Whether the agent asked for the webhook relay.
    #[must_use]
    pub fn webhook(&self) -> bool {
        self.linkauth.enable_webhook.unwrap_or(false)
    }
}

/// Secrets handed out once in the create response.
#[derive(Debug, Default)]
pub struct IssuedSecrets {
    callback_secret: Option<String>,
    webhook_token: Option<String>,
}

impl IssuedSecrets {
    /// The create response with `callback_secret` and `webhook_url` added.
    pub fn respond(&self, body: &CreateSessionResponse, base_url: &str) -> Result<serde_json::Value, ApiError> {
        let mut value = serde_json::to_value(body).map_err(|_| ApiError::internal())?;
        let obj = value.as_object_mut().ok_or_else(ApiError::internal)?;
        if let Some(secret) = &self.callback_secret {
            obj.insert("callback_secret".into(), secret.clone().into());
        }
        if let Some(token) = &self.webhook_token {
            let url = format!("{base_url}/v1/sessions/{}/webhook?token={token}", body.session_id);
            obj.insert("webhook_url".into(), url.into());
        }
        Ok(value)
    }
}

/// Check `callback_url` (SSRF guard) and draw the secrets; `Err` is the 400 to answer.
pub async fn prepare<S: Store>(app: &App<S>, body: &CreateBody) -> Result<(SessionExtras, IssuedSecrets), ApiError> {
    let mut extras = SessionExtras::default();
    let mut issued = IssuedSecrets::default();
    if let Some(url) = body.linkauth.callback_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        callbacks::check_url(&Policy::of(app), url).await.map_err(|e| match e {
            callbacks::CallbackError::Forbidden => {
                ApiError::new(StatusCode::BAD_REQUEST, e.code(), "Callback URL Forbidden", e.to_string())
            }
            _ => ApiError::bad_request(e.code(), e.to_string()),
        })?;
        let secret = util::new_token("cs_").map_err(|_| ApiError::internal())?;
        extras.callback = Some((url.to_owned(), secret.clone()));
        issued.callback_secret = Some(secret);
    }
    if body.webhook() {
        let token = util::new_token("wt_").map_err(|_| ApiError::internal())?;
        extras.webhook_hash = Some(hash_token(&token));
        issued.webhook_token = Some(token);
    }
    Ok((extras, issued))
}

fn invalid_token() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "ERR_WEBHOOK_TOKEN_INVALID",
        "Invalid Webhook Token",
        "Missing or invalid webhook token.",
    )
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "ERR_BODY_TOO_LARGE",
        "Payload Too Large",
        "A relayed webhook holds at most 64 KiB (body, kept headers and encoding together).",
    )
}

fn token_of(query: Option<&str>) -> Option<&str> {
    query?.split('&').find_map(|kv| kv.strip_prefix("token=")).filter(|t| !t.is_empty())
}

/// The relayed headers as a JSON object text (`name` lower case; repeated
/// names joined with `, `).
fn kept_headers(headers: &HeaderMap) -> String {
    let mut out = serde_json::Map::new();
    for name in headers.keys() {
        let n = name.as_str();
        if DROPPED.contains(&n) || n.starts_with("x-forwarded-") || out.len() >= MAX_HEADERS {
            continue;
        }
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter(|v| v.len() <= MAX_HEADER_VALUE)
            .collect();
        if !values.is_empty() {
            out.insert(n.to_owned(), values.join(", ").into());
        }
    }
    serde_json::Value::Object(out).to_string()
}

/// The plaintext sealed for the agent.
fn payload(headers: &HeaderMap, body: &[u8]) -> Credentials {
    let mut c = Credentials::new();
    c.insert("headers", kept_headers(headers));
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    c.insert("content_type", content_type);
    match std::str::from_utf8(body) {
        Ok(text) => {
            c.insert("body", text);
        }
        Err(_) => {
            c.insert("body", base64::engine::general_purpose::STANDARD.encode(body));
            c.insert("body_encoding", "base64");
        }
    }
    c
}

fn seal(
    public_key: &str,
    envelope_kind: EnvelopeKind,
    session_id: &str,
    creds: &Credentials,
) -> Result<(String, &'static str), ApiError> {
    let key = AgentPublicKey::from_wire(public_key).map_err(|_| ApiError::internal())?;
    let sealed = match envelope_kind {
        EnvelopeKind::Linkauth => envelope::seal(&key, creds).map(|c| (c, ALG_LINKAUTH)),
        EnvelopeKind::Jwe => envelope::seal_jwe(&key, creds, session_id).map(|c| (c, ALG_JWE)),
    };
    sealed.map_err(|e| match e {
        EnvelopeError::InputTooLarge(_) => too_large(),
        other => {
            tracing::error!(code = other.code(), "webhook sealing failed");
            ApiError::internal()
        }
    })
}

fn failed(e: StoreError) -> ApiError {
    if let StoreError::Unsupported(what) = e {
        return ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "ERR_NOT_SUPPORTED",
            "Not Implemented",
            format!("This broker's storage backend does not support {what}."),
        );
    }
    tracing::error!(error = %e, "storage failure");
    ApiError::internal()
}

/// A miss (unknown session, wrong token) counts against the client's attempt
/// budget like a failed poll: the answers would otherwise tell live session ids.
/// The budget is the one `/v1/connect` and failed polls draw on, shared by every
/// instance on one PostgreSQL ([`App::allow`]).
async fn miss<S: Store>(app: &App<S>, ip: IpAddr, answer: ApiError) -> ApiError {
    if !app.allow(Limit::Client, ("connect", ip), app.cfg.connect_rate_client).await {
        return ApiError::rate_limited(60);
    }
    answer
}

/// `POST /v1/sessions/{session_id}/webhook?token=...`
pub async fn relay<S: Store>(
    State(app): State<Arc<App<S>>>,
    ClientIp(ip): ClientIp,
    Path(session_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Some(token) = token_of(query.as_deref()) else {
        return Err(miss(&app, ip, invalid_token()).await);
    };
    let token = hash_token(token);
    let Some(id) = util::parse_session_id(&session_id) else {
        return Err(miss(&app, ip, ApiError::session_not_found()).await);
    };
    let target = app.store.webhook_target(id, token, now_ms()).await.map_err(failed)?;
    let (public_key, kind) = match target {
        WebhookTarget::Open { public_key, envelope } => (public_key, envelope),
        WebhookTarget::NotFound => return Err(miss(&app, ip, ApiError::session_not_found()).await),
        WebhookTarget::Forbidden => return Err(miss(&app, ip, invalid_token()).await),
        WebhookTarget::NotEnabled => {
            return Err(miss(
                &app,
                ip,
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "ERR_WEBHOOK_NOT_ENABLED",
                    "Webhook Not Enabled",
                    "This session was created without enable_webhook.",
                ),
            )
            .await);
        }
        WebhookTarget::Conflict => {
            return Err(ApiError::conflict("This session already holds or delivered its payload."));
        }
    };
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::bad_request("ERR_BAD_REQUEST", "The request body could not be read.")
        }
    })?;
    if body.len() > crate::MAX_BODY {
        return Err(too_large());
    }
    let hex_id = util::hex(&id);
    let (ciphertext, algorithm) = seal(&public_key, kind, &hex_id, &payload(&headers, &body))?;
    match app.store.webhook_relay(id, token, ciphertext, algorithm.to_owned(), now_ms()).await.map_err(failed)? {
        Transition::Done => {
            callbacks::wake();
            tracing::info!("webhook relayed");
            let answer = serde_json::json!({ "status": "accepted", "session_id": hex_id });
            Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], answer.to_string()).into_response())
        }
        Transition::NotFound => Err(ApiError::session_not_found()),
        Transition::Forbidden => Err(invalid_token()),
        Transition::Conflict => Err(ApiError::conflict("This session already holds or delivered its payload.")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_transport_headers_are_dropped() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("authorization", "Bearer x"),
            ("cookie", "a=b"),
            ("x-api-key", "k"),
            ("x-forwarded-for", "1.2.3.4"),
            ("host", "broker"),
            ("content-type", "application/json"),
            ("x-hub-signature-256", "sha256=ab"),
            ("user-agent", "GitHub-Hookshot"),
        ] {
            h.insert(axum::http::HeaderName::from_static(k), v.parse().unwrap());
        }
        let kept: serde_json::Value = serde_json::from_str(&kept_headers(&h)).unwrap();
        let names: Vec<&str> = kept.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(names, ["content-type", "user-agent", "x-hub-signature-256"]);
    }

    #[test]
    fn token_from_query() {
        assert_eq!(token_of(Some("a=1&token=wt_x")), Some("wt_x"));
        assert_eq!(token_of(Some("token=")), None);
        assert_eq!(token_of(None), None);
    }

    #[test]
    fn binary_body_is_base64() {
        let c = payload(&HeaderMap::new(), &[0xff, 0x00]);
        assert_eq!(c.get("body"), Some("/wA="));
        assert_eq!(c.get("body_encoding"), Some("base64"));
        assert_eq!(payload(&HeaderMap::new(), b"hi").get("body_encoding"), None);
    }
}
