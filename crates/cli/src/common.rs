//! Arguments shared by `request`, `poll` and `open`, and the shared tail of
//! their flows: open the envelope, show JWT identities, deliver.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use sealpost_core::envelope;
use sealpost_core::keys::AgentPrivateKey;

use crate::broker::RetryPolicy;
use crate::errors::CliError;
use crate::output::{self, Delivery};
use crate::session::Answer;
use crate::ui::Ui;

#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Output on stdout: json (default), env (`export NAME='value'` lines) or raw FIELD (one value, no newline)
    #[arg(long, num_args = 1..=2, value_names = ["FORMAT", "FIELD"], conflicts_with = "exec", help_heading = "Output")]
    pub format: Vec<String>,

    /// Instead of printing, run the command given after `--` with the credentials as environment variables
    #[arg(long, requires = "command", help_heading = "Output")]
    pub exec: bool,

    /// Prefix for variable names with --exec and --format env (field `api_key` -> `<PREFIX>API_KEY`)
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
        RetryPolicy { attempts: self.retries, base: Duration::from_millis(self.retry_base_ms), max: Duration::from_secs(10) }
    }
}

impl OutputArgs {
    pub fn delivery(&self, expected: Option<BTreeSet<String>>) -> Result<Delivery, CliError> {
        Ok(Delivery {
            format: output::parse_format(&self.format)?,
            exec: self.command.clone(),
            env_prefix: self.env_prefix.clone(),
            expected,
        })
    }
}

/// Open, summarise JWTs, drop the key, deliver.
pub fn finish(sk: AgentPrivateKey, answer: &Answer, session_id: &str, delivery: &Delivery, ui: &mut Ui) -> Result<ExitCode, CliError> {
    let creds = envelope::open_any(&sk, &answer.algorithm, &answer.ciphertext, session_id)?;
    drop(sk);
    for line in crate::identity::summaries(&creds, crate::timefmt::now_unix()) {
        ui.note(&line);
    }
    let names: Vec<String> = creds.iter().map(|(k, _)| crate::errors::sanitize(k, 64)).collect();
    let kind = if answer.algorithm == envelope::ALG_JWE { "JWE" } else { "LinkAuth" };
    ui.note(&format!("received {} field(s) in a {kind} envelope: {}", names.len(), names.join(", ")));
    output::deliver(&creds, delivery, ui)
}
