//! TLS pinned to one certificate thumbprint, for Service Fabric's managed identity endpoint.
//!
//! Service Fabric serves `IDENTITY_ENDPOINT` over HTTPS with a self-signed certificate, and hands the
//! process its SHA-1 thumbprint in `IDENTITY_SERVER_THUMBPRINT`. As MSAL Go does, the pinned authority
//! trusts exactly the leaf certificate whose SHA-1 equals that thumbprint (compared in constant time) and
//! nothing else: no web PKI roots, no host name check. The handshake signatures are still verified
//! against the leaf's key, so only the holder of the pinned certificate's private key gets through. A
//! mismatch fails the TLS handshake, before any HTTP bytes (the `secret` header included) are written.
//!
//! The connection itself is the outbound module's (`outbound/connect.rs`), with this configuration in
//! place of the web PKI one.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};
use sha1::{Digest as _, Sha1};
use subtle::ConstantTimeEq as _;

/// A SHA-1 certificate thumbprint: 20 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Thumbprint([u8; 20]);

impl Thumbprint {
    /// Parses `IDENTITY_SERVER_THUMBPRINT`: 40 hex digits of either case; `:` and spaces are dropped
    /// first (`AB:CD:...`, `ab cd ...`), as MSAL Go does.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let digits: Vec<u8> = text.bytes().filter(|b| *b != b':' && *b != b' ').collect();
        if digits.len() != 40 {
            return Err(format!(
                "invalid certificate thumbprint: expected a SHA-1 thumbprint of 40 hex digits, got {} \
                 (after dropping ':' and spaces)",
                digits.len()
            ));
        }
        let mut bytes = [0u8; 20];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
            let (Some(high), Some(low)) = (hex_value(pair[0]), hex_value(pair[1])) else {
                return Err(
                    "invalid certificate thumbprint: expected only hex digits (0-9, a-f, A-F), \
                     ':' and spaces"
                        .to_owned(),
                );
            };
            *byte = (high << 4) | low;
        }
        Ok(Thumbprint(bytes))
    }

    /// The thumbprint of a DER certificate.
    fn of(der: &[u8]) -> Self {
        Thumbprint(Sha1::digest(der).into())
    }

    /// Equality that takes the same time wherever the thumbprints differ.
    fn matches(&self, other: &Thumbprint) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for Thumbprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02X}"))
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).map(|v| v as u8)
}

/// The TLS client configuration of one pinned authority. Cloning shares it.
#[derive(Clone)]
pub(crate) struct PinnedTls {
    thumbprint: Thumbprint,
    config: Arc<ClientConfig>,
}

impl PinnedTls {
    /// A client configuration that accepts only the certificate with this SHA-1 thumbprint.
    pub(crate) fn new(thumbprint: Thumbprint) -> Result<Self, String> {
        // An explicit provider: with more than one rustls provider enabled in the build, rustls will not
        // pick a process default.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = PinnedVerifier {
            thumbprint,
            algorithms: provider.signature_verification_algorithms,
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot build the pinned TLS configuration: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        Ok(PinnedTls {
            thumbprint,
            config: Arc::new(config),
        })
    }

    /// The client configuration that trusts only the pinned certificate.
    pub(crate) fn client_config(&self) -> Arc<ClientConfig> {
        self.config.clone()
    }
}

impl std::fmt::Debug for PinnedTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinnedTls")
            .field("sha1_thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

/// Trusts exactly the pinned leaf certificate, and checks the handshake was signed by its key.
#[derive(Debug)]
struct PinnedVerifier {
    thumbprint: Thumbprint,
    algorithms: WebPkiSupportedAlgorithms,
}

/// The certificate error a thumbprint mismatch surfaces as (in `HttpError::Tls`).
#[derive(thiserror::Error)]
#[error("the server certificate's SHA-1 thumbprint does not match the pinned thumbprint")]
struct ThumbprintMismatch;

/// rustls shows a certificate error's `Debug`: make it the message.
impl std::fmt::Debug for ThumbprintMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl ServerCertVerifier for PinnedVerifier {
    /// The pin replaces chain, validity and name checks (the certificate is self-signed and names the
    /// node), as with MSAL Go's `InsecureSkipVerify` + `VerifyConnection`.
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if Thumbprint::of(end_entity).matches(&self.thumbprint) {
            Ok(ServerCertVerified::assertion())
        } else {
            tracing::warn!(
                expected = ?self.thumbprint,
                "rejected a server certificate that does not match the pinned thumbprint"
            );
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                rustls::OtherError(Arc::new(ThumbprintMismatch)),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789ABCDEF0123456789abcdef01234567";

    #[test]
    fn thumbprints_are_normalised() {
        let plain = Thumbprint::parse(HEX).unwrap();
        assert_eq!(format!("{plain:?}"), HEX.to_ascii_uppercase());
        let spaced = HEX
            .as_bytes()
            .chunks(2)
            .map(|p| std::str::from_utf8(p).unwrap())
            .collect::<Vec<_>>();
        assert_eq!(Thumbprint::parse(&spaced.join(":")).unwrap(), plain);
        assert_eq!(Thumbprint::parse(&spaced.join(" ")).unwrap(), plain);
        assert_eq!(Thumbprint::parse(&HEX.to_ascii_lowercase()).unwrap(), plain);
    }

    #[test]
    fn invalid_thumbprints_are_rejected() {
        for bad in [
            "",
            &HEX[..38],
            &format!("{HEX}00"),
            &format!("{}zz", &HEX[..38]),
            &format!("{}-{}", &HEX[..20], &HEX[20..]),
            // SHA-256 thumbprints are not SHA-1 ones.
            &"ab".repeat(32),
        ] {
            let error = Thumbprint::parse(bad).unwrap_err();
            assert!(error.contains("invalid certificate thumbprint"), "{error}");
        }
    }

    #[test]
    fn matches_only_the_same_thumbprint() {
        let der = b"not really a certificate";
        let pinned = Thumbprint::of(der);
        assert!(pinned.matches(&Thumbprint::of(der)));
        assert!(!pinned.matches(&Thumbprint::of(b"another")));
    }
}
