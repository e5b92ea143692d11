//! `x^e mod n` for an RSA public key, with what depends only on the key worked out
//! once per key rather than once per signature.
//!
//! Why not the `rsa` crate's own: its exponentiation computes `R² mod n` (a long
//! division) and a 16-entry window table on every call, then spends 37 Montgomery
//! products on `e = 65537`, where square-and-multiply needs 17. And its 32-bit digits
//! carry on every multiply-add, one digit at a time. Here limbs hold 27 bits in 64-bit
//! accumulators, so a row of multiply-adds has no carries in it (they are settled
//! once per product) and runs two lanes at a time with wasm's SIMD.
//!
//! Only public values pass through here (signatures and keys), so nothing needs to
//! run in constant time.

use rsa::BigUint;

/// Bits per limb. A column of a product collects at most `2 * limbs` terms below
/// `2^54`, plus a carry below `2^37`: under `2^64` for moduli up to 4096 bits
/// (152 limbs), the largest the `rsa` crate accepts.
const LIMB_BITS: u32 = 27;
const MASK: u64 = (1 << LIMB_BITS) - 1;
/// Rows are multiples of this many limbs, the vector loop's unit.
const LANES: usize = 4;
/// The largest modulus handled: the accumulator bound above depends on it.
pub(super) const MAX_MODULUS_BITS: usize = 4096;

/// An odd modulus with its Montgomery constants (`R = 2^(27 * limbs)`).
pub(super) struct Modulus {
    /// Little-endian limbs, zero-padded to a multiple of [`LANES`].
    n: Vec<u32>,
    /// Limbs that carry value (`n.len()` rounds it up).
    limbs: usize,
    /// `-n^-1 mod 2^27`.
    n_prime: u64,
    /// `R² mod n`, to bring a value into Montgomery form with one product.
    r_squared: Vec<u32>,
    /// The modulus's length in bytes, which is a signature's.
    bytes: usize,
}

impl Modulus {
    /// `None` when `n` is even, below 2 or above [`MAX_MODULUS_BITS`].
    pub(super) fn new(n: &BigUint) -> Option<Self> {
        let bits = n.bits();
        let be = n.to_bytes_be();
        if !(2..=MAX_MODULUS_BITS).contains(&bits) || be.last().is_none_or(|low| low & 1 == 0) {
            return None;
        }
        // One spare bit so that a product's result, below 2n, fits the limbs.
        let limbs = (bits + 1).div_ceil(LIMB_BITS as usize);
        let padded = limbs.div_ceil(LANES) * LANES;
        let n_limbs = to_limbs(&be, padded)?;
        let r_squared = BigUint::from(1u8) << (2 * LIMB_BITS as usize * limbs);
        let r_squared = to_limbs(&(r_squared % n).to_bytes_be(), padded)?;
        // Newton's iteration doubles the correct low bits of an inverse each step:
        // 1 -> 2 -> ... -> 64 (`n * n == 1 mod 8` for odd n seeds 3 bits).
        let n0 = u64::from(n_limbs[0]) | u64::from(n_limbs[1]) << LIMB_BITS;
        let mut inverse = n0;
        for _ in 0..5 {
            inverse = inverse.wrapping_mul(2u64.wrapping_sub(n0.wrapping_mul(inverse)));
        }
        debug_assert_eq!(n0.wrapping_mul(inverse), 1);
        Some(Self {
            n: n_limbs,
            limbs,
            n_prime: inverse.wrapping_neg() & MASK,
            r_squared,
            bytes: bits.div_ceil(8),
        })
    }

    /// The modulus's length in bytes.
    pub(super) fn len_bytes(&self) -> usize {
        self.bytes
    }

    /// `x^e mod n` as `len_bytes()` big-endian bytes, for `x` given the same way;
    /// `None` when `x` is not below `n` or `e` is zero.
    pub(super) fn pow(&self, x: &[u8], e: u64) -> Option<Vec<u8>> {
        if e == 0 || x.len() != self.bytes {
            return None;
        }
        let x = to_limbs(x, self.n.len())?;
        if !less_than(&x, &self.n) {
            return None;
        }
        let mut scratch = vec![0u64; 2 * self.n.len() + LANES];
        let mut x_mont = vec![0u32; self.n.len()];
        self.product(&x, &self.r_squared, &mut x_mont, &mut scratch);
        let mut acc = x_mont.clone();
        let mut next = vec![0u32; self.n.len()];
        for bit in (0..(63 - e.leading_zeros())).rev() {
            self.product(&acc, &acc, &mut next, &mut scratch);
            std::mem::swap(&mut acc, &mut next);
            if (e >> bit) & 1 == 1 {
                self.product(&acc, &x_mont, &mut next, &mut scratch);
                std::mem::swap(&mut acc, &mut next);
            }
        }
        let mut one = vec![0u32; self.n.len()];
        one[0] = 1;
        self.product(&acc, &one, &mut next, &mut scratch);
        Some(from_limbs(&next, self.bytes))
    }

