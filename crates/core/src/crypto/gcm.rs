//! AES-256-GCM with 96-bit IVs and 128-bit tags (the envelope and JWE `A256GCM`).

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::Zeroizing;

use super::{CryptoError, fill_random};

/// AES-GCM IV length in bytes.
pub(crate) const IV_LEN: usize = 12;
/// AES-GCM tag length in bytes.
pub(crate) const TAG_LEN: usize = 16;

/// A fresh random 32-byte content key and 12-byte IV.
pub(crate) fn fresh_key_and_iv() -> Result<(Zeroizing<[u8; 32]>, [u8; IV_LEN]), CryptoError> {
    let mut key = Zeroizing::new([0u8; 32]);
    let mut iv = [0u8; IV_LEN];
    fill_random(&mut key[..])?;
    fill_random(&mut iv)?;
    Ok((key, iv))
}

/// AES-256-GCM encryption; returns ciphertext || 16-byte tag.
pub(crate) fn aes256gcm_encrypt(
    key: &[u8; 32],
    iv: &[u8],
    plaintext: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let nonce = Nonce::try_from(iv).map_err(|_| CryptoError::Malformed("iv must be 12 bytes"))?;
    let cipher = Aes256Gcm::new(key.into());
    let mut buffer = Vec::with_capacity(plaintext.len() + TAG_LEN);
    buffer.extend_from_slice(plaintext);
    cipher
        .encrypt_in_place(&nonce, aad, &mut buffer)
        .map_err(|_| CryptoError::InputTooLarge("plaintext too long for AES-GCM"))?;
    Ok(buffer)
}

/// AES-256-GCM decryption of ciphertext || 16-byte tag.
pub(crate) fn aes256gcm_decrypt(
    key: &[u8; 32],
    iv: &[u8],
    ciphertext_and_tag: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let nonce = Nonce::try_from(iv).map_err(|_| CryptoError::DecryptFailed)?;
    if ciphertext_and_tag.len() < TAG_LEN {
        return Err(CryptoError::DecryptFailed);
    }
    let cipher = Aes256Gcm::new(key.into());
    let mut buffer = Zeroizing::new(ciphertext_and_tag.to_vec());
    cipher.decrypt_in_place(&nonce, aad, &mut *buffer).map_err(|_| CryptoError::DecryptFailed)?;
    Ok(buffer)
}
