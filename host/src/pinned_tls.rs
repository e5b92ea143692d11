//! TLS pinned to one certificate thumbprint, for Service Fabric's managed identity endpoint.
//!
//! Service Fabric serves `IDENTITY_ENDPOINT` over HTTPS with a self-signed certificate, and hands the
//! process its SHA-1 thumbprint in `IDENTITY_SERVER_THUMBPRINT`. As MSAL Go does, the pinned authority
//! trusts exactly the leaf certificate whose SHA-1 equals that thumbprint (compared in constant time) and
//! nothing else: no web PKI roots, no host name check. The handshake signatures are still verified
//! against the leaf's key, so only the holder of the pinned certificate's private key gets through. A
//! mismatch fails the TLS handshake, before any HTTP bytes (the `secret` header included) are written.
//!
//! [`send_request`] is `wasmtime_wasi_http::default_send_request` with that TLS configuration: the
//! same connection steps, timeouts and error mapping.

use core::future::poll_fn;
use core::pin::{Pin, pin};
use core::task::{Context, Poll, ready};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};
use sha1::{Digest as _, Sha1};
use subtle::ConstantTimeEq as _;
use tokio::net::TcpStream;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody};

/// `wasmtime_wasi_http::default_send_request`'s timeouts when the request sets none.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

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

/// What [`send_request`] resolves to: the response, and the future that drives the connection to its end.
pub(crate) type Sent = (
    http::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
);

/// Sends `req` over TLS pinned by `tls`: `wasmtime_wasi_http::default_send_request` with the pinned
/// client configuration in place of the web PKI one. A plain `http` request is denied: the pinned
/// authority is only ever spoken to over its pinned TLS.
pub(crate) async fn send_request(
    mut req: http::Request<WasiBody>,
    options: Option<RequestOptions>,
    tls: PinnedTls,
) -> Result<Sent, HttpError> {
    let uri = req.uri();
    if uri.scheme() != Some(&http::uri::Scheme::HTTPS) {
        return Err(HttpError::HttpRequestDenied);
    }
    let authority = uri.authority().ok_or(HttpError::HttpRequestUriInvalid)?;
    let authority = if authority.port().is_some() {
        authority.to_string()
    } else {
        format!("{authority}:443")
    };

    let connect_timeout = options
        .and_then(|r| r.connect_timeout)
        .unwrap_or(DEFAULT_TIMEOUT);
    let first_byte_timeout = options
        .and_then(|r| r.first_byte_timeout)
        .unwrap_or(DEFAULT_TIMEOUT);
    let between_bytes_timeout = options
        .and_then(|r| r.between_bytes_timeout)
        .unwrap_or(DEFAULT_TIMEOUT);

    let stream = match tokio::time::timeout(connect_timeout, TcpStream::connect(&authority)).await {
        Ok(stream) => stream.map_err(HttpError::Connect)?,
        Err(..) => return Err(HttpError::ConnectionTimeout),
    };
    let connector = tokio_rustls::TlsConnector::from(tls.config);
    let domain = tls_server_name(&authority)?;
    // The handshake (and so the pin) completes before hyper writes a byte of the request.
    let stream = connector
        .connect(domain, stream)
        .await
        .map_err(HttpError::Tls)?;
    let (mut sender, conn) = tokio::time::timeout(
        connect_timeout,
        hyper::client::conn::http1::Builder::new().handshake(TokioIo::new(stream)),
    )
    .await
    .map_err(|_| HttpError::ConnectionTimeout)??;

    // The request line carries only the path and query when not addressing a proxy.
    *req.uri_mut() = http::Uri::builder()
        .path_and_query(
            req.uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/"),
        )
        .build()
        .expect("comes from a valid request");

    let send = async move {
        let res = tokio::time::timeout(first_byte_timeout, sender.send_request(req))
            .await
            .map_err(|_| HttpError::ConnectionReadTimeout)?
            .map_err(HttpError::from)?;
        // Tokio panics on an `interval` with a zero duration; 1ns is effectively zero.
        let between_bytes_timeout = if between_bytes_timeout == Duration::ZERO {
            Duration::new(0, 1)
        } else {
            between_bytes_timeout
        };
        let mut timeout = tokio::time::interval(between_bytes_timeout);
        timeout.reset();
        Ok::<_, HttpError>(res.map(|incoming| IncomingResponseBody { incoming, timeout }))
    };
    let mut send = pin!(send);
    let mut conn = Some(conn);
    // Wait for the response while driving the connection's I/O.
    let res = poll_fn(|cx| match send.as_mut().poll(cx) {
        Poll::Ready(result) => Poll::Ready(result),
        Poll::Pending => {
            let Some(fut) = conn.as_mut() else {
                return Poll::Pending;
            };
            let res = ready!(Pin::new(fut).poll(cx));
            conn = None;
            match res {
                Ok(()) => send.as_mut().poll(cx),
                Err(err) => Poll::Ready(Err(HttpError::from(err))),
            }
        }
    })
    .await?;
    let io = async move {
        let Some(conn) = conn.take() else {
            return Ok(());
        };
        if let Err(err) = conn.await {
            if err.is_timeout() {
                return Err(HttpError::HttpResponseTimeout);
            }
            return Err(err.into());
        }
        Ok(())
    };
    Ok((
        res.map(BodyExt::boxed_unsync),
        Box::new(io) as Box<dyn Future<Output = _> + Send>,
    ))
}

/// The response body, with `between_bytes_timeout` applied between frames.
struct IncomingResponseBody {
    incoming: hyper::body::Incoming,
    timeout: tokio::time::Interval,
}

impl http_body::Body for IncomingResponseBody {
    type Data = <hyper::body::Incoming as http_body::Body>::Data;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        match Pin::new(&mut self.as_mut().incoming).poll_frame(cx) {
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(Err(err))) => {
                let err = if err.is_timeout() {
                    HttpError::HttpResponseTimeout
                } else {
                    HttpError::from(err)
                };
                Poll::Ready(Some(Err(err)))
            }
            Poll::Ready(Some(Ok(frame))) => {
                self.timeout.reset();
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                ready!(self.timeout.poll_tick(cx));
                Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.incoming.size_hint()
    }
}

/// The rustls server name of a `host:port` authority (an IPv6 host in brackets), as wasmtime-wasi-http
/// derives it. The pinned verifier does not check it, but rustls sends a DNS name as SNI.
fn tls_server_name(authority: &str) -> Result<ServerName<'static>, HttpError> {
    if let Ok(addr) = authority.parse::<std::net::SocketAddr>() {
        return Ok(ServerName::from(addr.ip()));
    }
    let host = authority
        .split_once(':')
        .map_or(authority, |(host, _port)| host);
    Ok(ServerName::try_from(host)?.to_owned())
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

    #[test]
    fn server_names_follow_wasmtime_wasi_http() {
        assert_eq!(
            tls_server_name("example.com:443").unwrap(),
            ServerName::try_from("example.com").unwrap()
        );
        assert_eq!(
            tls_server_name("127.0.0.1:8443").unwrap(),
            ServerName::from(std::net::Ipv4Addr::LOCALHOST)
        );
        assert_eq!(
            tls_server_name("[::1]:443").unwrap(),
            ServerName::from(std::net::Ipv6Addr::LOCALHOST)
        );
    }
}
