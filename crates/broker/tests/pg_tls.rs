//! TLS to PostgreSQL, against the real server of `SEALPOST_TEST_PG` (the
//! xtask cluster runs with `ssl=on` and a certificate from a throwaway CA named
//! by `SEALPOST_TEST_PG_CA`; it holds `IP:127.0.0.1` and `DNS:pg.sealpost.test`,
//! not `localhost`). Skipped loudly without them; `cargo xtask test` sets both.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use sealpost_broker::pg::PgStore;
use sealpost_broker::store::Store;

const CA_ENV: &str = "SEALPOST_TEST_PG_CA";

/// (database URL, CA file), or `None` (skip, loudly).
fn setup(tag: &str) -> Option<(String, String)> {
    let url = common::pg::fresh_db(tag)?;
    match std::env::var(CA_ENV) {
        Ok(ca) if !ca.is_empty() => Some((url, ca)),
        _ => {
            eprintln!(
                "\n\n*** SKIPPED: {CA_ENV} is not set (no TLS on the test cluster): this TLS test did not run. ***\n"
            );
            None
        }
    }
}

/// `url` (postgres://postgres@127.0.0.1:PORT/DB) with another host and extra options.
fn variant(url: &str, host: &str, options: &str) -> String {
    let url = url.replacen("@127.0.0.1:", &format!("@{host}:"), 1);
    format!("{url}?{options}")
}

/// Connections to `db` that use TLS, seen from the server.
fn tls_backends(url: &str, db: &str) -> i64 {
    common::pg::with_client(url, async |c| {
        c.query_one(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE s.ssl AND a.datname = $1",
            &[&db],
        )
        .await
        .unwrap()
        .get::<_, i64>(0)
    })
}

fn db_name(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_owned()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn verify_full_with_the_operators_ca_runs_the_store_over_tls() {
    let Some((url, ca)) = setup("tlsfull") else { return };
    let rt = rt();
    let tls_url = variant(&url, "127.0.0.1", &format!("sslmode=verify-full&sslrootcert={ca}"));
    let store = rt.block_on(PgStore::connect(&tls_url, 4)).expect("connect over TLS, migrations applied");
    // The shared (pipelined) connections too: a shared rate-limit step runs on them.
    let within = rt.block_on(store.shared_limit([7; 16], 5, 60, 1_700_000_000)).unwrap();
    assert_eq!(within, Some(true));
    let n = tls_backends(&url, &db_name(&url));
    assert!(n >= 2, "the pool and the shared connection use TLS (server sees {n} TLS connections)");
    drop(store);
    drop(rt);

    // Without TLS options the same database is reached in the clear, as before.
    let rt = self::rt();
    let plain = rt.block_on(PgStore::connect(&url, 2)).expect("plain connection");
    let _ = rt.block_on(plain.shared_limit([8; 16], 5, 60, 1_700_000_000)).unwrap();
    drop(plain);
}

#[test]
fn a_certificate_not_chained_to_the_roots_is_refused() {
    let Some((url, _ca)) = setup("tlsroots") else { return };
    let rt = rt();
    // `require` verifies too (stricter than libpq): the throwaway CA is not among the Mozilla roots.
    for options in ["sslmode=require", "sslmode=verify-full", "sslmode=verify-full&sslrootcert=system"] {
        let e = rt.block_on(PgStore::connect(&variant(&url, "127.0.0.1", options), 2)).err();
        let e = e.unwrap_or_else(|| panic!("{options}: connected to a server whose CA is not trusted"));
        let msg = e.to_string().to_ascii_lowercase();
        assert!(msg.contains("certificate") || msg.contains("issuer"), "{options}: {msg}");
    }
}

#[test]
fn verify_full_checks_the_host_name_and_verify_ca_does_not() {
    let Some((url, ca)) = setup("tlsname") else { return };
    let rt = rt();
    // `localhost` is the same server, but not a name in its certificate.
    let full = variant(&url, "localhost", &format!("sslmode=verify-full&sslrootcert={ca}"));
    let e = rt.block_on(PgStore::connect(&full, 2)).err().expect("verify-full accepted a certificate for another name");
    assert!(e.to_string().to_ascii_lowercase().contains("certificate"), "{e}");

    let ca_only = variant(&url, "localhost", &format!("sslmode=verify-ca&sslrootcert={ca}"));
    let store = rt.block_on(PgStore::connect(&ca_only, 2)).expect("verify-ca: the chain is enough");
    assert_eq!(rt.block_on(store.shared_limit([9; 16], 5, 60, 1_700_000_000)).unwrap(), Some(true));
    assert!(tls_backends(&url, &db_name(&url)) >= 1);
}
