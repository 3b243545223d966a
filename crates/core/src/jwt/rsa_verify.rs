//! RSA signature verification for RS256/384/512 and PS256/384/512.
//!
//! The `rsa` crate's verifier raises the signature to `e` with a fixed-window,
//! constant-time exponentiation meant for secret exponents: ~36 modular
//! multiplications plus a constant-time table scan per window. Verification
//! only handles public values (`e`, `n`, the signature), so this module does a
//! plain square-and-multiply over the bits of `e` (16 squarings and one
//! multiplication for e = 65537) with its own Montgomery arithmetic (word-level,
//! a dedicated squaring; `n`'s Montgomery parameters come precomputed with the
//! parsed key, which the WASM bundle keeps between calls), then checks the
//! padding exactly as RFC 8017 specifies: EMSA-PKCS1-v1_5 by encoding the
//! expected block and comparing (§8.2.2), EMSA-PSS-VERIFY step by step (§9.1.2)
//! with the salt as long as the hash (RFC 7518 §3.5). Checked against every
//! Wycheproof RSA PKCS#1 v1.5 and PSS vector (crates/core/tests/jwt_wycheproof.rs).

use crypto_bigint::modular::MontyParams;
use crypto_bigint::{BoxedUint, Word};
use rsa::RsaPublicKey;
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::alg::Alg;

/// Montgomery arithmetic modulo an odd `m` with `k`-bit limbs (`k` = 28, or 26
/// above about 3,500 bits) held in `u64` words, `R = 2^(k·n)`, by product
/// scanning with the reduction interleaved (column by column, the running sum
/// in one register). Every limb product is below `2^(2k)`, so a column's sum of
/// at most `2n` products (the multiplication's and the reduction's) plus the
/// carry never overflows: the inner loops are one native 64-bit multiply-add
/// per product, with no carry chain (WASM has no 64×64→128 multiply; 32-bit
/// limbs need a carry per product). Variable-time: public values only.
struct Mont {
    m: Vec<u64>,
    k: u32,
    mask: u64,
    /// `-m^-1 mod 2^k`.
    n0: u64,
    /// The reduction's quotient limbs of the current product.
    u: Vec<u64>,
}

/// `Σ x[j]·y[len-1-j]` (one column's products).
#[inline]
fn dot_rev(x: &[u64], y: &[u64]) -> u64 {
    x.iter().zip(y.iter().rev()).fold(0, |s, (p, q)| s + p * q)
}

impl Mont {
    /// For the odd modulus given as little-endian machine words.
    fn new(words: &[Word]) -> Option<Self> {
        let w_bits = words.len() * Word::BITS as usize;
        // A column sums at most 2n products below 2^(2k), plus a carry: 2n < 2^(64-2k).
        let k: u32 = if w_bits.div_ceil(28) < 128 { 28 } else { 26 };
        let n = w_bits.div_ceil(k as usize);
        if n >= 2048 {
            return None;
        }
        let m = to_limbs(words, k, n);
        let m0 = *m.first()?;
        if m0 & 1 == 0 {
            return None;
        }
        // m0^-1 mod 2^64 by Newton's iteration (each step doubles the correct bits).
        let mut inv: u64 = 1;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(m0.wrapping_mul(inv)));
        }
        let mask = (1u64 << k) - 1;
        Some(Self { m, k, mask, n0: inv.wrapping_neg() & mask, u: vec![0; n] })
    }

    fn n(&self) -> usize {
        self.m.len()
    }

    /// `out = a·b·R^-1 mod m` (`b` = `None`: `a²·R^-1`, each cross product
    /// once, doubled) for `a`, `b` below `m`.
    fn mont(&mut self, a: &[u64], b: Option<&[u64]>, out: &mut [u64]) {
        let n = self.n();
        let (k, mask) = (self.k, self.mask);
        let mut acc: u64 = 0;
        for c in 0..2 * n - 1 {
            // Limbs j with both j and c - j in 0..n.
            let lo = (c + 1).saturating_sub(n);
            let hi = c.min(n - 1);
            acc += match b {
                Some(b) => dot_rev(&a[lo..=hi], &b[lo..=hi]),
                None => {
                    let half = (hi + 1 - lo) / 2;
                    let mut s = 2 * dot_rev(&a[lo..lo + half], &a[hi + 1 - half..=hi]);
                    if (hi + 1 - lo) % 2 == 1 {
                        let mid = a[lo + half];
                        s += mid * mid;
                    }
                    s
                }
            };
            if c < n {
                acc += dot_rev(&self.u[..c], &self.m[1..=c]);
                let uc = ((acc & mask) * self.n0) & mask;
                self.u[c] = uc;
                // The low k bits of the column are now zero.
                acc += uc * self.m[0];
            } else {
                acc += dot_rev(&self.u[lo..], &self.m[lo..]);
                out[c - n] = acc & mask;
            }
            acc >>= k;
        }
        out[n - 1] = acc & mask;
        // The result is below 2m: at most one subtraction.
        let ge = acc >> k != 0
            || out.iter().rev().zip(self.m.iter().rev()).find(|(a, b)| a != b).is_none_or(|(a, b)| a > b);
        if ge {
            self.sub_m(out);
        }
    }

    fn sub_m(&self, x: &mut [u64]) {
        let mut borrow = 0u64;
        for (v, &mj) in x.iter_mut().zip(&self.m) {
            let d = v.wrapping_sub(mj).wrapping_sub(borrow);
            *v = d & self.mask;
            borrow = d >> 63;
        }
    }

    /// `x = 2x mod m` for `x` below `m`.
    fn double(&self, x: &mut [u64]) {
        let mut c = 0;
        for v in x.iter_mut() {
            let d = (*v << 1) | c;
            c = d >> self.k;
            *v = d & self.mask;
        }
        let ge = c != 0 || x.iter().rev().zip(self.m.iter().rev()).find(|(a, b)| a != b).is_none_or(|(a, b)| a > b);
        if ge {
            self.sub_m(x);
        }
    }
}

