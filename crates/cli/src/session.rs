//! A created session and the poll loop (docs/protocol.md, "GET /v1/sessions/{id}").

use std::time::{Duration, Instant};

use sealpost_core::envelope::EnvelopeKind;
use sealpost_core::protocol::{PollReply, Problem, SessionCreatedReply};
use zeroize::Zeroizing;

use crate::broker::{Broker, summary};
use crate::errors::{CliError, sanitize};
use crate::signals;
use crate::timefmt::{human_duration, now_unix, parse_rfc3339};
use crate::ui::Ui;

/// Polling faster than this is never useful; slower than this is never asked.
const MIN_INTERVAL: u64 = 1;
const MAX_INTERVAL: u64 = 300;
/// How long past `expires_at` we keep polling before giving up on our own.
const EXPIRY_GRACE: i64 = 30;

pub struct Session {
    pub session_id: String,
    pub poll_token: Zeroizing<String>,
    pub code: Option<String>,
    pub url: Option<String>,
    /// Manual code entry page (`verification_uri`).
    pub manual_url: Option<String>,
    /// Unix seconds.
    pub expires_at: Option<i64>,
    pub interval: u64,
}

/// The sealed answer, exactly as the broker handed it over (once).
pub struct Answer {
    pub ciphertext: Zeroizing<String>,
    pub algorithm: EnvelopeKind,
}

/// A broker's (or a saved session's) `interval` in seconds, as we obey it:
/// rounded up into `MIN_INTERVAL..=MAX_INTERVAL`, 5 when not a number.
pub fn clamp_interval(v: f64) -> u64 {
    if v.is_finite() { (v.ceil() as u64).clamp(MIN_INTERVAL, MAX_INTERVAL) } else { 5 }
}

/// Session ids go into a URL path: keep them to a safe alphabet.
pub fn check_session_id(id: &str) -> Result<(), CliError> {
    if id.is_empty() || id.len() > 256 || !id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_') {
        return Err(CliError::InvalidAnswer(format!("unusable session_id \"{}\"", sanitize(id, 80))));
    }
    Ok(())
}

impl Session {
    /// Accept either spelling of every member; fill the URL in from the code if missing.
    pub fn from_created(mut raw: SessionCreatedReply, base: &str, ttl: Option<u64>) -> Result<Session, CliError> {
        let session_id =
            raw.session_id.take().ok_or_else(|| CliError::InvalidAnswer("no session_id in the answer".into()))?;
        check_session_id(&session_id)?;
        let poll_token = Zeroizing::new(
            raw.poll_token.take().ok_or_else(|| CliError::InvalidAnswer("no poll_token in the answer".into()))?,
        );
        if poll_token.is_empty() || poll_token.bytes().any(|c| !c.is_ascii_graphic()) {
            return Err(CliError::InvalidAnswer("unusable poll_token".into()));
        }
        let code = raw.user_code().map(|c| sanitize(c, 40));
        let url = raw
            .complete_url()
            .map(|u| absolute(u, base))
            .or_else(|| code.as_ref().map(|c| format!("{base}/connect/{c}")))
            .map(|u| sanitize(&u, 500));
        let manual_url = raw.verification_uri.map(|u| sanitize(&absolute(&u, base), 500));
        let now = now_unix();
        let expires_at = raw
            .expires_at
            .as_deref()
            .and_then(parse_rfc3339)
            .or_else(|| raw.expires_in.filter(|s| s.is_finite() && *s > 0.0).map(|s| now.saturating_add(s as i64)))
            .or_else(|| Some(now.saturating_add(ttl.and_then(|t| i64::try_from(t).ok()).unwrap_or(600))));
        Ok(Session {
            session_id,
            poll_token,
            code,
            url,
            manual_url,
            expires_at,
            interval: raw.interval.map_or(5, clamp_interval),
        })
    }

    pub fn time_left(&self) -> Option<Duration> {
        self.expires_at.map(|e| Duration::from_secs(u64::try_from(e.saturating_sub(now_unix())).unwrap_or(0)))
    }
}

/// A relative `url` (some brokers send a path) is resolved against the broker base.
fn absolute(url: &str, base: &str) -> String {
    if url.starts_with("http://") || url.starts_with("https://") {
        url.to_string()
    } else if let Some(path) = url.strip_prefix('/') {
        // base may carry a path prefix; a leading '/' is relative to the origin
        let origin_end =
            base.find("://").map(|i| i + 3).and_then(|i| base[i..].find('/').map(|j| i + j)).unwrap_or(base.len());
        format!("{}/{}", &base[..origin_end], path)
    } else {
        format!("{base}/{url}")
    }
}

fn status_text(status: &str) -> &'static str {
    match status {
        "confirmed" => "code confirmed in the browser, waiting for the secret",
        _ => "waiting for approval",
    }
}

