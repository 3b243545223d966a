//! JWT inspection engine: decode (tolerant, unverified), explain, find every
//! problem, verify (HS/RS/PS/ES/EdDSA) and sign test tokens.
//!
//! Built directly on the RustCrypto primitives, not on a JWT library: a token that
//! a library would reject at the first error still gets a full report here.
//! Core never reads the clock: `now` is always passed in.
//!
//! ```
//! use sealpost_core::jwt::{inspect, InspectOptions};
//! let r = inspect("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", &InspectOptions::at(1_700_000_000));
//! assert!(r.has("JWT_ALG_NONE"));
//! ```

mod alg;
pub mod b64;
mod claims;
mod codes;
mod decode;
pub mod der;
mod dpop;
mod ec_verify;
mod error;
mod explain;
mod findings;
mod inspect;
mod json;
mod keys;
mod options;
mod p256_vt;
mod pii;
mod policy;
mod report;
mod rsa_verify;
mod sign;
pub mod time;
mod verify;
mod weak;

pub use alg::Alg;
pub use codes::Code;
pub use decode::{Decoded, MAX_TOKEN, decode_unverified};
pub use dpop::{Binding, BindingStatus, DpopReport, ProofKeyStatus, access_token_hash, jwk_thumbprint};
pub use error::JwtError;
pub use inspect::{MAX_FINDINGS, inspect};
pub use keys::{KeySet, PublicMaterial, SignKey, SignMaterial, VerifyKey};
pub use options::JsonOptions;
pub use policy::{InspectOptions, MAX_ACT_DEPTH, Policy};
pub use report::*;
pub use sign::{Broken, SignOptions, SignRequest, alg_named, parse_object, resolve_times, sign, sign_bytes};
pub use verify::{SigFailure, hmac, verify_signature};
pub use weak::SECRETS as WEAK_SECRETS;
