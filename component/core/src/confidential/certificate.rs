//! A client certificate from PEM: the RSA private key, the certificate that matches
//! it, and any chain.

use crate::error::Error;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::RsaPrivateKey;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256};
use std::fmt;

/// `rsaEncryption`, the only key algorithm Entra's certificate credentials take here.
const RSA_OID: &str = "1.2.840.113549.1.1.1";

/// A parsed client certificate. `Debug` never shows the key.
#[derive(Clone)]
pub struct ClientCertificate {
    /// The private key, parsed (and its CRT values computed) once.
    key: RsaPrivateKey,
    /// DER of the certificate whose public key is the private key's.
    pub leaf: Vec<u8>,
    /// SHA-256 of `leaf`: the assertion's `x5t#S256`, and what a kept assertion was
    /// signed with.
    pub leaf_sha256: [u8; 32],
    /// DER of the other certificates, in file order.
    pub chain: Vec<Vec<u8>>,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("key", &"<redacted>")
            .field("leaf_len", &self.leaf.len())
            .field("chain_len", &self.chain.len())
            .finish()
    }
}

struct Block {
    label: String,
    der: Vec<u8>,
}

/// The PEM blocks in `text`, decoded.
fn blocks(text: &str) -> Result<Vec<Block>, Error> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines().map(str::trim) {
        if let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            current = Some((label.to_string(), String::new()));
        } else if let Some(label) = line
            .strip_prefix("-----END ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            let Some((open, body)) = current.take().filter(|(open, _)| open == label) else {
                return Err(invalid(&format!("has an unmatched END {label} line")));
            };
            let der = STANDARD
                .decode(body)
                .map_err(|_| invalid(&format!("has a {open} block that is not base64")))?;
            out.push(Block { label: open, der });
        } else if let Some((_, body)) = current.as_mut() {
            // Headers such as `Proc-Type` mark legacy encrypted keys; base64 has no ':'.
            if line.contains(':') {
                return Err(invalid(
                    "has an encrypted (Proc-Type) key; decrypt it first (openssl pkey -in key.pem -out plain.pem)",
                ));
            }
            body.push_str(line);
        }
    }
    Ok(out)
}

fn invalid(why: &str) -> Error {
    Error::InvalidInput(format!("the client certificate PEM {why}"))
}

/// Parses PEM holding one RSA private key (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA
/// PRIVATE KEY`) and its certificate, plus optional chain certificates.
pub fn parse_pem(pem: &[u8]) -> Result<ClientCertificate, Error> {
    let text = std::str::from_utf8(pem).map_err(|_| {
        invalid("is not text; PKCS#12 (.pfx) files are not supported, convert with openssl pkcs12 -nodes")
    })?;
    let blocks = blocks(text)?;
    let mut key = None;
    let mut certs = Vec::new();
    for b in blocks {
        match b.label.as_str() {
            "CERTIFICATE" => certs.push(b.der),
            "PRIVATE KEY" => key = Some(pkcs8_rsa(&b.der)?),
            "RSA PRIVATE KEY" => {
                key = Some(
                    rsa::RsaPrivateKey::from_pkcs1_der(&b.der)
                        .map_err(|_| invalid("has an RSA PRIVATE KEY block that does not parse"))?,
                )
            }
            "EC PRIVATE KEY" => return Err(not_rsa("an EC key")),
            "ENCRYPTED PRIVATE KEY" => {
                return Err(invalid(
                    "has an encrypted key; decrypt it first (openssl pkey -in key.pem -out plain.pem)",
                ));
            }
            _ => {}
        }
    }
    let key = key.ok_or_else(|| invalid("has no private key (expected a PRIVATE KEY or RSA PRIVATE KEY block next to the certificate)"))?;
    if certs.is_empty() {
        return Err(invalid(
            "has no CERTIFICATE block; put the certificate and its key in one file",
        ));
    }
    // The certificate carries the key's modulus verbatim in its public key.
    let modulus = key.n().to_bytes_be();
    let leaf_at = certs
        .iter()
        .position(|c| c.windows(modulus.len()).any(|w| w == modulus))
        .ok_or_else(|| invalid("has no certificate for its private key"))?;
    let leaf = certs.remove(leaf_at);
    Ok(ClientCertificate {
        key,
        leaf_sha256: Sha256::digest(&leaf).into(),
        leaf,
        chain: certs,
    })
}

fn pkcs8_rsa(der: &[u8]) -> Result<rsa::RsaPrivateKey, Error> {
    let info = rsa::pkcs8::PrivateKeyInfo::try_from(der)
        .map_err(|_| invalid("has a PRIVATE KEY block that does not parse"))?;
    if info.algorithm.oid.to_string() != RSA_OID {
        return Err(not_rsa(&format!(
            "a key of algorithm {}",
            info.algorithm.oid
        )));
    }
    rsa::RsaPrivateKey::from_pkcs8_der(der)
        .map_err(|_| invalid("has an RSA PRIVATE KEY that does not parse"))
}

fn not_rsa(what: &str) -> Error {
    invalid(&format!(
        "holds {what}; client assertions here are signed with RSA (PS256/RS256), so use an RSA certificate"
    ))
}

impl ClientCertificate {
    /// The private key.
    pub(super) fn key(&self) -> &RsaPrivateKey {
        &self.key
    }
}

#[cfg(test)]
mod kept_tests;
#[cfg(test)]
mod tests;