/// Poll until the answer arrives, obeying `interval` and `slow_down`. An
/// answer whose `algorithm` names no envelope is refused (as a downgrade when
/// `require_jwe`).
pub fn wait_for_answer(broker: &Broker, s: &mut Session, require_jwe: bool, ui: &mut Ui) -> Result<Answer, CliError> {
    let mut interval = s.interval;
    let mut status = String::from("pending");
    let mut last_note = Instant::now();
    if !ui.is_tty() {
        let left = s.time_left().map(|l| format!(", expires in {}", human_duration(l))).unwrap_or_default();
        ui.note(&format!("waiting for approval (polling every {interval}s{left})"));
    }
    loop {
        let text = status_text(&status);
        let ok = signals::sleep_with(Duration::from_secs(interval), &mut |_| ui.tick(text, s.time_left()));
        if !ok {
            return Err(CliError::Interrupted);
        }
        if let Some(exp) = s.expires_at
            && now_unix() > exp.saturating_add(EXPIRY_GRACE)
        {
            return Err(CliError::Expired(String::new()));
        }
        let reply = broker.poll(&s.session_id, &s.poll_token, &mut |why, delay| {
            ui.warn(&format!("broker unreachable ({why}); retrying in {}", human_duration_ms(delay)));
        })?;
        match reply.status {
            200 => {
                let body: PollReply = serde_json::from_str(&reply.body).map_err(|e| {
                    CliError::InvalidAnswer(format!(
                        "poll answer is not the expected JSON ({})",
                        sanitize(&e.to_string(), 200)
                    ))
                })?;
                if let Some(v) = body.interval {
                    interval = clamp_interval(v).max(interval);
                }
                if let Some(exp) = body.expires_at.as_deref().and_then(parse_rfc3339) {
                    s.expires_at = Some(exp);
                }
                let new_status = body.status.as_deref().unwrap_or("").to_ascii_lowercase();
                if let Some(ciphertext) = body.ciphertext.filter(|c| !c.is_empty()) {
                    ui.done();
                    let algorithm = match body.algorithm.as_deref() {
                        None => EnvelopeKind::Linkauth,
                        Some(alg) => crate::common::envelope_kind(alg, require_jwe)?,
                    };
                    return Ok(Answer { ciphertext: Zeroizing::new(ciphertext), algorithm });
                }
                match new_status.as_str() {
                    "ready" => return Err(CliError::InvalidAnswer("status ready without ciphertext".into())),
                    "consumed" => return Err(CliError::Consumed),
                    "expired" => return Err(CliError::Expired(String::new())),
                    _ => {}
                }
                if new_status != status {
                    if new_status == "confirmed" {
                        ui.note("the code was confirmed in the browser; waiting for the secret");
                    }
                    status = new_status;
                    last_note = Instant::now();
                } else if !ui.is_tty() && last_note.elapsed() >= Duration::from_secs(60) {
                    let left = s.time_left().map(|l| format!(", {} left", human_duration(l))).unwrap_or_default();
                    ui.note(&format!("still waiting (status {}{left})", sanitize(&status, 20)));
                    last_note = Instant::now();
                }
            }
            429 => {
                let p = Problem::parse(&reply.body);
                let asked = p.interval.or(reply.retry_after).map(|r| r.clamp(MIN_INTERVAL, MAX_INTERVAL));
                let next = match asked {
                    Some(n) => n.max(interval + 1),
                    // RFC 8628 §3.5: without a value, add 5 seconds
                    None => interval + 5,
                }
                .min(MAX_INTERVAL);
                let why = if p.is_slow_down() { "slow_down" } else { "HTTP 429" };
                ui.note(&format!("broker asked to slow down ({why}); polling every {next}s"));
                interval = next;
            }
            404 => {
                let p = Problem::parse(&reply.body);
                ui.done();
                if p.is_declined() {
                    return Err(CliError::Declined);
                }
                return Err(CliError::Expired(" (the broker no longer knows this session)".into()));
            }
            410 => return Err(CliError::Expired(" (HTTP 410 Gone)".into())),
            status => {
                return Err(CliError::Rejected { status, detail: summary(&Problem::parse(&reply.body)) });
            }
        }
    }
}

fn human_duration_ms(d: Duration) -> String {
    if d < Duration::from_secs(1) { format!("{}ms", d.as_millis()) } else { format!("{:.1}s", d.as_secs_f64()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draft_and_reference_names() {
        let raw: SessionCreatedReply = serde_json::from_str(
            r#"{"session_id":"abc","user_code":"ABCD-1234","verification_uri_complete":"https://b.example/connect/ABCD-1234","poll_token":"pt_x","expires_at":"2099-01-01T00:00:00Z","interval":0.5}"#,
        )
        .unwrap();
        let s = Session::from_created(raw, "https://b.example", None).unwrap();
        assert_eq!(s.code.as_deref(), Some("ABCD-1234"));
        assert_eq!(s.url.as_deref(), Some("https://b.example/connect/ABCD-1234"));
        assert_eq!(s.interval, 1);
        assert_eq!(s.expires_at, parse_rfc3339("2099-01-01T00:00:00Z"));
    }

    #[test]
    fn url_fallbacks() {
        let raw: SessionCreatedReply =
            serde_json::from_str(r#"{"session_id":"abc","code":"WXYZ-0000","poll_token":"pt_x"}"#).unwrap();
        let s = Session::from_created(raw, "http://127.0.0.1:9/base", Some(60)).unwrap();
        assert_eq!(s.url.as_deref(), Some("http://127.0.0.1:9/base/connect/WXYZ-0000"));
        assert_eq!(s.interval, 5);
        assert_eq!(absolute("/connect/X", "http://h:1/base"), "http://h:1/connect/X");
    }

    #[test]
    fn intervals_are_clamped() {
        assert_eq!(clamp_interval(0.5), 1);
        assert_eq!(clamp_interval(2.1), 3);
        assert_eq!(clamp_interval(-3.0), 1);
        assert_eq!(clamp_interval(1e12), 300);
        assert_eq!(clamp_interval(f64::NAN), 5);
        assert_eq!(clamp_interval(f64::INFINITY), 5);
    }

    #[test]
    fn bad_ids_are_refused() {
        assert!(check_session_id("../admin").is_err());
        assert!(check_session_id("ab12ef").is_ok());
        let raw: SessionCreatedReply = serde_json::from_str(r#"{"session_id":"abc","code":"X"}"#).unwrap();
        assert!(Session::from_created(raw, "http://h", None).is_err());
    }
}
