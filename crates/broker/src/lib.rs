//! Sealpost broker: a LinkAuth-compatible credential mailbox (docs/protocol.md)
//! that serves the consent page and the seal-only WASM bundle.
//!
//! Layout: [`api`] handlers over a [`store::Store`] (default [`sqlite::SqliteStore`])
//! sharing the state [`app::App`]; this root builds the router and serves it;
//! [`limiter`] fixed-memory rate limits, [`web`] static files and headers,
//! [`assets`] ETags and precompressed variants of the static files.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod api;
pub mod app;
pub mod assets;
pub mod callbacks;
pub mod config;
pub mod conns;
pub mod errio;
pub mod limiter;
pub mod page;
#[cfg(feature = "postgres")]
pub mod pg;
pub mod problem;
pub mod proxy;
pub mod sqlite;
pub mod store;
pub mod util;
pub mod web;
pub mod webhook;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit};
use axum::routing::{delete, get, post};
use tokio::net::TcpListener;

pub use crate::app::{App, Limit, origin_of, security_info};
use crate::config::Config;
use crate::store::Store;

/// Largest request body, in bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// The full route table.
pub fn router<S: Store>(app: Arc<App<S>>) -> Router {
    let hsts = app.base_url.to_ascii_lowercase().starts_with("https://");
    let body_timeout = Duration::from_secs(app.cfg.body_read_timeout.max(1));
    Router::new()
        .route("/v1/sessions", post(api::create_session::<S>))
        .route("/v1/sessions/{session_id}", get(api::poll_session::<S>))
        .route("/v1/sessions/{session_id}/webhook", post(webhook::relay::<S>))
        .route("/v1/connect/resolve", post(api::connect_resolve::<S>))
        .route("/v1/connect/{code}", get(api::connect_get::<S>))
        .route("/v1/connect/{code}/confirm", post(api::connect_confirm::<S>))
        .route("/v1/connect/{code}/complete", post(api::connect_complete::<S>))
        .route("/v1/inboxes", post(api::create_inbox::<S>))
        .route("/v1/inboxes/{inbox_id}", delete(api::delete_inbox::<S>))
        .route("/v1/inboxes/{inbox_id}/senders", post(api::create_sender::<S>).get(api::list_senders::<S>))
        .route("/v1/inboxes/{inbox_id}/senders/{sender_id}", delete(api::delete_sender::<S>))
        .route("/v1/inboxes/{inbox_id}/requests", get(api::inbox_requests::<S>))
        .route("/v1/inboxes/{inbox_id}/requests/{code}", delete(api::inbox_decline::<S>))
        .route("/connect", get(page::page::<S>))
        .route("/connect/{code}", get(page::page::<S>))
        .route("/assets/{file}", get(web::asset::<S>))
        .route("/pkg/{file}", get(web::pkg::<S>))
        .route("/jwt", get(web::jwt_page::<S>))
        .route("/jwt/{file}", get(web::jwt_pkg::<S>))
        .route("/healthz", get(web::health::<S>))
        .fallback(web::fallback)
        .method_not_allowed_fallback(web::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(move |req, next| web::read_body_within(body_timeout, req, next)))
        .layer(axum::middleware::from_fn(move |req, next| web::headers_and_log(hsts, req, next)))
        .with_state(app)
}

/// Public URL: the configured one, else `http://<bound address>`.
pub fn base_url(cfg: &Config, bound: SocketAddr) -> String {
    cfg.public_url.clone().unwrap_or_else(|| format!("http://{bound}"))
}

/// Periodically sweep expired sessions until `stop` resolves.
async fn sweeper<S: Store>(app: Arc<App<S>>) {
    let every = Duration::from_secs(app.cfg.sweep_interval.max(1));
    let idle_ms = i64::try_from(app.cfg.inbox_idle_days.saturating_mul(86_400_000)).unwrap_or(i64::MAX);
    loop {
        tokio::time::sleep(every).await;
        loop {
            match app.store.sweep(util::now_ms(), idle_ms).await {
                Ok(n) if n > 0 => {
                    tracing::info!(removed = n, "swept expired sessions");
                    if i64::try_from(n).unwrap_or(0) < sqlite::SWEEP_CHUNK {
                        break;
                    }
                }
                Ok(_) => break,
                Err(e) => {
                    tracing::error!(error = %e, "sweep failed");
                    break;
                }
            }
        }
    }
}

