//! Client-side JWT helpers: the test certificates, client assertions signed with them, and claim decoding.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha1::Sha1;
use sha2::{Digest as _, Sha256};

pub const CERT: &str = entra_test_support::keys::CLIENT_CERT;
pub const KEY: &str = entra_test_support::keys::CLIENT_CERT_KEY;
pub const OTHER_CERT: &str = entra_test_support::keys::CLIENT_CERT_2;
pub const OTHER_KEY: &str = entra_test_support::keys::CLIENT_CERT_2_KEY;

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    STANDARD.decode(body).unwrap()
}

/// Claims of a JWT, unverified.
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// What a client puts in a certificate assertion, with MSAL's defaults.
pub struct Assertion<'a> {
    pub alg: Algorithm,
    pub client_id: &'a str,
    pub audience: String,
    pub nbf: u64,
    pub exp: u64,
    pub jti: Option<&'a str>,
    /// Signing key and the certificate whose thumbprint the header names.
    pub key: &'a str,
    pub cert: &'a str,
}

impl Assertion<'_> {
    /// PS256 names the certificate by `x5t#S256` (MSAL.NET), RS256 by `x5t` in standard base64 (Rust, MSAL Go).
    pub fn sign(&self) -> String {
        let mut header = Header::new(self.alg);
        let der = der(self.cert);
        if self.alg == Algorithm::PS256 {
            header.x5t_s256 = Some(URL_SAFE_NO_PAD.encode(Sha256::digest(&der)));
        } else {
            header.x5t = Some(STANDARD.encode(Sha1::digest(&der)));
        }
        let mut claims = json!({
            "aud": self.audience,
            "iss": self.client_id,
            "sub": self.client_id,
            // MSAL.NET sends these as strings.
            "nbf": self.nbf.to_string(),
            "exp": self.exp.to_string(),
        });
        if let Some(jti) = self.jti {
            claims["jti"] = Value::from(jti);
        }
        let key = EncodingKey::from_rsa_pem(self.key.as_bytes()).unwrap();
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    }
}

/// The client credentials form for an assertion.
pub fn assertion_form<'a>(
    client_id: &'a str,
    scope: &'a str,
    assertion: &'a str,
) -> [(&'a str, &'a str); 5] {
    [
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("scope", scope),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ]
}
