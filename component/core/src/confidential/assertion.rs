//! The signed JWT a certificate credential presents as `client_assertion`.

use super::certificate::ClientCertificate;
use crate::error::Error;
use crate::platform::{Platform, fill_random};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::pkcs1v15;
use rsa::pss::BlindedSigningKey;
use rsa::rand_core::{CryptoRng, RngCore};
use rsa::signature::{RandomizedSigner, SignatureEncoding};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Assertions live 10 minutes, as MSAL's do: long enough for clock skew, short
/// enough that a leaked one is soon useless.
pub const ASSERTION_LIFETIME: u64 = 600;

/// How the assertion is signed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SigningAlgorithm {
    /// RSASSA-PSS with SHA-256: what Entra ID prefers.
    #[default]
    Ps256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, for authorities without PSS support (AD FS).
    Rs256,
}

#[derive(Serialize)]
struct Header {
    typ: &'static str,
    alg: &'static str,
    #[serde(rename = "x5t#S256")]
    x5t_s256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    x5t: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    x5c: Option<Vec<String>>,
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: &'a str,
    nbf: u64,
    exp: u64,
}

/// What a client assertion says besides the key.
pub struct AssertionClaims<'a> {
    /// The token endpoint URL the assertion is for.
    pub audience: &'a str,
    /// The app's client id (issuer and subject).
    pub client_id: &'a str,
    /// Unix seconds.
    pub now: u64,
    /// A unique id; see [`uuid_v4`].
    pub jti: &'a str,
}

/// Signs a client assertion with `cert`; `send_chain` adds `x5c` (leaf first), which
/// subject-name/issuer registrations need. PSS salts and RSA blinding draw on
/// `platform`'s randomness (wasi:random in the component).
pub fn sign(
    cert: &ClientCertificate,
    claims: &AssertionClaims<'_>,
    algorithm: SigningAlgorithm,
    send_chain: bool,
    platform: &dyn Platform,
) -> Result<String, Error> {
    let header = Header {
        typ: "JWT",
        alg: match algorithm {
            SigningAlgorithm::Ps256 => "PS256",
            SigningAlgorithm::Rs256 => "RS256",
        },
        x5t_s256: URL_SAFE_NO_PAD.encode(cert.leaf_sha256),
        // Authorities that need RS256 predate x5t#S256 and look keys up by SHA-1.
        x5t: (algorithm == SigningAlgorithm::Rs256)
            .then(|| URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&cert.leaf))),
        x5c: send_chain.then(|| {
            std::iter::once(&cert.leaf)
                .chain(&cert.chain)
                .map(|der| STANDARD.encode(der))
                .collect()
        }),
    };
    let body = Claims {
        aud: claims.audience,
        iss: claims.client_id,
        sub: claims.client_id,
        jti: claims.jti,
        nbf: claims.now,
        exp: claims.now + ASSERTION_LIFETIME,
    };
    let message = format!("{}.{}", base64_json(&header)?, base64_json(&body)?);
    let mut rng = PlatformRng(platform);
    let key = cert.key().clone();
    let signature = match algorithm {
        SigningAlgorithm::Ps256 => BlindedSigningKey::<Sha256>::new(key)
            .sign_with_rng(&mut rng, message.as_bytes())
            .to_vec(),
        SigningAlgorithm::Rs256 => pkcs1v15::SigningKey::<Sha256>::new(key)
            .sign_with_rng(&mut rng, message.as_bytes())
            .to_vec(),
    };
    Ok(format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

fn base64_json(value: &impl Serialize) -> Result<String, Error> {
    serde_json::to_vec(value)
        .map(|json| URL_SAFE_NO_PAD.encode(json))
        .map_err(|e| Error::InvalidInput(format!("cannot encode the client assertion: {e}")))
}

/// The platform's random source as the `rand_core` RNG the signer takes.
/// `Platform::random_u64` is a CSPRNG (wasi:random's `get-random-u64`).
struct PlatformRng<'a>(&'a dyn Platform);

impl RngCore for PlatformRng<'_> {
    fn next_u32(&mut self) -> u32 {
        self.0.random_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0.random_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        fill_random(self.0, dest);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for PlatformRng<'_> {}

/// A random (version 4) UUID from two random words.
pub fn uuid_v4(a: u64, b: u64) -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = base16ct::lower::encode_string(&bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}
