//! `sealpost jwt verify --jwks-url` and `--oidc-issuer` against an in-test HTTP
//! server on 127.0.0.1 (plain http is allowed for loopback hosts only): keys are
//! fetched and used, discovery follows `jwks_uri` and checks `issuer` (OpenID
//! Connect Discovery 1.0, section 4.3), and every fetch failure is a typed error
//! with exit status 1, never a panic.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_sealpost");
const CORE_FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../core/tests/fixtures/jwt");
const CLI_FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/jwt/fixtures");
const NOW: &str = "1800000000";
const KID: &str = "test-1";
/// The CLI reads at most 1 MiB from a key URL.
const MAX_FETCH: usize = 1 << 20;

// ---------------------------------------------------------------- server

struct Answer {
    status: u16,
    body: Vec<u8>,
    location: Option<String>,
}

fn ok(body: impl Into<Vec<u8>>) -> Answer {
    Answer { status: 200, body: body.into(), location: None }
}

fn status(status: u16, body: &str) -> Answer {
    Answer { status, body: body.as_bytes().to_vec(), location: None }
}

fn redirect(to: &str) -> Answer {
    Answer { status: 302, body: Vec::new(), location: Some(to.to_owned()) }
}

type Routes = dyn Fn(&str, &str) -> Answer + Send + Sync;

struct Server {
    base: String,
    hits: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Serve `routes(base, path)`; every request path is recorded.
    fn start(routes: impl Fn(&str, &str) -> Answer + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(Mutex::new(Vec::new()));
        let routes: Arc<Routes> = Arc::new(routes);
        let (hits2, base2) = (hits.clone(), base.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (routes, hits, base) = (routes.clone(), hits2.clone(), base2.clone());
                std::thread::spawn(move || handle(stream, &*routes, &hits, &base));
            }
        });
        Server { base, hits }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }
}

fn handle(mut stream: TcpStream, routes: &Routes, hits: &Mutex<Vec<String>>, base: &str) {
    let Ok(clone) = stream.try_clone() else { return };
    let mut reader = BufReader::new(clone);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    loop {
        let mut h = String::new();
        match reader.read_line(&mut h) {
            Ok(0) | Err(_) => return,
            Ok(_) if h.trim_end().is_empty() => break,
            Ok(_) => {}
        }
    }
    hits.lock().unwrap().push(path.clone());
    let a = routes(base, &path);
    let location = a.location.map(|l| format!("Location: {l}\r\n")).unwrap_or_default();
    let head = format!(
        "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{location}Connection: close\r\n\r\n",
        a.status,
        a.body.len()
    );
    // The client may hang up early (oversized body): write errors are expected.
    let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&a.body)).and_then(|()| stream.flush());
}

// ---------------------------------------------------------------- keys, tokens

/// The public JWK of the P-256 fixture key, from its SPKI PEM.
fn ecp256_jwk() -> Value {
    let pem = std::fs::read_to_string(format!("{CORE_FIXTURES}/ecp256.pub")).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(b64.trim()).unwrap();
    // SPKI of an uncompressed P-256 point: 26 bytes of header, 0x04, X, Y
    assert_eq!((der.len(), der[26]), (91, 0x04), "unexpected SPKI layout");
    json!({"kty": "EC", "crv": "P-256", "kid": KID, "x": URL_SAFE_NO_PAD.encode(&der[27..59]), "y": URL_SAFE_NO_PAD.encode(&der[59..91])})
}

/// Another P-256 key (RFC 7515 A.3) under the same kid.
fn other_jwk() -> Value {
    let mut k: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{CLI_FIXTURES}/rfc-a3.jwk")).unwrap()).unwrap();
    k["kid"] = json!(KID);
    k
}

fn jwks(key: Value) -> String {
    json!({ "keys": [key] }).to_string()
}

