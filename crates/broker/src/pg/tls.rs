//! TLS to PostgreSQL, chosen by the URL the way libpq reads it, so an operator's
//! `?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem` means what it means for `psql`.
//!
//! | `sslmode`            | what Sealpost does                                                      |
//! |----------------------|-------------------------------------------------------------------------|
//! | `disable`, unset, `allow`, `prefer` | no TLS (as before: a Unix socket or a private network) |
//! | `require`            | TLS, the server's certificate verified: chain to the roots and host name |
//! | `verify-ca`          | TLS, chain to the roots verified, host name not checked                  |
//! | `verify-full`        | TLS, chain and host name verified                                        |
//!
//! Stricter than libpq in one place, on purpose: libpq's `require` encrypts without
//! checking who answers, which an attacker on the path defeats; here any TLS is
//! verified. `prefer` does not try unverified TLS for the same reason.
//!
//! Roots: `sslrootcert=FILE` (PEM, one or more certificates) replaces the built-in
//! Mozilla roots (managed databases give their CA as such a file);
//! `sslrootcert=system` or none: the Mozilla roots. The server's certificate
//! also gives SCRAM channel binding (`SCRAM-SHA-256-PLUS`) when the server offers it.
//! Client certificates are not supported (`sslcert`/`sslkey` are refused).

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode;

use crate::store::StoreError;

/// How to reach the server: in the clear or over verified TLS.
#[derive(Clone)]
pub enum DbTls {
    /// No TLS.
    Plain,
    /// TLS with the server's certificate verified.
    Verified(tokio_postgres_rustls::MakeRustlsConnect),
}

impl std::fmt::Debug for DbTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DbTls::Plain => "Plain",
            DbTls::Verified(_) => "Verified",
        })
    }
}

impl DbTls {
    /// Whether connections use TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self, DbTls::Verified(_))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Off,
    Require,
    VerifyCa,
    VerifyFull,
}

/// Parse a `postgres://` URL: its TLS options (read and removed here) and the rest
/// (parsed by tokio-postgres). Errors name the option, never the URL (it may hold a
/// password).
pub fn parse_url(url: &str) -> Result<(tokio_postgres::Config, DbTls), StoreError> {
    let bad = |what: &str| StoreError::Backend(format!("the PostgreSQL URL could not be parsed: {what}"));
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut mode = Mode::Off;
    let mut root_file: Option<String> = None;
    let mut kept: Vec<&str> = Vec::new();
    for kv in query.unwrap_or("").split('&').filter(|kv| !kv.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        match k {
            "sslmode" => {
                mode = match v {
                    "disable" | "allow" | "prefer" => Mode::Off,
                    "require" => Mode::Require,
                    "verify-ca" => Mode::VerifyCa,
                    "verify-full" => Mode::VerifyFull,
                    _ => return Err(bad("sslmode must be disable, allow, prefer, require, verify-ca or verify-full")),
                }
            }
            "sslrootcert" => root_file = Some(percent_decode(v).ok_or_else(|| bad("sslrootcert is not valid UTF-8"))?),
            "sslcert" | "sslkey" | "sslpassword" | "sslcrl" | "sslcrldir" => {
                return Err(bad(
                    "client certificates and CRLs (sslcert, sslkey, sslpassword, sslcrl) are not supported",
                ));
            }
            _ => kept.push(kv),
        }
    }
    let rest = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    let mut cfg: tokio_postgres::Config = rest.parse().map_err(|_| bad("check the host, port, user and options"))?;
    if mode == Mode::Off {
        if root_file.is_some() {
            return Err(bad("sslrootcert needs sslmode=require, verify-ca or verify-full"));
        }
        cfg.ssl_mode(SslMode::Disable);
        return Ok((cfg, DbTls::Plain));
    }
    let roots = match root_file.as_deref() {
        None | Some("system") => {
            let mut roots = RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            roots
        }
        Some(path) => roots_from_file(path)?,
    };
    cfg.ssl_mode(SslMode::Require);
    Ok((cfg, DbTls::Verified(connector(roots, mode == Mode::VerifyCa)?)))
}

fn roots_from_file(path: &str) -> Result<RootCertStore, StoreError> {
    use rustls::pki_types::pem::PemObject;
    let err = |why: String| StoreError::Backend(format!("sslrootcert {path}: {why}"));
    let pem = std::fs::read(path).map_err(|e| err(e.kind().to_string()))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|_| err("not a PEM file of certificates".into()))?;
        roots.add(cert).map_err(|e| err(format!("a certificate was refused ({e})")))?;
    }
    if roots.is_empty() {
        return Err(err("no certificate in the file".into()));
    }
    Ok(roots)
}

fn connector(roots: RootCertStore, ignore_name: bool) -> Result<tokio_postgres_rustls::MakeRustlsConnect, StoreError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| StoreError::Backend(format!("TLS roots: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = if ignore_name { Arc::new(ChainOnly(verifier)) } else { verifier };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Backend(format!("TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// `verify-ca`: the chain must lead to a trusted root; a certificate for another host
/// name is accepted (libpq's meaning of the mode).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `%XX` decoding of a URL query value (paths such as `/etc/ssl/db%20ca.pem`).
fn percent_decode(v: &str) -> Option<String> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn modes_as_libpq_names_them() {
        let (cfg, tls) = parse_url("postgres://u@db.example/app").unwrap();
        assert!(!tls.is_tls());
        assert_eq!(cfg.get_ssl_mode(), SslMode::Disable);
        for m in ["disable", "allow", "prefer"] {
            assert!(!parse_url(&format!("postgres://u@h/app?sslmode={m}")).unwrap().1.is_tls(), "{m}");
        }
        for m in ["require", "verify-ca", "verify-full"] {
            let (cfg, tls) = parse_url(&format!("postgres://u@h/app?sslmode={m}&application_name=x")).unwrap();
            assert!(tls.is_tls(), "{m}");
            assert_eq!(cfg.get_ssl_mode(), SslMode::Require, "{m}");
            assert_eq!(cfg.get_application_name(), Some("x"), "the other options are kept");
        }
    }

    #[test]
    fn bad_tls_options_are_refused_without_echoing_the_url() {
        for url in [
            "postgres://u:hunter2@h/app?sslmode=verify-everything",
            "postgres://u:hunter2@h/app?sslmode=require&sslcert=/c.pem",
            "postgres://u:hunter2@h/app?sslrootcert=/ca.pem",
            "postgres://u:hunter2@h/app?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
            "postgres://u:hunter2@h/app?sslmode=verify-full&sslrootcert=%ff",
        ] {
            let e = parse_url(url).unwrap_err().to_string();
            assert!(!e.contains("hunter2"), "{e}");
        }
        let e = parse_url("postgres://u@h/app?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem").unwrap_err();
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("/etc/ssl/db%20ca.pem").as_deref(), Some("/etc/ssl/db ca.pem"));
        assert_eq!(percent_decode("/a%2"), Some("/a%2".into()));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%C3%A9"), Some("é".into()));
    }
}
