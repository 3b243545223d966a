//! HTTP client for the agent-facing broker API, with retries and backoff for
//! transient failures (network errors and 5xx).

use std::time::Duration;

use zeroize::Zeroizing;

use crate::errors::{CliError, sanitize};
use crate::signals;
use sealpost_core::protocol::{CreateSessionRequest, Problem, SessionCreatedReply};

/// How transient failures are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Total attempts per call (>= 1).
    pub attempts: u32,
    /// First backoff delay; doubled each time, capped at `max`.
    pub base: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    pub fn delay(&self, failed_attempts: u32) -> Duration {
        let exp = failed_attempts.saturating_sub(1).min(16);
        let d = self.base.saturating_mul(1u32 << exp).min(self.max);
        // up to +25% jitter from the clock's sub-second noise, so many agents do not retry in lockstep
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|t| t.subsec_nanos()).unwrap_or(0);
        d + d.mul_f64(f64::from(nanos % 250) / 1000.0)
    }
}

/// A broker answer: status and (size-limited) body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub retry_after: Option<u64>,
    pub location: Option<String>,
}

pub struct Broker {
    agent: ureq::Agent,
    base: String,
    api_key: Option<Zeroizing<String>>,
    retry: RetryPolicy,
}

const MAX_BODY: u64 = 4 * 1024 * 1024;

/// Normalise and check a broker base URL.
pub fn normalize_base(url: &str) -> Result<String, CliError> {
    let url = url.trim().trim_end_matches('/');
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).ok_or_else(|| {
        CliError::Usage(format!("--broker must be an http:// or https:// URL, got \"{}\"", sanitize(url, 100)))
    })?;
    if rest.is_empty() || rest.contains(['?', '#', ' ']) {
        return Err(CliError::Usage(format!("--broker is not a usable base URL: \"{}\"", sanitize(url, 100))));
    }
    Ok(url.to_string())
}

/// True for `http://` to a host other than loopback.
pub fn is_insecure(base: &str) -> bool {
    let Some(rest) = base.strip_prefix("http://") else { return false };
    let host = rest.split('/').next().unwrap_or("");
    let host = if let Some(h) = host.strip_prefix('[') {
        h.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    !(host == "localhost" || host.ends_with(".localhost") || host.starts_with("127.") || host == "::1")
}

impl Broker {
    pub fn new(base: &str, api_key: Option<String>, retry: RetryPolicy) -> Result<Broker, CliError> {
        let base = normalize_base(base)?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(30)))
            .user_agent(concat!("sealpost/", env!("CARGO_PKG_VERSION")))
            .build();
        let api_key = api_key.filter(|k| !k.trim().is_empty()).map(Zeroizing::new);
        Ok(Broker { agent: config.into(), base, api_key, retry })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn once(&self, path: &str, body: Option<&str>, bearer: Option<&str>) -> Result<Reply, ureq::Error> {
        let url = format!("{}{}", self.base, path);
        let mut resp = match body {
            Some(body) => {
                let mut req = self
                    .agent
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .header("Accept", "application/json");
                if let Some(k) = &self.api_key {
                    req = req.header("X-API-Key", k.as_str());
                }
                req.send(body)?
            }
            None => {
                let mut req = self.agent.get(&url).header("Accept", "application/json");
                if let Some(k) = &self.api_key {
                    req = req.header("X-API-Key", k.as_str());
                }
                if let Some(t) = bearer {
                    req = req.header("Authorization", format!("Bearer {t}"));
                }
                req.call()?
            }
        };
        let status = resp.status().as_u16();
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let retry_after = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok());
        let location = header("location");
        let body = resp.body_mut().with_config().limit(MAX_BODY).read_to_string()?;
        Ok(Reply { status, body, retry_after, location })
    }

    /// One logical call: retries network errors and 5xx with exponential backoff.
    fn call(
        &self,
        path: &str,
        body: Option<&str>,
        bearer: Option<&str>,
        on_retry: &mut dyn FnMut(&str, Duration),
    ) -> Result<Reply, CliError> {
        let attempts = self.retry.attempts.max(1);
        let mut last = String::new();
        for attempt in 1..=attempts {
            if signals::interrupted() {
                return Err(CliError::Interrupted);
            }
            match self.once(path, body, bearer) {
                Ok(reply) if reply.status >= 500 => {
                    last = format!("HTTP {}{}", reply.status, summary(&Problem::parse(&reply.body)));
                }
                Ok(reply) => return Ok(reply),
                Err(e) => {
                    last = describe(&e);
                    // a certificate or protocol failure will not heal by retrying
                    if permanent(&e) {
                        return Err(CliError::Unreachable {
                            attempts: attempt,
                            detail: format!("{} ({last})", self.base),
                        });
                    }
                }
            }
            if attempt < attempts {
                let delay = self.retry.delay(attempt);
                on_retry(&last, delay);
                if !signals::sleep(delay) {
                    return Err(CliError::Interrupted);
                }
            }
        }
        Err(CliError::Unreachable { attempts, detail: format!("{} ({last})", self.base) })
    }

    /// `POST /v1/sessions`.
    pub fn create_session(
        &self,
        req: &CreateSessionRequest,
        on_retry: &mut dyn FnMut(&str, Duration),
    ) -> Result<SessionCreatedReply, CliError> {
        let body =
            serde_json::to_string(req).map_err(|e| CliError::Usage(format!("cannot encode the request: {e}")))?;
        let reply = self.call("/v1/sessions", Some(&body), None, on_retry)?;
        match reply.status {
            200 | 201 => serde_json::from_str(&reply.body).map_err(|e| {
                CliError::InvalidAnswer(format!(
                    "session creation answer is not the expected JSON ({})",
                    sanitize(&e.to_string(), 200)
                ))
            }),
            300..=399 => Err(redirected(&reply)),
            status => Err(rejected(status, &Problem::parse(&reply.body))),
        }
    }

    /// `GET /v1/sessions/{id}` with the poll token. Returns the raw reply for the poll loop to interpret.
    pub fn poll(
        &self,
        session_id: &str,
        poll_token: &str,
        on_retry: &mut dyn FnMut(&str, Duration),
    ) -> Result<Reply, CliError> {
        let reply = self.call(&format!("/v1/sessions/{session_id}"), None, Some(poll_token), on_retry)?;
        if (300..400).contains(&reply.status) {
            return Err(redirected(&reply));
        }
        Ok(reply)
    }
}

