//! PostgreSQL side of the test harness: `SEALPOST_TEST_PG` names a server
//! (`cargo xtask test` starts a throwaway cluster and sets it; by hand:
//! `cargo xtask with-pg -- cargo test -p sealpost-broker --test pg_store`).
//! Each test gets a database of its own on that server.

use std::sync::atomic::{AtomicU32, Ordering};

pub const ENV: &str = "SEALPOST_TEST_PG";

/// The server's URL, or `None` with a loud message (the test then skips).
pub fn server() -> Option<String> {
    match std::env::var(ENV) {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!(
                "\n\n*** SKIPPED: {ENV} is not set, so this PostgreSQL test did not run. ***\n\
                 *** Run it with `cargo xtask with-pg -- cargo test -p sealpost-broker --test <file>` ***\n\
                 *** (`cargo xtask test` always sets it).                                            ***\n"
            );
            None
        }
    }
}

/// `url` with its database replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{base}/{db}{query}")
}

/// Run `f` with a client on `url` (a small runtime of its own).
pub fn with_client<T>(url: &str, f: impl AsyncFnOnce(&tokio_postgres::Client) -> T) -> T {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (client, conn) =
            tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect to the test PostgreSQL");
        let task = tokio::spawn(conn);
        let out = f(&client).await;
        drop(client);
        let _ = task.await;
        out
    })
}

/// Create database `name` on the server if it does not exist; its URL.
pub fn database(server: &str, name: &str) -> String {
    assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
    with_client(server, async |c| {
        let exists = c.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name]).await.unwrap().is_some();
        if !exists && let Err(e) = c.batch_execute(&format!("CREATE DATABASE {name}")).await {
            // Another process created it first.
            if e.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) {
                panic!("CREATE DATABASE {name}: {e}");
            }
        }
    });
    with_database(server, name)
}

/// A new empty database for one test: its URL (`None`: no server, skip).
pub fn fresh_db(tag: &str) -> Option<String> {
    static N: AtomicU32 = AtomicU32::new(0);
    let server = server()?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let tag: String =
        tag.chars().filter(|c| c.is_ascii_alphanumeric()).take(20).collect::<String>().to_ascii_lowercase();
    let name = format!("t_{tag}_{}_{}_{nanos}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
    Some(database(&server, &name))
}

/// The database a broker started on test directory `dir` uses when the
/// harness runs on PostgreSQL (`SEALPOST_TEST_BACKEND=postgres`): one per
/// directory, so a restarted broker finds its data again.
pub fn database_for_dir(dir: &std::path::Path) -> String {
    let server = server().unwrap_or_else(|| panic!("SEALPOST_TEST_BACKEND=postgres needs {ENV}"));
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in dir.as_os_str().as_encoded_bytes() {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    database(&server, &format!("d_{h:016x}"))
}

/// One value of a query (`SELECT count(*) ...` and the like).
pub fn query_i64(url: &str, sql: &str) -> i64 {
    with_client(url, async |c| c.query_one(sql, &[]).await.unwrap().get::<_, i64>(0))
}

/// A fixed clock for store tests (ms since the epoch).
pub const T0: i64 = 1_700_000_000_000;

/// Caps no store test reaches unless it means to.
pub const CAPS: sealpost_broker::store::Caps =
    sealpost_broker::store::Caps { max_open: 1000, max_per_inbox: 1000, max_per_sender: 1000 };

/// Session id number `n`; `tag` (last byte) keeps each suite's ids apart.
pub fn sid(n: u32, tag: u8) -> [u8; 32] {
    let mut id = [0u8; 32];
    id[..4].copy_from_slice(&n.to_be_bytes());
    id[31] = tag;
    id
}
