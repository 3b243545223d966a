//! RSA-OAEP with SHA-256 as hash and MGF1 hash (RFC 8017, 7.1): encryption by
//! hand over the modulus bytes (the seal-only bundle carries no big-number
//! library), decryption with the `rsa` crate (blinded, constant-time).

#[cfg(feature = "keygen")]
use rsa::{Oaep, RsaPrivateKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{CryptoError, fill_random, rsa_public};

/// RSA-OAEP-256 encryption to the key with big-endian modulus `n` (no leading
/// zeros) and exponent 65537, with a fresh random seed.
pub(crate) fn rsa_oaep_sha256_encrypt(n: &[u8], message: &[u8], label: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut seed = Zeroizing::new([0u8; 32]);
    fill_random(&mut seed[..])?;
    rsa_oaep_sha256_encrypt_with_seed(n, message, label, &seed)
}

/// [`rsa_oaep_sha256_encrypt`] with the OAEP seed given: for known-answer
/// tests only (a fixed seed makes encryption deterministic).
pub(crate) fn rsa_oaep_sha256_encrypt_with_seed(
    n: &[u8],
    message: &[u8],
    label: &[u8],
    seed: &[u8; 32],
) -> Result<Vec<u8>, CryptoError> {
    let k = n.len();
    if message.len() + 2 * 32 + 2 > k {
        return Err(CryptoError::InputTooLarge("message too long for RSA-OAEP"));
    }
    // EM = 0x00 || maskedSeed (32) || maskedDB (k - 33),
    // DB = SHA-256(label) || 0x00.. || 0x01 || message.
    let mut em = Zeroizing::new(vec![0u8; k]);
    let (seed_part, db) = em.get_mut(1..).unwrap_or_default().split_at_mut(32);
    let db_len = db.len();
    db.get_mut(..32).unwrap_or_default().copy_from_slice(&Sha256::digest(label));
    if let Some((one, rest)) = db.get_mut(db_len - message.len() - 1..).and_then(<[u8]>::split_first_mut) {
        *one = 1;
        rest.copy_from_slice(message);
    }
    seed_part.copy_from_slice(seed);
    mgf1_xor(db, seed_part);
    mgf1_xor(seed_part, db);
    Ok(rsa_public::pow_65537(n, &em))
}

/// `out ^= MGF1-SHA-256(seed)` over `out.len()` bytes.
fn mgf1_xor(out: &mut [u8], seed: &[u8]) {
    for (counter, chunk) in (0u32..).zip(out.chunks_mut(32)) {
        let mask = Sha256::new().chain_update(seed).chain_update(counter.to_be_bytes()).finalize();
        chunk.iter_mut().zip(mask.iter()).for_each(|(o, m)| *o ^= m);
    }
}

/// RSA-OAEP-256 decryption, blinded, constant-time arithmetic. Every failure
/// (wrong length, bad padding, no RNG for the blinding) is
/// [`CryptoError::DecryptFailed`].
#[cfg(feature = "keygen")]
pub(crate) fn rsa_oaep_sha256_decrypt(
    key: &RsaPrivateKey,
    ciphertext: &[u8],
    label: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    use rsa::traits::PublicKeyParts;
    if ciphertext.len() != key.size() {
        return Err(CryptoError::DecryptFailed);
    }
    super::check_rng().map_err(|_| CryptoError::DecryptFailed)?;
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    key.decrypt_blinded(&mut rng, Oaep::<Sha256>::new_with_label(label), ciphertext)
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::DecryptFailed)
}