/// Problem codes of a Sealpost broker that sealpost explains, keeping the code.
const EXPLAINED: &[(&str, &str)] = &[
    (
        "ERR_SENDER_REQUIRED",
        "this inbox only takes requests from senders its owner added; pass the sender credential (is_...) they created for this agent, not the inbox id. ",
    ),
    (
        "ERR_SENDER_INVALID",
        "the inbox does not know this sender credential (mistyped, or the owner removed this sender); ask the inbox owner for a new one. ",
    ),
    (
        "ERR_SENDER_QUOTA",
        "this sender already has as many pending requests in the inbox as it may; wait until one is answered, declined or expired. ",
    ),
    ("ERR_INBOX_FULL", "the inbox holds as many pending requests as it may; try again later. "),
    (
        "ERR_TEXT_INVALID",
        "the display name, reason or agent name holds characters the broker refuses (controls, bidi overrides, line separators). ",
    ),
];

/// A 4xx on create: typed when the broker names a code sealpost knows.
fn rejected(status: u16, p: &Problem) -> CliError {
    if let Some((code, hint)) = p.code.as_deref().and_then(|c| EXPLAINED.iter().find(|(k, _)| *k == c)) {
        let said = summary(&Problem { title: p.title.clone(), detail: p.detail.clone(), ..Problem::default() });
        let said = said.strip_prefix(": ").map(|d| format!("(broker: {d})")).unwrap_or_default();
        return CliError::BrokerCode { status, code, hint, detail: said };
    }
    CliError::Rejected { status, detail: summary(p) }
}

/// A problem as a short, sanitised one-line suffix (`": title — detail [CODE]"`), or "" when the body had none.
pub fn summary(p: &Problem) -> String {
    let mut parts: Vec<String> = Vec::new();
    for s in [Some(&p.title), p.detail.as_ref(), p.error.as_ref(), p.error_description.as_ref()].into_iter().flatten() {
        let s = s.trim();
        if !s.is_empty() && !parts.iter().any(|p| p == s) {
            parts.push(s.to_string());
        }
    }
    if let Some(code) = &p.code {
        parts.push(format!("[{code}]"));
    }
    if parts.is_empty() { String::new() } else { format!(": {}", sanitize(&parts.join(" — "), 300)) }
}

fn redirected(reply: &Reply) -> CliError {
    let to = reply.location.as_deref().map(|l| format!(" to {}", sanitize(l, 200))).unwrap_or_default();
    CliError::Rejected {
        status: reply.status,
        detail: format!(": the broker redirects{to}; pass that base URL as --broker"),
    }
}

fn permanent(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::Io(io) => io.kind() == std::io::ErrorKind::InvalidData,
        ureq::Error::BadUri(_) | ureq::Error::InvalidProxyUrl => true,
        _ => false,
    }
}

fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) => sanitize(&io.to_string(), 200),
        ureq::Error::Timeout(_) => "timed out".to_string(),
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::ConnectionFailed => "connection failed".to_string(),
        other => sanitize(&other.to_string(), 200),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(normalize_base("http://127.0.0.1:8080/").unwrap(), "http://127.0.0.1:8080");
        assert!(normalize_base("ftp://x").is_err());
        assert!(normalize_base("https://").is_err());
        assert!(!is_insecure("http://127.0.0.1:9"));
        assert!(!is_insecure("http://localhost:9/x"));
        assert!(!is_insecure("http://[::1]:9"));
        assert!(!is_insecure("https://broker.example"));
        assert!(is_insecure("http://broker.example"));
    }

    #[test]
    fn sender_problems_keep_their_code() {
        let p = Problem::parse(
            r#"{"title":"Forbidden","status":403,"detail":"Unknown sender.","code":"ERR_SENDER_INVALID"}"#,
        );
        let e = rejected(403, &p);
        assert_eq!((e.code(), e.exit_code()), ("ERR_SENDER_INVALID", 7));
        assert!(e.to_string().contains("ask the inbox owner"), "{e}");
        let p = Problem::parse(r#"{"title":"Bad","status":400,"code":"ERR_OTHER"}"#);
        assert_eq!(rejected(400, &p).code(), "ERR_BROKER_REJECTED");
    }

    #[test]
    fn backoff_grows_and_caps() {
        let p = RetryPolicy { attempts: 5, base: Duration::from_millis(100), max: Duration::from_millis(350) };
        assert!(p.delay(1) >= Duration::from_millis(100) && p.delay(1) < Duration::from_millis(130));
        assert!(p.delay(2) >= Duration::from_millis(200));
        assert!(p.delay(5) <= Duration::from_millis(350 * 5 / 4 + 1));
    }
}
