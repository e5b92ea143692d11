//! Bundles written by OpenSSL 3.0 (tests/support/keys/README.md says how).

use super::super::{parse_certificate, parse_pem};
use super::*;

const MODERN: &[u8] = include_bytes!("../../../../../../tests/support/keys/client-cert.pfx");
const LEGACY: &[u8] = include_bytes!("../../../../../../tests/support/keys/client-cert-legacy.p12");
const NO_PASSWORD: &[u8] =
    include_bytes!("../../../../../../tests/support/keys/client-cert-no-password.pfx");
const CERT: &str = include_str!("../../../../../../tests/support/keys/client-cert.pem");
const KEY: &str = include_str!("../../../../../../tests/support/keys/client-cert-key.pem");
const OTHER_CERT: &str = include_str!("../../../../../../tests/support/keys/client-cert-2.pem");
const PASSWORD: &str = "p12-test-password";

fn message(e: Error) -> String {
    match e {
        Error::InvalidInput(m) => m,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn each_bundle_opens_to_the_same_key_and_certificate_as_its_pem() {
    let pem = parse_pem(format!("{CERT}{KEY}").as_bytes()).unwrap();
    for (bundle, password) in [
        (MODERN, Some(PASSWORD)),
        (LEGACY, Some(PASSWORD)),
        (NO_PASSWORD, None),
    ] {
        let cert = parse_certificate(bundle, password).unwrap();
        assert_eq!(cert.leaf, pem.leaf);
        assert_eq!(cert.key(), pem.key());
    }
}

#[test]
fn a_bundle_with_a_chain_keeps_the_other_certificates_as_the_chain() {
    let other = parse_pem(
        format!(
            "{OTHER_CERT}{}",
            include_str!("../../../../../../tests/support/keys/client-cert-2-key.pem")
        )
        .as_bytes(),
    )
    .unwrap();
    let cert = parse_certificate(MODERN, Some(PASSWORD)).unwrap();
    assert_eq!(cert.chain, [other.leaf]);
}

#[test]
fn a_wrong_or_missing_password_is_named_with_the_variable_to_set() {
    for (bundle, password) in [
        (MODERN, Some("wrong")),
        (MODERN, None),
        (LEGACY, Some("wrong")),
        (NO_PASSWORD, Some("x")),
    ] {
        let m = message(parse_certificate(bundle, password).err().unwrap());
        assert!(m.contains("AZURE_CLIENT_CERTIFICATE_PASSWORD"), "{m}");
        assert!(!m.contains(PASSWORD), "{m}");
    }
}

#[test]
fn a_tampered_bundle_is_refused_by_its_mac_before_anything_is_decrypted() {
    let mut tampered = MODERN.to_vec();
    let at = tampered.len() / 2;
    tampered[at] ^= 0x01;
    assert!(parse_certificate(&tampered, Some(PASSWORD)).is_err());
}

#[test]
fn bytes_that_are_not_pkcs12_say_so() {
    let m = message(
        parse_certificate(&[0x30, 0x03, 0x02, 0x01, 0x03], Some(PASSWORD))
            .err()
            .unwrap(),
    );
    assert!(m.contains("PKCS#12"), "{m}");
}

#[test]
fn the_key_derivation_matches_rfc_7292s_published_vectors() {
    // The PKCS#12 KDF's test vector used by OpenSSL's and BouncyCastle's suites:
    // password "smeg", salt 0A58CF64530D823F, 1 iteration, SHA-1.
    let bmp: Vec<u8> = "smeg"
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .chain([0, 0])
        .collect();
    let salt = [0x0A, 0x58, 0xCF, 0x64, 0x53, 0x0D, 0x82, 0x3F];
    assert_eq!(
        base16ct::lower::encode_string(&derive::<Sha1>(&bmp, &salt, 1, 1, 24)),
        "8aaae6297b6cb04642ab5b077851284eb7128f1a2a7fbca3"
    );
    assert_eq!(
        base16ct::lower::encode_string(&derive::<Sha1>(&bmp, &salt, 2, 1, 8)),
        "79993dfe048d3b76"
    );
}
