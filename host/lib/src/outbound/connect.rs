//! The connection a request actually goes over. `wasmtime_wasi_http::default_send_request`
//! resolves the host itself inside `TcpStream::connect`, so whatever DNS answers is where
//! the bytes go; here the caller resolves once ([`Resolver`]), checks the addresses, and
//! this module connects to exactly those, then runs TLS and HTTP/1 over that socket with
//! the same steps, timeouts and error mapping as `default_send_request`.

use core::future::poll_fn;
use core::pin::{Pin, pin};
use core::task::{Context, Poll, ready};
use futures::future::BoxFuture;
use http_body_util::BodyExt;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpStream;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody};

/// `default_send_request`'s timeouts when the request sets none.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

type Resolve = dyn Fn(&str, u16) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> + Send + Sync;

/// How outbound requests turn a host name into addresses: the system's resolver by
/// default; tests and embedders with their own DNS can supply another. Whatever it
/// answers is checked before anything connects.
#[derive(Clone)]
pub struct Resolver(Arc<Resolve>);

impl Resolver {
    /// A resolver that calls `resolve(host, port)`; `host` is never an IP literal.
    pub fn new<F, Fut>(resolve: F) -> Self
    where
        F: Fn(&str, u16) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'static,
    {
        Resolver(Arc::new(move |host, port| Box::pin(resolve(host, port))))
    }

    /// The system resolver, through `tokio::net::lookup_host`.
    pub fn system() -> Self {
        Resolver::new(|host, port| {
            let host = host.to_owned();
            async move {
                Ok(tokio::net::lookup_host((host.as_str(), port))
                    .await?
                    .collect())
            }
        })
    }

    pub(crate) async fn resolve(
        &self,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<Vec<SocketAddr>, HttpError> {
        match tokio::time::timeout(timeout, (self.0)(host, port)).await {
            Err(_) => Err(HttpError::DnsTimeout),
            Ok(Err(e)) => {
                tracing::debug!(host, error = %e, "outbound host name did not resolve");
                Err(HttpError::DnsError {
                    rcode: Some(e.to_string()),
                    info_code: None,
                })
            }
            Ok(Ok(addrs)) if addrs.is_empty() => Err(HttpError::DestinationNotFound),
            Ok(Ok(addrs)) => Ok(addrs),
        }
    }
}

impl Default for Resolver {
    fn default() -> Self {
        Resolver::system()
    }
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Resolver")
    }
}

/// The request's timeouts, `default_send_request`'s defaults filled in.
#[derive(Clone, Copy)]
pub(crate) struct Timeouts {
    pub(crate) connect: Duration,
    first_byte: Duration,
    between_bytes: Duration,
}

impl Timeouts {
    pub(crate) fn of(options: Option<RequestOptions>) -> Self {
        Timeouts {
            connect: options
                .and_then(|o| o.connect_timeout)
                .unwrap_or(DEFAULT_TIMEOUT),
            first_byte: options
                .and_then(|o| o.first_byte_timeout)
                .unwrap_or(DEFAULT_TIMEOUT),
            between_bytes: options
                .and_then(|o| o.between_bytes_timeout)
                .unwrap_or(DEFAULT_TIMEOUT),
        }
    }
}

/// The web PKI configuration `default_send_request` builds on every request, built once.
pub(crate) fn web_pki() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            Arc::new(with_roots(rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.into(),
            }))
        })
        .clone()
}

/// A client configuration trusting `roots`, on ring: the provider is explicit because
/// with more than one enabled rustls picks no default.
pub(crate) fn with_roots(roots: rustls::RootCertStore) -> ClientConfig {
    ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports rustls' default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// The certificates of a PEM file, as trust roots.
pub(crate) fn roots_from_pem(pem: &[u8]) -> Result<rustls::RootCertStore, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("failed to parse certificate: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("failed to parse certificate: {e}"))?;
    }
    Ok(roots)
}

/// Connects to the first of `addrs` that answers, all within `timeout`.
pub(crate) async fn tcp(addrs: &[SocketAddr], timeout: Duration) -> Result<TcpStream, HttpError> {
    let attempt = async {
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no address to connect to")))
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(stream) => stream.map_err(HttpError::Connect),
        Err(_) => Err(HttpError::ConnectionTimeout),
    }
}

/// What [`send`] resolves to: the response, and the future that drives the connection to its end.
pub(crate) type Sent = (
    http::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
);

/// Sends `req` over `stream`, after a TLS handshake with `tls` when given (`server_name`:
/// the URL's host, for SNI and the certificate check).
pub(crate) async fn send(
    stream: TcpStream,
    mut req: http::Request<WasiBody>,
    timeouts: Timeouts,
    tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
) -> Result<Sent, HttpError> {
    let io: Box<dyn Io> = match tls {
        Some((config, server_name)) => {
            // The handshake (and so any pin) completes before hyper writes a byte.
            let connecting = tokio_rustls::TlsConnector::from(config).connect(server_name, stream);
            let stream = tokio::time::timeout(timeouts.connect, connecting)
                .await
                .map_err(|_| HttpError::ConnectionTimeout)?
                .map_err(HttpError::Tls)?;
            Box::new(stream)
        }
        None => Box::new(stream),
    };
    let (mut sender, conn) = tokio::time::timeout(
        timeouts.connect,
        hyper::client::conn::http1::Builder::new().handshake(TokioIo::new(io)),
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
        let res = tokio::time::timeout(timeouts.first_byte, sender.send_request(req))
            .await
            .map_err(|_| HttpError::ConnectionReadTimeout)?
            .map_err(HttpError::from)?;
        // Tokio panics on an `interval` with a zero duration; 1ns is effectively zero.
        let between_bytes = timeouts.between_bytes.max(Duration::new(0, 1));
        let mut timeout = tokio::time::interval(between_bytes);
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

/// A plain or TLS stream, so both share one hyper connection type.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> Io for T {}

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

/// The rustls server name of a URL host: an IP address as such, else a DNS name.
pub(crate) fn tls_server_name(host: &str) -> Result<ServerName<'static>, HttpError> {
    let unbracketed = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = unbracketed.parse::<std::net::IpAddr>() {
        return Ok(ServerName::from(ip));
    }
    Ok(ServerName::try_from(host)?.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_follow_wasmtime_wasi_http() {
        assert_eq!(
            tls_server_name("example.com").unwrap(),
            ServerName::try_from("example.com").unwrap()
        );
        assert_eq!(
            tls_server_name("127.0.0.1").unwrap(),
            ServerName::from(std::net::Ipv4Addr::LOCALHOST)
        );
        assert_eq!(
            tls_server_name("[::1]").unwrap(),
            ServerName::from(std::net::Ipv6Addr::LOCALHOST)
        );
    }

    #[tokio::test]
    async fn resolver_failures_are_typed() {
        let nothing = Resolver::new(|_, _| async { Ok(Vec::new()) });
        let broken = Resolver::new(|_, _| async { Err(io::Error::other("no such host")) });
        let second = Duration::from_secs(1);
        assert!(matches!(
            nothing.resolve("h", 80, second).await,
            Err(HttpError::DestinationNotFound)
        ));
        assert!(matches!(
            broken.resolve("h", 80, second).await,
            Err(HttpError::DnsError { rcode: Some(r), .. }) if r.contains("no such host")
        ));
    }
}