/// An ES256 token signed by the P-256 fixture key.
fn token(iss: &str) -> String {
    let claims = json!({"iss": iss, "sub": "user-1", "aud": "api", "iat": "now", "exp": "+1h"}).to_string();
    let out = Command::new(BIN)
        .args(["jwt", "sign", "--now", NOW, "--key", &format!("{CORE_FIXTURES}/ecp256.key")])
        .args(["--header", &json!({"kid": KID}).to_string(), "--claims", &claims])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn verify(source: &[&str], token: &str) -> Output {
    Command::new(BIN).args(["jwt", "verify", "--now", NOW, "--json"]).args(source).arg(token).output().unwrap()
}

fn report(out: &Output) -> Value {
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not a JSON report ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn finding_codes(r: &Value) -> Vec<String> {
    r["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_owned()).collect()
}

/// A refused fetch: exit 1, nothing on stdout, `[CODE]` on stderr, no panic.
fn assert_fails(out: &Output, code: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "expected exit 1 with {code}; stderr: {stderr}");
    assert!(out.stdout.is_empty(), "stdout: {}", String::from_utf8_lossy(&out.stdout));
    assert!(
        stderr.starts_with("sealpost: error: ") && stderr.trim_end().ends_with(&format!("[{code}]")),
        "expected [{code}], got: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn assert_valid(out: &Output) -> Value {
    let r = report(out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}\nfindings: {:?}",
        String::from_utf8_lossy(&out.stderr),
        finding_codes(&r)
    );
    assert_eq!(r["verification"]["status"], "valid", "{}", r["verification"]);
    assert_eq!(r["summary"]["signatureVerified"], true);
    assert_eq!(r["verification"]["key"]["kid"], KID);
    r
}

// ---------------------------------------------------------------- --jwks-url

#[test]
fn jwks_url_key_verifies_the_token() {
    let key = ecp256_jwk();
    let s = Server::start(move |_, path| if path == "/jwks.json" { ok(jwks(key.clone())) } else { status(404, "{}") });
    let out = verify(&["--jwks-url", &s.url("/jwks.json")], &token("https://issuer.example"));
    let r = assert_valid(&out);
    assert_eq!(r["verification"]["key"]["source"], "jwks[0]");
    assert!(!finding_codes(&r).iter().any(|c| c.starts_with("JWT_SIGNATURE") || c == "JWT_NO_MATCHING_KEY"));
    assert_eq!(s.hits(), ["/jwks.json"]);
}

#[test]
fn jwks_url_with_another_key_is_a_signature_failure() {
    let key = other_jwk();
    let s = Server::start(move |_, _| ok(jwks(key.clone())));
    let out = verify(&["--jwks-url", &s.url("/jwks.json")], &token("https://issuer.example"));
    let r = report(&out);
    assert_eq!(out.status.code(), Some(10), "a critical finding exits 10");
    assert_ne!(r["verification"]["status"], "valid");
    assert_eq!(r["summary"]["signatureVerified"], false);
    assert!(finding_codes(&r).contains(&"JWT_SIGNATURE_INVALID".to_owned()), "{:?}", finding_codes(&r));
}

#[test]
fn jwks_url_at_an_openid_configuration_follows_jwks_uri() {
    let key = ecp256_jwk();
    let s = Server::start(move |base, path| match path {
        "/.well-known/openid-configuration" => {
            ok(json!({"issuer": base, "jwks_uri": format!("{base}/keys")}).to_string())
        }
        "/keys" => ok(jwks(key.clone())),
        _ => status(404, "{}"),
    });
    assert_valid(&verify(&["--jwks-url", &s.url("/.well-known/openid-configuration")], &token(&s.base)));
    assert_eq!(s.hits(), ["/.well-known/openid-configuration", "/keys"]);
}

#[test]
fn redirects_are_followed_on_loopback_only() {
    let key = ecp256_jwk();
    let s = Server::start(move |_, path| match path {
        "/old" => redirect("/jwks.json"),
        "/away" => redirect("http://issuer.example/jwks.json"),
        "/loop" => redirect("/loop"),
        "/jwks.json" => ok(jwks(key.clone())),
        _ => status(404, "{}"),
    });
    let t = token("https://issuer.example");
    assert_valid(&verify(&["--jwks-url", &s.url("/old")], &t));
    // a redirect to plain http on another host is refused before it is followed
    let e = assert_fails(&verify(&["--jwks-url", &s.url("/away")], &t), "ERR_JWT_URL");
    assert!(e.contains("http://issuer.example/jwks.json"), "{e}");
    let e = assert_fails(&verify(&["--jwks-url", &s.url("/loop")], &t), "ERR_JWT_FETCH");
    assert!(e.contains("redirects"), "{e}");
    assert!(!s.hits().iter().any(|h| h.contains("issuer.example")));
}

// ---------------------------------------------------------------- --oidc-issuer

#[test]
fn oidc_issuer_discovery_follows_jwks_uri() {
    let key = ecp256_jwk();
    let s = Server::start(move |base, path| match path {
        "/.well-known/openid-configuration" => ok(json!({
            "issuer": base,
            "jwks_uri": format!("{base}/oauth/keys.json"),
            "authorization_endpoint": format!("{base}/authorize"),
        })
        .to_string()),
        "/oauth/keys.json" => ok(jwks(key.clone())),
        _ => status(404, "{}"),
    });
    let r = assert_valid(&verify(&["--oidc-issuer", &s.base], &token(&s.base)));
    assert_eq!(r["payload"]["iss"], s.base.as_str());
    assert_eq!(s.hits(), ["/.well-known/openid-configuration", "/oauth/keys.json"]);
}

#[test]
fn oidc_issuer_is_the_expected_iss_unless_iss_is_given() {
    let key = ecp256_jwk();
    let s = Server::start(move |base, path| match path {
        "/.well-known/openid-configuration" => ok(json!({"issuer": base, "jwks_uri": format!("{base}/k")}).to_string()),
        "/k" => ok(jwks(key.clone())),
        _ => status(404, "{}"),
    });
    // Signed by the issuer's key but naming another issuer: high finding, exit 10.
    let out = verify(&["--oidc-issuer", &s.base], &token("https://other.example"));
    let r = report(&out);
    assert_eq!(out.status.code(), Some(10), "findings: {:?}", finding_codes(&r));
    assert_eq!(r["verification"]["status"], "valid");
    assert!(finding_codes(&r).contains(&"JWT_ISS_MISMATCH".to_owned()), "{:?}", finding_codes(&r));
    // An explicit --iss replaces the discovered issuer as the expectation.
    assert_valid(&verify(
        &["--oidc-issuer", &s.base, "--iss", "https://other.example"],
        &token("https://other.example"),
    ));
}

#[test]
fn oidc_issuer_with_a_path() {
    let key = ecp256_jwk();
    let s = Server::start(move |base, path| match path {
        "/tenant/v2/.well-known/openid-configuration" => {
            ok(json!({"issuer": format!("{base}/tenant/v2/"), "jwks_uri": format!("{base}/k")}).to_string())
        }
        "/k" => ok(jwks(key.clone())),
        _ => status(404, "{}"),
    });
    // the trailing slash is removed before the well-known suffix, and kept in the comparison
    let issuer = s.url("/tenant/v2/");
    assert_valid(&verify(&["--oidc-issuer", &issuer], &token(&issuer)));
    assert_eq!(s.hits(), ["/tenant/v2/.well-known/openid-configuration", "/k"]);
}

#[test]
fn oidc_issuer_mismatch_is_refused() {
    let key = ecp256_jwk();
    let s = Server::start(move |base, path| match path {
        "/a/.well-known/openid-configuration" => {
            ok(json!({"issuer": "https://attacker.example", "jwks_uri": format!("{base}/keys")}).to_string())
        }
        "/b/.well-known/openid-configuration" => {
            ok(json!({"issuer": format!("{base}/b/"), "jwks_uri": format!("{base}/keys")}).to_string())
        }
        "/c/.well-known/openid-configuration" => ok(json!({"jwks_uri": format!("{base}/keys")}).to_string()),
        "/d/.well-known/openid-configuration" => {
            ok(json!({"issuer": 42, "jwks_uri": format!("{base}/keys")}).to_string())
        }
        "/keys" => ok(jwks(key.clone())),
        _ => status(404, "{}"),
    });
    let t = token("https://issuer.example");
    let e = assert_fails(&verify(&["--oidc-issuer", &s.url("/a")], &t), "ERR_JWT_ISSUER_MISMATCH");
    assert!(e.contains("\"https://attacker.example\"") && e.contains(&s.url("/a")), "{e}");
    // identical means identical: a trailing slash is a different issuer
    assert_fails(&verify(&["--oidc-issuer", &s.url("/b")], &t), "ERR_JWT_ISSUER_MISMATCH");
    let e = assert_fails(&verify(&["--oidc-issuer", &s.url("/c")], &t), "ERR_JWT_ISSUER_MISMATCH");
    assert!(e.contains("(none)"), "{e}");
    assert_fails(&verify(&["--oidc-issuer", &s.url("/d")], &t), "ERR_JWT_ISSUER_MISMATCH");
    // the keys of a refused configuration are never fetched
    assert!(!s.hits().contains(&"/keys".to_owned()), "{:?}", s.hits());
}

#[test]
fn oidc_configuration_without_jwks_uri() {
    let s = Server::start(|base, _| ok(json!({"issuer": base}).to_string()));
    assert_fails(&verify(&["--oidc-issuer", &s.base], &token(&s.base)), "ERR_JWT_DISCOVERY");
}

// ---------------------------------------------------------------- failures

#[test]
fn http_failures_have_typed_codes() {
    let s = Server::start(|_, path| match path {
        "/404" => status(404, r#"{"error":"not found"}"#),
        "/500" => status(500, "oops"),
        "/not-json" => ok("<html>keys</html>"),
        "/empty" => ok(""),
        "/huge" => ok(format!(r#"{{"keys":[],"pad":"{}"}}"#, "a".repeat(2 * MAX_FETCH))),
        "/just-over" => ok(format!(r#"{{"keys":[],"pad":"{}"}}"#, "a".repeat(MAX_FETCH + 1 - 20))),
        "/not-a-jwks" => ok(r#"{"keys":"nope"}"#),
        "/array" => ok("[1,2,3]"),
        "/.well-known/openid-configuration" => status(500, "down"),
        _ => status(404, "{}"),
    });
    let t = token("https://issuer.example");
    let url = |p: &str| s.url(p);
    let e = assert_fails(&verify(&["--jwks-url", &url("/404")], &t), "ERR_JWT_FETCH_STATUS");
    assert!(e.contains("HTTP 404"), "{e}");
    let e = assert_fails(&verify(&["--jwks-url", &url("/500")], &t), "ERR_JWT_FETCH_STATUS");
    assert!(e.contains("HTTP 500"), "{e}");
    assert_fails(&verify(&["--oidc-issuer", &s.base], &t), "ERR_JWT_FETCH_STATUS");
    assert_fails(&verify(&["--jwks-url", &url("/not-json")], &t), "ERR_JWT_FETCH_NOT_JSON");
    assert_fails(&verify(&["--jwks-url", &url("/empty")], &t), "ERR_JWT_FETCH_NOT_JSON");
    let e = assert_fails(&verify(&["--jwks-url", &url("/huge")], &t), "ERR_JWT_FETCH_TOO_LARGE");
    assert!(e.contains("1048576 bytes"), "{e}");
    assert_fails(&verify(&["--jwks-url", &url("/just-over")], &t), "ERR_JWT_FETCH_TOO_LARGE");
    // JSON, but no keys in it: the key parser's own code
    assert_fails(&verify(&["--jwks-url", &url("/not-a-jwks")], &t), "ERR_JWT_KEY_MALFORMED");
    assert_fails(&verify(&["--jwks-url", &url("/array")], &t), "ERR_JWT_KEY_MALFORMED");
}

#[test]
fn a_body_at_the_limit_is_read() {
    let key = ecp256_jwk();
    let s = Server::start(move |_, _| {
        let body = jwks(key.clone());
        let pad = MAX_FETCH - body.len() - r#","pad":"""#.len();
        ok(format!(r#"{},"pad":"{}"}}"#, &body[..body.len() - 1], "a".repeat(pad)))
    });
    assert_valid(&verify(&["--jwks-url", &s.url("/jwks.json")], &token("https://issuer.example")));
}

#[test]
fn unreachable_server() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e =
        assert_fails(&verify(&["--jwks-url", &format!("http://127.0.0.1:{port}/jwks.json")], "x.y.z"), "ERR_JWT_FETCH");
    assert!(e.contains(&format!("127.0.0.1:{port}")), "{e}");
}

#[test]
fn plain_http_is_refused_for_non_loopback_hosts() {
    // refused before any connection is attempted (these hosts do not resolve anyway)
    for url in [
        "http://issuer.example/jwks.json",
        "http://127.0.0.1.issuer.example/jwks.json",
        "http://127.0.0.1@issuer.example/jwks.json",
        "ftp://127.0.0.1/jwks.json",
        "jwks.json",
    ] {
        assert_fails(&verify(&["--jwks-url", url], "x.y.z"), "ERR_JWT_URL");
    }
    assert_fails(&verify(&["--oidc-issuer", "http://issuer.example"], "x.y.z"), "ERR_JWT_URL");
    // a loopback configuration may not send us to plain http elsewhere
    let s = Server::start(|base, _| ok(json!({"issuer": base, "jwks_uri": "http://issuer.example/keys"}).to_string()));
    assert_fails(&verify(&["--oidc-issuer", &s.base], "x.y.z"), "ERR_JWT_URL");
    assert_fails(&verify(&["--jwks-url", &s.url("/.well-known/openid-configuration")], "x.y.z"), "ERR_JWT_URL");
}
