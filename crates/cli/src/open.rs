//! `sealpost open`: open a saved envelope with a saved key.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use sealpost_core::envelope::{ALG_JWE, ALG_LINKAUTH, EnvelopeKind};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::common::{OutputArgs, downgrade, finish};
use crate::errors::{CliError, sanitize};
use crate::keyfile;
use crate::session::Answer;
use crate::ui::Ui;

pub const EXAMPLES: &str = "\
Examples:
  # A LinkAuth envelope (the `ciphertext` of a poll answer) on stdin; deliver field api_key only:
  sealpost open --key-file agent.pem --field api_key < ciphertext.txt

  # A whole poll answer {\"ciphertext\":..., \"algorithm\":...} works too:
  curl -s -H \"Authorization: Bearer $POLL_TOKEN\" https://broker.example/v1/sessions/$SID \\
      | sealpost open --key-file agent.pem --session session.json --format env

  # A JWE envelope must name the session it was sealed for:
  sealpost open --key-file agent.pem --jwe --session-id 3f0c... --format raw token < answer.jwe";

#[derive(Args, Debug)]
#[command(after_help = EXAMPLES, after_long_help = format!("{EXAMPLES}\n\n{}", crate::errors::EXIT_CODES_HELP))]
pub struct OpenArgs {
    /// Private key (PEM, PKCS#8 or PKCS#1), e.g. saved by `request --key-file`
    #[arg(long, value_name = "PATH")]
    pub key_file: PathBuf,

    /// Envelope algorithm: RSA-OAEP-256+AES-256-GCM or JWE (default: detected)
    #[arg(long, value_name = "ALG")]
    pub algorithm: Option<String>,

    /// Session id the envelope belongs to (required to open a JWE: its `sid` must match)
    #[arg(long, value_name = "ID")]
    pub session_id: Option<String>,

    /// Read the envelope from this file instead of stdin
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,

    /// The JSON printed by `request --no-wait`: its fields, session id and envelope kind apply
    #[arg(long, value_name = "FILE")]
    pub session: Option<PathBuf>,

    /// Deliver only this field, repeatable (needed unless --session or --format raw FIELD names them)
    #[arg(long = "field", value_name = "NAME")]
    pub fields: Vec<String>,

    /// Require a JWE envelope: anything else is refused as a downgrade (ERR_ENVELOPE_DOWNGRADE)
    #[arg(long)]
    pub jwe: bool,

    /// Less output on stderr
    #[arg(long, short)]
    pub quiet: bool,

    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Deserialize)]
struct PollShape {
    ciphertext: Option<String>,
    algorithm: Option<String>,
    session_id: Option<String>,
}

pub fn run(args: OpenArgs) -> Result<ExitCode, CliError> {
    let mut ui = Ui::new(args.quiet);
    let saved = match &args.session {
        Some(p) if p.as_os_str() == "-" => {
            return Err(CliError::Usage("open reads the envelope from stdin: give --session as a file".into()));
        }
        Some(p) => crate::poll::read_saved(p)?,
        None => crate::poll::Saved::default(),
    };
    let explicit_jwe = args.algorithm.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(ALG_JWE));
    let require_jwe = args.jwe || explicit_jwe || saved.wants_jwe();
    let allowed = crate::poll::allowlist(&args.fields, saved.fields.as_ref(), &args.out.format()?)?;
    let delivery = args.out.delivery(allowed)?;
    let sk = keyfile::read(&args.key_file, &mut |w| ui_warn(w))?;
    let mut text = Zeroizing::new(String::new());
    let limit = 4 * 1024 * 1024;
    match &args.input {
        Some(p) => std::fs::File::open(p)
            .and_then(|f| f.take(limit).read_to_string(&mut text))
            .map_err(|e| CliError::io(format!("cannot read {}", p.display()), e))?,
        None => {
            std::io::stdin().take(limit).read_to_string(&mut text).map_err(|e| CliError::io("cannot read stdin", e))?
        }
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(CliError::Usage("no envelope on stdin".into()));
    }
    let (ciphertext, mut algorithm, mut session_id) = if trimmed.starts_with('{') {
        let shape: PollShape = serde_json::from_str(trimmed).map_err(|e| {
            CliError::InvalidAnswer(format!("input is JSON but not a poll answer ({})", sanitize(&e.to_string(), 200)))
        })?;
        let ct = shape.ciphertext.ok_or_else(|| CliError::InvalidAnswer("the JSON has no ciphertext".into()))?;
        (Zeroizing::new(ct), shape.algorithm, shape.session_id)
    } else {
        (Zeroizing::new(trimmed.to_string()), None, None)
    };
    // what the input states is what gets checked: --algorithm only fills a gap
    if let (Some(stated), Some(asked)) = (&algorithm, &args.algorithm)
        && !stated.eq_ignore_ascii_case(asked)
    {
        if require_jwe && stated != ALG_JWE {
            return Err(downgrade(stated));
        }
        return Err(CliError::Usage(format!(
            "the input says algorithm \"{}\", --algorithm says \"{}\"",
            sanitize(stated, 40),
            sanitize(asked, 40)
        )));
    }
    if algorithm.is_none() {
        algorithm = args.algorithm.clone();
    }
    if let Some(s) = args.session_id.clone().or_else(|| saved.session_id().map(str::to_string)) {
        session_id = Some(s);
    }
    let kind = match algorithm.as_deref() {
        // `jwe` in any case; the LinkAuth name exactly
        Some(a) if a.eq_ignore_ascii_case(ALG_JWE) => EnvelopeKind::Jwe,
        Some(a) => EnvelopeKind::from_algorithm(a).ok_or_else(|| {
            CliError::Usage(format!("unknown --algorithm \"{}\": use {ALG_LINKAUTH} or {ALG_JWE}", sanitize(a, 40)))
        })?,
        // JWE compact serialization: five base64url parts
        None if ciphertext.split('.').count() == 5 => EnvelopeKind::Jwe,
        None => EnvelopeKind::Linkauth,
    };
    if kind == EnvelopeKind::Jwe && session_id.is_none() {
        return Err(CliError::Usage("a JWE envelope needs --session-id (its sid is checked)".into()));
    }
    let answer = Answer { ciphertext, algorithm: kind };
    finish(sk, &answer, session_id.as_deref(), require_jwe, &delivery, &mut ui)
}

fn ui_warn(w: &str) {
    eprintln!("sealpost: warning: {w}");
}
