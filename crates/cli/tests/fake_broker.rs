//! The CLI against an in-test broker that speaks ONLY the reference LinkAuth
//! spellings (`code`/`url`, 429 problem+json `urn:ietf:params:oauth:error:slow_down`,
//! 404 problems) and seals real envelopes to the key the CLI sent.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sealpost_core::envelope::{self, Credentials};
use sealpost_core::keys::{AgentPrivateKey, AgentPublicKey};

const BIN: &str = env!("CARGO_BIN_EXE_sealpost");
const SESSION_ID: &str = "0e9f2b1c4d5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e";
const CODE: &str = "WXYZ-2345";
const POLL_TOKEN: &str = "pt_referencePollToken0123456789abcdefABCDEF_-";

// ---------------------------------------------------------------- fake server

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Plan {
    /// pending, 429 slow_down (interval 2), confirmed, ready
    SlowDownThenReady,
    /// pending, then ready (LinkAuth or JWE per `jwe`)
    Ready,
    /// JWE sealed for another session id
    JweWrongSid,
    /// pending, then 404 "Session not found or expired."
    Expire,
    /// pending, then 404 "Request Declined"
    Decline,
    /// pending forever
    Pending,
    /// POST /v1/sessions answers 400 problem
    RejectCreate,
    /// The Internet-Draft's spellings instead: user_code, verification_uri_complete,
    /// `{"error":"slow_down","interval":2}`; then ready
    DraftSlowDownThenReady,
    /// pending, then ready with a LinkAuth envelope even when the session asked for JWE
    Downgrade,
    /// POST /v1/sessions answers 403 ERR_SENDER_INVALID, its title and detail carrying U+202E / U+2028
    RejectSenderBidi,
}

#[derive(Default)]
struct Seen {
    create_body: Option<serde_json::Value>,
    api_key: Option<String>,
    polls: Vec<Instant>,
    bad_auth: usize,
}

struct Fake {
    base: String,
    seen: Arc<Mutex<Seen>>,
}

struct Req {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: String,
}

fn read_req(stream: &mut TcpStream) -> Option<Req> {
    let mut r = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    let len: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Req { method, path, headers, body: String::from_utf8(body).ok()? })
}

fn respond(stream: &mut TcpStream, status: u16, content_type: &str, body: &str) {
    let reason = match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        _ => "Whatever",
    };
    let msg = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(msg.as_bytes());
    let _ = stream.flush();
}

