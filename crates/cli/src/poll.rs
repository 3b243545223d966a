//! `sealpost poll`: resume a session created with `request --no-wait`.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use sealpost_core::protocol::EnvelopeKind;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::allow::Allowlist;
use crate::broker::Broker;
use crate::common::{NetArgs, OutputArgs, finish};
use crate::errors::{CliError, sanitize};
use crate::keyfile;
use crate::output::Format;
use crate::session::{self, Session, check_session_id};
use crate::timefmt::parse_rfc3339;
use crate::ui::{Banner, Ui};

pub const EXAMPLES: &str = "\
Examples:
  sealpost request --broker https://broker.example --template api_key --key-file agent.pem --no-wait > session.json
  # ... later, maybe after a restart:
  sealpost poll --session session.json --key-file agent.pem --env-prefix OPENAI_ --exec -- ./job.sh

  # Without the JSON file (the poll token is read from the environment):
  SEALPOST_POLL_TOKEN=pt_... sealpost poll --broker https://broker.example --session-id 3f0c... --key-file agent.pem";

#[derive(Args, Debug)]
#[command(after_help = EXAMPLES, after_long_help = format!("{EXAMPLES}\n\n{}", crate::errors::EXIT_CODES_HELP))]
pub struct PollArgs {
    /// The JSON printed by `sealpost request --no-wait` (`-` for stdin)
    #[arg(long, value_name = "FILE", required_unless_present_all = ["session_id", "broker"])]
    pub session: Option<PathBuf>,

    /// Private key saved by `request --key-file`
    #[arg(long, value_name = "PATH")]
    pub key_file: PathBuf,

    /// Broker base URL (overrides the one in --session)
    #[arg(long, env = "SEALPOST_BROKER", value_name = "URL")]
    pub broker: Option<String>,

    /// Session id (overrides the one in --session)
    #[arg(long, value_name = "ID")]
    pub session_id: Option<String>,

    /// Poll token (better passed in the environment than on the command line)
    #[arg(long, env = "SEALPOST_POLL_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub poll_token: Option<String>,

    /// API key for brokers that require one (sent as X-API-Key)
    #[arg(long, env = "SEALPOST_API_KEY", hide_env_values = true, value_name = "KEY")]
    pub api_key: Option<String>,

    /// Deliver only this field, repeatable (default: the fields saved by `request --no-wait`)
    #[arg(long = "field", value_name = "NAME")]
    pub fields: Vec<String>,

    /// Require a JWE envelope (implied when the saved session asked for one)
    #[arg(long)]
    pub jwe: bool,

    /// Less output on stderr
    #[arg(long, short)]
    pub quiet: bool,

    #[command(flatten)]
    pub out: OutputArgs,

    #[command(flatten)]
    pub net: NetArgs,
}

#[derive(Deserialize, Default)]
pub struct Saved {
    broker: Option<String>,
    session_id: Option<String>,
    poll_token: Option<String>,
    code: Option<String>,
    url: Option<String>,
    fingerprint_short: Option<String>,
    fingerprint: Option<String>,
    expires_at: Option<String>,
    interval: Option<f64>,
    pub fields: Option<BTreeSet<String>>,
    /// `"jwe"` when the session asked for a JWE envelope.
    pub envelope: Option<String>,
}

impl Saved {
    pub fn wants_jwe(&self) -> bool {
        self.envelope.as_deref().and_then(EnvelopeKind::parse) == Some(EnvelopeKind::Jwe)
    }

    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }
}

