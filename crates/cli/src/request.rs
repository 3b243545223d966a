//! `sealpost request`: create a session, show the link, wait, open, deliver.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use sealpost_core::keys::{AgentPrivateKey, KeyBits};
use sealpost_core::protocol::{CreateSessionRequest, EnvelopeKind, FieldSpec, FieldType, validate_fields};

use crate::allow::{Allowlist, is_identifier};
use crate::broker::{self, Broker};
use crate::common::{NetArgs, OutputArgs, finish};
use crate::errors::{CliError, sanitize};
use crate::session::{self, Session};
use crate::ui::{Banner, Ui};
use crate::{keyfile, signals};

pub const EXAMPLES: &str = "\
Examples:
  # Ask for an OpenAI key and run a command with it as $OPENAI_API_KEY:
  sealpost request --broker https://broker.example --template openai \\
      --display-name \"OpenAI key for the report bot\" --env-prefix OPENAI_ --exec -- python bot.py

  # Ask for two fields, print them as JSON on stdout:
  sealpost request --broker https://broker.example \\
      --field username:User:text --field password:Password:password > creds.json

  # One value, for a pipe (no trailing newline):
  sealpost request --broker https://broker.example --field token --format raw token | gh auth login --with-token

  # Shell variables (only the template's fields, names checked; eval runs nothing on failure):
  creds=\"$(sealpost request --broker https://broker.example --template basic_auth --format env)\" && eval \"$creds\"

  # A template only your broker knows: name the fields you expect (only those are delivered):
  sealpost request --broker https://broker.example --template github_token --field token --format raw token

  # Into the person's Sealpost inbox, with the sender credential its owner gave this agent:
  SEALPOST_INBOX=is_... sealpost request --broker https://broker.example --template api_key --agent-name ci --reason \"nightly export\"

  # Agents that may restart: keep the key, return at once, collect later:
  sealpost request --broker https://broker.example --template api_key --key-file agent.pem --no-wait > session.json
  sealpost poll --session session.json --key-file agent.pem --format raw api_key";

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["template", "fields"])))]
#[command(after_help = EXAMPLES, after_long_help = format!("{EXAMPLES}\n\n{}", crate::errors::EXIT_CODES_HELP))]
pub struct RequestArgs {
    /// Broker base URL (e.g. https://broker.example)
    #[arg(long, env = "SEALPOST_BROKER", value_name = "URL")]
    pub broker: String,

    /// Broker template: api_key, basic_auth, aws, openai, anthropic (or one your broker defines:
    /// then name the fields you expect with --field)
    #[arg(long, value_name = "NAME", help_heading = "What to ask for")]
    pub template: Option<String>,

    /// A field to ask for, repeatable: name[:label[:type[:required]]], name [A-Za-z_][A-Za-z0-9_]*,
    /// type text|password|textarea (default password), required true|false (default true).
    /// E.g. `--field token:GitHub token`. Only the fields asked for are ever delivered
    #[arg(long = "field", value_name = "SPEC", help_heading = "What to ask for")]
    pub fields: Vec<String>,

    /// Title shown on the consent page
    #[arg(long, value_name = "TEXT", help_heading = "What to ask for")]
    pub display_name: Option<String>,

    /// Why the agent needs it (shown in the person's inbox, Sealpost extension)
    #[arg(long, value_name = "TEXT", help_heading = "What to ask for")]
    pub reason: Option<String>,

    /// The agent's name (shown in the person's inbox, Sealpost extension)
    #[arg(long, value_name = "NAME", help_heading = "What to ask for")]
    pub agent_name: Option<String>,

