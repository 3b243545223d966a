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

/// Base64 engines used across the crate.
pub(crate) mod b64 {
    use base64::alphabet;
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
    use base64::engine::DecodePaddingMode;

    /// Standard alphabet, padded on output (the LinkAuth wire form).
    pub const STD: GeneralPurpose = base64::engine::general_purpose::STANDARD;
    /// Standard alphabet, unpadded (SSH-style fingerprints).
    pub const STD_NO_PAD: GeneralPurpose = base64::engine::general_purpose::STANDARD_NO_PAD;
    /// base64url without padding (JOSE).
    pub const URL: GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    /// Lenient standard-alphabet decoder: padding optional.
    pub const STD_LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    /// Lenient url-safe decoder: padding optional (JWK members from sloppy producers).
    pub const URL_LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );

    /// Decode standard or url-safe base64, ignoring ASCII whitespace and padding.
    pub fn decode_any(input: &str) -> Option<Vec<u8>> {
        use base64::Engine;
        let compact: String = input.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        if compact.contains(['-', '_']) {
            URL_LENIENT.decode(compact.as_bytes()).ok()
        } else {
            STD_LENIENT.decode(compact.as_bytes()).ok()
        }
    }
}
