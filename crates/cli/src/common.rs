//! Arguments shared by `request`, `poll` and `open`, and the shared tail of
//! their flows: open the envelope, show JWT identities, deliver.

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use sealpost_core::envelope::{self, EnvelopeKind};
use sealpost_core::keys::AgentPrivateKey;

use crate::allow::Allowlist;
use crate::broker::RetryPolicy;
use crate::errors::CliError;
use crate::output::{self, Delivery};
use crate::session::Answer;
use crate::ui::Ui;

#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Output on stdout: json (default), env (`export NAME='value'` lines) or raw FIELD (one value, no newline).
    /// Every format carries only the fields that were asked for
    #[arg(long, num_args = 1..=2, value_names = ["FORMAT", "FIELD"], conflicts_with = "exec", help_heading = "Output")]
    pub format: Vec<String>,

    /// Instead of printing, run the command given after `--` with the credentials as environment variables
    #[arg(long, requires = "command", help_heading = "Output")]
    pub exec: bool,

    /// Prefix for variable names with --exec and --format env (field `api_key` -> `<PREFIX>API_KEY`; A-Z a-z 0-9 _)
    #[arg(long, value_name = "PREFIX", default_value = "", hide_default_value = true, help_heading = "Output")]
    pub env_prefix: String,

    /// The command for --exec (after `--`)
    #[arg(last = true, value_name = "CMD", requires = "exec")]
    pub command: Vec<OsString>,
}

#[derive(Args, Debug, Clone, Copy)]
pub struct NetArgs {
    /// Attempts per broker call on network errors and HTTP 5xx, with exponential backoff
    #[arg(long, env = "SEALPOST_RETRIES", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20), help_heading = "Network")]
    pub retries: u32,

    /// First backoff delay in milliseconds (doubles each retry, capped at 10 s)
    #[arg(long, env = "SEALPOST_RETRY_BASE_MS", default_value_t = 500, hide = true)]
    pub retry_base_ms: u64,
}

impl NetArgs {
    pub fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            attempts: self.retries,
            base: Duration::from_millis(self.retry_base_ms),
            max: Duration::from_secs(10),
        }
    }
}

impl OutputArgs {
    pub fn format(&self) -> Result<output::Format, CliError> {
        output::parse_format(&self.format)
    }

    /// The delivery of exactly the `allowed` fields, checked before any broker call.
    pub fn delivery(&self, allowed: Allowlist) -> Result<Delivery, CliError> {
        let d = Delivery {
            format: self.format()?,
            exec: self.command.clone(),
            env_prefix: self.env_prefix.clone(),
            allowed,
        };
        d.check()?;
        Ok(d)
    }
}

/// `--jwe` was asked for and the answer is another envelope: refused before
/// anything is decrypted (a broker or completer must not pick the weaker,
/// unbound envelope for us).
pub fn check_envelope(kind: EnvelopeKind, require_jwe: bool) -> Result<(), CliError> {
    if require_jwe && kind != EnvelopeKind::Jwe {
        return Err(downgrade(kind.algorithm()));
    }
    Ok(())
}

/// The downgrade refusal, naming the `algorithm` the answer stated.
pub fn downgrade(algorithm: &str) -> CliError {
    CliError::EnvelopeDowngrade(format!(
        "the session asked for a JWE envelope (bound to this session) and the answer is \"{}\": refused as a downgrade",
        crate::errors::sanitize(algorithm, 40)
    ))
}

/// The envelope kind of an answer's `algorithm` (exact spellings). Anything
/// else is refused: as a downgrade when a JWE is required, else as
/// `ERR_ENVELOPE_UNSUPPORTED`.
pub fn envelope_kind(algorithm: &str, require_jwe: bool) -> Result<EnvelopeKind, CliError> {
    match envelope::envelope_kind(algorithm) {
        Ok(kind) => Ok(kind),
        Err(_) if require_jwe => Err(downgrade(algorithm)),
        Err(e) => Err(CliError::Envelope(e)),
    }
}

/// Open, summarise JWTs, drop the key, deliver.
pub fn finish(
    sk: AgentPrivateKey,
    answer: &Answer,
    session_id: Option<&str>,
    require_jwe: bool,
    delivery: &Delivery,
    ui: &mut Ui,
) -> Result<ExitCode, CliError> {
    check_envelope(answer.algorithm, require_jwe)?;
    let creds = envelope::open_any(&sk, answer.algorithm, &answer.ciphertext, session_id)?;
    drop(sk);
    let names: Vec<String> = creds.iter().map(|(k, _)| crate::errors::sanitize(k, 64)).collect();
    let kind = match answer.algorithm {
        EnvelopeKind::Jwe => "JWE",
        EnvelopeKind::Linkauth => "LinkAuth",
    };
    ui.note(&format!("received {} field(s) in a {kind} envelope: {}", names.len(), names.join(", ")));
    output::deliver(&creds, delivery, ui)
}
