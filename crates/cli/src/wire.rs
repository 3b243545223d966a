//! Client-side, lenient types for the LinkAuth v1 wire API (docs/protocol.md).
//!
//! They accept both the Internet-Draft's and the reference broker's spellings
//! (`code`/`user_code`, `url`/`verification_uri_complete`) and both shapes of
//! `slow_down`. Unknown members are ignored.

use serde::{Deserialize, Serialize};

/// One requested form field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldSpec {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub required: bool,
}

/// `POST /v1/sessions` body.
#[derive(Debug, Serialize)]
pub struct CreateSession<'a> {
    pub public_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<&'a [FieldSpec]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
    /// Sealpost extension: `"jwe"` asks the browser for a JWE envelope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub envelope: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inbox: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
}

/// `201` answer to `POST /v1/sessions`, every spelling optional.
#[derive(Debug, Default, Deserialize)]
pub struct SessionCreatedRaw {
    pub session_id: Option<String>,
    pub code: Option<String>,
    pub user_code: Option<String>,
    pub url: Option<String>,
    pub verification_uri_complete: Option<String>,
    pub verification_uri: Option<String>,
    pub poll_token: Option<String>,
    pub expires_at: Option<String>,
    pub expires_in: Option<f64>,
    pub interval: Option<f64>,
}

/// `200` answer to `GET /v1/sessions/{id}`.
#[derive(Debug, Default, Deserialize)]
pub struct PollReply {
    pub status: Option<String>,
    pub ciphertext: Option<String>,
    pub algorithm: Option<String>,
    pub interval: Option<f64>,
    pub expires_at: Option<String>,
}

/// RFC 9457 problem, plus the draft's OAuth-style `{error, interval}`.
#[derive(Debug, Default, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub title: Option<String>,
    pub detail: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub interval: Option<f64>,
}

pub const SLOW_DOWN_URN: &str = "urn:ietf:params:oauth:error:slow_down";

impl Problem {
    /// Parse a body leniently: anything that is not a JSON object is an empty problem.
    pub fn parse(body: &str) -> Problem {
        serde_json::from_str(body).unwrap_or_default()
    }

    pub fn is_slow_down(&self) -> bool {
        self.kind.as_deref() == Some(SLOW_DOWN_URN) || self.error.as_deref() == Some("slow_down")
    }

    pub fn is_declined(&self) -> bool {
        let title = self.title.as_deref().unwrap_or("").trim();
        title.eq_ignore_ascii_case("Request Declined")
            || self.code.as_deref() == Some("ERR_REQUEST_DECLINED")
            || self.error.as_deref() == Some("request_declined")
    }

    /// A short, sanitised one-line description, or "" when the body had none.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for s in [&self.title, &self.detail, &self.error, &self.error_description].into_iter().flatten() {
            let s = s.trim();
            if !s.is_empty() && !parts.iter().any(|p: &String| p == s) {
                parts.push(s.to_string());
            }
        }
        if let Some(code) = &self.code {
            parts.push(format!("[{code}]"));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(": {}", crate::errors::sanitize(&parts.join(" — "), 300))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_slow_down_shapes() {
        assert!(
            Problem::parse(
                r#"{"type":"urn:ietf:params:oauth:error:slow_down","title":"Slow down","status":429,"interval":10}"#
            )
            .is_slow_down()
        );
        assert!(Problem::parse(r#"{"error":"slow_down","interval":7}"#).is_slow_down());
        assert!(!Problem::parse("not json").is_slow_down());
    }

    #[test]
    fn declined_by_title() {
        assert!(Problem::parse(r#"{"type":"about:blank","title":"Request Declined","status":404}"#).is_declined());
        assert!(
            !Problem::parse(r#"{"title":"Not Found","status":404,"detail":"Session not found or expired."}"#)
                .is_declined()
        );
    }

    #[test]
    fn reference_field_names_parse() {
        let raw: SessionCreatedRaw = serde_json::from_str(
            r#"{"session_id":"ab","code":"ABCD-1234","url":"http://x/connect/ABCD-1234","poll_token":"pt_x","expires_at":"2026-01-01T00:00:00Z","interval":5}"#,
        ).unwrap();
        assert_eq!(raw.code.as_deref(), Some("ABCD-1234"));
        assert_eq!(raw.interval, Some(5.0));
        // both spellings at once must not be a duplicate-field error
        let raw: SessionCreatedRaw = serde_json::from_str(
            r#"{"session_id":"ab","code":"A","user_code":"A","url":"u","verification_uri_complete":"u","poll_token":"p"}"#,
        ).unwrap();
        assert_eq!(raw.user_code.as_deref(), Some("A"));
    }
}
