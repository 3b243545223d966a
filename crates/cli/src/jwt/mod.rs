//! `sealpost jwt decode|verify|sign`: the developer JWT tools over
//! `sealpost_core::jwt` (one engine for the CLI, the extension and the page).
//! This module holds the arguments and the commands; `fetch` gets JWKS and
//! OpenID configurations over the network (and its URL rules), `render` prints
//! a report for people. What the flags mean (policy, signing key) is core's
//! `Policy` (its defaults) and `SignKey::choose`, the same as the full WASM bundle's.

mod fetch;
mod render;

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use sealpost_core::jwt::{self, Broken, InspectOptions, KeySet, Policy, Severity, SignKey, SignRequest};

/// Exit status when a finding at or above `--fail-on` exists.
pub const EXIT_FINDINGS: u8 = 10;

const JWT_HELP: &str = "\
Exit codes:
  0    no finding at or above --fail-on (verify: and the signature verified)
  1    local error (reading a file, unusable key, network)
  2    usage error
  10   a finding at or above --fail-on exists; for verify also, whatever
       --fail-on says, when the signature was not verified over a well-formed
       token (unknown alg, non-canonical base64url, no fitting key...)";

/// `sealpost jwt ...`
#[derive(Args, Debug)]
#[command(after_help = JWT_HELP)]
pub struct JwtArgs {
    #[command(subcommand)]
    pub command: JwtCommand,
}

/// The JWT subcommands.
#[derive(Subcommand, Debug)]
pub enum JwtCommand {
    /// Decode and inspect a token without checking its signature
    #[command(after_help = JWT_HELP)]
    Decode(Common),
    /// Check a token's signature and claims with a key, a JWKS or an issuer
    #[command(after_help = JWT_HELP)]
    Verify(VerifyArgs),
    /// Sign a test token (or a deliberately broken one)
    #[command(after_help = "Relative times: exp/nbf/iat/auth_time accept \"+1h\", \"-5m\", \"now\".")]
    Sign(SignArgs),
}

/// Options shared by decode and verify.
#[derive(Args, Debug)]
pub struct Common {
    /// The token; read from stdin when absent or "-"
    token: Option<String>,
    /// Print the full report as JSON
    #[arg(long)]
    json: bool,
    /// Current time in seconds since the epoch (default: the system clock)
    #[arg(long, value_name = "SECS")]
    now: Option<i64>,
    /// Exit with status 10 when a finding of this severity or worse exists
    #[arg(long, value_name = "SEVERITY", value_parser = ["info", "low", "medium", "high", "critical", "none"])]
    fail_on: Option<String>,
    /// Expected issuer (repeatable)
    #[arg(long = "iss", value_name = "ISSUER")]
    issuer: Vec<String>,
    /// Expected audience (repeatable; any one must match)
    #[arg(long = "aud", value_name = "AUDIENCE")]
    audience: Vec<String>,
    /// Expected typ header (e.g. at+jwt)
    #[arg(long)]
    typ: Option<String>,
    /// Claim that must be present (repeatable)
    #[arg(long = "require", value_name = "CLAIM")]
    require: Vec<String>,
    /// Maximum age in seconds of auth_time / iat
    #[arg(long, value_name = "SECS")]
    max_age: Option<i64>,
    /// Clock leeway in seconds
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    leeway: i64,
    /// For a DPoP proof: file holding the access token sent with it (checks ath and cnf.jkt)
    #[arg(long, value_name = "FILE")]
    access_token_file: Option<PathBuf>,
}

/// `jwt verify` options.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    common: Common,
    /// Key file: PEM public key, certificate or private key, or a JWK (repeatable)
    #[arg(long, value_name = "FILE")]
    key: Vec<PathBuf>,
    /// JWKS file
    #[arg(long, value_name = "FILE")]
    jwks: Option<PathBuf>,
    /// JWKS URL (https; an OpenID configuration document is followed to its jwks_uri)
    #[arg(long, value_name = "URL")]
    jwks_url: Option<String>,
    /// Issuer whose /.well-known/openid-configuration names the JWKS (its `issuer` must match exactly); also the expected `iss` unless --iss is given
    #[arg(long, value_name = "URL")]
    oidc_issuer: Option<String>,
    /// File holding an HMAC secret (UTF-8, trailing newline ignored)
    #[arg(long, value_name = "FILE")]
    secret_file: Option<PathBuf>,
    /// The secret file holds base64/base64url, not text
    #[arg(long, requires = "secret_file")]
    secret_base64: bool,
}

