//! The cryptographic primitives, on plain bytes: the platform random number
//! generator ([`check_rng`]), RSA-OAEP with SHA-256 ([`rsa_oaep_sha256_encrypt`]
//! over the modulus, [`rsa_oaep_sha256_decrypt`] over an `rsa` private key) and
//! AES-256-GCM ([`aes256gcm_encrypt`], [`aes256gcm_decrypt`]).
//!
//! Nothing here knows agent keys or envelopes: [`crate::keys`] (key generation
//! checks the RNG) and [`crate::envelope`] (sealing, opening) both build on this
//! module, and neither imports the other's internals. The public view for test
//! suites (Wycheproof) is [`crate::envelope::primitives`], the same functions on
//! agent keys with [`crate::envelope::EnvelopeError`].

mod gcm;
mod oaep;
mod rsa_public;

pub(crate) use gcm::{IV_LEN, TAG_LEN, aes256gcm_decrypt, aes256gcm_encrypt, fresh_key_and_iv};
#[cfg(feature = "keygen")]
pub(crate) use oaep::rsa_oaep_sha256_decrypt;
pub(crate) use oaep::{rsa_oaep_sha256_encrypt, rsa_oaep_sha256_encrypt_with_seed};

/// Why a primitive failed. Mapped one to one onto
/// [`crate::envelope::EnvelopeError`] (same variants, same codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CryptoError {
    /// The platform random number generator did not answer.
    RandomUnavailable,
    /// Any failure to decrypt: deliberately says nothing about which step.
    DecryptFailed,
    /// The input is too long for the primitive.
    InputTooLarge(&'static str),
    /// A parameter has the wrong shape (an IV that is not 12 bytes).
    Malformed(&'static str),
}

/// Fill `buf` from the platform CSPRNG (OS, or `crypto.getRandomValues` in the browser).
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buf).map_err(|_| CryptoError::RandomUnavailable)
}

/// Make sure the platform RNG answers (so later infallible draws cannot fail).
pub(crate) fn check_rng() -> Result<(), CryptoError> {
    fill_random(&mut [0u8; 1])
}
