//! The RSA public-key operation `x^65537 mod n` for sealing: Montgomery
//! multiplication over 32-bit limbs (the native 32x32->64 product in WASM),
//! constant-time in `x` (the OAEP block, which holds the content key): no
//! branch or memory index depends on it. Only the modulus (public) steers the
//! precomputation of `R^2 mod n`.

use zeroize::Zeroizing;

/// Little-endian 32-bit limbs of a big-endian byte string, `limbs` long.
fn to_limbs(be: &[u8], limbs: usize) -> Vec<u32> {
    let mut out = vec![0u32; limbs];
    for (i, &b) in be.iter().rev().enumerate() {
        if let Some(l) = out.get_mut(i / 4) {
            *l |= u32::from(b) << (8 * (i % 4));
        }
    }
    out
}

/// `a * b * R^-1 mod n` (R = 2^(32 L)), for `a, b < n`, into `out`.
/// `t` is scratch of L + 2 limbs.
fn mont_mul(out: &mut [u32], a: &[u32], b: &[u32], n: &[u32], n0inv: u32, t: &mut [u32]) {
    let l = n.len();
    t.fill(0);
    let (Some(&n0), true) = (n.first(), t.len() == l + 2) else { return };
    for &bi in b {
        // t += a * bi
        let mut carry = 0u64;
        for (tj, &aj) in t.iter_mut().zip(a) {
            let s = u64::from(*tj) + u64::from(aj) * u64::from(bi) + carry;
            *tj = s as u32;
            carry = s >> 32;
        }
        let (low, high) = t.split_at_mut(l);
        let s = u64::from(high[0]) + carry;
        high[0] = s as u32;
        high[1] = (s >> 32) as u32;
        // t = (t + m n) / 2^32, with m making the low limb vanish.
        let m = low[0].wrapping_mul(n0inv);
        let mut carry = (u64::from(low[0]) + u64::from(m) * u64::from(n0)) >> 32;
        for j in 1..l {
            let s = u64::from(low[j]) + u64::from(m) * u64::from(n[j]) + carry;
            low[j - 1] = s as u32;
            carry = s >> 32;
        }
        let s = u64::from(high[0]) + carry;
        low[l - 1] = s as u32;
        high[0] = high[1] + (s >> 32) as u32;
        high[1] = 0;
    }
    // t < 2n: subtract n, keep the difference unless it went negative (masked).
    let mut borrow = 0u32;
    for ((o, &tj), &nj) in out.iter_mut().zip(t.iter()).zip(n) {
        let (d, b1) = tj.overflowing_sub(nj);
        let (d, b2) = d.overflowing_sub(borrow);
        *o = d;
        borrow = u32::from(b1 | b2);
    }
    // Keep t when it was below n: top limb zero and a final borrow.
    let keep_t = 0u32.wrapping_sub(borrow & u32::from(t[l] == 0));
    for (o, &tj) in out.iter_mut().zip(t.iter()) {
        *o = (*o & !keep_t) | (tj & keep_t);
    }
}

/// `w = w * 2^32 mod d` for `w < d`, `d` normalized (top bit set). Depends
/// on `w` and `d`, both derived from the public modulus only.
fn shift_limb_mod(w: &mut Vec<u32>, d: &[u32]) {
    let l = d.len();
    let (Some(&d_top), Some(&w_top), Some(&w_next)) = (d.last(), w.last(), w.get(l.wrapping_sub(2))) else {
        return;
    };
    let estimate = (u64::from(w_top) << 32 | u64::from(w_next)) / u64::from(d_top);
    let q = estimate.min(u64::from(u32::MAX));
    // u = w * 2^32 (L + 1 limbs): the top limb leaves `w`, a zero comes in.
    w.insert(0, 0);
    let mut top = i64::from(w.pop().unwrap_or(0));
    let (mut carry, mut borrow) = (0u64, 0u32);
    for (wj, &dj) in w.iter_mut().zip(d) {
        let p = q * u64::from(dj) + carry;
        carry = p >> 32;
        let (x, b1) = wj.overflowing_sub(p as u32);
        let (x, b2) = x.overflowing_sub(borrow);
        *wj = x;
        borrow = u32::from(b1 | b2);
    }
    top -= carry as i64 + i64::from(borrow);
    // The estimate is at most 2 too large for a normalized divisor.
    while top < 0 {
        let mut c = 0u64;
        for (wj, &dj) in w.iter_mut().zip(d) {
            let s = u64::from(*wj) + u64::from(dj) + c;
            *wj = s as u32;
            c = s >> 32;
        }
        top += c as i64;
    }
}

/// `x^65537 mod n` as `n.len()` big-endian bytes, for `x < n`; `n` odd,
/// big-endian without leading zeros, at least 64 bits.
pub(crate) fn pow_65537(n_be: &[u8], x_be: &[u8]) -> Vec<u8> {
    let k = n_be.len();
    let l = k.div_ceil(4);
    let n = to_limbs(n_be, l);
    let x = Zeroizing::new(to_limbs(x_be, l));
    // -n^-1 mod 2^32 by Newton's iteration (n odd).
    let n0 = n.first().copied().unwrap_or(1);
    let mut inv = 1u32;
    for _ in 0..5 {
        inv = inv.wrapping_mul(2u32.wrapping_sub(n0.wrapping_mul(inv)));
    }
    let n0inv = inv.wrapping_neg();
    // R^2 mod n: 2^sh shifted up 2L limbs modulo n << sh, then back down.
    let sh = n.last().map_or(0, |t| t.leading_zeros());
    let d: Vec<u32> = (0..l).map(|i| n[i] << sh | if sh == 0 || i == 0 { 0 } else { n[i - 1] >> (32 - sh) }).collect();
    let mut r2 = vec![0u32; l];
    r2[0] = 1 << sh;
    for _ in 0..2 * l {
        shift_limb_mod(&mut r2, &d);
    }
    if sh > 0 {
        for i in 0..l {
            let next = r2.get(i + 1).map_or(0, |h| h << (32 - sh));
            r2[i] = r2[i] >> sh | next;
        }
    }
    // y = x R, squared 16 times (x^65536 R), times x (x^65537).
    let mut t = Zeroizing::new(vec![0u32; l + 2]);
    let mut y = Zeroizing::new(vec![0u32; l]);
    let mut z = Zeroizing::new(vec![0u32; l]);
    mont_mul(&mut y, &x, &r2, &n, n0inv, &mut t);
    for _ in 0..16 {
        mont_mul(&mut z, &y, &y, &n, n0inv, &mut t);
        core::mem::swap(&mut y, &mut z);
    }
    mont_mul(&mut z, &y, &x, &n, n0inv, &mut t);
    let mut out = vec![0u8; k];
    for (i, o) in out.iter_mut().rev().enumerate() {
        *o = (z[i / 4] >> (8 * (i % 4))) as u8;
    }
    out
}