/// `n` little-endian `k`-bit limbs of the little-endian words `w`.
fn to_limbs(w: &[Word], k: u32, n: usize) -> Vec<u64> {
    let mut out = Vec::with_capacity(n);
    let (mut acc, mut have) = (0u128, 0u32);
    let mask = (1u128 << k) - 1;
    let mut words = w.iter();
    while out.len() < n {
        if have < k {
            acc |= u128::from(words.next().copied().unwrap_or(0)) << have;
            have += Word::BITS;
        }
        #[allow(clippy::cast_possible_truncation)]
        out.push((acc & mask) as u64);
        acc >>= k;
        have -= k;
    }
    out
}

/// `n` little-endian `k`-bit limbs of the big-endian bytes `b`.
fn limbs_from_be(b: &[u8], k: u32, n: usize) -> Vec<u64> {
    let mut out = Vec::with_capacity(n);
    let (mut acc, mut have) = (0u64, 0u32);
    let mut bytes = b.iter().rev();
    while out.len() < n {
        while have < k {
            acc |= u64::from(bytes.next().copied().unwrap_or(0)) << have;
            have += 8;
        }
        out.push(acc & ((1 << k) - 1));
        acc >>= k;
        have -= k;
    }
    out
}

/// The `len`-byte big-endian form of the `k`-bit limbs `x` (known to fit).
fn limbs_to_be(x: &[u64], k: u32, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let (mut acc, mut have) = (0u64, 0u32);
    let mut limbs = x.iter();
    for o in out.iter_mut().rev() {
        if have < 8 {
            acc |= limbs.next().copied().unwrap_or(0) << have;
            have += k;
        }
        #[allow(clippy::cast_possible_truncation)]
        {
            *o = acc as u8;
        }
        acc >>= 8;
        have -= 8;
    }
    out
}

/// `sig^e mod n` as a `k`-byte big-endian block, or `None` when the signature is
/// not `k` bytes or not below `n` (RFC 8017 §5.2.2, §8.2.2 step 1).
fn public_op(key: &RsaPublicKey, sig: &[u8]) -> Option<Vec<u8>> {
    // (Variable-time size and comparison: n and the signature are public.)
    let n = key.n();
    let bits = n.as_ref().bits_vartime() as usize;
    let k = bits.div_ceil(8);
    if sig.len() != k {
        return None;
    }
    let s = BoxedUint::from_be_slice(sig, n.bits_precision()).ok()?;
    if s.cmp_vartime(n.as_ref()) != core::cmp::Ordering::Less {
        return None;
    }
    let e = key.e();
    let e_bits = e.bits_vartime();
    if e_bits < 2 {
        return None;
    }
    let params: &MontyParams<BoxedUint> = key.n_params().as_ref();
    let words = n.as_ref().as_words();
    let mut mont = Mont::new(words)?;
    let len = mont.n();
    // R'^2 mod n from the key's precomputed R^2 (R = 2^(W·words) ≤ R' = 2^(k·len)):
    // 2·(k·len − W·words) modular doublings.
    let mut r2 = to_limbs(params.r2().as_words(), mont.k, len);
    for _ in 0..2 * (mont.k as usize * len - words.len() * Word::BITS as usize) {
        mont.double(&mut r2);
    }
    // Into Montgomery form (s·R'), square-and-multiply over the bits of e, out again.
    let s = limbs_from_be(sig, mont.k, len);
    let mut base = vec![0; len];
    mont.mont(&s, Some(&r2), &mut base);
    let mut acc = base.clone();
    let mut tmp = vec![0; len];
    for i in (0..e_bits - 1).rev() {
        mont.mont(&acc, None, &mut tmp);
        if e.bit_vartime(i) {
            mont.mont(&tmp, Some(&base), &mut acc);
        } else {
            std::mem::swap(&mut acc, &mut tmp);
        }
    }
    let mut one = vec![0; len];
    one[0] = 1;
    mont.mont(&acc, Some(&one), &mut tmp);
    Some(limbs_to_be(&tmp, mont.k, k))
}