    /// Also send the request to a person's inbox (Sealpost extension): the sender credential
    /// (is_...) the inbox owner created for this agent, not the inbox id (ib_...)
    #[arg(
        long,
        env = "SEALPOST_INBOX",
        hide_env_values = true,
        value_name = "SENDER_CREDENTIAL",
        help_heading = "What to ask for"
    )]
    pub inbox: Option<String>,

    /// Session lifetime in seconds (the broker caps it; default: the broker's, usually 600)
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400), help_heading = "What to ask for")]
    pub ttl: Option<u64>,

    /// Ask the browser for a JWE envelope (RFC 7516, bound to this session) instead of the LinkAuth one
    #[arg(long, help_heading = "Keys")]
    pub jwe: bool,

    /// RSA key size
    #[arg(long, default_value = "3072", value_parser = PossibleValuesParser::new(["2048", "3072", "4096"]).try_map(|s| s.parse::<u32>()), help_heading = "Keys")]
    pub key_bits: u32,

    /// Save the private key here (PKCS#8 PEM, mode 0600) for `sealpost poll` / `sealpost open`
    #[arg(long, value_name = "PATH", help_heading = "Keys")]
    pub key_file: Option<PathBuf>,

    /// Overwrite an existing --key-file
    #[arg(long, requires = "key_file", help_heading = "Keys")]
    pub force: bool,

    /// Print the session as JSON on stdout and exit without waiting (needs --key-file); collect with `sealpost poll`
    #[arg(long, requires = "key_file", conflicts_with = "exec")]
    pub no_wait: bool,

    /// API key for brokers that require one (sent as X-API-Key)
    #[arg(long, env = "SEALPOST_API_KEY", hide_env_values = true, value_name = "KEY")]
    pub api_key: Option<String>,

    /// Only print the link, code and fingerprint (no QR, spinner or progress)
    #[arg(long, short)]
    pub quiet: bool,

    #[command(flatten)]
    pub out: OutputArgs,

    #[command(flatten)]
    pub net: NetArgs,
}

/// Text the person will read (display name, reason, agent name, labels):
/// no control characters, bidi overrides/isolates or line separators, which
/// the broker refuses too (`ERR_TEXT_INVALID`).
fn check_text(what: &str, text: &str) -> Result<(), CliError> {
    if text.chars().any(crate::errors::is_unsafe_char) {
        return Err(CliError::UsageCode(
            "ERR_TEXT_INVALID",
            format!("{what} \"{}\": no control characters, bidi overrides or line separators", sanitize(text, 80)),
        ));
    }
    Ok(())
}

/// `--inbox` takes a sender credential (`is_` + base64url). Never echoed: it is a secret.
fn check_inbox(value: &str) -> Result<(), CliError> {
    let v = value.trim();
    if v.starts_with("ib_") {
        return Err(CliError::UsageCode(
            "ERR_SENDER_REQUIRED",
            "--inbox takes a sender credential (is_...), not an inbox id (ib_...): ask the inbox owner to add \
             this agent as a sender in their Sealpost extension and give you its credential"
                .into(),
        ));
    }
    let body = v.strip_prefix("is_").unwrap_or("");
    if body.is_empty() || body.len() > 256 || !body.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    {
        return Err(CliError::UsageCode(
            "ERR_SENDER_INVALID",
            "--inbox is not a sender credential (is_ followed by base64url characters); ask the inbox owner for one"
                .into(),
        ));
    }
    Ok(())
}

/// `name[:label[:type[:required]]]`.
pub fn parse_field(spec: &str) -> Result<FieldSpec, CliError> {
    let bad = |why: &str| CliError::Usage(format!("--field \"{}\": {why}", sanitize(spec, 80)));
    let mut parts = spec.splitn(4, ':');
    let name = parts.next().unwrap_or("").trim();
    if !is_identifier(name) {
        return Err(bad(
            "the name must be a plain identifier: 1-64 characters of A-Z a-z 0-9 _, not starting with a digit",
        ));
    }
    let label = parts.next().map(str::trim).filter(|l| !l.is_empty()).unwrap_or(name);
    if label.chars().any(crate::errors::is_unsafe_char) {
        return Err(bad("the label must not contain control characters, bidi overrides or line separators"));
    }
    let kind = parts.next().map(str::trim).filter(|k| !k.is_empty()).unwrap_or("password").to_ascii_lowercase();
    let kind = match kind.as_str() {
        "text" => FieldType::Text,
        "password" => FieldType::Password,
        "textarea" => FieldType::Textarea,
        _ => return Err(bad("the type must be text, password or textarea")),
    };
    let required = match parts.next().map(|r| r.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "true" | "required" | "yes" | "1") => true,
        Some("false" | "optional" | "no" | "0") => false,
        Some(_) => return Err(bad("required must be true or false")),
    };
    Ok(FieldSpec { name: name.to_string(), label: label.to_string(), kind, required, options: None })
}

