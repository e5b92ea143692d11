//! Bearer tokens are attacker input. Validation never panics, and without the
//! authority's private key nothing the fuzzer builds is accepted.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entra_identity_core::http::{Request, Response};
use entra_identity_core::platform::{Platform, Transport, TransportError};
use entra_identity_core::validation::{KeyCache, Validator, ValidatorOptions};
use libfuzzer_sys::fuzz_target;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::Duration;

const NOW: u64 = 1_800_000_000;
const TENANT: &str = "7e57e000-0000-4000-8000-000000000001";
const KEY_PEM: &str = include_str!("../../tests/support/keys/emulator-signing-1.pem");

struct Fixed;

impl Platform for Fixed {
    fn now_unix(&self) -> u64 {
        NOW
    }
    fn monotonic(&self) -> Duration {
        Duration::ZERO
    }
    fn sleep(&self, _: Duration) {}
    fn random_u64(&self) -> u64 {
        0
    }
}

/// The authority: metadata, then a key set with the emulator's public key.
struct Authority;

fn jwks() -> &'static str {
    static JWKS: OnceLock<String> = OnceLock::new();
    JWKS.get_or_init(|| {
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(KEY_PEM).unwrap();
        let b64 = |b: Vec<u8>| URL_SAFE_NO_PAD.encode(b);
        serde_json::json!({"keys": [{"kty": "RSA", "use": "sig", "kid": "k1",
            "n": b64(key.n().to_bytes_be()), "e": b64(key.e().to_bytes_be())}]})
        .to_string()
    })
}

impl Transport for Authority {
    fn send(&self, request: &Request, _: Duration, _: usize) -> Result<Response, TransportError> {
        let body = if request.url.ends_with("openid-configuration") {
            serde_json::json!({
                "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
                "jwks_uri": "https://login.microsoftonline.com/common/discovery/v2.0/keys"
            })
            .to_string()
        } else {
            jwks().to_string()
        };
        Ok(Response {
            status: 200,
            headers: vec![],
            body: body.into_bytes(),
        })
    }
}

fn validator() -> Validator {
    Validator::new(
        ValidatorOptions::new(TENANT, &["api://fuzz"]),
        Rc::new(RefCell::new(KeyCache::default())),
        Box::new(Authority),
        Box::new(Fixed),
    )
    .unwrap()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let v = validator();
    // Raw input, and the input as the payload of a token with a plausible header.
    assert!(v.validate(text).is_err(), "accepted {text:?}");
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT","kid":"k1"}"#);
    let forged = format!(
        "{header}.{}.{}",
        URL_SAFE_NO_PAD.encode(data),
        URL_SAFE_NO_PAD.encode(&data[..data.len() / 2])
    );
    assert!(v.validate(&forged).is_err(), "accepted a forged signature");
});