fn problem(status: u16, kind: &str, title: &str, detail: &str, extra: &str) -> String {
    format!(r#"{{"type":"{kind}","title":"{title}","status":{status},"detail":"{detail}"{extra}}}"#)
}

impl Fake {
    fn start(plan: Plan, creds: BTreeMap<String, String>, expires_at: &'static str) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Seen::default()));
        let polls = Arc::new(AtomicUsize::new(0));
        let (seen2, base2) = (seen.clone(), base.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some(req) = read_req(&mut stream) else { continue };
                let mut seen = seen2.lock().unwrap();
                if req.method == "POST" && req.path == "/v1/sessions" {
                    seen.api_key = req.headers.get("x-api-key").cloned();
                    seen.create_body = serde_json::from_str(&req.body).ok();
                    if plan == Plan::RejectSenderBidi {
                        let p = r#"{"type":"about:blank","title":"Forbidden \u202egnp.exe","status":403,"detail":"Unknown sender.\u2028Fake line\u001b[2J","code":"ERR_SENDER_INVALID"}"#;
                        respond(&mut stream, 403, "application/problem+json", p);
                        continue;
                    }
                    if plan == Plan::RejectCreate {
                        let p = problem(
                            400,
                            "about:blank",
                            "Bad Request",
                            "public_key: not an RSA key of at least 2048 bits",
                            "",
                        );
                        respond(&mut stream, 400, "application/problem+json", &p);
                        continue;
                    }
                    // reference spellings only: code + url, no user_code / verification_uri_complete
                    let body = if plan == Plan::DraftSlowDownThenReady {
                        format!(
                            r#"{{"session_id":"{SESSION_ID}","user_code":"{CODE}","verification_uri":"{base2}/connect","verification_uri_complete":"{base2}/connect/{CODE}","poll_token":"{POLL_TOKEN}","expires_in":600,"interval":1}}"#
                        )
                    } else {
                        format!(
                            r#"{{"session_id":"{SESSION_ID}","code":"{CODE}","url":"{base2}/connect/{CODE}","poll_token":"{POLL_TOKEN}","expires_at":"{expires_at}","interval":1}}"#
                        )
                    };
                    respond(&mut stream, 201, "application/json", &body);
                    continue;
                }
                if req.method == "GET" && req.path == format!("/v1/sessions/{SESSION_ID}") {
                    if req.headers.get("authorization").map(String::as_str) != Some(&format!("Bearer {POLL_TOKEN}")) {
                        seen.bad_auth += 1;
                        respond(
                            &mut stream,
                            401,
                            "application/problem+json",
                            &problem(401, "about:blank", "Unauthorized", "", ""),
                        );
                        continue;
                    }
                    seen.polls.push(Instant::now());
                    let n = polls.fetch_add(1, Ordering::SeqCst) + 1;
                    let pending = r#"{"status":"pending","expires_at":"2099-01-01T00:00:00Z","interval":1}"#;
                    let pk = seen
                        .create_body
                        .as_ref()
                        .and_then(|b| b["public_key"].as_str().map(str::to_string))
                        .unwrap_or_default();
                    let wants_jwe =
                        plan != Plan::Downgrade && seen.create_body.as_ref().is_some_and(|b| b["envelope"] == "jwe");
                    let ready = |sid: &str| -> String {
                        let pk = AgentPublicKey::from_wire(&pk).unwrap();
                        let c = Credentials::from(creds.clone());
                        let (ct, alg) = if wants_jwe {
                            (envelope::seal_jwe(&pk, &c, sid).unwrap(), envelope::ALG_JWE)
                        } else {
                            (envelope::seal(&pk, &c).unwrap(), envelope::ALG_LINKAUTH)
                        };
                        format!(
                            r#"{{"status":"ready","expires_at":"2099-01-01T00:00:00Z","interval":1,"ciphertext":"{ct}","algorithm":"{alg}"}}"#
                        )
                    };
                    let (status, ctype, body) = match (plan, n) {
                        (Plan::SlowDownThenReady, 1) => (200, "application/json", pending.to_string()),
                        (Plan::SlowDownThenReady, 2) => (
                            429,
                            "application/problem+json",
                            problem(
                                429,
                                "urn:ietf:params:oauth:error:slow_down",
                                "Slow Down",
                                "Polling too fast.",
                                r#","interval":2"#,
                            ),
                        ),
                        (Plan::SlowDownThenReady, 3) => {
                            (200, "application/json", r#"{"status":"confirmed","interval":2}"#.to_string())
                        }
                        (Plan::SlowDownThenReady, 4) | (Plan::Ready | Plan::Downgrade, 2) => {
                            (200, "application/json", ready(SESSION_ID))
                        }
                        (Plan::DraftSlowDownThenReady, 1) => {
                            (429, "application/json", r#"{"error":"slow_down","interval":2}"#.to_string())
                        }
                        (Plan::DraftSlowDownThenReady, 2) => (200, "application/json", ready(SESSION_ID)),
                        (Plan::JweWrongSid, 1) => (200, "application/json", ready("ffff")),
                        (Plan::Expire, 2) => (
                            404,
                            "application/problem+json",
                            problem(404, "about:blank", "Not Found", "Session not found or expired.", ""),
                        ),
                        (Plan::Decline, 2) => (
                            404,
                            "application/problem+json",
                            problem(404, "about:blank", "Request Declined", "The user declined this request.", ""),
                        ),
                        (Plan::Pending | Plan::Ready | Plan::Downgrade | Plan::Expire | Plan::Decline, _) => {
                            (200, "application/json", pending.to_string())
                        }
                        _ => (200, "application/json", r#"{"status":"consumed"}"#.to_string()),
                    };
                    drop(seen);
                    respond(&mut stream, status, ctype, &body);
                    continue;
                }
                respond(
                    &mut stream,
                    404,
                    "application/problem+json",
                    &problem(404, "about:blank", "Not Found", "", ""),
                );
            }
        });
        Fake { base, seen }
    }

    fn received_key(&self) -> AgentPublicKey {
        let seen = self.seen.lock().unwrap();
        let pk = seen.create_body.as_ref().unwrap()["public_key"].as_str().unwrap().to_string();
        AgentPublicKey::from_wire(&pk).unwrap()
    }
}

// ---------------------------------------------------------------- helpers

struct Sandbox(PathBuf);

impl Sandbox {
    fn new(tag: &str) -> Sandbox {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sealpost-cli-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("home")).unwrap();
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        Sandbox(dir)
    }

    /// The CLI with cwd, HOME and TMPDIR inside the sandbox and no inherited broker settings.
    fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.current_dir(&self.0)
            .env("HOME", self.0.join("home"))
            .env("TMPDIR", self.0.join("tmp"))
            .env_remove("SEALPOST_API_KEY")
            .env_remove("SEALPOST_BROKER")
            .env_remove("SEALPOST_POLL_TOKEN")
            .env("SEALPOST_RETRY_BASE_MS", "20")
            .stdin(Stdio::null());
        c
    }

    /// Every file under the sandbox that contains `needle`.
    fn files_containing(&self, needle: &str) -> Vec<PathBuf> {
        fn walk(dir: &Path, needle: &[u8], out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, needle, out);
                } else if std::fs::read(&p).unwrap().windows(needle.len()).any(|w| w == needle) {
                    out.push(p);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.0, needle.as_bytes(), &mut out);
        out
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn secret() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("sk-test-S3CRET-{nanos:x}")
}

