//! Inbox senders (issue 10, item 5): only senders the inbox owner added can
//! post to an inbox; each has its own quota; removing a sender or the inbox
//! declines what is waiting; the sender credential is shown once and never stored.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Broker, Resp, TempDir, assert_absent, public_key_wire};
use serde_json::{Value, json};
use sha2::Digest;

fn post_session(b: &Broker, extra: Value) -> Resp {
    let mut body = json!({"public_key": public_key_wire(), "template": "api_key"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    b.post_json("/v1/sessions", &body)
}

fn poll(b: &Broker, s: &Value) -> Resp {
    b.get_auth(&format!("/v1/sessions/{}", s["session_id"].as_str().unwrap()), s["poll_token"].as_str().unwrap())
}

fn requests(b: &Broker, inbox: &str, token: &str) -> Vec<Value> {
    let r = b.get_auth(&format!("/v1/inboxes/{inbox}/requests"), token);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json().as_array().unwrap().clone()
}

fn senders(b: &Broker, inbox: &str, token: &str) -> Vec<Value> {
    let r = b.get_auth(&format!("/v1/inboxes/{inbox}/senders"), token);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json().as_array().unwrap().clone()
}

#[test]
fn a_sender_less_post_is_refused_and_a_listed_request_names_its_sender() {
    let dir = TempDir::new("senders-basic");
    let b = Broker::start(&dir.0, &[]);
    let (inbox, token) = b.new_inbox();
    // The attack of the issue: the public inbox id alone no longer posts.
    let r = post_session(&b, json!({"inbox": inbox, "display_name": "Your bank: re-enter password"}));
    let p = r.problem(400, "ERR_SENDER_REQUIRED");
    assert!(p["detail"].as_str().unwrap().contains("sender credential"), "{p}");
    post_session(&b, json!({"inbox": "ib_aaaaaaaaaaaaaaaa"})).problem(400, "ERR_SENDER_REQUIRED");
    for junk in ["", "is_", "it_abc", &format!("is_{}", "A".repeat(43))] {
        post_session(&b, json!({"inbox": junk})).problem(403, "ERR_SENDER_INVALID");
    }
    assert!(requests(&b, &inbox, &token).is_empty());

    let created = b.add_sender(&inbox, &token, "  CI runner  ");
    let cred = created["sender_credential"].as_str().unwrap();
    let sid = created["sender_id"].as_str().unwrap();
    assert_eq!(created["name"], "CI runner", "stored trimmed");
    assert!(cred.starts_with("is_") && cred.len() == 46, "{cred}");
    assert!(sid.starts_with("sd_") && sid.len() == 19, "{sid}");
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));

    let s = post_session(&b, json!({"inbox": cred, "agent_name": "deploy-bot", "reason": "rotate"}));
    assert_eq!(s.status, 201, "{}", s.body);
    let s = s.json();
    let list = requests(&b, &inbox, &token);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["sender_id"], sid);
    assert_eq!(list[0]["sender_name"], "CI runner");
    assert_eq!(list[0]["session_id"], s["session_id"]);
    assert_eq!(list[0]["code"], s["code"]);
    assert_eq!(list[0]["agent_name"], "deploy-bot");

    let all = senders(&b, &inbox, &token);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["sender_id"], sid);
    assert_eq!(all[0]["name"], "CI runner");
    assert_eq!(all[0]["pending"], 1);
    assert_eq!(all[0]["sent"], 1);
    assert_eq!(all[0]["pending_limit"], 5, "the default --max-sender-pending");
    assert!(all[0]["last_used_at"].is_string(), "{}", all[0]);
    assert!(all[0].get("sender_credential").is_none());
}

