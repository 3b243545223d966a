//! LinkAuth webhook relay (issue 14) and the create response fields of both
//! LinkAuth options, against the real broker binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Broker, TempDir, agent_key, http};
use sealpost_core::envelope;

/// `(path and query of the webhook_url, create response)`.
fn webhook_session(b: &Broker, extra: serde_json::Value) -> (String, serde_json::Value) {
    let created = b.create(extra);
    let url = created["webhook_url"].as_str().expect("webhook_url").to_owned();
    let path = url.strip_prefix(&b.url).expect("webhook_url on the broker's base URL").to_owned();
    (path, created)
}

fn post(b: &Broker, path: &str, headers: &[(&str, &str)], body: &[u8]) -> common::Resp {
    http(&b.addr, "POST", path, headers, Some(body))
}

fn poll(b: &Broker, created: &serde_json::Value) -> serde_json::Value {
    let sid = created["session_id"].as_str().unwrap();
    let r = b.get_auth(&format!("/v1/sessions/{sid}"), created["poll_token"].as_str().unwrap());
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

#[test]
fn create_response_fields_follow_linkauth() {
    let dir = TempDir::new("wh-fields");
    let b = Broker::start(&dir.0, &[]);
    let plain = b.create(serde_json::json!({}));
    let mut keys: Vec<&str> = plain.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    // LinkAuth create response (reference and draft spellings), nothing more without the options.
    assert_eq!(
        keys,
        [
            "code",
            "expires_at",
            "interval",
            "poll_token",
            "session_id",
            "url",
            "user_code",
            "verification_uri",
            "verification_uri_complete"
        ]
    );

    let rx = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let cb = format!("http://{}/cb", rx.local_addr().unwrap());
    let both = b.create(serde_json::json!({"callback_url": cb, "enable_webhook": true}));
    let sid = both["session_id"].as_str().unwrap();
    let secret = both["callback_secret"].as_str().expect("callback_secret");
    assert!(secret.starts_with("cs_") && secret.len() == 46, "{secret}");
    let url = both["webhook_url"].as_str().expect("webhook_url");
    let prefix = format!("{}/v1/sessions/{sid}/webhook?token=wt_", b.url);
    assert!(url.starts_with(&prefix), "{url}");
    assert_eq!(url.len(), prefix.len() + 43, "{url}");
    for k in [
        "session_id",
        "code",
        "user_code",
        "url",
        "verification_uri_complete",
        "verification_uri",
        "poll_token",
        "expires_at",
        "interval",
    ] {
        assert!(both.get(k).is_some(), "{k} missing: {both}");
    }
    // Each session gets its own secrets.
    let other = b.create(serde_json::json!({"callback_url": cb, "enable_webhook": true}));
    assert_ne!(other["callback_secret"], both["callback_secret"]);
    assert_ne!(other["webhook_url"], both["webhook_url"]);
    // `enable_webhook: false` and an empty callback_url add nothing.
    let none = b.create(serde_json::json!({"enable_webhook": false, "callback_url": ""}));
    assert!(none.get("webhook_url").is_none() && none.get("callback_secret").is_none(), "{none}");
}

#[test]
fn relayed_webhook_is_sealed_to_the_agent_and_delivered_once() {
    let dir = TempDir::new("wh-relay");
    let b = Broker::start(&dir.0, &["--poll-interval", "0"]);
    // A webhook-only session: no template, no fields.
    let (path, created) = webhook_session(&b, serde_json::json!({"template": null, "enable_webhook": true}));
    // No form for a person: the consent page has nothing to show.
    assert_eq!(b.get(&format!("/v1/connect/{}", created["code"].as_str().unwrap())).status, 404);
    assert_eq!(poll(&b, &created)["status"], "pending");

    let event = br#"{"action":"completed","id":42}"#;
    let r = post(
        &b,
        &path,
        &[
            ("Content-Type", "application/json"),
            ("X-Hub-Signature-256", "sha256=0123abcd"),
            ("X-GitHub-Event", "workflow_run"),
            ("Authorization", "Bearer sender-credential"),
            ("Cookie", "session=abc"),
            ("X-Forwarded-For", "203.0.113.9"),
        ],
        event,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), serde_json::json!({"status": "accepted", "session_id": created["session_id"]}));

    // The agent opens it with its private key.
    let ready = poll(&b, &created);
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["algorithm"], envelope::ALG_LINKAUTH);
    let opened =
        envelope::open(agent_key(), ready["ciphertext"].as_str().unwrap()).expect("agent opens the relayed webhook");
    assert_eq!(opened.get("body"), Some(std::str::from_utf8(event).unwrap()));
    assert_eq!(opened.get("content_type"), Some("application/json"));
    let headers: serde_json::Value = serde_json::from_str(opened.get("headers").unwrap()).unwrap();
    assert_eq!(headers["x-hub-signature-256"], "sha256=0123abcd");
    assert_eq!(headers["x-github-event"], "workflow_run");
    for dropped in ["authorization", "cookie", "x-forwarded-for", "host", "content-length"] {
        assert!(headers.get(dropped).is_none(), "{dropped} relayed: {headers}");
    }
    // The ciphertext is stored, not the plaintext: the event text is not in the database files.
    let mut db_bytes = std::fs::read(&b.db).unwrap_or_default();
    db_bytes.extend(std::fs::read(b.db.with_extension("db-wal")).unwrap_or_default());
    assert!(!db_bytes.windows(event.len()).any(|w| w == event), "plaintext webhook in the database");

    // Second poll: no ciphertext.
    let again = poll(&b, &created);
    assert_eq!(again["status"], "consumed");
    assert!(again.get("ciphertext").is_none(), "{again}");
    // A second event is refused: the session already delivered its payload.
    assert_eq!(post(&b, &path, &[("Content-Type", "text/plain")], b"again").status, 409);
}