/// `jwt sign` options.
#[derive(Args, Debug)]
pub struct SignArgs {
    /// Claims as a JSON object (or @FILE)
    #[arg(long, value_name = "JSON", default_value = "{}")]
    claims: String,
    /// Extra header members as a JSON object (or @FILE)
    #[arg(long, value_name = "JSON", default_value = "{}")]
    header: String,
    /// Algorithm (default: from the key)
    #[arg(long)]
    alg: Option<String>,
    /// Private key file (PEM PKCS#8/PKCS#1/SEC1 or private JWK)
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// File holding an HMAC secret
    #[arg(long, value_name = "FILE")]
    secret_file: Option<PathBuf>,
    /// Current time in seconds since the epoch (default: the system clock)
    #[arg(long, value_name = "SECS")]
    now: Option<i64>,
    /// Make a deliberately broken token
    #[arg(long, value_parser = ["alg-none", "strip-signature"])]
    broken: Option<String>,
}

/// Run a JWT subcommand.
pub fn run(args: JwtArgs) -> ExitCode {
    let result = match args.command {
        JwtCommand::Decode(c) => inspect_cmd(c, KeySet::default(), "none", false),
        JwtCommand::Verify(v) => verify_cmd(v),
        JwtCommand::Sign(s) => sign_cmd(s),
    };
    match result {
        Ok(code) => code,
        Err((code, msg)) => {
            eprintln!("sealpost: error: {msg} [{code}]");
            ExitCode::from(1)
        }
    }
}

type CmdResult = Result<ExitCode, (&'static str, String)>;

fn io_err(path: &std::path::Path, e: &std::io::Error) -> (&'static str, String) {
    ("ERR_IO", format!("cannot read {}: {}", path.display(), e.kind().to_string().replace('_', " ")))
}

fn read_file(path: &std::path::Path) -> Result<String, (&'static str, String)> {
    std::fs::read_to_string(path).map_err(|e| io_err(path, &e))
}

fn jwt_err(e: &jwt::JwtError) -> (&'static str, String) {
    (e.code(), e.to_string())
}

fn now_or_clock(now: Option<i64>) -> i64 {
    now.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
    })
}

/// The token as given. From stdin only the line ending is dropped: any other
/// whitespace is part of the input, and a token with it is not well-formed.
fn read_token(t: Option<String>) -> Result<String, (&'static str, String)> {
    match t.as_deref() {
        Some(t) if t != "-" => Ok(t.to_owned()),
        _ => {
            let mut s = String::new();
            std::io::stdin()
                .take((jwt::MAX_TOKEN as u64) * 2)
                .read_to_string(&mut s)
                .map_err(|e| ("ERR_IO", format!("cannot read stdin: {}", e.kind())))?;
            Ok(s.trim_end_matches(['\n', '\r']).to_owned())
        }
    }
}

/// `require_verified` (verify): exit 10 unless core's verdict is a verified
/// signature, whatever `--fail-on` says.
fn inspect_cmd(c: Common, keys: KeySet, default_fail: &str, require_verified: bool) -> CmdResult {
    let token = read_token(c.token)?;
    let policy = Policy {
        issuer: c.issuer,
        audience: c.audience,
        typ: c.typ,
        required_claims: c.require,
        max_age: c.max_age,
        leeway: c.leeway,
        ..Policy::default()
    };
    let access_token = c.access_token_file.as_deref().map(read_file).transpose()?;
    let opts = InspectOptions { now: now_or_clock(c.now), policy, keys, access_token };
    let report = jwt::inspect(&token, &opts);
    let mut out = std::io::stdout().lock();
    if c.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| ("ERR_IO", e.to_string()))?;
        let _ = writeln!(out, "{text}");
    } else {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let _ = write!(out, "{}", render::render(&report, opts.now, color, 0));
    }
    let fail_on = c.fail_on.as_deref().unwrap_or(default_fail);
    if require_verified && !report.summary.signature_verified {
        return Ok(ExitCode::from(EXIT_FINDINGS));
    }
    Ok(match Severity::parse(fail_on) {
        Some(sev) if report.fails_at(sev) => ExitCode::from(EXIT_FINDINGS),
        _ => ExitCode::SUCCESS,
    })
}