#[test]
fn a_removed_sender_can_no_longer_post_and_its_waiting_requests_are_declined() {
    let dir = TempDir::new("senders-remove");
    let b = Broker::start(&dir.0, &["--poll-interval", "0"]);
    let (inbox, token) = b.new_inbox();
    let gone = b.add_sender(&inbox, &token, "laptop");
    let kept = b.add_sender(&inbox, &token, "server");
    let gone_cred = gone["sender_credential"].as_str().unwrap();
    let gone_id = gone["sender_id"].as_str().unwrap();
    let s1 = post_session(&b, json!({"inbox": gone_cred})).json();
    let s2 = post_session(&b, json!({"inbox": gone_cred})).json();
    b.confirm(s2["code"].as_str().unwrap());
    let s3 = post_session(&b, json!({"inbox": kept["sender_credential"]})).json();

    let path = format!("/v1/inboxes/{inbox}/senders/{gone_id}");
    b.call_auth("DELETE", &path, "it_wrong", None).problem(403, "ERR_TOKEN_INVALID");
    let r = b.call_auth("DELETE", &path, &token, None);
    assert_eq!(r.status, 204, "{}", r.body);
    b.call_auth("DELETE", &path, &token, None).problem(404, "ERR_SENDER_NOT_FOUND");
    b.call_auth("DELETE", &format!("/v1/inboxes/{inbox}/senders/nope"), &token, None)
        .problem(404, "ERR_SENDER_NOT_FOUND");

    // The credential stops working at once.
    post_session(&b, json!({"inbox": gone_cred})).problem(403, "ERR_SENDER_INVALID");
    // Its pending and confirmed requests ended as declined; the other sender's did not.
    poll(&b, &s1).problem(404, "ERR_REQUEST_DECLINED");
    poll(&b, &s2).problem(404, "ERR_REQUEST_DECLINED");
    assert_eq!(poll(&b, &s3).json()["status"], "pending");
    let list = requests(&b, &inbox, &token);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["sender_name"], "server");
    let all = senders(&b, &inbox, &token);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["name"], "server");
}

#[test]
fn each_sender_has_its_own_quota_and_the_inbox_cap_still_applies() {
    let dir = TempDir::new("senders-quota");
    let b = Broker::start(&dir.0, &["--max-sender-pending", "2", "--max-inbox-sessions", "3", "--max-senders", "2"]);
    let (inbox, token) = b.new_inbox();
    let a = b.add_sender(&inbox, &token, "a")["sender_credential"].as_str().unwrap().to_owned();
    let c = b.add_sender(&inbox, &token, "c")["sender_credential"].as_str().unwrap().to_owned();
    // Sender cap.
    let r = b.call_auth("POST", &format!("/v1/inboxes/{inbox}/senders"), &token, Some(&json!({"name": "third"})));
    r.problem(409, "ERR_TOO_MANY_SENDERS");

    for _ in 0..2 {
        assert_eq!(post_session(&b, json!({"inbox": a})).status, 201);
    }
    let r = post_session(&b, json!({"inbox": a}));
    r.problem(429, "ERR_SENDER_QUOTA");
    // A noisy sender does not lock out the others...
    assert_eq!(post_session(&b, json!({"inbox": c})).status, 201);
    // ...but the inbox-wide cap still holds.
    post_session(&b, json!({"inbox": c})).problem(429, "ERR_INBOX_FULL");
    let all = senders(&b, &inbox, &token);
    let by_name = |n: &str| all.iter().find(|s| s["name"] == n).unwrap().clone();
    assert_eq!((by_name("a")["pending"].as_u64(), by_name("a")["sent"].as_u64()), (Some(2), Some(2)));
    assert_eq!((by_name("c")["pending"].as_u64(), by_name("c")["sent"].as_u64()), (Some(1), Some(1)));
    // The limit is in the list, the same for every sender: the owner can see "a" is at it.
    assert_eq!(by_name("a")["pending_limit"].as_u64(), Some(2));
    assert_eq!(by_name("c")["pending_limit"].as_u64(), Some(2));
    // Declining one frees a slot of that sender.
    let code = requests(&b, &inbox, &token).into_iter().find(|r| r["sender_name"] == "a").unwrap()["code"].clone();
    let r = b.call_auth("DELETE", &format!("/v1/inboxes/{inbox}/requests/{}", code.as_str().unwrap()), &token, None);
    assert_eq!(r.status, 204);
    assert_eq!(post_session(&b, json!({"inbox": a})).status, 201);
}

