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

#[cfg(test)]
mod tests {
    //! The error contract (docs/architecture.md, "Errors and stable codes").
    use super::ErrorCode;
    use crate::encoding::b64::B64Error;
    use crate::envelope::EnvelopeError;
    use crate::keys::KeyError;
    use crate::time::Rfc3339Error;

    fn is_screaming_snake(code: &str) -> bool {
        let body = code.strip_prefix("ERR_").unwrap_or_default();
        !body.is_empty()
            && body.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            && !body.starts_with('_')
            && !body.ends_with('_')
            && !body.contains("__")
    }

    #[test]
    fn every_variant_has_a_stable_code() {
        let cases: &[(&dyn ErrorCode, &str)] = &[
            (&KeyError::Malformed("x"), "ERR_KEY_MALFORMED"),
            (&KeyError::NotRsa, "ERR_KEY_NOT_RSA"),
            (&KeyError::TooSmall { bits: 1024 }, "ERR_KEY_TOO_SMALL"),
            (&KeyError::TooLarge { bits: 16384 }, "ERR_KEY_TOO_LARGE"),
            (&KeyError::BadExponent, "ERR_KEY_BAD_EXPONENT"),
            (&KeyError::BitsUnsupported(1), "ERR_KEY_BITS_UNSUPPORTED"),
            (&KeyError::KeygenFailed, "ERR_KEYGEN_FAILED"),
            (&KeyError::InputTooLarge, "ERR_INPUT_TOO_LARGE"),
            (&KeyError::Encoding, "ERR_KEY_MALFORMED"),
            (&EnvelopeError::Key(KeyError::NotRsa), "ERR_KEY_NOT_RSA"),
            (&EnvelopeError::CredentialsInvalid("x"), "ERR_CREDENTIALS_INVALID"),
            (&EnvelopeError::InputTooLarge("x"), "ERR_INPUT_TOO_LARGE"),
            (&EnvelopeError::Malformed("x"), "ERR_ENVELOPE_MALFORMED"),
            (&EnvelopeError::Unsupported("x"), "ERR_ENVELOPE_UNSUPPORTED"),
            (&EnvelopeError::DecryptFailed, "ERR_DECRYPT_FAILED"),
            (&EnvelopeError::SessionMismatch, "ERR_JWE_SESSION_MISMATCH"),
            (&EnvelopeError::RandomUnavailable, "ERR_RANDOM_UNAVAILABLE"),
            (&Rfc3339Error::Malformed, "ERR_TIME_MALFORMED"),
            (&Rfc3339Error::InvalidDate, "ERR_TIME_INVALID_DATE"),
            (&B64Error::InvalidByte { offset: 0, byte: b'$' }, "ERR_BASE64_INVALID_BYTE"),
            (&B64Error::InvalidLength(5), "ERR_BASE64_INVALID_LENGTH"),
        ];
        for &(e, code) in cases {
            assert_eq!(e.code(), code);
            assert!(is_screaming_snake(code), "{code}");
        }
    }
}