/// The fields `poll` and `open` deliver: `--field` names (within the saved
/// session's fields, when there is one), else the saved fields, else the one
/// `--format raw FIELD` names. Nothing known: refused before any broker call.
pub fn allowlist(fields: &[String], saved: Option<&BTreeSet<String>>, format: &Format) -> Result<Allowlist, CliError> {
    if !fields.is_empty() {
        if let Some(saved) = saved
            && let Some(extra) = fields.iter().find(|f| !saved.contains(f.as_str()))
        {
            return Err(CliError::Usage(format!(
                "--field {}: the session did not ask for it ({})",
                sanitize(extra, 64),
                saved.iter().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        return Allowlist::new(fields, "--field");
    }
    if let Some(saved) = saved {
        return Allowlist::new(saved, "the saved session's fields");
    }
    if let Format::Raw(Some(f)) = format {
        return Allowlist::new([f], "--format raw");
    }
    Err(CliError::UsageCode(
        "ERR_FIELDS_UNKNOWN",
        "which fields should be delivered? name each with --field NAME (or pass the --session saved by \
         `request --no-wait`, or --format raw FIELD); an answer's other fields are never delivered"
            .into(),
    ))
}

pub fn read_saved(path: &PathBuf) -> Result<Saved, CliError> {
    let mut text = Zeroizing::new(String::new());
    let what = format!("cannot read session file {}", path.display());
    if path.as_os_str() == "-" {
        std::io::stdin().take(1 << 20).read_to_string(&mut text).map_err(|e| CliError::io(what, e))?;
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(1 << 20).read_to_string(&mut text))
            .map_err(|e| CliError::io(what, e))?;
    }
    serde_json::from_str(&text).map_err(|e| {
        CliError::Usage(format!(
            "--session {}: not the JSON of `request --no-wait` ({})",
            path.display(),
            sanitize(&e.to_string(), 200)
        ))
    })
}

pub fn run(args: PollArgs) -> Result<ExitCode, CliError> {
    let mut ui = Ui::new(args.quiet);
    let saved = match &args.session {
        Some(p) => read_saved(p)?,
        None => Saved::default(),
    };
    let require_jwe = args.jwe || saved.wants_jwe();
    let broker_url = args
        .broker
        .clone()
        .or(saved.broker)
        .ok_or_else(|| CliError::Usage("no broker: pass --broker or --session".into()))?;
    let session_id = args
        .session_id
        .clone()
        .or(saved.session_id)
        .ok_or_else(|| CliError::Usage("no session id: pass --session-id or --session".into()))?;
    check_session_id(&session_id).map_err(|_| CliError::Usage("--session-id is not a session id".into()))?;
    let poll_token = args
        .poll_token
        .clone()
        .or(saved.poll_token)
        .ok_or_else(|| CliError::Usage("no poll token: pass --session or set SEALPOST_POLL_TOKEN".into()))?;
    let delivery = args.out.delivery(allowlist(&args.fields, saved.fields.as_ref(), &args.out.format()?)?)?;
    let sk = keyfile::read(&args.key_file, &mut |w| eprintln!("sealpost: warning: {w}"))?;
    let fp = sk.public_key().fingerprint();
    if let Some(saved_fp) = saved.fingerprint.as_deref()
        && saved_fp != fp.long()
    {
        return Err(CliError::Usage(format!(
            "{} is not the key of this session (fingerprint differs)",
            args.key_file.display()
        )));
    }
    let broker = Broker::new(&broker_url, args.api_key.clone(), args.net.policy())?;
    let mut session = Session {
        session_id,
        poll_token: Zeroizing::new(poll_token),
        // the session file is only as trustworthy as the broker that filled it
        code: saved.code.map(|c| sanitize(&c, 40)),
        url: saved.url.map(|u| sanitize(&u, 500)),
        manual_url: None,
        expires_at: saved.expires_at.as_deref().and_then(parse_rfc3339),
        interval: saved.interval.map_or(5, session::clamp_interval),
    };
    if let (Some(url), Some(code)) = (session.url.clone(), session.code.clone()) {
        let short = saved.fingerprint_short.map(|f| sanitize(&f, 40)).unwrap_or_else(|| fp.short());
        ui.banner(&Banner {
            url: &url,
            manual_url: None,
            code: &code,
            fingerprint_short: &short,
            fingerprint_long: &fp.long(),
            expires_in: session.time_left(),
        });
    }
    let answer = session::wait_for_answer(&broker, &mut session, require_jwe, &mut ui)?;
    finish(sk, &answer, Some(&session.session_id), require_jwe, &delivery, &mut ui)
}