fn verify_cmd(mut v: VerifyArgs) -> CmdResult {
    let mut keys = KeySet::default();
    for path in &v.key {
        keys.extend(KeySet::parse(&read_file(path)?).map_err(|e| jwt_err(&e))?);
    }
    if let Some(p) = &v.jwks {
        keys.extend(KeySet::parse(&read_file(p)?).map_err(|e| jwt_err(&e))?);
    }
    if let Some(url) = &v.jwks_url {
        keys.extend(fetch::fetch_jwks(url)?);
    }
    if let Some(iss) = &v.oidc_issuer {
        keys.extend(fetch::discover_jwks(iss)?);
    }
    if let Some(p) = &v.secret_file {
        let s = read_file(p)?;
        let s = s.strip_suffix('\n').unwrap_or(&s);
        let s = s.strip_suffix('\r').unwrap_or(s);
        keys.extend(if v.secret_base64 {
            KeySet::secret_base64(s).map_err(|e| jwt_err(&e))?
        } else {
            KeySet::secret_utf8(s)
        });
    }
    if keys.keys.is_empty() {
        let msg = if keys.skipped.is_empty() {
            "verify needs --key, --jwks, --jwks-url, --oidc-issuer or --secret-file".to_owned()
        } else {
            // A JWKS was given but none of its keys is usable: say why instead of
            // asking for a key that was in fact supplied.
            let why: Vec<&str> = keys.skipped.iter().take(3).map(String::as_str).collect();
            format!("none of the {} supplied key(s) is usable: {}", keys.skipped.len(), why.join("; "))
        };
        return Err(("ERR_JWT_NO_KEY", msg));
    }
    // Keys discovered from an issuer only vouch for that issuer's tokens: expect
    // its `iss` unless --iss names the expected issuer(s) explicitly.
    if v.common.issuer.is_empty()
        && let Some(iss) = v.oidc_issuer.take()
    {
        v.common.issuer.push(iss);
    }
    inspect_cmd(v.common, keys, "high", true)
}

fn json_arg(s: &str, what: &'static str) -> Result<serde_json::Map<String, serde_json::Value>, (&'static str, String)> {
    let text = match s.strip_prefix('@') {
        Some(path) => read_file(std::path::Path::new(path))?,
        None => s.to_owned(),
    };
    jwt::parse_object(&text, what).map_err(|e| jwt_err(&e))
}

fn sign_cmd(s: SignArgs) -> CmdResult {
    let claims = json_arg(&s.claims, "claims")?;
    let header = json_arg(&s.header, "header")?;
    let alg = s.alg.as_deref().map(jwt::alg_named).transpose().map_err(|e| jwt_err(&e))?;
    // The secret file is read only when no key file is given (the key wins).
    let key_text = s.key.as_deref().map(read_file).transpose()?;
    let secret = match (&key_text, &s.secret_file) {
        (None, Some(p)) => Some(read_file(p)?),
        _ => None,
    };
    let secret = secret.as_deref().map(|t| t.strip_suffix('\n').unwrap_or(t).as_bytes());
    let key = SignKey::choose(key_text.as_deref(), secret, None).map_err(|e| jwt_err(&e))?;
    let broken = s.broken.as_deref().and_then(Broken::parse);
    let token = jwt::sign(SignRequest { header, claims, alg, key: key.as_ref(), now: now_or_clock(s.now), broken })
        .map_err(|e| jwt_err(&e))?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}
