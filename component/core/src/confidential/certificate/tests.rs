//! Certificates: PEM shapes, the signed assertion, and the certificate flow on the wire.

use super::parse_pem;
use crate::confidential::*;
use crate::testing::*;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use serde_json::Value;
use sha2::Digest;

pub(super) const CERT: &str = include_str!("../../../../../tests/support/keys/client-cert.pem");
pub(super) const KEY_PKCS8: &str =
    include_str!("../../../../../tests/support/keys/client-cert-key.pem");
const KEY_PKCS1: &str = include_str!("../testdata/client-key-pkcs1.pem");
const OTHER_CERT: &str = include_str!("../../../../../tests/support/keys/client-cert-2.pem");
const EC_PKCS8: &str = include_str!("../testdata/ec-key-pkcs8.pem");
const EC_SEC1: &str = include_str!("../testdata/ec-key-sec1.pem");
pub(super) const TENANT: &str = "tenant-1";

pub(super) fn pem(parts: &[&str]) -> Vec<u8> {
    parts.concat().into_bytes()
}

fn invalid(parts: &[&str]) -> String {
    match parse_pem(&pem(parts)) {
        Err(Error::InvalidInput(m)) => m,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn pkcs8_and_pkcs1_keys_in_either_order_with_a_chain() {
    let c = parse_pem(&pem(&[CERT, KEY_PKCS8])).unwrap();
    assert!(c.chain.is_empty());
    let c2 = parse_pem(&pem(&[KEY_PKCS1, OTHER_CERT, CERT])).unwrap();
    assert_eq!(
        c2.leaf, c.leaf,
        "the leaf is the certificate matching the key"
    );
    assert_eq!(c2.chain.len(), 1);
    assert!(!format!("{c:?}").contains("MII"));
}

#[test]
fn bad_pems_are_invalid_input_that_says_what_is_wrong() {
    assert!(invalid(&[CERT]).contains("no private key"));
    assert!(invalid(&[KEY_PKCS8]).contains("no CERTIFICATE"));
    assert!(invalid(&[CERT, EC_PKCS8]).contains("RSA"));
    assert!(invalid(&[CERT, EC_SEC1]).contains("EC key"));
    assert!(invalid(&[OTHER_CERT, KEY_PKCS8]).contains("no certificate for its private key"));
    assert!(
        invalid(&[
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
            CERT
        ])
        .contains("encrypted")
    );
    assert!(
        invalid(&["-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"])
            .contains("base64")
    );
    assert!(
        matches!(parse_pem(&[0x30, 0x82, 0xff, 0xfe]), Err(Error::InvalidInput(m)) if m.contains("PKCS#12"))
    );
}

pub(super) fn claims(jwt: &str) -> (Value, Value) {
    let part = |i: usize| -> Value {
        serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(jwt.split('.').nth(i).unwrap())
                .unwrap(),
        )
        .unwrap()
    };
    (part(0), part(1))
}

pub(super) fn verify(jwt: &str, alg: Algorithm, aud: &str) {
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(KEY_PKCS8).unwrap();
    let public = key
        .to_public_key()
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap();
    let mut v = Validation::new(alg);
    v.set_audience(&[aud]);
    v.set_issuer(&["app-id"]);
    // The fake clock is years from the real one.
    v.validate_exp = false;
    jsonwebtoken::decode::<Value>(
        jwt,
        &DecodingKey::from_rsa_pem(public.as_bytes()).unwrap(),
        &v,
    )
    .unwrap();
}

fn cert_rig(send_chain: Option<bool>, algorithm: SigningAlgorithm, vars: &[(&str, &str)]) -> Rig {
    let flow = client_certificate(
        AppOptions::default().client_id("app-id").tenant_id(TENANT),
        {
            let mut v = CertificateOptions::from_path("/certs/app.pem")
                .rs256(algorithm == SigningAlgorithm::Rs256);
            v.send_certificate_chain = send_chain;
            v
        },
        &env(vars),
    )
    .unwrap();
    let rig = Rig::new(flow);
    rig.files
        .write("/certs/app.pem", [CERT, KEY_PKCS8, OTHER_CERT].concat());
    rig
}

pub(super) fn ok() -> Result<crate::http::Response, crate::platform::TransportError> {
    json(
        200,
        r#"{"access_token":"t","expires_in":3600,"token_type":"Bearer"}"#,
    )
}

#[test]
fn the_assertion_is_a_ps256_jwt_for_the_token_endpoint() {
    let rig = cert_rig(None, SigningAlgorithm::Ps256, &[]);
    rig.transport.then(ok());
    rig.get("https://vault.azure.net/.default").unwrap();
    let r = rig.transport.last();
    let endpoint = format!("https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token");
    assert_eq!(r.url, endpoint);
    let f = form(&r.body);
    let names: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "client_assertion",
            "client_assertion_type",
            "client_id",
            "grant_type",
            "scope"
        ]
    );
    assert_eq!(
        f[1].1,
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert_eq!(
        (f[2].1.as_str(), f[3].1.as_str()),
        ("app-id", "client_credentials")
    );
    let jwt = &f[0].1;
    let (header, body) = claims(jwt);
    let leaf = parse_pem(&pem(&[CERT, KEY_PKCS8])).unwrap().leaf;
    assert_eq!(header["alg"], "PS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(
        header["x5t#S256"],
        URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&leaf))
    );
    assert!(header.get("x5c").is_none() && header.get("x5t").is_none());
    assert_eq!(body["aud"], endpoint.as_str());
    assert_eq!(
        (&body["iss"], &body["sub"]),
        (&Value::from("app-id"), &Value::from("app-id"))
    );
    assert_eq!(body["nbf"], T0);
    assert_eq!(body["exp"], T0 + 600);
    let jti = body["jti"].as_str().unwrap();
    assert_eq!(jti.len(), 36);
    assert_eq!(&jti[14..15], "4", "version 4: {jti}");
    assert!(matches!(&jti[19..20], "8" | "9" | "a" | "b"), "{jti}");
    verify(jwt, Algorithm::PS256, &endpoint);
}

