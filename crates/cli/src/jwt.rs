//! `sealpost jwt decode|verify|sign`: the developer JWT tools over
//! `sealpost_core::jwt` (one engine for the CLI, the extension and the page).

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use sealpost_core::jwt::{
    self, Alg, Broken, InspectOptions, KeySet, Policy, Report, Severity, SignKey, SignRequest, VerifyStatus,
};

/// Exit status when a finding at or above `--fail-on` exists.
pub const EXIT_FINDINGS: u8 = 10;
const MAX_FETCH: u64 = 1 << 20;

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
        let _ = write!(out, "{}", render(&report, opts.now, color, 0));
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
        keys.extend(fetch_jwks(url)?);
    }
    if let Some(iss) = &v.oidc_issuer {
        keys.extend(discover_jwks(iss)?);
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

/// Why a JWKS or OpenID configuration could not be fetched. Each variant has its
/// own stable code; URLs in messages are sanitised (a `jwks_uri` is remote text).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// Not https://, and not http:// to a loopback host.
    #[error("{url}: key URLs must be https:// (http:// only to localhost, 127.0.0.0/8 or [::1])")]
    Insecure { url: String },
    /// Network or HTTP protocol failure.
    #[error("cannot fetch {url}: {detail}")]
    Transport { url: String, detail: String },
    /// An answer other than 200 (after at most `MAX_REDIRECTS` redirects).
    #[error("cannot fetch {url}: HTTP {status}")]
    Status { url: String, status: u16 },
    /// The body is larger than `MAX_FETCH`.
    #[error("cannot fetch {url}: the body is larger than {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    /// The body is not JSON.
    #[error("{url} did not answer JSON")]
    NotJson { url: String },
    /// An OpenID configuration without a usable `jwks_uri`.
    #[error("{url}: the OpenID configuration has no jwks_uri")]
    NoJwksUri { url: String },
    /// The configuration names another issuer (OpenID Connect Discovery 1.0, section 4.3).
    #[error(
        "{url} names issuer {found}, not {expected}; refusing its keys (OpenID Connect Discovery 1.0, section 4.3)"
    )]
    IssuerMismatch { url: String, expected: String, found: String },
}

impl FetchError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            FetchError::Insecure { .. } => "ERR_JWT_URL",
            FetchError::Transport { .. } => "ERR_JWT_FETCH",
            FetchError::Status { .. } => "ERR_JWT_FETCH_STATUS",
            FetchError::TooLarge { .. } => "ERR_JWT_FETCH_TOO_LARGE",
            FetchError::NotJson { .. } => "ERR_JWT_FETCH_NOT_JSON",
            FetchError::NoJwksUri { .. } => "ERR_JWT_DISCOVERY",
            FetchError::IssuerMismatch { .. } => "ERR_JWT_ISSUER_MISMATCH",
        }
    }
}

impl From<FetchError> for (&'static str, String) {
    fn from(e: FetchError) -> Self {
        (e.code(), e.to_string())
    }
}

/// Redirects followed per fetch (each hop is checked like the first URL).
const MAX_REDIRECTS: usize = 3;

fn shown(url: &str) -> String {
    crate::errors::sanitize(url, 200)
}

