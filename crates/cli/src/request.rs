//! `sealpost request`: create a session, show the link, wait, open, deliver.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use sealpost_core::keys::{AgentPrivateKey, KeyBits};

use crate::broker::{self, Broker};
use crate::common::{NetArgs, OutputArgs, finish};
use crate::errors::{CliError, sanitize};
use crate::output::Format;
use crate::session::{self, Session};
use crate::ui::{Banner, Ui};
use crate::wire::{CreateSession, FieldSpec};
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

  # Shell variables:
  eval \"$(sealpost request --broker https://broker.example --template basic_auth --format env)\"

  # Agents that may restart: keep the key, return at once, collect later:
  sealpost request --broker https://broker.example --template api_key --key-file agent.pem --no-wait > session.json
  sealpost poll --session session.json --key-file agent.pem --format raw api_key";

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["template", "fields"])))]
#[command(after_help = EXAMPLES, after_long_help = format!("{EXAMPLES}\n\n{}", crate::errors::EXIT_CODES_HELP))]
pub struct RequestArgs {
    /// Broker base URL (e.g. https://broker.example)
    #[arg(long, env = "SEALPOST_BROKER", value_name = "URL")]
    pub broker: String,

    /// Broker template: api_key, basic_auth, aws, openai, anthropic (or one your broker defines)
    #[arg(long, value_name = "NAME", conflicts_with = "fields", help_heading = "What to ask for")]
    pub template: Option<String>,

    /// A field to ask for, repeatable: name[:label[:type[:required]]], type text|password|textarea
    /// (default password), required true|false (default true). E.g. `--field token:GitHub token`
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

    /// Send the request to this inbox (Sealpost extension) as well as printing the link
    #[arg(long, value_name = "ID", help_heading = "What to ask for")]
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

/// Field names of the reference broker's built-in templates (docs/protocol.md).
pub fn template_fields(template: &str) -> Option<&'static [&'static str]> {
    Some(match template {
        "api_key" | "openai" | "anthropic" => &["api_key"],
        "basic_auth" => &["username", "password"],
        "aws" => &["access_key_id", "secret_access_key", "region"],
        _ => return None,
    })
}

/// `name[:label[:type[:required]]]`.
pub fn parse_field(spec: &str) -> Result<FieldSpec, CliError> {
    let bad = |why: &str| CliError::Usage(format!("--field {:?}: {why}", sanitize(spec, 80)));
    let mut parts = spec.splitn(4, ':');
    let name = parts.next().unwrap_or("").trim();
    if name.is_empty() || name.len() > 64 || !name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.') {
        return Err(bad("the name must be 1-64 characters of A-Z a-z 0-9 _ - ."));
    }
    let label = parts.next().map(str::trim).filter(|l| !l.is_empty()).unwrap_or(name);
    let kind = parts.next().map(str::trim).filter(|k| !k.is_empty()).unwrap_or("password").to_ascii_lowercase();
    if !matches!(kind.as_str(), "text" | "password" | "textarea") {
        return Err(bad("the type must be text, password or textarea"));
    }
    let required = match parts.next().map(|r| r.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "true" | "required" | "yes" | "1") => true,
        Some("false" | "optional" | "no" | "0") => false,
        Some(_) => return Err(bad("required must be true or false")),
    };
    Ok(FieldSpec { name: name.to_string(), label: label.to_string(), kind, required })
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
    let expected: Option<BTreeSet<String>> = match &args.template {
        Some(t) => template_fields(t).map(|names| names.iter().map(|n| n.to_string()).collect()),
        None => Some(seen),
    };
    let delivery = args.out.delivery(expected.clone())?;
    if let (Format::Raw(field), Some(names)) = (&delivery.format, &expected) {
        match field {
            Some(f) if !names.contains(f) => {
                return Err(CliError::Usage(format!("--format raw {f}: not a requested field ({})", join(names))));
            }
            None if names.len() > 1 => {
                return Err(CliError::Usage(format!("--format raw needs a FIELD: one of {}", join(names))));
            }
            _ => {}
        }
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
    let body = CreateSession {
        public_key: pk.to_wire(),
        template: args.template.as_deref(),
        fields: (!fields.is_empty()).then_some(fields.as_slice()),
        display_name: args.display_name.as_deref(),
        ttl: args.ttl,
        envelope: args.jwe.then_some("jwe"),
        inbox: args.inbox.as_deref(),
        agent_name: args.agent_name.as_deref(),
        reason: args.reason.as_deref(),
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
            "envelope": if args.jwe { "jwe" } else { "linkauth" },
            "fields": expected,
            "key_file": args.key_file.as_ref().map(|p| p.display().to_string()),
        });
        println!("{summary}");
        return Ok(ExitCode::SUCCESS);
    }

    let answer = session::wait_for_answer(&broker, &mut session, &mut ui)?;
    if args.jwe && answer.algorithm != sealpost_core::envelope::ALG_JWE {
        ui.note(&format!("asked for JWE, the browser sent {}", sanitize(&answer.algorithm, 40)));
    }
    finish(sk, &answer, &session.session_id, &delivery, &mut ui)
}

fn join(names: &BTreeSet<String>) -> String {
    names.iter().cloned().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_specs() {
        let f = parse_field("api_key").unwrap();
        assert_eq!((f.name.as_str(), f.label.as_str(), f.kind.as_str(), f.required), ("api_key", "api_key", "password", true));
        let f = parse_field("user:User name:text:false").unwrap();
        assert_eq!((f.name.as_str(), f.label.as_str(), f.kind.as_str(), f.required), ("user", "User name", "text", false));
        let f = parse_field("notes::textarea:optional").unwrap();
        assert_eq!((f.label.as_str(), f.kind.as_str(), f.required), ("notes", "textarea", false));
        assert!(parse_field("").is_err());
        assert!(parse_field("a b").is_err());
        assert!(parse_field("x:X:select").is_err());
        assert!(parse_field("x:X:text:maybe").is_err());
    }

    #[test]
    fn templates() {
        assert_eq!(template_fields("aws").unwrap().len(), 3);
        assert!(template_fields("custom").is_none());
    }
}
