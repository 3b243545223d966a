//! Variable-time P-256 arithmetic for ECDSA **verification** (public inputs
//! only: signature, hash, public key).
//!
//! The `p256` crate's field is constant-time: in WASM every limb's borrow of
//! every subtraction goes through `core::hint::black_box`, a store and a load
//! of the shadow stack, and its 256-bit product is a Karatsuba split (CPU
//! profile of `inspectJwt` with an ES256 key in Node: its subtraction helper
//! alone 23% of the time, the product 12.5%). Nothing here is secret, so this
//! module drops both: 32-bit limbs (what `i64.mul` gives in WASM), a plain
//! Montgomery product, branches on values. Points are Jacobian
//! (`x = X/Z²`, `y = Y/Z³`) with the usual formulas for `a = -3`
//! (hyperelliptic.org EFD: `madd-2007-bl`, `add-2007-bl`, `dbl-2001-b`),
//! their exceptional cases (equal or opposite points, infinity) handled.
//! Checked against the `p256` crate (proptests below) and by the Wycheproof
//! vectors through `ec_verify`.

/// `p = 2^256 - 2^224 + 2^192 + 2^96 - 1`, little-endian 32-bit limbs.
const P: [u32; 8] = [0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0, 0, 0, 1, 0xffff_ffff];
/// `R² mod p` (`R = 2^256`): `from_bytes` multiplies by it.
const R2: Fe = Fe([3, 0, 0xffff_ffff, 0xffff_fffb, 0xffff_fffe, 0xffff_ffff, 0xffff_fffd, 4]);
/// The group order `n`, big-endian.
const N_BE: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa,
    0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// Repeats `$body` with `$i` a constant bound to each listed index: at the
/// bundle's opt-level "s" a loop over limbs stays a loop over memory; written
/// out with constant indices the limbs stay in locals and the products with
/// `p`'s 0 and 1 limbs fold away.
macro_rules! each {
    ($i:ident in [$($n:literal),*] $body:block) => { $( { const $i: usize = $n; $body } )* };
}

/// A field element in Montgomery form (`a·R mod p`), always fully reduced (`< p`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Fe([u32; 8]);

#[allow(clippy::cast_possible_truncation)]
impl Fe {
    const ZERO: Fe = Fe([0; 8]);

    /// A canonical big-endian value (`None` when it is not below `p`).
    pub(crate) fn from_bytes(be: &[u8; 32]) -> Option<Fe> {
        let mut l = [0u32; 8];
        for (i, limb) in l.iter_mut().enumerate() {
            let o = 28 - 4 * i;
            *limb = u32::from_be_bytes([be[o], be[o + 1], be[o + 2], be[o + 3]]);
        }
        if !lt_p(&l) {
            return None;
        }
        Some(Fe(l).mul(&R2))
    }

    /// The canonical big-endian value.
    #[cfg(test)]
    pub(crate) fn to_bytes(self) -> [u8; 32] {
        let mut one = [0u32; 8];
        one[0] = 1;
        let c = self.mul(&Fe(one));
        let mut out = [0u8; 32];
        for (i, limb) in c.0.iter().enumerate() {
            let o = 28 - 4 * i;
            out[o..o + 4].copy_from_slice(&limb.to_be_bytes());
        }
        out
    }

    fn is_zero(&self) -> bool {
        self.0 == [0; 8]
    }

    fn add(&self, b: &Fe) -> Fe {
        let mut r = [0u32; 8];
        let mut c = 0u64;
        each!(I in [0, 1, 2, 3, 4, 5, 6, 7] {
            let s = u64::from(self.0[I]) + u64::from(b.0[I]) + c;
            r[I] = s as u32;
            c = s >> 32;
        });
        reduce_once(r, c != 0)
    }

    // The carry out of the top limb when `p` is added back is the 2^256 that
    // the borrow took: dropped.
    #[allow(unused_assignments)]
    fn sub(&self, b: &Fe) -> Fe {
        let mut r = [0u32; 8];
        let mut borrow = 0i64;
        each!(I in [0, 1, 2, 3, 4, 5, 6, 7] {
            let d = i64::from(self.0[I]) - i64::from(b.0[I]) + borrow;
            r[I] = d as u32;
            borrow = d >> 32;
        });
        if borrow != 0 {
            let mut c = 0u64;
            each!(I in [0, 1, 2, 3, 4, 5, 6, 7] {
                let s = u64::from(r[I]) + u64::from(P[I]) + c;
                r[I] = s as u32;
                c = s >> 32;
            });
        }
        Fe(r)
    }