#[test]
fn sender_names_are_validated() {
    let dir = TempDir::new("senders-names");
    let b = Broker::start(&dir.0, &[]);
    let (inbox, token) = b.new_inbox();
    let path = format!("/v1/inboxes/{inbox}/senders");
    let long = "x".repeat(65);
    for bad in [
        "",
        "   ",
        long.as_str(),
        "evil\u{202E}gpj.exe",
        "a\u{2066}b",
        "line\u{2028}break",
        "para\u{2029}",
        "bell\u{7}",
        "c1\u{85}",
        "nl\nx",
    ] {
        b.call_auth("POST", &path, &token, Some(&json!({"name": bad}))).problem(400, "ERR_SENDER_NAME_INVALID");
    }
    b.call_auth("POST", &path, &token, Some(&json!({}))).problem(400, "ERR_BAD_REQUEST");
    assert!(senders(&b, &inbox, &token).is_empty());
    assert_eq!(b.add_sender(&inbox, &token, &"é".repeat(64))["name"], "é".repeat(64));
}

#[test]
fn deleting_an_inbox_declines_its_pending_requests() {
    let dir = TempDir::new("senders-delete-inbox");
    let b = Broker::start(&dir.0, &["--poll-interval", "0"]);
    let (inbox, token, cred) = b.inbox_with_sender("ci");
    let (other, other_token, other_cred) = b.inbox_with_sender("ci");
    let s1 = post_session(&b, json!({"inbox": cred})).json();
    let s2 = post_session(&b, json!({"inbox": other_cred})).json();
    let path = format!("/v1/inboxes/{inbox}");
    b.call_auth("DELETE", &path, "it_wrong", None).problem(403, "ERR_TOKEN_INVALID");
    b.call_auth("DELETE", &path, &other_token, None).problem(403, "ERR_TOKEN_INVALID");
    let r = common::http(&b.addr, "DELETE", &path, &[], None);
    r.problem(401, "ERR_UNAUTHORIZED");
    let r = b.call_auth("DELETE", &path, &token, None);
    assert_eq!(r.status, 204, "{}", r.body);
    poll(&b, &s1).problem(404, "ERR_REQUEST_DECLINED");
    b.get(&format!("/v1/connect/{}", s1["code"].as_str().unwrap())).problem(404, "ERR_SESSION_NOT_FOUND");
    post_session(&b, json!({"inbox": cred})).problem(403, "ERR_SENDER_INVALID");
    b.call_auth("DELETE", &path, &token, None).problem(404, "ERR_INBOX_NOT_FOUND");
    b.get_auth(&format!("/v1/inboxes/{inbox}/requests"), &token).problem(404, "ERR_INBOX_NOT_FOUND");
    b.get_auth(&format!("/v1/inboxes/{inbox}/senders"), &token).problem(404, "ERR_INBOX_NOT_FOUND");
    // The other inbox is untouched.
    assert_eq!(poll(&b, &s2).json()["status"], "pending");
    assert_eq!(requests(&b, &other, &other_token).len(), 1);
}

#[test]
fn a_wrong_bearer_is_403_on_every_owner_endpoint() {
    let dir = TempDir::new("senders-bearer");
    let b = Broker::start(&dir.0, &[]);
    let (inbox, token) = b.new_inbox();
    let (_, other_token) = b.new_inbox();
    let sid = b.add_sender(&inbox, &token, "x")["sender_id"].as_str().unwrap().to_owned();
    let name = json!({"name": "y"});
    let calls: Vec<(&str, String, Option<&Value>)> = vec![
        ("POST", format!("/v1/inboxes/{inbox}/senders"), Some(&name)),
        ("GET", format!("/v1/inboxes/{inbox}/senders"), None),
        ("DELETE", format!("/v1/inboxes/{inbox}/senders/{sid}"), None),
        ("DELETE", format!("/v1/inboxes/{inbox}/senders/sd_aaaaaaaaaaaaaaaa"), None),
        ("DELETE", format!("/v1/inboxes/{inbox}/senders/junk"), None),
        ("GET", format!("/v1/inboxes/{inbox}/requests"), None),
        ("DELETE", format!("/v1/inboxes/{inbox}"), None),
    ];
    for (method, path, body) in &calls {
        for wrong in ["it_wrong", other_token.as_str()] {
            b.call_auth(method, path, wrong, *body).problem(403, "ERR_TOKEN_INVALID");
        }
        let mut headers = vec![];
        let text = body.map(ToString::to_string);
        if text.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        common::http(&b.addr, method, path, &headers, text.as_deref().map(str::as_bytes))
            .problem(401, "ERR_UNAUTHORIZED");
        let unknown = path.replace(&inbox, "ib_aaaaaaaaaaaaaaaa");
        b.call_auth(method, &unknown, &token, *body).problem(404, "ERR_INBOX_NOT_FOUND");
    }
    // Nothing changed.
    assert_eq!(senders(&b, &inbox, &token).len(), 1);
}