/// `scheme://authority` and the host of an http(s) URL; `None` when it is not one
/// or carries userinfo (`https://good@evil/` is never meant for a key URL).
fn origin_and_host(url: &str) -> Option<(&str, &str)> {
    let scheme_len = if url.get(..8).is_some_and(|p| p.eq_ignore_ascii_case("https://")) {
        8
    } else if url.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("http://")) {
        7
    } else {
        return None;
    };
    let rest = &url[scheme_len..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if authority.contains(['@', '\\']) || authority.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => &v6[..v6.find(']')?],
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    (!host.is_empty()).then_some((&url[..scheme_len + authority.len()], host))
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Key URLs must be https://; http:// only to a loopback host (local test issuers).
fn check_url(url: &str) -> Result<(), FetchError> {
    let insecure = || FetchError::Insecure { url: shown(url) };
    let (origin, host) = origin_and_host(url).ok_or_else(insecure)?;
    if origin.get(..8).is_some_and(|p| p.eq_ignore_ascii_case("https://")) || is_loopback(host) {
        Ok(())
    } else {
        Err(insecure())
    }
}

/// Resolve a `Location` header against the URL that answered with it.
fn redirect_target(from: &str, location: &str) -> Option<String> {
    let (origin, _) = origin_and_host(from)?;
    if origin_and_host(location).is_some() {
        Some(location.to_owned())
    } else if let Some(rest) = location.strip_prefix("//") {
        Some(format!("{}//{rest}", &origin[..origin.find("//")?]))
    } else if location.starts_with('/') {
        Some(format!("{origin}{location}"))
    } else {
        None
    }
}

fn get_json(url: &str) -> Result<serde_json::Value, FetchError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        // redirects are followed below, so that every hop passes check_url
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(20)))
        .user_agent(concat!("sealpost/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut url = url.to_owned();
    for hop in 0..=MAX_REDIRECTS {
        check_url(&url)?;
        let transport =
            |detail: String| FetchError::Transport { url: shown(&url), detail: crate::errors::sanitize(&detail, 200) };
        let mut resp =
            agent.get(&url).header("Accept", "application/json").call().map_err(|e| transport(e.to_string()))?;
        let status = resp.status().as_u16();
        if matches!(status, 301 | 302 | 303 | 307 | 308) {
            let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
            let next = location.as_deref().and_then(|l| redirect_target(&url, l));
            match next {
                Some(next) if hop < MAX_REDIRECTS => {
                    url = next;
                    continue;
                }
                Some(_) => return Err(transport(format!("more than {MAX_REDIRECTS} redirects"))),
                None => return Err(transport(format!("HTTP {status} without a usable Location"))),
            }
        }
        if status != 200 {
            return Err(FetchError::Status { url: shown(&url), status });
        }
        let body = match resp.body_mut().with_config().limit(MAX_FETCH).read_to_string() {
            Ok(body) => body,
            Err(ureq::Error::BodyExceedsLimit(_)) => {
                return Err(FetchError::TooLarge { url: shown(&url), limit: MAX_FETCH });
            }
            Err(e) => return Err(transport(e.to_string())),
        };
        return serde_json::from_str(&body).map_err(|_| FetchError::NotJson { url: shown(&url) });
    }
    Err(FetchError::Transport { url: shown(&url), detail: format!("more than {MAX_REDIRECTS} redirects") })
}

fn keyset(doc: &serde_json::Value) -> Result<KeySet, (&'static str, String)> {
    KeySet::parse(&doc.to_string()).map_err(|e| jwt_err(&e))
}

/// Fetch a JWKS; an OpenID configuration document is followed to its `jwks_uri`.
fn fetch_jwks(url: &str) -> Result<KeySet, (&'static str, String)> {
    let doc = get_json(url)?;
    match doc.get("jwks_uri").and_then(serde_json::Value::as_str) {
        Some(uri) if doc.get("keys").is_none() => keyset(&get_json(uri)?),
        _ => keyset(&doc),
    }
}

/// OpenID Connect Discovery: `{issuer}/.well-known/openid-configuration`, whose
/// `issuer` must be exactly the issuer asked for (section 4.3), then its `jwks_uri`.
fn discover_jwks(issuer: &str) -> Result<KeySet, (&'static str, String)> {
    let conf = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
    let doc = get_json(&conf)?;
    let found = doc.get("issuer").and_then(serde_json::Value::as_str);
    if found != Some(issuer) {
        let found = found.map_or_else(|| "(none)".to_owned(), |f| format!("{:?}", crate::errors::sanitize(f, 200)));
        return Err(
            FetchError::IssuerMismatch { url: shown(&conf), expected: format!("{:?}", shown(issuer)), found }.into()
        );
    }
    let uri = doc
        .get("jwks_uri")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| FetchError::NoJwksUri { url: shown(&conf) })?;
    keyset(&get_json(uri)?)
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
    let alg = match s.alg.as_deref() {
        None => None,
        Some(a) => {
            Some(Alg::parse(a).ok_or_else(|| jwt_err(&jwt::JwtError::AlgUnsupported(a.chars().take(16).collect())))?)
        }
    };
    let key = match (&s.key, &s.secret_file) {
        (Some(p), _) => Some(SignKey::parse(&read_file(p)?).map_err(|e| jwt_err(&e))?),
        (None, Some(p)) => {
            let t = read_file(p)?;
            Some(SignKey::secret(t.strip_suffix('\n').unwrap_or(&t).as_bytes()))
        }
        _ => None,
    };
    let broken = s.broken.as_deref().and_then(Broken::parse);
    let token = jwt::sign(SignRequest { header, claims, alg, key: key.as_ref(), now: now_or_clock(s.now), broken })
        .map_err(|e| jwt_err(&e))?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

// ------------------------------------------------------------------ rendering

fn paint(color: bool, code: &str, text: &str) -> String {
    if color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
}

fn sev_label(color: bool, s: Severity) -> String {
    let (c, t) = match s {
        Severity::Critical => ("1;31", "CRITICAL"),
        Severity::High => ("31", "HIGH"),
        Severity::Medium => ("33", "MEDIUM"),
        Severity::Low => ("36", "LOW"),
        Severity::Info => ("2", "INFO"),
    };
    paint(color, c, &format!("{t:<8}"))
}

fn render(r: &Report, now: i64, color: bool, depth: usize) -> String {
    use std::fmt::Write as _;
    let ind = "  ".repeat(depth);
    let mut o = String::new();
    let e = &r.explanation;
    let form = serde_json::to_value(r.input.form).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let kind = e
        .kind
        .and_then(|k| serde_json::to_value(k).ok())
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "{ind}{} {form}, {} bytes, looks like: {kind} ({})",
        paint(color, "1", "Token"),
        r.input.length,
        e.kind_reason.as_deref().unwrap_or("")
    );
    for (title, v) in [("Header", &r.header), ("Payload", &r.payload)] {
        if let Some(v) = v {
            let _ = writeln!(o, "{ind}{}", paint(color, "1", title));
            for line in serde_json::to_string_pretty(v).unwrap_or_default().lines() {
                let _ = writeln!(o, "{ind}  {line}");
            }
        }
    }
    if let Some(t) = &r.payload_text {
        let _ = writeln!(o, "{ind}{} (not JSON) {}", paint(color, "1", "Payload"), jwt_clip(t, 200));
    }
    if !e.times.is_empty() {
        let _ = writeln!(o, "{ind}{} (now = {})", paint(color, "1", "Times"), jwt::time::utc(now).unwrap_or_default());
        for t in &e.times {
            let _ = writeln!(
                o,
                "{ind}  {:<10} {:<22} {}",
                t.claim,
                t.utc.as_deref().unwrap_or("(not a NumericDate)"),
                t.relative.as_deref().unwrap_or("")
            );
        }
    }
    if !e.scopes.is_empty() {
        let _ = writeln!(o, "{ind}{} {}", paint(color, "1", "Scopes"), e.scopes.join(" "));
    }
    if !e.act_chain.is_empty() {
        let _ = writeln!(o, "{ind}{} (outermost = current actor first)", paint(color, "1", "Delegation"));
        for a in &e.act_chain {
            let _ = writeln!(
                o,
                "{ind}  {}. sub={} iss={} client_id={}",
                a.depth + 1,
                a.sub.as_deref().unwrap_or("-"),
                a.iss.as_deref().unwrap_or("-"),
                a.client_id.as_deref().unwrap_or("-")
            );
        }
        let _ = writeln!(o, "{ind}  acting for subject {}", e.subject.as_deref().unwrap_or("-"));
    }
    if let Some(c) = &e.confirmation {
        let _ = writeln!(
            o,
            "{ind}{} {} {}",
            paint(color, "1", "Bound to"),
            c.method,
            c.jkt.as_deref().or(c.x5t_s256.as_deref()).unwrap_or("")
        );
    }
    for d in &e.authorization_details {
        let _ = writeln!(
            o,
            "{ind}{} type={} actions=[{}] locations=[{}]",
            paint(color, "1", "Authorization"),
            d.kind.as_deref().unwrap_or("-"),
            d.actions.join(", "),
            d.locations.join(", ")
        );
    }
    let v = &r.verification;
    let status = match v.status {
        VerifyStatus::Valid => paint(color, "32", "valid"),
        VerifyStatus::NotAttempted => paint(color, "2", "not checked"),
        _ => paint(color, "31", "NOT VALID"),
    };
    let _ = writeln!(o, "{ind}{} {status}: {}", paint(color, "1", "Signature"), v.detail);
    if let Some(d) = &r.dpop {
        let proof = if d.proof_key_verified {
            paint(color, "32", "verified with its own header key")
        } else {
            paint(color, "31", "NOT VERIFIED with its own header key")
        };
        let _ = writeln!(
            o,
            "{ind}{} {proof}: {} (possession of that key, not trust)",
            paint(color, "1", "DPoP proof"),
            d.detail
        );
        let _ = writeln!(o, "{ind}  jkt (RFC 7638 thumbprint) {}", d.thumbprint.as_deref().unwrap_or("-"));
        for (name, b) in [("ath", &d.ath), ("cnf.jkt", &d.jkt)] {
            if let Some(b) = b {
                let _ = writeln!(o, "{ind}  {name:<8} {:?}", b.status);
            }
        }
    }
    let s = &r.summary;
    let _ = writeln!(
        o,
        "{ind}{} {} ({} critical, {} high, {} medium, {} low, {} info)",
        paint(color, "1", "Findings"),
        r.findings.len(),
        s.critical,
        s.high,
        s.medium,
        s.low,
        s.info
    );
    for f in &r.findings {
        let _ = writeln!(o, "{ind}  {} {} at {}", sev_label(color, f.severity), f.code, f.location);
        let _ = writeln!(o, "{ind}           {}", f.message);
        let _ = writeln!(o, "{ind}           fix: {}", f.fix);
    }
    if let Some(n) = &r.nested {
        let _ = writeln!(o, "{ind}{}", paint(color, "1", "Nested token"));
        o.push_str(&render(n, now, color, depth + 1));
    }
    o
}