    fn neg(&self) -> Fe {
        Fe::ZERO.sub(self)
    }

    fn double(&self) -> Fe {
        self.add(self)
    }

    /// Montgomery product `a·b·R⁻¹ mod p` (CIOS; `-p⁻¹ mod 2^32` is 1).
    fn mul(&self, b: &Fe) -> Fe {
        let (a, b) = (&self.0, &b.0);
        let mut t = [0u32; 9];
        each!(I in [0, 1, 2, 3, 4, 5, 6, 7] {
            let ai = u64::from(a[I]);
            let mut c = 0u64;
            each!(J in [0, 1, 2, 3, 4, 5, 6, 7] {
                let s = u64::from(t[J]) + ai * u64::from(b[J]) + c;
                t[J] = s as u32;
                c = s >> 32;
            });
            let s = u64::from(t[8]) + c;
            t[8] = s as u32;
            let top = s >> 32;
            // m = t[0]; t + m·p is a multiple of 2^32: add it and shift a limb.
            let m = u64::from(t[0]);
            let mut c = (u64::from(t[0]) + m * u64::from(P[0])) >> 32;
            each!(J in [1, 2, 3, 4, 5, 6, 7] {
                let s = u64::from(t[J]) + m * u64::from(P[J]) + c;
                t[J - 1] = s as u32;
                c = s >> 32;
            });
            let s = u64::from(t[8]) + c;
            t[7] = s as u32;
            t[8] = (top + (s >> 32)) as u32;
        });
        let r = [t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]];
        reduce_once(r, t[8] != 0)
    }

    fn square(&self) -> Fe {
        self.mul(self)
    }

    /// 1, in Montgomery form: `R mod p = 2^256 - p`.
    const ONE: Fe = Fe([1, 0, 0, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_fffe, 0]);

    /// `self^(p-2)`: the inverse of a non-zero element (0 for 0).
    fn invert(&self) -> Fe {
        let mut e = P;
        e[0] -= 2;
        let mut acc = Fe::ONE;
        for i in (0..256).rev() {
            acc = acc.square();
            if (e[i / 32] >> (i % 32)) & 1 == 1 {
                acc = acc.mul(self);
            }
        }
        acc
    }
}

/// Whether the limbs are below `p`.
fn lt_p(l: &[u32; 8]) -> bool {
    for i in (0..8).rev() {
        if l[i] != P[i] {
            return l[i] < P[i];
        }
    }
    false
}

/// `r + carry·2^256`, known to be below `2p`, reduced below `p`.
// The last borrow cancels the carry (or the 2^256 above `r`): dropped.
#[allow(clippy::cast_possible_truncation, unused_assignments)]
fn reduce_once(r: [u32; 8], carry: bool) -> Fe {
    if !carry && lt_p(&r) {
        return Fe(r);
    }
    let mut t = [0u32; 8];
    let mut borrow = 0i64;
    each!(I in [0, 1, 2, 3, 4, 5, 6, 7] {
        let d = i64::from(r[I]) - i64::from(P[I]) + borrow;
        t[I] = d as u32;
        borrow = d >> 32;
    });
    Fe(t)
}

/// An affine point (never the point at infinity).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Affine {
    x: Fe,
    y: Fe,
}

impl Affine {
    /// From canonical big-endian coordinates (`None` when one is not below `p`;
    /// the caller's point is on the curve).
    pub(crate) fn from_coordinates(x: &[u8; 32], y: &[u8; 32]) -> Option<Affine> {
        Some(Affine { x: Fe::from_bytes(x)?, y: Fe::from_bytes(y)? })
    }

    pub(crate) fn neg(&self) -> Affine {
        Affine { x: self.x, y: self.y.neg() }
    }
}

/// A Jacobian point; `Z = 0` is the point at infinity.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Jacobian {
    x: Fe,
    y: Fe,
    z: Fe,
}

impl Jacobian {
    pub(crate) const INFINITY: Jacobian = Jacobian { x: Fe::ZERO, y: Fe::ZERO, z: Fe::ZERO };

    fn is_infinity(&self) -> bool {
        self.z.is_zero()
    }

