//! Shared error plumbing: every Sealpost error has a stable machine-readable code.
//!
//! The code is the same string in Rust (`code()`), in JavaScript (`err.code`), in
//! the broker's `application/problem+json` bodies (`code` member) and in the CLI's
//! messages. Codes never change meaning once published.

/// An error with a stable `ERR_*` code.
pub trait ErrorCode {
    /// The stable code, e.g. `ERR_KEY_TOO_SMALL`.
    fn code(&self) -> &'static str;
}
