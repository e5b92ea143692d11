//! The RSA keys the emulator signs with, and the JWKS that publishes them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::traits::PublicKeyParts as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// Test-only keys, shipped so that kids are stable across runs (see tests/support/keys/README.md).
const SHIPPED_PEMS: [&str; 2] = [
    entra_test_support::keys::EMULATOR_SIGNING_1,
    entra_test_support::keys::EMULATOR_SIGNING_2,
];

/// One key: the private half signs, the public half is published.
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    pub(crate) encoding: EncodingKey,
    /// Base64url modulus and exponent, as a JWK publishes them.
    pub(crate) n: String,
    pub(crate) e: String,
}

impl SigningKey {
    pub(crate) fn from_pem(pem: &str) -> Self {
        // The PEMs are compiled in, so a parse failure is a build defect, not a runtime condition.
        let private = rsa::RsaPrivateKey::from_pkcs8_pem(pem).expect("shipped key is PKCS#8 RSA");
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("shipped key is RSA PEM");
        let n = private.n().to_bytes_be();
        Self {
            kid: key_id(&n),
            encoding,
            n: URL_SAFE_NO_PAD.encode(&n),
            e: URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
        }
    }

    /// The public half, for checking tokens the emulator issued when they come back as client assertions.
    pub(crate) fn decoding(&self) -> DecodingKey {
        // n and e were produced from a valid key just above, so they decode.
        DecodingKey::from_rsa_components(&self.n, &self.e).expect("own key components")
    }

    fn jwk(&self, issuer: &str) -> Value {
        // Entra sets x5t to the certificate thumbprint and kid to the same string; there is no certificate here,
        // so both carry the key id.
        json!({
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": self.n,
            "e": self.e,
            "alg": "RS256",
            "issuer": issuer,
        })
    }
}

/// A stable id derived from the modulus, so a key keeps its kid across runs and builds.
fn key_id(modulus: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(modulus)[..15])
}

/// The shipped keys, which one signs now, and which ones the JWKS publishes.
///
/// Only the current key is published until the first rotation; after that the JWKS lists every key that has
/// been current. That lets a test see a token signed by a key its cached JWKS does not know yet.
pub(crate) struct KeyRing {
    keys: Vec<SigningKey>,
    current: usize,
    published: Vec<usize>,
}

impl KeyRing {
    pub(crate) fn shipped() -> Self {
        Self {
            keys: SHIPPED_PEMS
                .iter()
                .map(|pem| SigningKey::from_pem(pem))
                .collect(),
            current: 0,
            published: vec![0],
        }
    }

    pub(crate) fn current(&self) -> &SigningKey {
        &self.keys[self.current]
    }

    /// Any shipped key by kid, published or not: a token signed before a rotation still verifies.
    pub(crate) fn by_kid(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|key| key.kid == kid)
    }

    /// Publishes the next shipped key without signing with it yet, as Entra lists a key
    /// well before it signs with it.
    pub(crate) fn announce_next(&mut self) {
        let next = (self.current + 1) % self.keys.len();
        if !self.published.contains(&next) {
            self.published.push(next);
        }
    }

    /// Makes the next shipped key current (wrapping around) and publishes it next to the old one.
    pub(crate) fn rotate(&mut self) {
        self.current = (self.current + 1) % self.keys.len();
        if !self.published.contains(&self.current) {
            self.published.push(self.current);
        }
    }

    /// The JWKS document, each key carrying `issuer` as Entra's v2 key sets do.
    pub(crate) fn jwks(&self, issuer: &str) -> Value {
        // The current key first: clients that only try the first key still verify fresh tokens.
        let order = std::iter::once(self.current).chain(
            self.published
                .iter()
                .copied()
                .filter(|&i| i != self.current),
        );
        json!({ "keys": order.map(|i| self.keys[i].jwk(issuer)).collect::<Vec<_>>() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kids_are_stable_and_distinct() {
        let ring = KeyRing::shipped();
        assert_eq!(ring.keys[0].kid, KeyRing::shipped().keys[0].kid);
        assert_ne!(ring.keys[0].kid, ring.keys[1].kid);
        assert_eq!(ring.keys[0].kid.len(), 20);
        assert_eq!(ring.keys[0].e, "AQAB");
    }

    #[test]
    fn an_announced_key_is_published_before_it_signs() {
        let mut ring = KeyRing::shipped();
        let first = ring.current().kid.clone();
        ring.announce_next();
        let kids = |ring: &KeyRing| -> Vec<String> {
            (ring.jwks("i")["keys"].as_array().unwrap().iter())
                .map(|k| k["kid"].as_str().unwrap().to_string())
                .collect()
        };
        let next = ring.keys[1].kid.clone();
        assert_eq!(kids(&ring), [first.clone(), next.clone()]);
        assert_eq!(ring.current().kid, first, "still signing with the first");
        ring.rotate();
        assert_eq!(ring.current().kid, next);
        assert_eq!(kids(&ring), [next, first]);
    }

    #[test]
    fn rotation_publishes_old_and_new_keys() {
        let mut ring = KeyRing::shipped();
        let first = ring.current().kid.clone();
        assert_eq!(ring.jwks("i")["keys"].as_array().unwrap().len(), 1);
        ring.rotate();
        let jwks = ring.jwks("i");
        let kids: Vec<_> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert_eq!(kids, [ring.current().kid.as_str(), first.as_str()]);
        ring.rotate();
        assert_eq!(ring.current().kid, first);
        assert_eq!(ring.jwks("i")["keys"].as_array().unwrap().len(), 2);
    }
}