    /// `2·self` (`dbl-2001-b`, `a = -3`).
    pub(crate) fn double(&self) -> Jacobian {
        if self.is_infinity() {
            return *self;
        }
        let delta = self.z.square();
        let gamma = self.y.square();
        let beta = self.x.mul(&gamma);
        let t = self.x.sub(&delta).mul(&self.x.add(&delta));
        let alpha = t.double().add(&t);
        let beta4 = beta.double().double();
        let x3 = alpha.square().sub(&beta4.double());
        let z3 = self.y.add(&self.z).square().sub(&gamma).sub(&delta);
        let gamma2 = gamma.square();
        let y3 = alpha.mul(&beta4.sub(&x3)).sub(&gamma2.double().double().double());
        Jacobian { x: x3, y: y3, z: z3 }
    }

    /// `self + q` for an affine `q` (`madd-2007-bl`).
    pub(crate) fn add_affine(&self, q: &Affine) -> Jacobian {
        if self.is_infinity() {
            return Jacobian::from(*q);
        }
        let z1z1 = self.z.square();
        let u2 = q.x.mul(&z1z1);
        let s2 = q.y.mul(&self.z).mul(&z1z1);
        let h = u2.sub(&self.x);
        let r = s2.sub(&self.y).double();
        if h.is_zero() {
            return if r.is_zero() { self.double() } else { Jacobian::INFINITY };
        }
        let hh = h.square();
        let i = hh.double().double();
        let j = h.mul(&i);
        let v = self.x.mul(&i);
        let x3 = r.square().sub(&j).sub(&v.double());
        let y3 = r.mul(&v.sub(&x3)).sub(&self.y.mul(&j).double());
        let z3 = self.z.add(&h).square().sub(&z1z1).sub(&hh);
        Jacobian { x: x3, y: y3, z: z3 }
    }

    /// `self + q` (`add-2007-bl`).
    pub(crate) fn add(&self, q: &Jacobian) -> Jacobian {
        if self.is_infinity() {
            return *q;
        }
        if q.is_infinity() {
            return *self;
        }
        let z1z1 = self.z.square();
        let z2z2 = q.z.square();
        let u1 = self.x.mul(&z2z2);
        let u2 = q.x.mul(&z1z1);
        let s1 = self.y.mul(&q.z).mul(&z2z2);
        let s2 = q.y.mul(&self.z).mul(&z1z1);
        let h = u2.sub(&u1);
        let r = s2.sub(&s1).double();
        if h.is_zero() {
            return if r.is_zero() { self.double() } else { Jacobian::INFINITY };
        }
        let i = h.double().square();
        let j = h.mul(&i);
        let v = u1.mul(&i);
        let x3 = r.square().sub(&j).sub(&v.double());
        let y3 = r.mul(&v.sub(&x3)).sub(&s1.mul(&j).double());
        let z3 = self.z.add(&q.z).square().sub(&z1z1).sub(&z2z2).mul(&h);
        Jacobian { x: x3, y: y3, z: z3 }
    }

    /// Whether the point's affine `x`, reduced mod `n`, is `r` (ECDSA's last
    /// check, without an inversion: `X = r·Z²`, or `(r + n)·Z²` when
    /// `r + n < p`). False for the point at infinity. `r` is big-endian, in
    /// `[1, n-1]`.
    pub(crate) fn x_mod_n_is(&self, r: &[u8; 32]) -> bool {
        if self.is_infinity() {
            return false;
        }
        let z2 = self.z.square();
        let Some(rf) = Fe::from_bytes(r) else { return false };
        if self.x == rf.mul(&z2) {
            return true;
        }
        // r + n, when it is still below p (then x = r + n also gives r mod n).
        let mut sum = [0u8; 32];
        let mut c = 0u16;
        for i in (0..32).rev() {
            let s = u16::from(r[i]) + u16::from(N_BE[i]) + c;
            sum[i] = s.to_be_bytes()[1];
            c = s >> 8;
        }
        if c != 0 {
            return false;
        }
        Fe::from_bytes(&sum).is_some_and(|f| self.x == f.mul(&z2))
    }

    /// The affine coordinates, big-endian (`None` at infinity; tests only).
    #[cfg(test)]
    pub(crate) fn to_affine_bytes(self) -> Option<([u8; 32], [u8; 32])> {
        if self.is_infinity() {
            return None;
        }
        let inv = self.z.invert();
        let inv2 = inv.square();
        Some((self.x.mul(&inv2).to_bytes(), self.y.mul(&inv2).mul(&inv).to_bytes()))
    }
}

impl From<Affine> for Jacobian {
    fn from(q: Affine) -> Jacobian {
        Jacobian { x: q.x, y: q.y, z: Fe::ONE }
    }
}

