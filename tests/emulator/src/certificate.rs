//! Client certificates registered on apps: their thumbprints and public keys.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::DecodingKey;
use sha1::Sha1;
use sha2::{Digest as _, Sha256};

/// One registered certificate, ready to check assertion signatures.
pub(crate) struct ClientCertificate {
    /// SHA-1 of the DER certificate: what `x5t` names.
    sha1: Vec<u8>,
    /// SHA-256 of the DER certificate: what `x5t#S256` names.
    sha256: Vec<u8>,
    pub(crate) key: DecodingKey,
}

impl ClientCertificate {
    pub(crate) fn from_pem(pem: &str) -> Result<Self, String> {
        let der = pem_to_der(pem, "CERTIFICATE")?;
        let key = DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
        Ok(Self {
            sha1: Sha1::digest(&der).to_vec(),
            sha256: Sha256::digest(&der).to_vec(),
            key,
        })
    }

    /// Whether a header's `x5t#S256` or `x5t` names this certificate. Thumbprints are decoded before comparing
    /// because clients disagree on the alphabet: Rust and MSAL Go send standard base64, MSAL.NET base64url.
    pub(crate) fn matches(&self, x5t_s256: Option<&str>, x5t: Option<&str>) -> bool {
        let same = |encoded: Option<&str>, digest: &[u8]| {
            encoded
                .and_then(decode_thumbprint)
                .is_some_and(|d| d == digest)
        };
        same(x5t_s256, &self.sha256) || same(x5t, &self.sha1)
    }
}

fn decode_thumbprint(encoded: &str) -> Option<Vec<u8>> {
    let unpadded = encoded.trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(unpadded)
        .ok()
        .or_else(|| STANDARD.decode(encoded).ok())
}

/// The DER bytes of the first PEM block labelled `label`.
pub(crate) fn pem_to_der(pem: &str, label: &str) -> Result<Vec<u8>, String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin).ok_or_else(|| format!("no {begin} line"))? + begin.len();
    let stop = pem[start..]
        .find(&end)
        .ok_or_else(|| format!("no {end} line"))?
        + start;
    let body: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(body).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = entra_test_support::keys::CLIENT_CERT;

    #[test]
    fn matches_either_thumbprint_in_either_alphabet() {
        let cert = ClientCertificate::from_pem(PEM).unwrap();
        let der = pem_to_der(PEM, "CERTIFICATE").unwrap();
        let s256 = URL_SAFE_NO_PAD.encode(Sha256::digest(&der));
        let sha1 = STANDARD.encode(Sha1::digest(&der));
        assert!(cert.matches(Some(&s256), None));
        assert!(cert.matches(None, Some(&sha1)));
        assert!(!cert.matches(None, Some(&s256)));
        assert!(!cert.matches(None, None));
    }

    #[test]
    fn rejects_non_certificates() {
        assert!(ClientCertificate::from_pem("nope").is_err());
    }
}