/// Whether an accept error concerns only that one connection.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// Serve on `listener` until `shutdown` resolves, then finish in-flight requests.
/// The store is dropped on return, so the writer commits everything queued.
///
/// HTTP/1.1 with hyper directly (not `axum::serve`) for the header read timeout:
/// a connection that does not deliver a complete request head within
/// `--header-read-timeout` (slowloris), or stays idle that long between
/// requests, is closed. Bodies are bounded by [`web::read_body_within`].
pub async fn serve<S: Store>(
    app: Arc<App<S>>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let header_timeout = Duration::from_secs(app.cfg.header_read_timeout.max(1));
    let first_byte = Duration::from_secs(app.cfg.first_byte_timeout.max(1));
    let soft = conns::nofile_soft_limit();
    let tracker =
        conns::ConnTracker::new(conns::total_cap(app.cfg.max_connections, soft), app.cfg.max_connections_per_client);
    tracing::info!(
        open_files = soft.map_or_else(|| "unlimited".to_owned(), |l| l.to_string()),
        max_connections = tracker.total_cap(),
        max_connections_per_client = app.cfg.max_connections_per_client,
        "connection caps"
    );
    let proxies = app.proxies.clone();
    let error_headers = web::error_headers(app.base_url.to_ascii_lowercase().starts_with("https://"));
    let sweep = tokio::spawn(sweeper(app.clone()));
    let outbox = tokio::spawn(callbacks::worker(app.clone()));
    drop(tokio::spawn(page::warm(app.clone())));
    let router = router(app);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors or similar: back off instead of spinning.
                    tracing::error!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // A trusted proxy carries many clients: only the total cap applies to it.
        let client = (!proxies.trusted(peer.ip())).then(|| api::limit_key(proxy::canonical(peer.ip())));
        let guard = match tracker.acquire(client) {
            Ok(g) => g,
            Err(why) => {
                tracker.note_refused(why);
                drop(stream);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: axum::http::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            // A Router is always ready; `call` on a clone is the documented pattern.
            tower_service::Service::call(&mut router.clone(), req)
        });
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _guard = guard;
            // A connection that sends nothing is closed well before the header timeout.
            let mut probe = [0u8; 1];
            match tokio::time::timeout(first_byte, stream.peek(&mut probe)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return,
            }
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(
                    hyper_util::rt::TokioIo::new(errio::SecureErrors::new(stream, error_headers)),
                    service,
                );
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    sweep.abort();
    let _ = sweep.await;
    // Deliveries in flight are leased: another instance or the next start finishes them.
    outbox.abort();
    let _ = outbox.await;
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}

#[cfg(test)]
mod error_codes {
    //! The error contract (docs/architecture.md, "Errors and stable codes"):
    //! every public error type of the broker has a stable `ERR_*` code.
    #![allow(clippy::panic)]
    use crate::callbacks::CallbackError;
    use crate::proxy::{IpNet, IpNetError};
    use crate::store::StoreError;
    use crate::util::RandomError;

    fn assert_code(code: &str) {
        let body = code.strip_prefix("ERR_").unwrap_or_default();
        assert!(
            !body.is_empty()
                && body.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                && !body.starts_with('_')
                && !body.ends_with('_')
                && !body.contains("__"),
            "{code} is not an ERR_ SCREAMING_SNAKE code"
        );
    }

    #[test]
    fn every_variant_has_a_stable_code() {
        let store = [
            (StoreError::Db(rusqlite::Error::InvalidQuery), "ERR_STORE_DATABASE"),
            (StoreError::Io(std::io::Error::other("disk")), "ERR_STORE_IO"),
            (StoreError::Closed, "ERR_STORE_CLOSED"),
            (StoreError::Corrupt, "ERR_STORE_CORRUPT"),
            (StoreError::Full, "ERR_CAPACITY"),
            (StoreError::InboxFull, "ERR_INBOX_FULL"),
            (StoreError::NoInbox, "ERR_INBOX_NOT_FOUND"),
            (StoreError::SenderInvalid, "ERR_SENDER_INVALID"),
            (StoreError::SenderQuota, "ERR_SENDER_QUOTA"),
            (StoreError::TooManySenders, "ERR_TOO_MANY_SENDERS"),
            (StoreError::TooManyInboxes, "ERR_CAPACITY"),
            (StoreError::SchemaTooNew(9), "ERR_STORE_SCHEMA_TOO_NEW"),
            (StoreError::Duplicate, "ERR_STORE_DUPLICATE"),
            (StoreError::Unsupported("callbacks"), "ERR_NOT_SUPPORTED"),
            (StoreError::Backend("08006".into()), "ERR_STORE_BACKEND"),
        ];
        for (e, code) in &store {
            assert_eq!(e.code(), *code, "{e:?}");
            assert_code(e.code());
        }
        let callbacks = [
            (CallbackError::Invalid("not a URL"), "ERR_CALLBACK_URL_INVALID"),
            (CallbackError::NotHttps, "ERR_CALLBACK_URL_INVALID"),
            (CallbackError::Forbidden, "ERR_CALLBACK_FORBIDDEN"),
            (CallbackError::Unresolvable, "ERR_CALLBACK_UNRESOLVABLE"),
        ];
        for (e, code) in &callbacks {
            assert_eq!(e.code(), *code, "{e:?}");
            assert_code(e.code());
        }
        assert_eq!(RandomError.code(), "ERR_RANDOM_UNAVAILABLE");
        let ip: IpNetError = match "10.0.0.0/33".parse::<IpNet>() {
            Err(e) => e,
            Ok(net) => panic!("accepted {net:?}"),
        };
        assert_eq!(ip.code(), "ERR_TRUST_PROXY_INVALID");
        for code in [RandomError.code(), ip.code()] {
            assert_code(code);
        }
    }
}
