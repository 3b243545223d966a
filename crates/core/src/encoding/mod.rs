//! Text encodings of binary data: base64 in all the spellings Sealpost reads
//! and writes ([`b64`]) and PEM blocks ([`pem`]). One decoder serves the key
//! parsers, the envelope and the JWT engine; each caller states which
//! spellings it accepts (strict canonical forms, or tolerant with a report of
//! every deviation).
//!
//! Written by hand, without a general base64 engine: the seal-only WASM bundle
//! carries these few hundred bytes of code.

pub mod b64;
pub mod pem;