#[test]
fn the_credential_is_only_in_the_create_answer_and_never_stored_or_logged() {
    let dir = TempDir::new("senders-secret");
    let mut b = Broker::start(&dir.0, &["--poll-interval", "0", "--log", "debug"]);
    let (inbox, token) = b.new_inbox();
    let created = b.add_sender(&inbox, &token, "ci");
    let cred = created["sender_credential"].as_str().unwrap().to_owned();
    let sid = created["sender_id"].as_str().unwrap().to_owned();
    let s = post_session(&b, json!({"inbox": cred}));
    let mut seen: Vec<Resp> = vec![];
    let sv = s.json();
    seen.push(s);
    seen.push(b.get_auth(&format!("/v1/inboxes/{inbox}/senders"), &token));
    seen.push(b.get_auth(&format!("/v1/inboxes/{inbox}/requests"), &token));
    seen.push(poll(&b, &sv));
    seen.push(b.get(&format!("/v1/connect/{}", sv["code"].as_str().unwrap())));
    seen.push(post_session(&b, json!({"inbox": format!("{cred}x")})));
    let needle = [("sender credential", cred.as_str())];
    for r in &seen {
        assert!(r.status < 500, "{}", r.body);
        let mut wire = r.body.clone();
        for (k, v) in &r.headers {
            wire.push_str(&format!("{k}: {v}\n"));
        }
        assert_absent(wire.as_bytes(), &needle, "a response");
    }
    // Removing the sender, then the inbox, leaves nothing behind either.
    let r = b.call_auth("DELETE", &format!("/v1/inboxes/{inbox}/senders/{sid}"), &token, None);
    assert_eq!(r.status, 204);

    let db = b.db.clone();
    let hash: [u8; 32] = sha2::Sha256::digest(cred.as_bytes()).into();
    let check = |when: &str| {
        for suffix in ["", "-wal", "-shm"] {
            let path = format!("{}{suffix}", db.display());
            if let Ok(bytes) = std::fs::read(&path) {
                assert_absent(&bytes, &needle, &format!("{path} ({when})"));
                // The random part alone, too.
                assert_absent(&bytes, &[("credential body", &cred[3..])], &format!("{path} ({when})"));
            }
        }
    };
    // While the sender exists, the hash is stored (and it is all that is).
    let (inbox2, token2) = b.new_inbox();
    let live = b.add_sender(&inbox2, &token2, "live")["sender_credential"].as_str().unwrap().to_owned();
    let live_hash: [u8; 32] = sha2::Sha256::digest(live.as_bytes()).into();
    check("running");
    assert!(b.terminate());
    check("stopped");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let stored: Vec<Vec<u8>> = conn
        .prepare("SELECT cred_hash FROM senders")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(stored, vec![live_hash.to_vec()]);
    assert!(!stored.contains(&hash.to_vec()), "removed sender still stored");
    let all_text: String = conn
        .prepare("SELECT id || name FROM senders")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!all_text.contains(&live[3..]));
    let log = b.log_text();
    assert_absent(
        log.as_bytes(),
        &[("sender credential", &cred), ("live credential", &live), ("inbox token", &token)],
        "broker log",
    );
}