#[test]
fn wrong_token_is_403_and_oversize_is_413() {
    let dir = TempDir::new("wh-errors");
    let b = Broker::start(&dir.0, &["--poll-interval", "0"]);
    let (path, created) = webhook_session(&b, serde_json::json!({"enable_webhook": true}));
    let sid = created["session_id"].as_str().unwrap();
    let base = format!("/v1/sessions/{sid}/webhook");

    let v = post(&b, &format!("{base}?token=wt_wrong"), &[], b"{}").problem(403, "ERR_WEBHOOK_TOKEN_INVALID");
    assert_eq!(v["title"], "Invalid Webhook Token");
    // Same length as the real token, one character changed.
    let real = path.split("token=").nth(1).unwrap();
    let mut forged = real.to_owned().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    post(&b, &format!("{base}?token={}", String::from_utf8(forged).unwrap()), &[], b"{}")
        .problem(403, "ERR_WEBHOOK_TOKEN_INVALID");
    post(&b, &base, &[], b"{}").problem(403, "ERR_WEBHOOK_TOKEN_INVALID");
    // The poll token is not a webhook token.
    post(&b, &format!("{base}?token={}", created["poll_token"].as_str().unwrap()), &[], b"{}")
        .problem(403, "ERR_WEBHOOK_TOKEN_INVALID");
    // Unknown session; a session without enable_webhook.
    post(&b, &format!("/v1/sessions/{}/webhook?token={real}", "0".repeat(64)), &[], b"{}")
        .problem(404, "ERR_SESSION_NOT_FOUND");
    let plain = b.create(serde_json::json!({}));
    let v =
        post(&b, &format!("/v1/sessions/{}/webhook?token={real}", plain["session_id"].as_str().unwrap()), &[], b"{}")
            .problem(403, "ERR_WEBHOOK_NOT_ENABLED");
    assert_eq!(v["title"], "Webhook Not Enabled");

    // 64 KiB + 1 byte: 413, and the session is still waiting.
    let big = vec![b'a'; 64 * 1024 + 1];
    let r = post(&b, &path, &[("Content-Type", "text/plain")], &big);
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(poll(&b, &created)["status"], "pending");
    // A text body near the limit that still fits once sealed with its headers is accepted.
    let fits = vec![b'a'; 60 * 1024];
    let r = post(&b, &path, &[("Content-Type", "text/plain")], &fits);
    assert_eq!(r.status, 200, "{}", r.body);
    let ready = poll(&b, &created);
    let opened = envelope::open(agent_key(), ready["ciphertext"].as_str().unwrap()).unwrap();
    assert_eq!(opened.get("body").map(str::len), Some(60 * 1024));
}

#[test]
fn relay_wakes_a_callback_too() {
    // enable_webhook together with callback_url: the relayed payload also goes
    // to the callback, signed, like a form completion.
    let dir = TempDir::new("wh-callback");
    let b = Broker::start(&dir.0, &[]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let cb = format!("http://{}/cb", listener.local_addr().unwrap());
    let (path, created) = webhook_session(&b, serde_json::json!({"enable_webhook": true, "callback_url": cb}));
    assert_eq!(post(&b, &path, &[("Content-Type", "text/plain")], b"ping").status, 200);
    listener.set_nonblocking(false).unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    while !String::from_utf8_lossy(&raw).contains("\"algorithm\"") {
        let n = std::io::Read::read(&mut conn, &mut buf).unwrap();
        assert!(n > 0, "connection closed early");
        raw.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("POST /cb HTTP/1.1\r\n"), "{text}");
    assert!(text.contains(&format!("\"session_id\":\"{}\"", created["session_id"].as_str().unwrap())), "{text}");
    std::io::Write::write_all(&mut conn, b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n").unwrap();
}

#[test]
fn jwe_session_gets_a_jwe_bound_to_its_id() {
    let dir = TempDir::new("wh-jwe");
    let b = Broker::start(&dir.0, &["--poll-interval", "0"]);
    let (path, created) = webhook_session(&b, serde_json::json!({"enable_webhook": true, "envelope": "jwe"}));
    let r = post(&b, &path, &[("Content-Type", "application/octet-stream")], &[0xde, 0xad, 0xbe, 0xef]);
    assert_eq!(r.status, 200, "{}", r.body);
    let ready = poll(&b, &created);
    assert_eq!(ready["algorithm"], envelope::ALG_JWE);
    let sid = created["session_id"].as_str().unwrap();
    let jwe = ready["ciphertext"].as_str().unwrap();
    let opened = envelope::open_jwe(agent_key(), jwe, sid).expect("opens for its own session");
    assert_eq!(opened.get("body"), Some("3q2+7w=="));
    assert_eq!(opened.get("body_encoding"), Some("base64"));
    assert_eq!(opened.get("content_type"), Some("application/octet-stream"));
    assert!(envelope::open_jwe(agent_key(), jwe, &"0".repeat(64)).is_err(), "bound to the session id");
}
