//! `sealpost-broker`: see `sealpost-broker --help`.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use sealpost_broker::config::{Config, LogFormat};
use sealpost_broker::sqlite::SqliteStore;
use sealpost_broker::{App, base_url, serve, shutdown_signal};

fn init_tracing(cfg: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&cfg.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
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
    let (store, writer) = match SqliteStore::open(&cfg.db, cfg.db_sync) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, db = %cfg.db.display(), "could not open the database");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async move {
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
            db = %cfg.db.display(),
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
    });
    // Every handler and the app state are gone: the writer drains its queue,
    // commits, checkpoints and closes the database.
    drop(runtime);
    writer.join();
    tracing::info!("broker stopped");
    code
}
