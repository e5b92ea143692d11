use super::*;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::traits::PrivateKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};

const KEY_PKCS1: &str = include_str!("../confidential/testdata/client-key-pkcs1.pem");

fn keys() -> (SigningKey<Sha256>, RsaPublicKey, Rs256Key) {
    let private = RsaPrivateKey::from_pkcs1_pem(KEY_PKCS1).unwrap();
    let public = private.to_public_key();
    let ours = Rs256Key::new(&public.n().to_bytes_be(), &public.e().to_bytes_be()).unwrap();
    (SigningKey::new(private), public, ours)
}

#[test]
fn signatures_by_the_rsa_crate_verify_and_any_changed_byte_fails_as_it_does_there() {
    let (signer, public, ours) = keys();
    let theirs = VerifyingKey::<Sha256>::new(public);
    for i in 0..12usize {
        let message = format!("eyJhbGciOiJSUzI1NiJ9.{}", "x".repeat(i * 37));
        let signature = signer.sign(message.as_bytes()).to_vec();
        assert!(ours.verify(message.as_bytes(), &signature));
        // A changed signature byte, and a changed message byte.
        let mut changed = signature.clone();
        let at = (i * 41) % changed.len();
        changed[at] ^= 1 << (i % 8);
        let theirs_accepts = Signature::try_from(changed.as_slice())
            .is_ok_and(|s| theirs.verify(message.as_bytes(), &s).is_ok());
        assert!(!theirs_accepts);
        assert!(!ours.verify(message.as_bytes(), &changed));
        let mut other = message.clone().into_bytes();
        let at = i % other.len();
        other[at] ^= 1;
        assert!(!ours.verify(&other, &signature));
    }
}

#[test]
fn a_signature_of_the_wrong_length_or_not_below_the_modulus_fails() {
    let (signer, public, ours) = keys();
    let signature = signer.sign(b"message").to_vec();
    assert!(!ours.verify(b"message", &signature[1..]));
    let mut long = vec![0];
    long.extend_from_slice(&signature);
    assert!(!ours.verify(b"message", &long));
    assert!(!ours.verify(b"message", &[]));
    assert!(!ours.verify(b"message", &public.n().to_bytes_be()));
}

#[test]
fn a_correct_power_with_another_padding_or_digest_fails() {
    let private = RsaPrivateKey::from_pkcs1_pem(KEY_PKCS1).unwrap();
    let (_, public, ours) = keys();
    let digest: [u8; 32] = Sha256::digest(b"message").into();
    let good = expected_encoding(&digest, 256);
    // Signs an arbitrary encoding with the raw private operation.
    let sign = |encoded: &[u8]| {
        let m = BigUint::from_bytes_be(encoded);
        let s = m.modpow(private.d(), public.n()).to_bytes_be();
        let mut out = vec![0; 256 - s.len()];
        out.extend(s);
        out
    };
    assert!(ours.verify(b"message", &sign(&good)), "the raw operation is right");
    let mut block_type_2 = good.clone();
    block_type_2[1] = 2;
    assert!(!ours.verify(b"message", &sign(&block_type_2)));
    let mut sha1_info = good.clone();
    sha1_info[256 - 32 - 19 + 14] = 0x02; // the OID's last byte: sha384's
    assert!(!ours.verify(b"message", &sign(&sha1_info)));
    let mut short_padding = good;
    short_padding[10] = 0;
    assert!(!ours.verify(b"message", &sign(&short_padding)));
}

#[test]
fn keys_the_rsa_crate_refuses_are_refused() {
    let (_, public, _) = keys();
    let n = public.n().to_bytes_be();
    assert!(Rs256Key::new(&n, &[1]).is_none(), "e = 1");
    assert!(Rs256Key::new(&n, &[0]).is_none(), "e = 0");
    assert!(Rs256Key::new(&n[..64], &[1, 0, 1]).is_none(), "512-bit modulus");
    assert!(Rs256Key::new(&n, &[1; 9]).is_none(), "e beyond 64 bits");
    let mut even = n.clone();
    *even.last_mut().unwrap() &= 0xfe;
    assert!(Rs256Key::new(&even, &[1, 0, 1]).is_none(), "even modulus");
}
