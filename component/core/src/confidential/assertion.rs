//! The signed JWT a certificate credential presents as `client_assertion`.

use super::certificate::ClientCertificate;
use crate::error::Error;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use sha2::Digest;

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
/// subject-name/issuer registrations need.
pub fn sign(
    cert: &ClientCertificate,
    claims: &AssertionClaims<'_>,
    algorithm: SigningAlgorithm,
    send_chain: bool,
) -> Result<String, Error> {
    let mut header = Header::new(match algorithm {
        SigningAlgorithm::Ps256 => Algorithm::PS256,
        SigningAlgorithm::Rs256 => Algorithm::RS256,
    });
    header.typ = Some("JWT".into());
    header.x5t_s256 = Some(URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&cert.leaf)));
    if algorithm == SigningAlgorithm::Rs256 {
        // Authorities that need RS256 predate x5t#S256 and look keys up by SHA-1.
        header.x5t = Some(URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&cert.leaf)));
    }
    if send_chain {
        header.x5c = Some(
            std::iter::once(&cert.leaf)
                .chain(&cert.chain)
                .map(|der| STANDARD.encode(der))
                .collect(),
        );
    }
    let body = Claims {
        aud: claims.audience,
        iss: claims.client_id,
        sub: claims.client_id,
        jti: claims.jti,
        nbf: claims.now,
        exp: claims.now + ASSERTION_LIFETIME,
    };
    jsonwebtoken::encode(&header, &body, &EncodingKey::from_rsa_der(cert.key_pkcs1()))
        .map_err(|e| Error::InvalidInput(format!("cannot sign the client assertion: {e}")))
}

/// A random (version 4) UUID from two random words.
pub fn uuid_v4(a: u64, b: u64) -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}