/// The schema of a broker before senders existed (`PRAGMA user_version = 1`).
const SCHEMA_V1: &str = "
CREATE TABLE sessions (
    id BLOB PRIMARY KEY, code TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending','confirmed','ready','consumed','declined')),
    public_key TEXT NOT NULL, display_name TEXT NOT NULL, fields TEXT NOT NULL, envelope TEXT NOT NULL,
    agent_name TEXT, reason TEXT, inbox_id TEXT, poll_hash BLOB NOT NULL, connect_hash BLOB, algorithm TEXT,
    created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, interval_s INTEGER NOT NULL, last_poll_at INTEGER
) WITHOUT ROWID;
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE INDEX sessions_inbox ON sessions (inbox_id, state) WHERE inbox_id IS NOT NULL;
CREATE TABLE envelopes (session_id BLOB PRIMARY KEY, ciphertext TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE inboxes (id TEXT PRIMARY KEY, token_hash BLOB NOT NULL, created_at INTEGER NOT NULL, last_used_at INTEGER NOT NULL) WITHOUT ROWID;
PRAGMA user_version = 1;
";

#[test]
fn a_database_from_before_senders_opens_and_keeps_its_inboxes() {
    let dir = TempDir::new("senders-migrate");
    let db = dir.0.join("data").join("sealpost.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let token = "it_legacy-token-for-the-migration-test-000000";
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
        conn.execute_batch(SCHEMA_V1).unwrap();
        let th: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        conn.execute("INSERT INTO inboxes VALUES ('ib_legacyaaaaaaaaaa', ?1, ?2, ?2)", rusqlite::params![&th[..], now])
            .unwrap();
        let id: [u8; 32] = sha2::Sha256::digest(b"LEGA0001").into();
        conn.execute(
            "INSERT INTO sessions (id, code, state, public_key, display_name, fields, envelope, inbox_id, poll_hash,
                                   created_at, expires_at, interval_s)
             VALUES (?1, 'LEGA-0001', 'pending', ?2, 'Old request', '[]', 'linkauth', 'ib_legacyaaaaaaaaaa', ?3, ?4, ?5, 5)",
            rusqlite::params![&id[..], public_key_wire(), &[0u8; 32][..], now, now + 600_000],
        )
        .unwrap();
    }
    let mut b = Broker::start(&dir.0, &[]);
    let inbox = "ib_legacyaaaaaaaaaa";
    let list = requests(&b, inbox, token);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["code"], "LEGA-0001");
    assert!(list[0].get("sender_id").is_none(), "{}", list[0]);
    let cred = b.add_sender(inbox, token, "after upgrade")["sender_credential"].as_str().unwrap().to_owned();
    assert_eq!(post_session(&b, json!({"inbox": cred})).status, 201);
    let list = requests(&b, inbox, token);
    assert_eq!(list.len(), 2);
    assert_eq!(list[1]["sender_name"], "after upgrade");
    assert!(b.terminate());
    // A second start on the upgraded file is a no-op upgrade.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, sealpost_broker::sqlite::SCHEMA_VERSION);
    drop(conn);
    let b2 = Broker::start(&dir.0, &[]);
    assert_eq!(requests(&b2, inbox, token).len(), 2);
}

#[test]
fn text_shown_to_a_person_refuses_bidi_overrides_and_line_separators() {
    let dir = TempDir::new("text-bidi");
    let b = Broker::start(&dir.0, &[]);
    let (_, _, cred) = b.inbox_with_sender("ci");
    for bad in [
        "pay\u{202E}lanigiro",
        "a\u{202A}b",
        "a\u{2066}b",
        "a\u{2069}",
        "line\u{2028}two",
        "para\u{2029}",
        "bell\u{7}",
        "c1\u{9B}",
        "\u{2028}",
    ] {
        for field in ["display_name", "agent_name", "reason"] {
            let p = post_session(&b, json!({"inbox": cred, field: bad})).problem(400, "ERR_TEXT_INVALID");
            assert!(p["detail"].as_str().unwrap().contains(field), "{p}");
        }
        let fields = json!([{"name": "a", "label": format!("Label {bad}")}]);
        post_session(&b, json!({"template": null, "fields": fields})).problem(400, "ERR_TEXT_INVALID");
    }
    // A reason may still have ordinary lines and tabs.
    assert_eq!(post_session(&b, json!({"reason": "line one\nline two\tend"})).status, 201);
}

#[cfg(unix)]
#[test]
fn the_database_and_its_wal_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("db-mode");
    let b = Broker::start(&dir.0, &[]);
    // A write, so the WAL has content.
    let _ = b.new_inbox();
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", b.db.display());
        let mode = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{path}: {e}")).permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{path} has mode {mode:o}");
    }
    drop(b);
    // An existing file left world-readable is narrowed at the next start.
    let db = dir.0.join("data").join("sealpost.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let b = Broker::start(&dir.0, &[]);
    assert_eq!(std::fs::metadata(&b.db).unwrap().permissions().mode() & 0o777, 0o600);
}