pub fn run(args: RequestArgs) -> Result<ExitCode, CliError> {
    let mut ui = Ui::new(args.quiet);
    // ---- validate everything before the key is generated or the broker called
    let fields: Vec<FieldSpec> = args.fields.iter().map(|f| parse_field(f)).collect::<Result<_, _>>()?;
    let mut seen = BTreeSet::new();
    for f in &fields {
        if !seen.insert(f.name.clone()) {
            return Err(CliError::Usage(format!("--field {} is given twice", f.name)));
        }
    }
    // the broker's own check of a form (count, names, labels), before anything is generated or sent
    if !fields.is_empty() {
        validate_fields(&fields).map_err(|e| CliError::UsageCode(e.code(), format!("--field: {e}")))?;
    }
    // the allowlist: what this agent asks for, never what an answer happens to carry
    let allowed = match (&args.template, fields.is_empty()) {
        (Some(t), no_fields) => match sealpost_core::protocol::template(t) {
            Some((_, spec)) if no_fields => Allowlist::new(spec.iter().map(|f| f.name.as_str()), "--template")?,
            Some((_, spec)) => {
                let names: Vec<&str> = spec.iter().map(|f| f.name.as_str()).collect();
                return Err(CliError::Usage(format!(
                    "--template {} is built in and states its fields ({}): drop --field, or ask with --field alone",
                    sanitize(t, 40),
                    names.join(", ")
                )));
            }
            None if no_fields => {
                return Err(CliError::UsageCode(
                    "ERR_FIELDS_UNKNOWN",
                    format!(
                        "sealpost does not know --template {}: name each field you expect with --field NAME \
                         (only those are delivered)",
                        sanitize(t, 40)
                    ),
                ));
            }
            None => Allowlist::new(seen.iter(), "--field")?,
        },
        (None, _) => Allowlist::new(seen.iter(), "--field")?,
    };
    let delivery = args.out.delivery(allowed)?;
    for (what, text) in
        [("--display-name", &args.display_name), ("--reason", &args.reason), ("--agent-name", &args.agent_name)]
    {
        if let Some(t) = text {
            check_text(what, t)?;
        }
    }
    if let Some(inbox) = &args.inbox {
        check_inbox(inbox)?;
    }
    let bits = KeyBits::try_from(args.key_bits)?;
    let broker = Broker::new(&args.broker, args.api_key.clone(), args.net.policy())?;
    if broker::is_insecure(broker.base()) {
        ui.warn("the broker URL is plain http:// to a remote host: anyone on the path can swap the key; check the fingerprint");
    }
    let key_out = match &args.key_file {
        Some(path) => Some((keyfile::create(path, args.force)?, path.clone())),
        None => None,
    };

    // ---- key, session
    let started = Instant::now();
    ui.generating(args.key_bits as usize);
    let generated = AgentPrivateKey::generate(bits);
    let sk = match generated {
        Ok(sk) => sk,
        Err(e) => {
            if let Some((file, path)) = key_out {
                drop(file);
                let _ = std::fs::remove_file(path);
            }
            return Err(e.into());
        }
    };
    let pk = sk.public_key();
    let fp = pk.fingerprint();
    if let Some((file, path)) = key_out {
        keyfile::write(file, &path, &sk)?;
    }
    if signals::interrupted() {
        return Err(CliError::Interrupted);
    }
    let body = CreateSessionRequest {
        public_key: pk.to_wire(),
        template: args.template.clone(),
        fields: (!fields.is_empty()).then_some(fields),
        display_name: args.display_name.clone(),
        ttl: args.ttl,
        envelope: args.jwe.then_some(EnvelopeKind::Jwe),
        inbox: args.inbox.as_deref().map(|i| i.trim().to_owned()),
        agent_name: args.agent_name.clone(),
        reason: args.reason.clone(),
        ..CreateSessionRequest::default()
    };
    let raw = broker.create_session(&body, &mut |why, delay| {
        ui.warn(&format!("broker unreachable ({why}); retrying in {:.1}s", delay.as_secs_f64()));
    })?;
    let mut session = Session::from_created(raw, broker.base(), args.ttl)?;
    let code = session.code.clone().unwrap_or_else(|| "(none given by the broker)".into());
    let url = session.url.clone().unwrap_or_default();
    ui.banner(&Banner {
        url: &url,
        manual_url: session.manual_url.as_deref(),
        code: &code,
        fingerprint_short: &fp.short(),
        fingerprint_long: &fp.long(),
        expires_in: session.time_left(),
    });
    if std::env::var_os("SEALPOST_TIMING").is_some() {
        ui.note(&format!("timing: url printed after {} ms", started.elapsed().as_millis()));
    }

    if args.no_wait {
        let summary = serde_json::json!({
            "broker": broker.base(),
            "session_id": session.session_id,
            "poll_token": session.poll_token.as_str(),
            "code": session.code,
            "url": session.url,
            "fingerprint": fp.long(),
            "fingerprint_short": fp.short(),
            "expires_at": session.expires_at.and_then(sealpost_core::time::format_rfc3339),
            "interval": session.interval,
            "envelope": if args.jwe { EnvelopeKind::Jwe } else { EnvelopeKind::Linkauth }.as_str(),
            "fields": delivery.allowed.names(),
            "key_file": args.key_file.as_ref().map(|p| p.display().to_string()),
        });
        println!("{summary}");
        return Ok(ExitCode::SUCCESS);
    }

    let answer = session::wait_for_answer(&broker, &mut session, args.jwe, &mut ui)?;
    finish(sk, &answer, Some(&session.session_id), args.jwe, &delivery, &mut ui)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_specs() {
        let f = parse_field("api_key").unwrap();
        assert_eq!(
            (f.name.as_str(), f.label.as_str(), f.kind.as_str(), f.required),
            ("api_key", "api_key", "password", true)
        );
        let f = parse_field("user:User name:text:false").unwrap();
        assert_eq!(
            (f.name.as_str(), f.label.as_str(), f.kind.as_str(), f.required),
            ("user", "User name", "text", false)
        );
        let f = parse_field("notes::textarea:optional").unwrap();
        assert_eq!((f.label.as_str(), f.kind.as_str(), f.required), ("notes", "textarea", false));
        assert!(parse_field("").is_err());
        assert!(parse_field("a b").is_err());
        assert!(parse_field("x:X:select").is_err());
        assert!(parse_field("x:X:text:maybe").is_err());
    }

    #[test]
    fn names_labels_and_inbox() {
        assert!(parse_field("a-b").is_err());
        assert!(parse_field("a.b").is_err());
        assert!(parse_field("1a").is_err());
        assert!(parse_field("x:La\u{202e}bel").is_err());
        assert!(check_text("--reason", "fine, thanks").is_ok());
        assert!(check_text("--reason", "bank\u{202e}").is_err());
        assert!(check_text("--reason", "a\u{2028}b").is_err());
        assert_eq!(check_inbox("ib_ABCDEFGHIJKLMNOP").unwrap_err().code(), "ERR_SENDER_REQUIRED");
        assert_eq!(check_inbox("it_secret").unwrap_err().code(), "ERR_SENDER_INVALID");
        assert!(!check_inbox("is_bad value").unwrap_err().to_string().contains("bad value"));
        assert!(check_inbox("is_q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80").is_ok());
    }
}