fn creds(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn request(sb: &Sandbox, fake_base: &str, extra: &[&str]) -> Output {
    sb.cmd().args(["request", "--broker", fake_base, "--key-bits", "2048"]).args(extra).output().unwrap()
}

// ---------------------------------------------------------------- tests

#[test]
fn completes_with_reference_names_and_backs_off_on_slow_down() {
    let s = secret();
    let fake = Fake::start(Plan::SlowDownThenReady, creds(&[("api_key", &s)]), "2099-01-01T00:00:00Z");
    let sb = Sandbox::new("slow");
    let out = sb
        .cmd()
        .env("SEALPOST_API_KEY", "broker-api-key-1")
        .args([
            "request",
            "--broker",
            &fake.base,
            "--key-bits",
            "2048",
            "--template",
            "api_key",
            "--display-name",
            "Test key",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json, serde_json::json!({ "api_key": s }));

    // the link, the code and the fingerprint of the key the broker received
    let fp = fake.received_key().fingerprint();
    assert!(stderr.contains(&format!("{}/connect/{CODE}", fake.base)), "{stderr}");
    assert!(stderr.contains(CODE), "{stderr}");
    assert!(stderr.contains(&fp.short()), "{stderr}");
    assert!(!stderr.contains(&s), "secret leaked on stderr");
    assert!(stderr.contains("slow_down"), "{stderr}");
    assert!(sb.files_containing(&s).is_empty());

    assert_eq!(fake.received_key().bits(), 2048, "--key-bits 2048");
    let seen = fake.seen.lock().unwrap();
    assert_eq!(seen.api_key.as_deref(), Some("broker-api-key-1"));
    assert_eq!(seen.bad_auth, 0);
    let body = seen.create_body.as_ref().unwrap();
    assert_eq!(body["template"], "api_key");
    assert_eq!(body["display_name"], "Test key");
    assert!(body.get("envelope").is_none());
    // polls: 1 (pending) -1s- 2 (429, interval 2) -2s- 3 (confirmed) -2s- 4 (ready)
    assert_eq!(seen.polls.len(), 4);
    let gaps: Vec<Duration> = seen.polls.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps[0] < Duration::from_millis(1700), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(1950), "did not back off: {gaps:?}");
    assert!(gaps[2] >= Duration::from_millis(1950), "interval went back down: {gaps:?}");
}

#[test]
fn jwe_envelope_and_raw_format() {
    let s = secret();
    let fake = Fake::start(Plan::Ready, creds(&[("username", "bob"), ("password", &s)]), "2099-01-01T00:00:00Z");
    let sb = Sandbox::new("jwe");
    let out = request(
        &sb,
        &fake.base,
        &["--jwe", "--field", "username:User:text", "--field", "password", "--format", "raw", "password", "--quiet"],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(text(&out.stdout), s, "raw prints exactly the value");
    assert!(!stderr.contains(&s));
    let seen = fake.seen.lock().unwrap();
    let body = seen.create_body.as_ref().unwrap();
    assert_eq!(body["envelope"], "jwe");
    assert_eq!(
        body["fields"],
        serde_json::json!([
            {"name": "username", "label": "User", "type": "text", "required": true},
            {"name": "password", "label": "password", "type": "password", "required": true}
        ])
    );
}

#[test]
fn jwe_for_another_session_is_refused() {
    let s = secret();
    let fake = Fake::start(Plan::JweWrongSid, creds(&[("api_key", &s)]), "2099-01-01T00:00:00Z");
    let sb = Sandbox::new("sid");
    let out = request(&sb, &fake.base, &["--jwe", "--template", "api_key"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("ERR_JWE_SESSION_MISMATCH") || stderr.contains("ERR_DECRYPT_FAILED"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(!stderr.contains(&s));
}

#[test]
fn env_format_and_exec_keep_the_secret_out_of_argv_and_files() {
    let s = secret();
    let fake = Fake::start(Plan::Ready, creds(&[("api_key", &s)]), "2099-01-01T00:00:00Z");
    let sb = Sandbox::new("exec");
    // the child reports its own argv (NUL -> space) and a digest-free proof it got the variable
    let script = r#"printf 'argv:'; tr '\000' ' ' < /proc/$$/cmdline; printf '\n'; printf 'len:%s\n' "${#OPENAI_API_KEY}"; printf 'val:%s\n' "$OPENAI_API_KEY"; exit 9"#;
    let out = request(
        &sb,
        &fake.base,
        &["--template", "openai", "--env-prefix", "OPENAI_", "--exec", "--", "sh", "-c", script],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(9), "exit status of the child is passed through; stderr: {stderr}");
    let argv = stdout.lines().find(|l| l.starts_with("argv:")).unwrap();
    assert!(argv.contains("sh -c"), "{argv}");
    assert!(!argv.contains(&s), "secret in the child's argv");
    assert!(stdout.contains(&format!("len:{}\n", s.len())));
    assert!(stdout.contains(&format!("val:{s}\n")));
    assert!(!stderr.contains(&s));
    assert!(stderr.contains("OPENAI_API_KEY"), "names the variable: {stderr}");
    assert!(sb.files_containing(&s).is_empty(), "secret written to a file");

    // --format env
    let fake = Fake::start(Plan::Ready, creds(&[("username", "o'brien"), ("password", &s)]), "2099-01-01T00:00:00Z");
    let out = request(&sb, &fake.base, &["--template", "basic_auth", "--format", "env"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("export PASSWORD='{s}'\nexport USERNAME='o'\\''brien'\n"));
    assert!(sb.files_containing(&s).is_empty());
}

#[test]
fn exec_ignores_unrequested_and_refuses_dangerous_fields() {
    let fake = Fake::start(Plan::Ready, creds(&[("api_key", "k"), ("extra", "x")]), "2099-01-01T00:00:00Z");
    let sb = Sandbox::new("extra");
    let out = sb
        .cmd()
        .env("SEALPOST_API_KEY", "broker-key")
        .env("SEALPOST_INBOX", "is_inboxSenderCredential")
        .args([
            "request",
            "--broker",
            &fake.base,
            "--key-bits",
            "2048",
            "--field",
            "api_key",
            "--exec",
            "--",
            "sh",
            "-c",
        ])
        .arg(
            r#"printf '%s|%s|%s|%s' "$API_KEY" "${EXTRA-unset}" "${SEALPOST_API_KEY-unset}" "${SEALPOST_INBOX-unset}""#,
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "k|unset|unset|unset", "only requested fields; sealpost's secrets not passed on");
    assert!(text(&out.stderr).contains("dropped 1 field(s) nobody asked for: \"extra\""), "{}", text(&out.stderr));

    // asking for a field that would become LD_PRELOAD is refused before any broker call
    let fake = Fake::start(Plan::Ready, creds(&[("ld_preload", "/tmp/evil.so")]), "2099-01-01T00:00:00Z");
    let out = request(&sb, &fake.base, &["--field", "ld_preload", "--exec", "--", "true"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("ERR_ENV_NAME"));
    assert!(fake.seen.lock().unwrap().create_body.is_none(), "no session created");
    for (field, prefix) in [("path", ""), ("preload", "LD_"), ("config_parameters", "GIT_"), ("api_key", "SEALPOST_")] {
        let out = request(&sb, &fake.base, &["--field", field, "--env-prefix", prefix, "--format", "env"]);
        assert_eq!(out.status.code(), Some(2), "{field} {prefix}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("ERR_ENV_NAME"), "{}", text(&out.stderr));
    }
}

/// The answer a hostile completer (or broker) seals: the wanted field plus
/// names a loader or shell acts on, and names that are not identifiers.
fn hostile(secret: &str) -> BTreeMap<String, String> {
    creds(&[
        ("api_key", secret),
        ("PATH", "/tmp/evil-bin"),
        ("LD_PRELOAD", "/tmp/evil.so"),
        ("GIT_CONFIG_PARAMETERS", "'core.fsmonitor'='touch /tmp/pwned'"),
        ("BASH_ENV", "/tmp/evil.sh"),
        ("PROMPT_COMMAND", "touch /tmp/pwned"),
        ("x; id #", "1"),
        ("spoof\u{202e}gnp.exe", "1"),
    ])
}

const HOSTILE_NAMES: [&str; 5] = ["PATH", "LD_PRELOAD", "GIT_CONFIG_PARAMETERS", "BASH_ENV", "PROMPT_COMMAND"];

fn assert_dropped_warning(stderr: &str) {
    let line =
        stderr.lines().find(|l| l.contains("nobody asked for")).unwrap_or_else(|| panic!("no warning: {stderr}"));
    assert!(line.contains("warning"), "{line}");
    for name in HOSTILE_NAMES {
        assert!(line.contains(&format!("\"{name}\"")), "{name} not named: {line}");
    }
    assert!(line.contains("spoof\\u{202e}gnp.exe"), "bidi override escaped: {line}");
    assert!(!stderr.contains('\u{202e}'), "raw U+202E on stderr");
    assert!(!stderr.contains("/tmp/evil") && !stderr.contains("pwned"), "values of dropped fields shown: {stderr}");
}

#[test]
fn hostile_answer_fields_never_reach_env_output_or_the_exec_child() {
    let s = secret();
    let sb = Sandbox::new("hostile");

    // --format env (what `eval "$(...)"` would run): only the template's field
    let fake = Fake::start(Plan::Ready, hostile(&s), "2099-01-01T00:00:00Z");
    let out = request(&sb, &fake.base, &["--template", "openai", "--env-prefix", "OPENAI_", "--format", "env"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, format!("export OPENAI_API_KEY='{s}'\n"));
    assert_dropped_warning(&stderr);
    assert!(!stderr.contains(&s));

    // --format json carries only the wanted field too
    let fake = Fake::start(Plan::Ready, hostile(&s), "2099-01-01T00:00:00Z");
    let out = request(&sb, &fake.base, &["--field", "api_key"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(), serde_json::json!({ "api_key": s }));
    assert_dropped_warning(&text(&out.stderr));

    // --exec: the child's whole environment, as `env` prints it
    let fake = Fake::start(Plan::Ready, hostile(&s), "2099-01-01T00:00:00Z");
    let out = request(&sb, &fake.base, &["--template", "api_key", "--exec", "--", "env"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.lines().any(|l| l == format!("API_KEY={s}")), "{stdout}");
    for name in ["LD_PRELOAD", "GIT_CONFIG_PARAMETERS", "BASH_ENV", "PROMPT_COMMAND"] {
        assert!(!stdout.lines().any(|l| l.starts_with(&format!("{name}="))), "{name} reached the child");
    }
    let path = stdout.lines().find(|l| l.starts_with("PATH=")).unwrap_or("");
    assert!(!path.contains("evil"), "PATH from the answer reached the child: {path}");
    assert!(!stdout.contains("evil") && !stdout.contains("pwned"), "{stdout}");
    assert_dropped_warning(&stderr);

    // a broker-side template sealpost does not know: only the --field names
    let fake = Fake::start(Plan::Ready, hostile(&s), "2099-01-01T00:00:00Z");
    let out = request(
        &sb,
        &fake.base,
        &["--template", "github_token", "--field", "api_key", "--exec", "--", "sh", "-c", "env"],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.lines().any(|l| l == format!("API_KEY={s}")), "{stdout}");
    assert!(!stdout.contains("evil") && !stdout.contains("pwned"), "{stdout}");
    assert_dropped_warning(&stderr);
    let seen = fake.seen.lock().unwrap();
    let body = seen.create_body.as_ref().unwrap();
    assert_eq!(body["template"], "github_token");
    assert_eq!(
        body["fields"][0]["name"], "api_key",
        "the fields go along as the form for a broker that does not know it"
    );
    drop(seen);

    // ... and without --field it is refused before a session exists
    let fake = Fake::start(Plan::Ready, hostile(&s), "2099-01-01T00:00:00Z");
    let out = request(&sb, &fake.base, &["--template", "github_token", "--format", "env"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("ERR_FIELDS_UNKNOWN"));
    assert!(fake.seen.lock().unwrap().create_body.is_none());
    assert!(sb.files_containing(&s).is_empty());
}

#[test]
fn poll_and_open_deliver_only_the_saved_or_named_fields() {
    let s = secret();
    let fake = Fake::start(Plan::Ready, hostile(&s), "2099-01-01T00:00:00Z");
    let sb = Sandbox::new("hostile-poll");
    let out = request(&sb, &fake.base, &["--template", "api_key", "--key-file", "agent.pem", "--no-wait"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let saved: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(saved["fields"], serde_json::json!(["api_key"]));
    std::fs::write(sb.0.join("session.json"), &out.stdout).unwrap();
    let out = sb
        .cmd()
        .args(["poll", "--session", "session.json", "--key-file", "agent.pem", "--exec", "--", "env"])
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.lines().any(|l| l == format!("API_KEY={s}")), "{stdout}");
    assert!(!stdout.contains("evil") && !stdout.contains("pwned"), "{stdout}");
    assert_dropped_warning(&stderr);

    // open: a hostile envelope, fields named by --field or by the saved session
    let sk = AgentPrivateKey::from_pem(&std::fs::read_to_string(sb.0.join("agent.pem")).unwrap()).unwrap();
    let ct = envelope::seal(sk.public_key(), &Credentials::from(hostile(&s))).unwrap();
    std::fs::write(sb.0.join("ct.txt"), &ct).unwrap();
    for extra in [&["--field", "api_key"][..], &["--session", "session.json"][..], &["--format", "raw", "api_key"][..]]
    {
        let out = sb
            .cmd()
            .args(["open", "--key-file", "agent.pem", "--input", "ct.txt"])
            .args(extra)
            .args(if extra[0] == "--format" { &[][..] } else { &["--format", "env"][..] })
            .output()
            .unwrap();
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{extra:?}: {stderr}");
        assert!(stdout == format!("export API_KEY='{s}'\n") || stdout == s, "{extra:?}: {stdout}");
        assert_dropped_warning(&stderr);
    }
    // nothing named: refused, nothing printed
    let out =
        sb.cmd().args(["open", "--key-file", "agent.pem", "--input", "ct.txt", "--format", "env"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("ERR_FIELDS_UNKNOWN"));
    assert!(out.stdout.is_empty());
}

#[test]
fn jwe_downgrade_is_refused_in_request_poll_and_open() {
    let s = secret();
    let sb = Sandbox::new("downgrade");
    // request --jwe: the broker answers with a LinkAuth envelope
    let fake = Fake::start(Plan::Downgrade, creds(&[("api_key", &s)]), "2099-01-01T00:00:00Z");
    let out = request(&sb, &fake.base, &["--jwe", "--template", "api_key"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("[ERR_ENVELOPE_DOWNGRADE]"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(!stderr.contains(&s));

    // poll of a --jwe --no-wait session
    let fake = Fake::start(Plan::Downgrade, creds(&[("api_key", &s)]), "2099-01-01T00:00:00Z");
    let out = request(&sb, &fake.base, &["--jwe", "--template", "api_key", "--key-file", "agent.pem", "--no-wait"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let saved: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(saved["envelope"], "jwe");
    std::fs::write(sb.0.join("session.json"), &out.stdout).unwrap();
    let out = sb.cmd().args(["poll", "--session", "session.json", "--key-file", "agent.pem"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("[ERR_ENVELOPE_DOWNGRADE]"), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());

    // open: a LinkAuth poll answer where a JWE is required (--jwe, --algorithm JWE, or the saved session)
    let sk = AgentPrivateKey::from_pem(&std::fs::read_to_string(sb.0.join("agent.pem")).unwrap()).unwrap();
    let ct = envelope::seal(sk.public_key(), &Credentials::from(creds(&[("api_key", &s)]))).unwrap();
    let answer = format!(r#"{{"status":"ready","ciphertext":"{ct}","algorithm":"{}"}}"#, envelope::ALG_LINKAUTH);
    std::fs::write(sb.0.join("answer.json"), &answer).unwrap();
    std::fs::write(sb.0.join("ct.txt"), &ct).unwrap();
    for extra in [
        &["--input", "answer.json", "--jwe", "--session-id", SESSION_ID, "--field", "api_key"][..],
        &["--input", "answer.json", "--algorithm", "JWE", "--session-id", SESSION_ID, "--field", "api_key"][..],
        &["--input", "answer.json", "--session", "session.json"][..],
        &["--input", "ct.txt", "--session", "session.json"][..],
    ] {
        let out = sb.cmd().args(["open", "--key-file", "agent.pem"]).args(extra).output().unwrap();
        assert_eq!(out.status.code(), Some(6), "{extra:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("[ERR_ENVELOPE_DOWNGRADE]"), "{extra:?}: {}", text(&out.stderr));
        assert!(out.stdout.is_empty());
    }
    // without a JWE requirement the same envelope opens
    let out = sb
        .cmd()
        .args(["open", "--key-file", "agent.pem", "--input", "answer.json", "--format", "raw", "api_key"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), s);
}

#[test]
fn inbox_takes_a_sender_credential_and_broker_text_is_escaped() {
    let sb = Sandbox::new("inbox");
    // an inbox id is refused locally, before a key or a session
    let fake = Fake::start(Plan::Ready, creds(&[]), "2099-01-01T00:00:00Z");
    let out = request(&sb, &fake.base, &["--template", "api_key", "--inbox", "ib_ABCDEFGHIJKLMNOP"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("[ERR_SENDER_REQUIRED]") && stderr.contains("sender credential (is_...)"), "{stderr}");
    assert!(fake.seen.lock().unwrap().create_body.is_none());

    // a sender credential goes to the broker as `inbox`, never onto stderr
    let cred = "is_q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80";
    let fake = Fake::start(Plan::RejectSenderBidi, creds(&[]), "2099-01-01T00:00:00Z");
    let out = sb
        .cmd()
        .env("SEALPOST_INBOX", cred)
        .args([
            "request",
            "--broker",
            &fake.base,
            "--key-bits",
            "2048",
            "--template",
            "api_key",
            "--agent-name",
            "ci",
            "--reason",
            "nightly",
        ])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert_eq!(fake.seen.lock().unwrap().create_body.as_ref().unwrap()["inbox"], cred);
    assert!(stderr.contains("[ERR_SENDER_INVALID]") && stderr.contains("ask the inbox owner"), "{stderr}");
    assert!(!stderr.contains(cred), "the credential is a secret");
    // the broker's U+202E, U+2028 and ESC are shown escaped, never raw
    assert!(stderr.contains("Forbidden \\u{202e}gnp.exe"), "{stderr}");
    assert!(stderr.contains("\\u{2028}") && stderr.contains("\\u{1b}[2J"), "{stderr}");
    for c in ['\u{202e}', '\u{2028}', '\u{1b}'] {
        assert!(!stderr.contains(c), "raw {c:?} on stderr: {stderr}");
    }

    // the agent's own text is checked like the broker does
    let out = request(&sb, &fake.base, &["--template", "api_key", "--reason", "Your bank\u{202e}"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("[ERR_TEXT_INVALID]"));
    assert!(!text(&out.stderr).contains('\u{202e}'));
}

#[test]
fn expired_and_declined_have_their_exit_codes() {
    let sb = Sandbox::new("end");
    let fake = Fake::start(Plan::Expire, creds(&[]), "2099-01-01T00:00:00Z");
    let out = request(&sb, &fake.base, &["--template", "api_key"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("ERR_SESSION_EXPIRED"));

    let fake = Fake::start(Plan::Decline, creds(&[]), "2099-01-01T00:00:00Z");
    let out = request(&sb, &fake.base, &["--template", "api_key"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("declined"));
    assert!(text(&out.stderr).contains("ERR_REQUEST_DECLINED"));

    // already past expires_at: gives up on its own, without waiting for a 404
    let fake = Fake::start(Plan::Pending, creds(&[]), "2001-01-01T00:00:00Z");
    let out = request(&sb, &fake.base, &["--template", "api_key"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(fake.seen.lock().unwrap().polls.is_empty());
}

#[test]
fn rejected_request_exits_7() {
    let sb = Sandbox::new("rej");
    let fake = Fake::start(Plan::RejectCreate, creds(&[]), "2099-01-01T00:00:00Z");
    let out = request(&sb, &fake.base, &["--template", "api_key"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("HTTP 400") && stderr.contains("not an RSA key"), "{stderr}");
}

#[test]
fn unreachable_broker_retries_with_backoff_then_exits_5() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }; // closed again: connections are refused
    let sb = Sandbox::new("down");
    let started = Instant::now();
    let out = sb
        .cmd()
        .env("SEALPOST_RETRY_BASE_MS", "100")
        .args([
            "request",
            "--broker",
            &format!("http://127.0.0.1:{port}"),
            "--key-bits",
            "2048",
            "--template",
            "api_key",
            "--retries",
            "4",
        ])
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("ERR_BROKER_UNREACHABLE") && stderr.contains("4 attempt"), "{stderr}");
    assert_eq!(stderr.matches("retrying in").count(), 3, "{stderr}");
    // backoff 100 + 200 + 400 ms (+ jitter): at least 0.7 s, well under 10 s
    assert!(elapsed >= Duration::from_millis(700), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[test]
fn key_file_no_wait_poll_and_open() {
    let s = secret();
    let fake = Fake::start(Plan::Ready, creds(&[("api_key", &s)]), "2099-01-01T00:00:00Z");
    let sb = Sandbox::new("keyfile");
    let key = sb.0.join("agent.pem");
    let out = request(&sb, &fake.base, &["--template", "api_key", "--key-file", "agent.pem", "--no-wait"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    let pem = std::fs::read_to_string(&key).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8 PEM");
    let sk = AgentPrivateKey::from_pem(&pem).unwrap();
    assert_eq!(sk.public_key().fingerprint().long(), fake.received_key().fingerprint().long());
    let saved: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(saved["session_id"], SESSION_ID);
    assert_eq!(saved["poll_token"], POLL_TOKEN);
    assert_eq!(saved["code"], CODE);
    assert!(fake.seen.lock().unwrap().polls.is_empty(), "--no-wait does not poll");
    std::fs::write(sb.0.join("session.json"), &out.stdout).unwrap();

    // refuses to overwrite the key without --force
    let again = request(&sb, &fake.base, &["--template", "api_key", "--key-file", "agent.pem", "--no-wait"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("ERR_KEY_FILE_EXISTS"));
    assert_eq!(std::fs::read_to_string(&key).unwrap(), pem, "key untouched");

    // resume
    let out = sb
        .cmd()
        .args(["poll", "--session", "session.json", "--key-file", "agent.pem", "--format", "raw"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), s);

    // open a saved envelope from stdin
    let mut c = Credentials::new();
    c.insert("token", s.clone());
    let ct = envelope::seal(sk.public_key(), &c).unwrap();
    let mut child = sb
        .cmd()
        .args(["open", "--key-file", "agent.pem", "--field", "token"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(ct.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(), serde_json::json!({ "token": s }));

    // a JWE needs its session id, and only opens for the right one
    let jwe = envelope::seal_jwe(sk.public_key(), &c, "abc123").unwrap();
    std::fs::write(sb.0.join("answer.jwe"), &jwe).unwrap();
    let out = sb
        .cmd()
        .args(["open", "--key-file", "agent.pem", "--input", "answer.jwe", "--field", "token"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = sb
        .cmd()
        .args([
            "open",
            "--key-file",
            "agent.pem",
            "--input",
            "answer.jwe",
            "--session-id",
            "abc124",
            "--field",
            "token",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    let out = sb
        .cmd()
        .args([
            "open",
            "--key-file",
            "agent.pem",
            "--input",
            "answer.jwe",
            "--session-id",
            "abc123",
            "--format",
            "raw",
            "token",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), s);
}

#[test]
fn ctrl_c_exits_130_promptly() {
    let fake = Fake::start(Plan::Pending, creds(&[]), "2099-01-01T00:00:00Z");
    let sb = Sandbox::new("int");
    let mut child = sb
        .cmd()
        .args(["request", "--broker", &fake.base, "--key-bits", "2048", "--template", "api_key"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("Fingerprint") {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "stderr closed early: {seen}");
        seen.push_str(&line);
    }
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(sent.elapsed() < Duration::from_secs(2), "took {:?}", sent.elapsed());
    assert_eq!(status.code(), Some(130));
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("ERR_INTERRUPTED"), "{rest}");
}

#[test]
fn completes_with_the_drafts_names_and_slow_down_shape() {
    let s = secret();
    let fake = Fake::start(Plan::DraftSlowDownThenReady, creds(&[("api_key", &s)]), "unused");
    let sb = Sandbox::new("draft");
    let out = request(&sb, &fake.base, &["--template", "api_key", "--format", "raw"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(text(&out.stdout), s);
    assert!(stderr.contains(&format!("{}/connect/{CODE}", fake.base)), "{stderr}");
    assert!(stderr.contains(&format!("or open {}/connect and type the code", fake.base)), "{stderr}");
    assert!(stderr.contains(&fake.received_key().fingerprint().short()));
    assert!(stderr.contains("slow_down"), "{stderr}");
    let seen = fake.seen.lock().unwrap();
    assert_eq!(seen.polls.len(), 2);
    let gap = seen.polls[1] - seen.polls[0];
    assert!(gap >= Duration::from_millis(1950), "did not back off: {gap:?}");
}

#[test]
fn answer_with_none_of_the_asked_fields_delivers_nothing() {
    let s = secret();
    let sb = Sandbox::new("none");
    let fake = Fake::start(Plan::Ready, creds(&[("PATH", "/tmp/evil"), ("token", &s)]), "2099-01-01T00:00:00Z");
    let out = request(
        &sb,
        &fake.base,
        &["--template", "github_token", "--field", "api_key", "--exec", "--", "sh", "-c", "echo ran"],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("none of the fields asked for (api_key)") && stderr.contains("[ERR_BROKER_INVALID_ANSWER]"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "the command must not run");
    assert!(!stderr.contains(&s));
}