    /// `a * b / R mod n` into `out`, for `a` and `b` below `n`.
    fn product(&self, a: &[u32], b: &[u32], out: &mut [u32], t: &mut [u64]) {
        let (limbs, width) = (self.limbs, self.n.len());
        t.fill(0);
        for (i, &bi) in b[..limbs].iter().enumerate() {
            // The low limb is complete once this row's a[0] term is in: choose the
            // multiple of n that clears it.
            let low = (t[i] + u64::from(bi) * u64::from(a[0])) & MASK;
            let m = ((low * self.n_prime) & MASK) as u32;
            multiply_add_rows(&mut t[i..i + width], a, bi, &self.n, m);
            t[i + 1] += t[i] >> LIMB_BITS;
        }
        let mut carry = 0;
        for (limb, &column) in out.iter_mut().zip(&t[limbs..limbs + width]) {
            let value = column + carry;
            *limb = (value & MASK) as u32;
            carry = value >> LIMB_BITS;
        }
        debug_assert_eq!(carry, 0);
        if !less_than(out, &self.n) {
            subtract(out, &self.n);
        }
    }
}

/// `t[j] += a[j] * b + n[j] * m` for every `j`: the inner loop of a product. No
/// carries in it, so each 64-bit lane adds independently.
#[cfg(not(target_arch = "wasm32"))]
fn multiply_add_rows(t: &mut [u64], a: &[u32], b: u32, n: &[u32], m: u32) {
    let (b, m) = (u64::from(b), u64::from(m));
    for ((t, &a), &n) in t.iter_mut().zip(a).zip(n) {
        *t += u64::from(a) * b + u64::from(n) * m;
    }
}

/// The same row on wasm's SIMD, four limbs at a time: LLVM does not vectorise the
/// loop above for wasm by itself. Written with the widening multiply; LLVM widens the
/// loop-invariant factors once and emits `i64x2.mul`, which measured faster under
/// wasmtime than forcing `extmul` per iteration (145 vs 154 µs per new token). Every
/// host we run on (wasmtime, Spin, V8) has SIMD.
#[cfg(target_arch = "wasm32")]
#[target_feature(enable = "simd128")]
fn multiply_add_rows(t: &mut [u64], a: &[u32], b: u32, n: &[u32], m: u32) {
    use core::arch::wasm32::{
        i64x2_add, u32x4_splat, u64x2_extmul_high_u32x4, u64x2_extmul_low_u32x4, v128, v128_load,
        v128_store,
    };
    debug_assert!(a.len() == n.len() && t.len() >= a.len() && a.len().is_multiple_of(LANES));
    let (b, m) = (u32x4_splat(b), u32x4_splat(m));
    let rows = t.chunks_exact_mut(LANES).zip(a.chunks_exact(LANES));
    for ((t, a), n) in rows.zip(n.chunks_exact(LANES)) {
        // SAFETY: `a` and `n` are four u32 (16 bytes), `t` four u64 (32 bytes), and
        // wasm's v128 loads and stores take any alignment.
        unsafe {
            let (a, n) = (v128_load(a.as_ptr().cast()), v128_load(n.as_ptr().cast()));
            let t = t.as_mut_ptr().cast::<v128>();
            let low = i64x2_add(u64x2_extmul_low_u32x4(a, b), u64x2_extmul_low_u32x4(n, m));
            let high = i64x2_add(u64x2_extmul_high_u32x4(a, b), u64x2_extmul_high_u32x4(n, m));
            v128_store(t, i64x2_add(v128_load(t), low));
            v128_store(t.add(1), i64x2_add(v128_load(t.add(1)), high));
        }
    }
}

/// Big-endian bytes to `count` little-endian limbs of [`LIMB_BITS`]; `None` when
/// the value needs more.
fn to_limbs(bytes: &[u8], count: usize) -> Option<Vec<u32>> {
    let mut limbs = vec![0u32; count];
    let (mut acc, mut held, mut at) = (0u64, 0u32, 0);
    for &byte in bytes.iter().rev() {
        acc |= u64::from(byte) << held;
        held += 8;
        if held >= LIMB_BITS {
            *limbs.get_mut(at)? = (acc & MASK) as u32;
            at += 1;
            acc >>= LIMB_BITS;
            held -= LIMB_BITS;
        }
    }
    if acc != 0 {
        *limbs.get_mut(at)? = acc as u32;
    }
    Some(limbs)
}

/// Limbs to `len` big-endian bytes (the value fits: it is below the modulus).
fn from_limbs(limbs: &[u32], len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    let (mut acc, mut held, mut at) = (0u64, 0u32, len);
    for &limb in limbs {
        if at == 0 {
            break;
        }
        acc |= u64::from(limb) << held;
        held += LIMB_BITS;
        while held >= 8 && at > 0 {
            at -= 1;
            bytes[at] = acc as u8;
            acc >>= 8;
            held -= 8;
        }
    }
    while at > 0 {
        at -= 1;
        bytes[at] = acc as u8;
        acc >>= 8;
    }
    bytes
}

fn less_than(a: &[u32], b: &[u32]) -> bool {
    for (x, y) in a.iter().zip(b).rev() {
        if x != y {
            return x < y;
        }
    }
    false
}

/// `a -= b`, for `a >= b`.
fn subtract(a: &mut [u32], b: &[u32]) {
    let mut borrow = 0i64;
    for (x, &y) in a.iter_mut().zip(b) {
        let value = i64::from(*x) - i64::from(y) - borrow;
        borrow = i64::from(value < 0);
        *x = (value + (borrow << LIMB_BITS)) as u32;
    }
}

#[cfg(test)]
#[path = "montgomery_tests.rs"]
mod tests;