/// The affine forms of finite points, with one inversion for all of them
/// (Montgomery's trick); `None` if one is the point at infinity.
fn batch_to_affine(points: &[Jacobian]) -> Option<Vec<Affine>> {
    // prefix[i] = z_0 · … · z_(i-1)
    let mut prefix = Vec::with_capacity(points.len());
    let mut acc = Fe::ONE;
    for p in points {
        if p.is_infinity() {
            return None;
        }
        prefix.push(acc);
        acc = acc.mul(&p.z);
    }
    let mut inv = acc.invert();
    let mut out = vec![Affine { x: Fe::ZERO, y: Fe::ZERO }; points.len()];
    for (i, p) in points.iter().enumerate().rev() {
        let zi = inv.mul(&prefix[i]);
        inv = inv.mul(&p.z);
        let zi2 = zi.square();
        out[i] = Affine { x: p.x.mul(&zi2), y: p.y.mul(&zi2).mul(&zi) };
    }
    Some(out)
}

/// `d·2^(spacing·w)·p` for `w` in `0..windows` and `d` in `1..=entries`, in that
/// order (window by window), affine: a fixed-base table. Each window's base is
/// made affine first (one inversion for all), so every entry costs one mixed
/// addition, and one more inversion makes the entries affine. `None` if an
/// entry is the point at infinity (`p` of small order: not a P-256 point).
pub(crate) fn window_table(p: Affine, windows: usize, entries: usize, spacing: usize) -> Option<Vec<Affine>> {
    let mut bases = Vec::with_capacity(windows);
    let mut b = Jacobian::from(p);
    for w in 0..windows {
        if w > 0 {
            for _ in 0..spacing {
                b = b.double();
            }
        }
        bases.push(b);
    }
    let bases = batch_to_affine(&bases)?;
    let mut pts = Vec::with_capacity(windows * entries);
    for base in &bases {
        let mut acc = Jacobian::from(*base);
        pts.push(acc);
        for _ in 1..entries {
            acc = acc.add_affine(base);
            pts.push(acc);
        }
    }
    batch_to_affine(&pts)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crypto_bigint::{NonZero, U256};
    use p256::elliptic_curve::group::Group;
    use p256::elliptic_curve::point::AffineCoordinates;
    use p256::{ProjectivePoint, Scalar};
    use proptest::prelude::*;

    const P_HEX: &str = "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff";

    fn big(b: &[u8; 32]) -> U256 {
        U256::from_be_slice(b)
    }

    fn be(v: &U256) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(v.to_be_bytes().as_ref());
        out
    }

    fn below_p() -> impl Strategy<Value = [u8; 32]> {
        prop_oneof![
            any::<[u8; 32]>().prop_map(|b| {
                let p = NonZero::new(U256::from_be_hex(P_HEX)).unwrap();
                be(&big(&b).rem_vartime(&p))
            }),
            // Values at the edges: 0, 1, p-1, p-2, 2^256 - p + small.
            prop::sample::select(vec![0u64, 1, 2, u64::MAX]).prop_map(|v| {
                let mut out = [0u8; 32];
                out[24..].copy_from_slice(&v.to_be_bytes());
                out
            }),
            (1u8..4).prop_map(|k| {
                let mut p = be(&U256::from_be_hex(P_HEX));
                p[31] -= k;
                p
            }),
        ]
    }

    fn affine_bytes(p: &ProjectivePoint) -> ([u8; 32], [u8; 32]) {
        let a = p.to_affine();
        (a.x().into(), a.y().into())
    }

    fn ours(p: &ProjectivePoint) -> Affine {
        let (x, y) = affine_bytes(p);
        Affine::from_coordinates(&x, &y).unwrap()
    }

    fn point(k: u64) -> ProjectivePoint {
        ProjectivePoint::GENERATOR * Scalar::from(k)
    }

    #[test]
    fn r2_and_edges() {
        let mut one = [0u8; 32];
        one[31] = 1;
        // from_bytes multiplies by R2 and to_bytes by 1, each with R⁻¹: the
        // round trip is the identity only if R2 is R² mod p.
        assert_eq!(Fe::from_bytes(&one).unwrap().to_bytes(), one);
        assert_eq!(Fe::from_bytes(&one).unwrap(), Fe::ONE);
        let p = be(&U256::from_be_hex(P_HEX));
        assert!(Fe::from_bytes(&p).is_none());
        let mut pm1 = p;
        pm1[31] -= 1;
        assert_eq!(Fe::from_bytes(&pm1).unwrap().to_bytes(), pm1);
    }

    /// Every entry of a small table is the multiple it stands for.
    #[test]
    fn window_table_entries_are_their_multiples() {
        let p = point(0x1234_5678_9abc);
        let t = window_table(ours(&p), 4, 5, 7).unwrap();
        assert_eq!(t.len(), 20);
        for w in 0..4u64 {
            for d in 1..=5u64 {
                let want = p * Scalar::from(d << (7 * w));
                let got = t[usize::try_from(w * 5 + d - 1).unwrap()];
                assert_eq!(got, ours(&want), "window {w}, digit {d}");
            }
        }
        let mut x = [0u8; 32];
        x[31] = 7;
        assert_eq!(Fe::from_bytes(&x).unwrap().invert().mul(&Fe::from_bytes(&x).unwrap()), Fe::ONE);
        assert_eq!(Fe::ZERO.invert(), Fe::ZERO);
    }

    proptest! {
        #[test]
        fn field_ops_are_mod_p(a in below_p(), b in below_p()) {
            let p = NonZero::new(U256::from_be_hex(P_HEX)).unwrap();
            let (fa, fb) = (Fe::from_bytes(&a).unwrap(), Fe::from_bytes(&b).unwrap());
            let (ba, bb) = (big(&a), big(&b));
            prop_assert_eq!(fa.to_bytes(), a);
            prop_assert_eq!(big(&fa.mul(&fb).to_bytes()), ba.mul_mod_vartime(&bb, &p));
            prop_assert_eq!(big(&fa.square().to_bytes()), ba.mul_mod_vartime(&ba, &p));
            prop_assert_eq!(big(&fa.add(&fb).to_bytes()), ba.add_mod(&bb, &p));
            prop_assert_eq!(big(&fa.sub(&fb).to_bytes()), ba.sub_mod(&bb, &p));
            prop_assert_eq!(big(&fa.neg().to_bytes()), U256::ZERO.sub_mod(&ba, &p));
            if !fa.is_zero() {
                prop_assert_eq!(fa.invert().mul(&fa), Fe::ONE);
            }
        }

        /// Sums and doublings agree with the `p256` crate, including the
        /// exceptional cases (a point plus itself, plus its negation, plus infinity).
        #[test]
        fn point_ops_match_p256(a in 1u64.., b in 1u64.., same in any::<bool>(), opposite in any::<bool>()) {
            let pa = point(a);
            let pb = if same { pa } else if opposite { -pa } else { point(b) };
            let ja = Jacobian::INFINITY.add_affine(&ours(&pa));
            let jb = Jacobian::INFINITY.add_affine(&ours(&pb));
            let want = |q: ProjectivePoint| if bool::from(q.is_identity()) { None } else { Some(affine_bytes(&q)) };
            prop_assert_eq!(ja.add_affine(&ours(&pb)).to_affine_bytes(), want(pa + pb));
            prop_assert_eq!(ja.add(&jb).to_affine_bytes(), want(pa + pb));
            // A non-trivial Z on both sides.
            let ja2 = ja.double();
            prop_assert_eq!(ja2.add(&jb.double()).to_affine_bytes(), want(pa.double() + pb.double()));
            prop_assert_eq!(ja2.add_affine(&ours(&pb)).to_affine_bytes(), want(pa.double() + pb));
            prop_assert_eq!(ja.double().double().to_affine_bytes(), want(pa.double().double()));
            prop_assert_eq!(Jacobian::INFINITY.add(&ja).to_affine_bytes(), want(pa));
            prop_assert_eq!(ja.add(&Jacobian::INFINITY).to_affine_bytes(), want(pa));
            prop_assert!(Jacobian::INFINITY.double().to_affine_bytes().is_none());
        }

        /// `x_mod_n_is` against the affine `x` reduced mod `n`.
        #[test]
        fn x_mod_n_check(k in 1u64..) {
            let q = point(k).double();
            let j = Jacobian::INFINITY.add_affine(&ours(&point(k))).double();
            let x: [u8; 32] = q.to_affine().x().into();
            let n = NonZero::new(U256::from_be_slice(&N_BE)).unwrap();
            let r = big(&x).rem_vartime(&n);
            let rb = be(&r);
            prop_assert!(j.x_mod_n_is(&rb));
            let mut other = rb;
            other[31] ^= 1;
            prop_assert!(!j.x_mod_n_is(&other));
            prop_assert!(!Jacobian::INFINITY.x_mod_n_is(&rb));
        }
    }
}