fn digest(alg: Alg, parts: &[&[u8]]) -> Vec<u8> {
    fn run<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
        let mut d = D::new();
        for p in parts {
            d.update(p);
        }
        d.finalize().to_vec()
    }
    match alg.hash_len() {
        32 => run::<Sha256>(parts),
        48 => run::<Sha384>(parts),
        _ => run::<Sha512>(parts),
    }
}

/// DER `DigestInfo` prefix (AlgorithmIdentifier with NULL parameters) of
/// SHA-256/384/512, RFC 8017 §9.2 note 1.
fn digest_info_prefix(hash_len: usize) -> &'static [u8] {
    const SHA256: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
        0x20,
    ];
    const SHA384: [u8; 19] = [
        0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04,
        0x30,
    ];
    const SHA512: [u8; 19] = [
        0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04,
        0x40,
    ];
    match hash_len {
        32 => &SHA256,
        48 => &SHA384,
        _ => &SHA512,
    }
}

/// EMSA-PKCS1-v1_5 by construction: `00 01 FF..FF 00 || DigestInfo || H`.
fn pkcs1v15_ok(alg: Alg, em: &[u8], msg: &[u8]) -> bool {
    let h = digest(alg, &[msg]);
    let prefix = digest_info_prefix(h.len());
    let t_len = prefix.len() + h.len();
    let Some(ps_len) = em.len().checked_sub(t_len + 3) else { return false };
    if ps_len < 8 {
        return false;
    }
    let mut expected = Vec::with_capacity(em.len());
    expected.extend_from_slice(&[0x00, 0x01]);
    expected.resize(2 + ps_len, 0xff);
    expected.push(0x00);
    expected.extend_from_slice(prefix);
    expected.extend_from_slice(&h);
    expected == em
}

/// EMSA-PSS-VERIFY with MGF1 over the same hash and sLen = hLen.
fn pss_ok(alg: Alg, em_full: &[u8], msg: &[u8], mod_bits: usize) -> bool {
    let h_len = alg.hash_len();
    let s_len = h_len;
    let em_bits = mod_bits - 1;
    let em_len = em_bits.div_ceil(8);
    // When emLen < k the leading byte of the k-byte block must be zero.
    let Some(extra) = em_full.len().checked_sub(em_len) else { return false };
    if em_full.iter().take(extra).any(|&b| b != 0) {
        return false;
    }
    let Some(em) = em_full.get(extra..) else { return false };
    if em_len < h_len + s_len + 2 || em.last() != Some(&0xbc) {
        return false;
    }
    let db_len = em_len - h_len - 1;
    let (masked_db, rest) = em.split_at(db_len);
    let Some(hash) = rest.get(..h_len) else { return false };
    let top_bits = 8 * em_len - em_bits; // 0..=7 leftmost bits that must be zero
    let top_mask = 0xffu8.checked_shr(u32::try_from(top_bits).unwrap_or(8)).unwrap_or(0);
    if masked_db.first().is_none_or(|&b| b & !top_mask != 0) {
        return false;
    }
    // MGF1(H, db_len) XOR maskedDB.
    let mut db = Vec::with_capacity(db_len + h_len);
    let mut counter = 0u32;
    while db.len() < db_len {
        db.extend_from_slice(&digest(alg, &[hash, &counter.to_be_bytes()]));
        counter += 1;
    }
    db.truncate(db_len);
    for (d, m) in db.iter_mut().zip(masked_db) {
        *d ^= m;
    }
    if let Some(first) = db.first_mut() {
        *first &= top_mask;
    }
    let ps_len = db_len - s_len - 1;
    if db.iter().take(ps_len).any(|&b| b != 0) || db.get(ps_len) != Some(&0x01) {
        return false;
    }
    let Some(salt) = db.get(ps_len + 1..) else { return false };
    let m_hash = digest(alg, &[msg]);
    digest(alg, &[&[0u8; 8], &m_hash, salt]) == hash
}

/// Whether `sig` is a valid RS*/PS* signature of `msg` under `key`.
pub(super) fn verify(alg: Alg, key: &RsaPublicKey, msg: &[u8], sig: &[u8]) -> bool {
    let Some(em) = public_op(key, sig) else { return false };
    match alg {
        Alg::RS256 | Alg::RS384 | Alg::RS512 => pkcs1v15_ok(alg, &em, msg),
        Alg::PS256 | Alg::PS384 | Alg::PS512 => pss_ok(alg, &em, msg, key.n().as_ref().bits_vartime() as usize),
        _ => false,
    }
}