fn jwt_clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_owned() } else { format!("{}…", s.chars().take(n).collect::<String>()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_urls_https_or_loopback_http() {
        for ok in [
            "https://issuer.example/jwks",
            "HTTPS://issuer.example",
            "https://issuer.example:8443/a?b#c",
            "http://127.0.0.1:8080/jwks",
            "http://127.9.8.7/",
            "http://localhost:1/x",
            "http://LOCALHOST/x",
            "http://[::1]:8080/jwks",
            "http://[::1]/",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://issuer.example/jwks",
            "http://127.0.0.1.evil.example/jwks",
            "http://127.0.0.1@evil.example/jwks",
            "https://user@issuer.example/jwks",
            "http://localhost.evil.example/",
            "http://[::2]/",
            "http://[::1/",
            "http://0.0.0.0/",
            "http://10.0.0.1/",
            "ftp://127.0.0.1/",
            "file:///etc/passwd",
            "https://",
            "http://:80/",
            "127.0.0.1/jwks",
            "",
        ] {
            let e = check_url(bad).unwrap_err();
            assert_eq!(e.code(), "ERR_JWT_URL", "{bad}");
        }
    }

    #[test]
    fn redirects_resolve_against_the_origin() {
        assert_eq!(redirect_target("https://a.example/x/y", "/keys").as_deref(), Some("https://a.example/keys"));
        assert_eq!(redirect_target("https://a.example:1/x", "//b.example/k").as_deref(), Some("https://b.example/k"));
        assert_eq!(redirect_target("https://a.example/x", "http://b.example/k").as_deref(), Some("http://b.example/k"));
        assert_eq!(redirect_target("https://a.example/x", "keys"), None);
    }

    #[test]
    fn fetch_errors_have_distinct_codes() {
        let url = || "u".to_owned();
        let codes = [
            FetchError::Insecure { url: url() }.code(),
            FetchError::Transport { url: url(), detail: String::new() }.code(),
            FetchError::Status { url: url(), status: 404 }.code(),
            FetchError::TooLarge { url: url(), limit: 1 }.code(),
            FetchError::NotJson { url: url() }.code(),
            FetchError::NoJwksUri { url: url() }.code(),
            FetchError::IssuerMismatch { url: url(), expected: String::new(), found: String::new() }.code(),
        ];
        let mut sorted = codes.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), codes.len());
    }
}
