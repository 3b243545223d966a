//! Sealpost core: agent keys, the LinkAuth envelope and its JWE form, JWT inspection.
//!
//! Pure Rust, builds for native targets and `wasm32-unknown-unknown`. No I/O and no
//! clock: callers pass the current time where it matters.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod crypto;
pub mod encoding;
pub mod envelope;
pub mod error;
#[cfg(feature = "jwt")]
pub mod jwt;
pub mod keys;
pub mod protocol;
pub mod time;