#[test]
fn rs256_and_the_chain_on_request() {
    let rig = cert_rig(
        None,
        SigningAlgorithm::Rs256,
        &[("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", "true")],
    );
    rig.transport.then(ok());
    rig.get("https://vault.azure.net/.default").unwrap();
    let jwt = form(&rig.transport.last().body)[0].1.clone();
    let (header, _) = claims(&jwt);
    assert_eq!(header["alg"], "RS256");
    assert!(header.get("x5t").is_some());
    let x5c = header["x5c"].as_array().unwrap();
    assert_eq!(x5c.len(), 2);
    let leaf = parse_pem(&pem(&[CERT, KEY_PKCS8])).unwrap().leaf;
    assert_eq!(x5c[0], STANDARD.encode(&leaf));
    verify(
        &jwt,
        Algorithm::RS256,
        &format!("https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"),
    );

    let rig = cert_rig(
        Some(false),
        SigningAlgorithm::Ps256,
        &[("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", "1")],
    );
    rig.transport.then(ok());
    rig.get("https://vault.azure.net/.default").unwrap();
    let (header, _) = claims(&form(&rig.transport.last().body)[0].1);
    assert!(
        header.get("x5c").is_none(),
        "the option overrides the environment"
    );
}

#[test]
fn the_assertion_never_appears_in_errors_and_a_missing_file_is_clear() {
    // RS256 with a fixed clock and random source signs the same assertion twice.
    let rig = cert_rig(None, SigningAlgorithm::Rs256, &[]);
    // A refusal that quotes the request back.
    let echo = |jwt: &str| {
        json(
            400,
            &format!(
                r#"{{"error":"invalid_client","error_description":"AADSTS700027: bad assertion {jwt}"}}"#
            ),
        )
    };
    rig.transport.then(ok());
    rig.get("https://b/.default").unwrap();
    let first = form(&rig.transport.last().body)[0].1.clone();
    rig.transport.then(echo(&first));
    let e = rig.get("https://a/.default").unwrap_err();
    let sent = form(&rig.transport.last().body)[0].1.clone();
    assert_eq!(sent, first);
    assert!(!shown(&e).contains(&sent), "{e}");
    assert!(matches!(&e, Error::AuthenticationFailed(s) if s.code == "AADSTS700027"));

    let rig = cert_rig(None, SigningAlgorithm::Ps256, &[]);
    rig.files.remove("/certs/app.pem");
    assert!(
        matches!(rig.get("https://a/.default"), Err(Error::InvalidInput(m)) if m.contains("/certs/app.pem"))
    );
    assert_eq!(rig.transport.count(), 0);
}
