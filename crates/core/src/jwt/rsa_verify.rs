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
use crypto_bigint::{BoxedUint, WideWord, Word};
use rsa::RsaPublicKey;
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::alg::Alg;

/// `t + a·b + c` as (low, high) words; cannot overflow the wide word.
#[inline(always)]
fn mac(t: Word, a: Word, b: Word, c: Word) -> (Word, Word) {
    let v = WideWord::from(t) + WideWord::from(a) * WideWord::from(b) + WideWord::from(c);
    #[allow(clippy::cast_possible_truncation)]
    (v as Word, (v >> Word::BITS) as Word)
}

/// Montgomery arithmetic modulo an odd `m` (`R = 2^(W·n)`, `n` words) with a
/// dedicated squaring: separate product then reduction (SOS), where the
/// squaring computes each cross product once, about 3/4 of the word
/// products of a general multiplication. Variable-time: public values only.
struct Mont<'a> {
    m: &'a [Word],
    /// `-m^-1 mod 2^W`.
    n0: Word,
    /// Double-width product plus one carry word.
    t: Vec<Word>,
}

impl<'a> Mont<'a> {
    fn new(m: &'a [Word], n0: Word) -> Self {
        Self { m, n0, t: vec![0; 2 * m.len() + 1] }
    }

    /// `t = a·b`.
    fn mul(&mut self, a: &[Word], b: &[Word]) {
        let n = self.m.len();
        self.t.fill(0);
        for (i, &ai) in a.iter().enumerate() {
            let mut c = 0;
            for (tj, &bj) in self.t[i..i + n].iter_mut().zip(b) {
                (*tj, c) = mac(*tj, ai, bj, c);
            }
            self.t[i + n] = c;
        }
    }

    /// `t = a²`.
    fn sqr(&mut self, a: &[Word]) {
        let n = self.m.len();
        self.t.fill(0);
        for (i, &ai) in a.iter().enumerate() {
            let mut c = 0;
            for (tj, &aj) in self.t[2 * i + 1..i + n].iter_mut().zip(&a[i + 1..]) {
                (*tj, c) = mac(*tj, ai, aj, c);
            }
            self.t[i + n] = c;
        }
        let mut top = 0;
        for x in &mut self.t[..2 * n] {
            let next = *x >> (Word::BITS - 1);
            *x = (*x << 1) | top;
            top = next;
        }
        let mut c: WideWord = 0;
        for (i, &ai) in a.iter().enumerate() {
            let sq = WideWord::from(ai) * WideWord::from(ai);
            #[allow(clippy::cast_possible_truncation)]
            {
                let lo = WideWord::from(self.t[2 * i]) + WideWord::from(sq as Word) + c;
                self.t[2 * i] = lo as Word;
                let hi = WideWord::from(self.t[2 * i + 1]) + (sq >> Word::BITS) + (lo >> Word::BITS);
                self.t[2 * i + 1] = hi as Word;
                c = hi >> Word::BITS;
            }
        }
    }

    /// `out = t·R^-1 mod m`, for `t < m·R`.
    fn redc(&mut self, out: &mut [Word]) {
        let n = self.m.len();
        let t = &mut self.t;
        t[2 * n] = 0;
        for i in 0..n {
            let u = t[i].wrapping_mul(self.n0);
            let mut c = 0;
            for (tj, &mj) in t[i..i + n].iter_mut().zip(self.m) {
                (*tj, c) = mac(*tj, u, mj, c);
            }
            for tk in &mut t[i + n..] {
                if c == 0 {
                    break;
                }
                let (s, o) = tk.overflowing_add(c);
                *tk = s;
                c = Word::from(o);
            }
        }
        // t/R < 2m: at most one subtraction.
        let hi = &t[n..2 * n];
        let ge =
            t[2 * n] != 0 || hi.iter().rev().zip(self.m.iter().rev()).find(|(a, b)| a != b).is_none_or(|(a, b)| a > b);
        if ge {
            let mut borrow = false;
            for ((o, &h), &mj) in out.iter_mut().zip(hi).zip(self.m) {
                let (d1, b1) = h.overflowing_sub(mj);
                let (d2, b2) = d1.overflowing_sub(Word::from(borrow));
                *o = d2;
                borrow = b1 || b2;
            }
        } else {
            out.copy_from_slice(hi);
        }
    }
}

/// `sig^e mod n` as a `k`-byte big-endian block, or `None` when the signature is
/// not `k` bytes or not below `n` (RFC 8017 §5.2.2, §8.2.2 step 1).
fn public_op(key: &RsaPublicKey, sig: &[u8]) -> Option<Vec<u8>> {
    // (Variable-time size and comparison: n and the signature are public.)
    let n = key.n();
    let k = n.as_ref().bits_vartime().div_ceil(8) as usize;
    if sig.len() != k {
        return None;
    }
    let s = BoxedUint::from_be_slice(sig, n.bits_precision()).ok()?;
    if s.cmp_vartime(n.as_ref()) != core::cmp::Ordering::Less {
        return None;
    }
    let e = key.e();
    let bits = e.bits_vartime();
    if bits < 2 {
        return None;
    }
    let params: &MontyParams<BoxedUint> = key.n_params().as_ref();
    let m = n.as_ref().as_words();
    let r2 = params.r2().as_words();
    let s = s.as_words();
    if r2.len() != m.len() || s.len() != m.len() {
        return None;
    }
    let mut mont = Mont::new(m, params.mod_neg_inv().0);
    // Into Montgomery form (s·R), square-and-multiply over the bits of e, out again.
    let mut base = vec![0; m.len()];
    mont.mul(s, r2);
    mont.redc(&mut base);
    let mut acc = base.clone();
    for i in (0..bits - 1).rev() {
        mont.sqr(&acc);
        mont.redc(&mut acc);
        if e.bit_vartime(i) {
            mont.mul(&acc, &base);
            mont.redc(&mut acc);
        }
    }
    mont.t.fill(0);
    mont.t[..m.len()].copy_from_slice(&acc);
    mont.redc(&mut acc);
    let m_bytes: Vec<u8> = acc.iter().rev().flat_map(|w| w.to_be_bytes()).collect();
    // As wide as n's precision (whole words); keep the low k bytes.
    let skip = m_bytes.len().checked_sub(k)?;
    if m_bytes.iter().take(skip).any(|&b| b != 0) {
        return None;
    }
    m_bytes.get(skip..).map(<[u8]>::to_vec)
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
