//! RFC 9457 problem responses with a stable Sealpost `code` member.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sealpost_core::protocol::{DECLINED_TITLE, PROBLEM_CONTENT_TYPE, Problem, SLOW_DOWN_TYPE};
use std::borrow::Cow;

/// An error answered as `application/problem+json`.
///
/// Every detail is a fixed, secret-free sentence: never a token, code, key or
/// ciphertext, and never the text of a parser error that could quote input.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable `ERR_*` code.
    pub code: &'static str,
    /// Problem title (stable per kind).
    pub title: &'static str,
    /// Human-readable explanation.
    pub detail: Cow<'static, str>,
    kind: &'static str,
    interval: Option<u64>,
    www_authenticate: bool,
    retry_after: Option<u64>,
}

impl ApiError {
    /// A problem of type `about:blank`.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            title,
            detail: detail.into(),
            kind: "about:blank",
            interval: None,
            www_authenticate: false,
            retry_after: None,
        }
    }

    /// 400 with a specific code.
    pub fn bad_request(code: &'static str, detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, "Bad Request", detail)
    }

    /// The vague 404 for unknown or expired sessions.
    pub fn session_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "ERR_SESSION_NOT_FOUND", "Session Not Found", "Session not found or expired.")
    }

    /// 404 for a session the user declined through an inbox.
    pub fn declined() -> Self {
        Self::new(StatusCode::NOT_FOUND, "ERR_REQUEST_DECLINED", DECLINED_TITLE, "The user declined this request.")
    }

    /// 401 with `WWW-Authenticate: Bearer`.
    pub fn unauthorized(code: &'static str, detail: &'static str) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, code, "Unauthorized", detail);
        e.www_authenticate = true;
        e
    }

    /// 403.
    pub fn forbidden(code: &'static str, detail: &'static str) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, "Forbidden", detail)
    }

    /// 409.
    pub fn conflict(detail: &'static str) -> Self {
        Self::new(StatusCode::CONFLICT, "ERR_SESSION_STATE", "Conflict", detail)
    }

    /// 410 for sessions whose credentials were already submitted.
    pub fn gone() -> Self {
        Self::new(
            StatusCode::GONE,
            "ERR_SESSION_COMPLETED",
            "Session Completed",
            "Credentials were already submitted for this session.",
        )
    }

    /// 429 for attempt limits, with `Retry-After`.
    pub fn rate_limited(retry_after: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "ERR_RATE_LIMITED",
            "Too Many Requests",
            "Too many attempts; try again later.",
        );
        e.retry_after = Some(retry_after);
        e
    }

    /// 429 `slow_down` (RFC 8628), carrying the larger interval in both spellings.
    pub fn slow_down(interval: u64) -> Self {
        let mut e =
            Self::new(StatusCode::TOO_MANY_REQUESTS, "ERR_SLOW_DOWN", "Slow Down", "Polling faster than the interval.");
        e.kind = SLOW_DOWN_TYPE;
        e.interval = Some(interval);
        e.retry_after = Some(interval);
        e
    }

    /// 500 without internals.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ERR_INTERNAL",
            "Internal Server Error",
            "The broker could not complete the request.",
        )
    }

    /// 503 when a capacity cap is reached.
    pub fn unavailable(code: &'static str, detail: &'static str) -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, code, "Service Unavailable", detail);
        e.retry_after = Some(30);
        e
    }

    /// The body as the shared wire type.
    pub fn to_problem(&self) -> Problem {
        Problem {
            kind: self.kind.to_owned(),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: Some(self.detail.clone().into_owned()),
            code: Some(self.code.to_owned()),
            error: (self.kind == SLOW_DOWN_TYPE).then(|| "slow_down".to_owned()),
            error_description: None,
            interval: self.interval,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.to_problem()).unwrap_or_default();
        let mut res = (self.status, body).into_response();
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_CONTENT_TYPE));
        if self.www_authenticate {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}
