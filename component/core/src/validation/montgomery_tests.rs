use super::*;

/// splitmix64: reproducible inputs without a dependency.
struct Numbers(u64);

impl Numbers {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number of exactly `bits` bits.
    fn big(&mut self, bits: usize) -> BigUint {
        let bytes: Vec<u8> = (0..bits.div_ceil(8)).map(|_| self.next() as u8).collect();
        let value = BigUint::from_bytes_be(&bytes) >> (bytes.len() * 8 - bits);
        value | (BigUint::from(1u8) << (bits - 1))
    }
}

fn padded(value: &BigUint, len: usize) -> Vec<u8> {
    let bytes = value.to_bytes_be();
    let mut out = vec![0; len - bytes.len()];
    out.extend_from_slice(&bytes);
    out
}

#[test]
fn powers_agree_with_num_bigint_for_odd_moduli_of_every_size_we_accept() {
    let mut numbers = Numbers(17);
    // Sizes on and around limb and lane boundaries (27 bits, 4 limbs), the sizes
    // Entra and others use, and the largest accepted.
    let sizes = [
        2, 3, 26, 27, 28, 53, 54, 107, 108, 109, 512, 1023, 1024, 2047, 2048,
    ];
    let exponents = [1, 2, 3, 17, 65_537, 0x1_0000_0001, u64::MAX];
    for (round, bits) in sizes
        .into_iter()
        .chain([3071, 3072, 4095, 4096])
        .enumerate()
    {
        let n = numbers.big(bits) | BigUint::from(1u8);
        let modulus = Modulus::new(&n).expect("odd moduli are accepted");
        let len = modulus.len_bytes();
        assert_eq!(len, bits.div_ceil(8));
        for (k, &e) in exponents.iter().enumerate() {
            // Edge values as well as random ones: 0, 1, n - 1.
            let x = match (round + k) % 4 {
                0 => BigUint::from(0u8),
                1 => &n - 1u8,
                2 => BigUint::from(1u8) % &n,
                _ => numbers.big(bits + 8) % &n,
            };
            let ours = modulus.pow(&padded(&x, len), e).unwrap();
            let theirs = x.modpow(&BigUint::from(e), &n);
            assert_eq!(
                BigUint::from_bytes_be(&ours),
                theirs,
                "{bits}-bit modulus, e = {e}"
            );
            assert_eq!(ours.len(), len);
        }
    }
}

#[test]
fn many_random_values_under_a_2048_bit_modulus_agree() {
    let mut numbers = Numbers(2048);
    for _ in 0..4 {
        let n = numbers.big(2048) | BigUint::from(1u8);
        let modulus = Modulus::new(&n).unwrap();
        for _ in 0..8 {
            let x = numbers.big(2056) % &n;
            let ours = modulus.pow(&padded(&x, 256), 65_537).unwrap();
            assert_eq!(
                BigUint::from_bytes_be(&ours),
                x.modpow(&BigUint::from(65_537u32), &n)
            );
        }
    }
}

#[test]
fn values_not_below_the_modulus_or_of_another_length_are_refused() {
    let mut numbers = Numbers(5);
    let n = numbers.big(1024) | BigUint::from(1u8);
    let modulus = Modulus::new(&n).unwrap();
    assert!(modulus.pow(&padded(&n, 128), 3).is_none(), "x = n");
    assert!(modulus.pow(&padded(&(&n + 1u8), 128), 3).is_none(), "x > n");
    assert!(modulus.pow(&[0xff; 128], 3).is_none(), "x = 2^1024 - 1");
    assert!(
        modulus.pow(&padded(&(&n - 1u8), 128)[1..], 3).is_none(),
        "one byte short"
    );
    let mut long = vec![0];
    long.extend(padded(&(&n - 1u8), 128));
    assert!(modulus.pow(&long, 3).is_none(), "one byte long");
    assert!(modulus.pow(&padded(&(&n - 1u8), 128), 0).is_none(), "e = 0");
}

#[test]
fn even_tiny_and_oversized_moduli_are_refused() {
    let mut numbers = Numbers(9);
    assert!(Modulus::new(&(numbers.big(2048) << 1)).is_none());
    assert!(Modulus::new(&BigUint::from(1u8)).is_none());
    assert!(Modulus::new(&BigUint::from(0u8)).is_none());
    assert!(Modulus::new(&(numbers.big(MAX_MODULUS_BITS + 1) | BigUint::from(1u8))).is_none());
    assert!(Modulus::new(&BigUint::from(3u8)).is_some());
}

#[test]
fn limbs_round_trip_through_bytes() {
    let mut numbers = Numbers(1);
    for len in [1usize, 3, 4, 27, 64, 255, 256, 512] {
        let bytes: Vec<u8> = (0..len).map(|_| numbers.next() as u8).collect();
        let limbs = to_limbs(&bytes, (len * 8).div_ceil(27)).unwrap();
        assert_eq!(from_limbs(&limbs, len), bytes);
        // A set bit beyond the limbs is refused, not dropped.
        let mut wider = vec![1u8];
        wider.extend(vec![0; ((len * 8).div_ceil(27) * 27).div_ceil(8)]);
        assert!(to_limbs(&wider, (len * 8).div_ceil(27)).is_none());
    }
}
