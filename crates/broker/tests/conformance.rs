//! Every endpoint and status of docs/protocol.md over real HTTP against the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Broker, CSP, EC_P256, RSA_1024, TempDir, http, public_key_wire};
use serde_json::json;
use sha2::{Digest, Sha256};

fn hex_sha256(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Headers of every response; API answers are never stored by any cache.
fn assert_security_headers(r: &common::Resp) {
    assert_static_security_headers(r);
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

/// The same headers on static files, which are revalidated instead.
fn assert_static_security_headers(r: &common::Resp) {
    assert_eq!(r.header("content-security-policy"), Some(CSP));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert!(r.header("access-control-allow-origin").is_none());
    assert!(r.headers.iter().all(|(k, _)| !k.to_ascii_lowercase().starts_with("access-control-")));
}

#[test]
fn create_session_both_spellings_and_validation() {
    let dir = TempDir::new("create");
    let b = Broker::start(&dir.0, &[]);
    let r = b.post_json("/v1/sessions", &json!({"public_key": public_key_wire(), "template": "api_key"}));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_security_headers(&r);
    assert!(r.header("strict-transport-security").is_none());
    let v = r.json();
    let code = v["code"].as_str().unwrap();
    assert_eq!(v["user_code"], code);
    assert_eq!(code.len(), 9);
    assert_eq!(&code[4..5], "-");
    assert_eq!(v["session_id"], hex_sha256(&code.replace('-', "")));
    assert_eq!(v["url"], format!("{}/connect/{code}", b.url));
    assert_eq!(v["verification_uri_complete"], v["url"]);
    assert_eq!(v["verification_uri"], format!("{}/connect", b.url));
    let pt = v["poll_token"].as_str().unwrap();
    assert!(pt.starts_with("pt_") && pt.len() == 46, "{pt}");
    assert_eq!(v["interval"], 5);
    let exp = v["expires_at"].as_str().unwrap();
    assert!(exp.ends_with('Z') && exp.len() == 20, "{exp}");

    // Invalid keys: 400 with the core's stable codes.
    for (key, code) in [
        ("not base64!!", "ERR_KEY_MALFORMED"),
        ("aGVsbG8=", "ERR_KEY_MALFORMED"),
        (RSA_1024, "ERR_KEY_TOO_SMALL"),
        (EC_P256, "ERR_KEY_NOT_RSA"),
    ] {
        b.post_json("/v1/sessions", &json!({"public_key": key, "template": "api_key"})).problem(400, code);
    }
    let pk = public_key_wire();
    b.post_json("/v1/sessions", &json!({"public_key": pk})).problem(400, "ERR_TEMPLATE_UNKNOWN");
    b.post_json("/v1/sessions", &json!({"public_key": pk, "template": "nope"})).problem(400, "ERR_TEMPLATE_UNKNOWN");
    let many: Vec<_> = (0..33).map(|i| json!({"name": format!("f{i}"), "label": "F"})).collect();
    b.post_json("/v1/sessions", &json!({"public_key": pk, "fields": many})).problem(400, "ERR_TOO_MANY_FIELDS");
    let dup = json!([{"name": "a", "label": "A"}, {"name": "a", "label": "B"}]);
    b.post_json("/v1/sessions", &json!({"public_key": pk, "fields": dup})).problem(400, "ERR_FIELDS_INVALID");
    let sel = json!([{"name": "a", "label": "A", "type": "select"}]);
    b.post_json("/v1/sessions", &json!({"public_key": pk, "fields": sel})).problem(400, "ERR_FIELDS_INVALID");
    b.post_json("/v1/sessions", &json!({"public_key": pk, "oauth_provider": "google", "oauth_scopes": ["email"]}))
        .problem(400, "ERR_OAUTH_UNSUPPORTED");
    b.post_json("/v1/sessions", &json!({"template": "api_key"})).problem(400, "ERR_BAD_REQUEST");
    b.post_json("/v1/sessions", &json!({"public_key": pk, "template": "api_key", "inbox": "ib_aaaaaaaaaaaaaaaa"}))
        .problem(400, "ERR_SENDER_REQUIRED");
    b.post_json("/v1/sessions", &json!({"public_key": pk, "template": "api_key", "inbox": "is_nope"}))
        .problem(403, "ERR_SENDER_INVALID");
    // Body handling: not JSON, wrong media type, too large.
    http(&b.addr, "POST", "/v1/sessions", &[("Content-Type", "application/json")], Some(b"{nope"))
        .problem(400, "ERR_BAD_REQUEST");
    http(&b.addr, "POST", "/v1/sessions", &[("Content-Type", "text/plain")], Some(b"{}"))
        .problem(415, "ERR_UNSUPPORTED_MEDIA_TYPE");
    let big = format!(r#"{{"public_key":"{}"}}"#, "A".repeat(70 * 1024));
    http(&b.addr, "POST", "/v1/sessions", &[("Content-Type", "application/json")], Some(big.as_bytes()))
        .problem(413, "ERR_BODY_TOO_LARGE");

    // TTL is capped; custom fields are kept as sent.
    let v = b.create(json!({"ttl": 999_999, "template": null,
        "fields": [{"name": "token", "label": "Token", "type": "textarea", "required": false}]}));
    let r = b.get(&format!("/v1/connect/{}", v["code"].as_str().unwrap()));
    assert_eq!(r.status, 200, "{}", r.body);
    let c = r.json();
    assert_eq!(c["fields"], json!([{"name": "token", "label": "Token", "type": "textarea", "required": false}]));
    assert_eq!(c["display_name"], "Custom Credentials");
}

#[test]
fn poll_statuses() {
    let dir = TempDir::new("poll");
    let b = Broker::start(&dir.0, &[]);
    let s = b.create(json!({}));
    let id = s["session_id"].as_str().unwrap();
    let pt = s["poll_token"].as_str().unwrap();
    let path = format!("/v1/sessions/{id}");

    let r = b.get(&path);
    let p = r.problem(401, "ERR_UNAUTHORIZED");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    assert_eq!(p["type"], "about:blank");
    http(&b.addr, "GET", &path, &[("Authorization", "Basic abc")], None).problem(401, "ERR_UNAUTHORIZED");
    b.get_auth(&path, "pt_wrong").problem(403, "ERR_TOKEN_INVALID");
    let unknown = hex_sha256("ZZZZ0000");
    let p = b.get_auth(&format!("/v1/sessions/{unknown}"), pt).problem(404, "ERR_SESSION_NOT_FOUND");
    assert_eq!(p["title"], "Session Not Found");
    assert_eq!(p["detail"], "Session not found or expired.");
    b.get_auth("/v1/sessions/not-hex", pt).problem(404, "ERR_SESSION_NOT_FOUND");

    let r = b.get_auth(&path, pt);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_security_headers(&r);
    let v = r.json();
    assert_eq!(v["status"], "pending");
    assert_eq!(v["interval"], 5);
    assert_eq!(v["expires_at"], s["expires_at"]);
    assert!(v.get("ciphertext").is_none());

    // Faster than the interval: slow_down in both spellings, with a larger interval.
    let r = b.get_auth(&path, pt);
    let p = r.problem(429, "ERR_SLOW_DOWN");
    assert_eq!(p["type"], "urn:ietf:params:oauth:error:slow_down");
    assert_eq!(p["error"], "slow_down");
    assert_eq!(p["interval"], 10);
    assert!(r.header("retry-after").is_some());

    // Expiry: a 1-second session is 404 everywhere once its TTL passed.
    let short = b.create(json!({"ttl": 1}));
    std::thread::sleep(std::time::Duration::from_millis(1300));
    let sid = short["session_id"].as_str().unwrap();
    b.get_auth(&format!("/v1/sessions/{sid}"), short["poll_token"].as_str().unwrap())
        .problem(404, "ERR_SESSION_NOT_FOUND");
    b.get(&format!("/v1/connect/{}", short["code"].as_str().unwrap())).problem(404, "ERR_SESSION_NOT_FOUND");
    b.post_empty(&format!("/v1/connect/{}/confirm", short["code"].as_str().unwrap()))
        .problem(404, "ERR_SESSION_NOT_FOUND");
}

#[test]
fn connect_confirm_complete_lifecycle() {
    let dir = TempDir::new("lifecycle");
    // This test looks the same code up more than 10 times on purpose.
    let b = Broker::start(&dir.0, &["--poll-interval", "0", "--connect-rate", "100"]);
    let s = b.create(json!({"template": "aws", "agent_name": "deploy-bot", "reason": "ship it", "envelope": "jwe"}));
    let code = s["code"].as_str().unwrap();
    let id = s["session_id"].as_str().unwrap();
    let pt = s["poll_token"].as_str().unwrap();

    // Lookups accept lower case and a missing hyphen.
    for spelling in [code.to_owned(), code.to_lowercase(), code.replace('-', "")] {
        let r = b.get(&format!("/v1/connect/{spelling}"));
        assert_eq!(r.status, 200, "{}", r.body);
        assert_security_headers(&r);
        let v = r.json();
        assert_eq!(v["status"], "pending");
        assert_eq!(v["code"], code);
        assert_eq!(v["template_type"], "form");
        assert_eq!(v["display_name"], "AWS Credentials");
        assert_eq!(v["public_key"], public_key_wire());
        assert_eq!(v["fields"].as_array().unwrap().len(), 3);
        assert_eq!(v["fields"][2]["name"], "region");
        assert_eq!(v["fields"][2]["required"], false);
        assert_eq!(v["security"]["mode"], "development");
        assert_eq!(v["agent_name"], "deploy-bot");
        assert_eq!(v["reason"], "ship it");
        assert_eq!(v["envelope"], "jwe");
        assert_eq!(v["expires_at"], s["expires_at"]);
        assert!(v.get("session_id").is_none());
    }
    // Resolve: both field names.
    let r = b.post_json("/v1/connect/resolve", &json!({"user_code": code.to_lowercase()}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["code"], code);
    let r = b.post_json("/v1/connect/resolve", &json!({"code": code}));
    assert_eq!(r.status, 200, "{}", r.body);
    b.post_json("/v1/connect/resolve", &json!({"user_code": "ZZZZ-0000"})).problem(404, "ERR_SESSION_NOT_FOUND");
    b.get("/v1/connect/ZZZZ-0000").problem(404, "ERR_SESSION_NOT_FOUND");
    b.post_empty("/v1/connect/ZZZZ-0000/confirm").problem(404, "ERR_SESSION_NOT_FOUND");

    // Complete before confirm: there is no connect token yet.
    b.complete(code, "ct_guess", "Y3Q=", "JWE").problem(403, "ERR_TOKEN_INVALID");

    let ct = b.confirm(code);
    assert!(ct.starts_with("ct_") && ct.len() == 46);
    b.post_empty(&format!("/v1/connect/{code}/confirm")).problem(409, "ERR_SESSION_STATE");
    // Locked after confirmation.
    b.get(&format!("/v1/connect/{code}")).problem(404, "ERR_SESSION_NOT_FOUND");
    let v = b.get_auth(&format!("/v1/sessions/{id}"), pt).json();
    assert_eq!(v["status"], "confirmed");

    b.complete(code, "ct_wrong", "Y3Q=", "JWE").problem(403, "ERR_TOKEN_INVALID");
    b.post_json(&format!("/v1/connect/{code}/complete"), &json!({"ciphertext": "Y3Q="}))
        .problem(403, "ERR_TOKEN_INVALID");
    b.complete(code, &ct, &"A".repeat(33 * 1024), "JWE").problem(413, "ERR_CIPHERTEXT_TOO_LARGE");
    b.complete("ZZZZ-0000", &ct, "Y3Q=", "JWE").problem(404, "ERR_SESSION_NOT_FOUND");

    let r = b.complete(code, &ct, "opaque.jwe.value.here.x", "JWE");
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(r.body.is_empty());
    b.complete(code, &ct, "again", "JWE").problem(409, "ERR_SESSION_STATE");
    b.get(&format!("/v1/connect/{code}")).problem(410, "ERR_SESSION_COMPLETED");
    b.post_empty(&format!("/v1/connect/{code}/confirm")).problem(409, "ERR_SESSION_STATE");

    // Poll: ready exactly once with the algorithm the browser sent, then consumed.
    let v = b.get_auth(&format!("/v1/sessions/{id}"), pt).json();
    assert_eq!(v["status"], "ready");
    assert_eq!(v["ciphertext"], "opaque.jwe.value.here.x");
    assert_eq!(v["algorithm"], "JWE");
    let v = b.get_auth(&format!("/v1/sessions/{id}"), pt).json();
    assert_eq!(v["status"], "consumed");
    assert!(v.get("ciphertext").is_none() && v.get("algorithm").is_none());
    b.get(&format!("/v1/connect/{code}")).problem(410, "ERR_SESSION_COMPLETED");
}

#[test]
fn inbox_list_and_decline() {
    let dir = TempDir::new("inbox");
    let b = Broker::start(&dir.0, &["--poll-interval", "0", "--max-inbox-sessions", "2"]);
    let (inbox, token) = b.new_inbox();
    let (inbox, token) = (inbox.as_str(), token.as_str());
    assert!(inbox.starts_with("ib_") && inbox.len() == 19);
    assert!(token.starts_with("it_") && token.len() == 46);
    let sender = b.add_sender(inbox, token, "CI runner");
    let cred = sender["sender_credential"].as_str().unwrap();

    let s1 = b.create(json!({"inbox": cred, "agent_name": "ci", "reason": "deploy", "display_name": "Prod key"}));
    let s2 = b.create(json!({"inbox": cred}));
    // Cap on pending requests per inbox.
    b.post_json("/v1/sessions", &json!({"public_key": public_key_wire(), "template": "api_key", "inbox": cred}))
        .problem(429, "ERR_INBOX_FULL");

    let list_path = format!("/v1/inboxes/{inbox}/requests");
    let r = b.get(&list_path);
    r.problem(401, "ERR_UNAUTHORIZED");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    b.get_auth(&list_path, "it_wrong").problem(403, "ERR_TOKEN_INVALID");
    b.get_auth("/v1/inboxes/ib_aaaaaaaaaaaaaaaa/requests", token).problem(404, "ERR_INBOX_NOT_FOUND");
    let r = b.get_auth(&list_path, token);
    assert_eq!(r.status, 200, "{}", r.body);
    let list = r.json();
    let items = list.as_array().unwrap();
    assert_eq!(items.len(), 2);
    let first = &items[0];
    assert_eq!(first["code"], s1["code"]);
    assert_eq!(first["display_name"], "Prod key");
    assert_eq!(first["agent_name"], "ci");
    assert_eq!(first["reason"], "deploy");
    assert_eq!(first["template_type"], "form");
    assert_eq!(first["public_key"], public_key_wire());
    assert_eq!(first["fields"][0]["name"], "api_key");
    assert!(first["created_at"].is_string() && first["expires_at"] == s1["expires_at"]);
    assert!(first.get("ciphertext").is_none() && first.get("poll_token").is_none());

    // Decline s1: the agent's next poll is a 404 titled "Request Declined".
    let code1 = s1["code"].as_str().unwrap();
    let del = |code: &str, tok: &str| {
        http(
            &b.addr,
            "DELETE",
            &format!("/v1/inboxes/{inbox}/requests/{code}"),
            &[("Authorization", &format!("Bearer {tok}"))],
            None,
        )
    };
    del(code1, "it_wrong").problem(403, "ERR_TOKEN_INVALID");
    let r = del(code1, token);
    assert_eq!(r.status, 204, "{}", r.body);
    del(code1, token).problem(404, "ERR_SESSION_NOT_FOUND");
    let p = b
        .get_auth(&format!("/v1/sessions/{}", s1["session_id"].as_str().unwrap()), s1["poll_token"].as_str().unwrap())
        .problem(404, "ERR_REQUEST_DECLINED");
    assert_eq!(p["title"], "Request Declined");
    b.get(&format!("/v1/connect/{code1}")).problem(404, "ERR_SESSION_NOT_FOUND");
    b.post_empty(&format!("/v1/connect/{code1}/confirm")).problem(404, "ERR_SESSION_NOT_FOUND");

    // s2 completed through the ordinary browser API is no longer listed; declining it is 409.
    let code2 = s2["code"].as_str().unwrap();
    let ct = b.confirm(code2);
    assert_eq!(b.complete(code2, &ct, "Y3Q=", "RSA-OAEP-256+AES-256-GCM").status, 204);
    del(code2, token).problem(409, "ERR_SESSION_STATE");
    assert_eq!(b.get_auth(&list_path, token).json(), json!([]));
    // A session of another inbox is not found through this one.
    let (_, _, other) = b.inbox_with_sender("other");
    let s3 = b.create(json!({"inbox": other}));
    del(s3["code"].as_str().unwrap(), token).problem(404, "ERR_SESSION_NOT_FOUND");
}

#[test]
fn api_keys_guard_agent_endpoints_only() {
    let dir = TempDir::new("apikey");
    let b = Broker::start(&dir.0, &["--api-key", "k-one", "--api-key", "k-two"]);
    let body = json!({"public_key": public_key_wire(), "template": "api_key"}).to_string();
    let post = |headers: &[(&str, &str)]| {
        let mut h = vec![("Content-Type", "application/json")];
        h.extend_from_slice(headers);
        http(&b.addr, "POST", "/v1/sessions", &h, Some(body.as_bytes()))
    };
    post(&[]).problem(401, "ERR_API_KEY_REQUIRED");
    post(&[("X-API-Key", "k-three")]).problem(403, "ERR_API_KEY_INVALID");
    let r = post(&[("X-API-Key", "k-two")]);
    assert_eq!(r.status, 201, "{}", r.body);
    let s = r.json();
    let path = format!("/v1/sessions/{}", s["session_id"].as_str().unwrap());
    let auth = format!("Bearer {}", s["poll_token"].as_str().unwrap());
    http(&b.addr, "GET", &path, &[("Authorization", &auth)], None).problem(401, "ERR_API_KEY_REQUIRED");
    let r = http(&b.addr, "GET", &path, &[("Authorization", &auth), ("X-API-Key", "k-one")], None);
    assert_eq!(r.status, 200, "{}", r.body);
    // Browser endpoints need no key.
    assert_eq!(b.get(&format!("/v1/connect/{}", s["code"].as_str().unwrap())).status, 200);
    assert!(!b.log_text().contains("k-one") && !b.log_text().contains("k-two"));
}

#[test]
fn static_files_headers_and_fallbacks() {
    let dir = TempDir::new("static");
    let www = dir.0.join("www");
    let pkg = dir.0.join("pkg");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(www.join("index.html"), "<!doctype html><title>consent</title>").unwrap();
    std::fs::write(www.join("app.js"), "export {}").unwrap();
    std::fs::write(www.join("style.css"), "body{}").unwrap();
    std::fs::write(www.join("logo.svg"), "<svg/>").unwrap();
    std::fs::write(pkg.join("sealpost_wasm_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(dir.0.join("secret.txt"), "outside").unwrap();
    let b = Broker::start(
        &dir.0,
        &[
            "--www-dir",
            www.to_str().unwrap(),
            "--bundle-dir",
            pkg.to_str().unwrap(),
            "--public-url",
            "https://broker.example",
        ],
    );
    for path in ["/connect", "/connect/ABCD-1234"] {
        let r = b.get(path);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert!(r.body.contains("consent"));
        assert_static_security_headers(&r);
        // One request's state is written into the page (src/page.rs): never stored.
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(r.header("strict-transport-security"), Some("max-age=31536000"));
    }
    let r = b.get("/assets/app.js");
    assert_eq!(r.header("content-type"), Some("text/javascript; charset=utf-8"));
    assert_eq!(b.get("/assets/style.css").header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(b.get("/assets/logo.svg").header("content-type"), Some("image/svg+xml"));
    let r = b.get("/pkg/sealpost_wasm_bg.wasm");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/wasm"));
    for bad in [
        "/assets/../secret.txt",
        "/assets/..%2fsecret.txt",
        "/assets/%2e%2e%2fsecret.txt",
        "/assets/.hidden",
        "/pkg/missing.wasm",
    ] {
        let r = b.get(bad);
        assert_eq!(r.status, 404, "{bad}");
        assert!(!r.body.contains("outside"));
    }
    b.get("/nope").problem(404, "ERR_NOT_FOUND");
    http(&b.addr, "PUT", "/v1/sessions", &[], None).problem(405, "ERR_METHOD_NOT_ALLOWED");
    // The public URL drives links and the security mode.
    let s = b.create(json!({}));
    assert!(s["url"].as_str().unwrap().starts_with("https://broker.example/connect/"));
    let v = b.get(&format!("/v1/connect/{}", s["code"].as_str().unwrap())).json();
    assert_eq!(v["security"]["mode"], "production");
    assert_eq!(v["security"]["secure"], true);
}

#[test]
fn caps_and_creation_rate() {
    let dir = TempDir::new("caps");
    let b = Broker::start(&dir.0, &["--max-open-sessions", "2", "--create-rate", "3"]);
    b.create(json!({}));
    b.create(json!({}));
    let r = b.post_json("/v1/sessions", &json!({"public_key": public_key_wire(), "template": "api_key"}));
    r.problem(503, "ERR_CAPACITY");
    let r = b.post_json("/v1/sessions", &json!({"public_key": public_key_wire(), "template": "api_key"}));
    r.problem(429, "ERR_RATE_LIMITED");
    assert!(r.header("retry-after").is_some());
}

#[test]
fn json_logs_and_graceful_shutdown() {
    let dir = TempDir::new("shutdown");
    let mut b = Broker::start(&dir.0, &["--log-format", "json"]);
    let s = b.create(json!({}));
    assert!(b.terminate(), "broker did not exit cleanly on SIGTERM");
    let log = b.log_text();
    assert!(!log.is_empty());
    for line in log.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    // The committed session survived the restart.
    let b2 = Broker::start(&dir.0, &[]);
    let r = b2.get(&format!("/v1/connect/{}", s["code"].as_str().unwrap()));
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Raw bytes on a fresh connection; the response as read until close.
fn raw_exchange(addr: &str, request: &[u8]) -> common::Resp {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let _ = s.write_all(request);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    common::parse_response(&raw)
}

#[test]
fn hypers_own_400_414_431_carry_the_security_headers() {
    let dir = TempDir::new("hyper-errors");
    let b = Broker::start(&dir.0, &[]);
    // 431: more header fields than the parser takes.
    let mut req = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n", b.addr);
    for i in 0..200 {
        req.push_str(&format!("X-Filler-{i}: {}\r\n", "a".repeat(50)));
    }
    req.push_str("\r\n");
    let r = raw_exchange(&b.addr, req.as_bytes());
    assert_eq!(r.status, 431, "{r:?}");
    assert_security_headers(&r);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    // 414: a URI longer than the parser takes.
    let r = raw_exchange(&b.addr, format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000)).as_bytes());
    assert_eq!(r.status, 414, "{r:?}");
    assert_security_headers(&r);
    // 400: a request line that is not HTTP.
    let r = raw_exchange(&b.addr, b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n");
    assert_eq!(r.status, 400, "{r:?}");
    assert_security_headers(&r);
    // After a good request on the same connection, too.
    let r = raw_exchange(
        &b.addr,
        format!("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\n{}\r\n", "Bad\r\n").as_bytes(),
    );
    assert_eq!(r.status, 200);
    // The broker still serves.
    assert_eq!(b.get("/healthz").status, 200);
}
