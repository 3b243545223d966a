//! `sealpost-broker`: see `sealpost-broker --help`.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use sealpost_broker::config::{Config, LogFormat};
use sealpost_broker::sqlite::SqliteStore;
use sealpost_broker::store::Store;
use sealpost_broker::{App, base_url, serve, shutdown_signal};

fn init_tracing(cfg: &Config) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(&cfg.log).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(ansi);
    match cfg.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn main() -> ExitCode {
    let cfg = Config::parse();
    init_tracing(&cfg);
    // Every connection holds a descriptor: take all the kernel allows us.
    match sealpost_broker::conns::raise_nofile_limit() {
        Ok((soft, hard)) => tracing::debug!(?soft, ?hard, "open file limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open file limit"),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "could not start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let db = cfg.db.to_string_lossy().into_owned();
    #[cfg(feature = "postgres")]
    if sealpost_broker::pg::is_postgres_url(&db) {
        let code = runtime.block_on(async move {
            let size = usize::try_from(cfg.db_pool_size).unwrap_or(16);
            match sealpost_broker::pg::PgStore::connect(&db, size).await {
                Ok(store) => run(store, cfg).await,
                Err(e) => {
                    tracing::error!(error = %e, db = %db_label(&cfg), "could not open the database");
                    ExitCode::FAILURE
                }
            }
        });
        drop(runtime);
        tracing::info!("broker stopped");
        return code;
    }
    #[cfg(not(feature = "postgres"))]
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        tracing::error!("this broker was built without the `postgres` feature");
        return ExitCode::FAILURE;
    }
    let (store, writer) = match SqliteStore::open(&cfg.db, cfg.db_sync) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, db = %cfg.db.display(), "could not open the database");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run(store, cfg));
    // Every handler and the app state are gone: the writer drains its queue,
    // commits, checkpoints and closes the database.
    drop(runtime);
    writer.join();
    tracing::info!("broker stopped");
    code
}

/// The database as logged: a PostgreSQL URL without its password.
fn db_label(cfg: &Config) -> String {
    let db = cfg.db.to_string_lossy();
    #[cfg(feature = "postgres")]
    if sealpost_broker::pg::is_postgres_url(&db) {
        return sealpost_broker::pg::redact_url(&db);
    }
    db.into_owned()
}

/// Bind, announce and serve `store` until a shutdown signal.
async fn run<S: Store>(store: S, cfg: Config) -> ExitCode {
    let listener = match tokio::net::TcpListener::bind(cfg.listen).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, listen = %cfg.listen, "could not bind");
            return ExitCode::FAILURE;
        }
    };
    let bound = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "no local address");
            return ExitCode::FAILURE;
        }
    };
    let base = base_url(&cfg, bound);
    // The first stdout line is a contract: tests read the port from it.
    let mut out = std::io::stdout().lock();
    if writeln!(out, "sealpost-broker listening on http://{bound}").and_then(|()| out.flush()).is_err() {
        tracing::warn!("stdout is closed");
    }
    drop(out);
    tracing::info!(
        public_url = %base,
        db = %db_label(&cfg),
        api_keys = cfg.api_keys.len(),
        poll_interval = cfg.poll_interval,
        trust_proxy = %cfg.trust_proxy.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
        "broker started"
    );
    if cfg.trust_proxy.iter().any(|n| n.prefix() == 0) {
        tracing::warn!("--trust-proxy includes a /0 network: any client can choose its X-Forwarded-For address");
    }
    let app = Arc::new(App::new(store, cfg, &base));
    match serve(app, listener, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "server error");
            ExitCode::FAILURE
        }
    }
}
