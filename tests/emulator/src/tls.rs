//! HTTPS for Service Fabric: a self-signed certificate made at start, and a listener that hands axum only
//! connections whose TLS handshake finished. The AKS token proxy has its own listener, whose certificate an
//! emulator-made CA issues for one SNI name, and which a test can re-issue from a new CA ([`ProxyCertificates`]).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use std::sync::{Mutex, RwLock};

use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use sha1::{Digest as _, Sha1};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// A client that connects and says nothing must not hold a handshake slot forever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's certificate, as clients see it.
pub(crate) struct ServerCertificate {
    pub(crate) der: Vec<u8>,
    pub(crate) pem: String,
    /// Upper-case hex SHA-1 of the DER certificate, the form `IDENTITY_SERVER_THUMBPRINT` has.
    pub(crate) thumbprint: String,
    key: Vec<u8>,
}

impl ServerCertificate {
    /// A fresh self-signed certificate for `localhost` and `127.0.0.1`, as a cluster node's is self-signed.
    pub(crate) fn generate() -> std::io::Result<Self> {
        let certified = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .map_err(std::io::Error::other)?;
        let der = certified.cert.der().to_vec();
        let thumbprint = Sha1::digest(&der)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        Ok(Self {
            pem: certified.cert.pem(),
            thumbprint,
            key: certified.key_pair.serialize_der(),
            der,
        })
    }

    fn server_config(&self) -> std::io::Result<ServerConfig> {
        // An explicit provider: the workspace may enable more than one, and then rustls will not pick.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(self.der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone())),
            )
            .map_err(std::io::Error::other)
    }
}

/// Accepted TLS connections, for `axum::serve`. Handshakes run in their own tasks, so a slow or failing one
/// (a client rejecting the certificate, say) delays no one else.
pub(crate) struct TlsListener {
    addr: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    accepting: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub(crate) async fn bind(port: u16, certificate: &ServerCertificate) -> std::io::Result<Self> {
        Self::bind_with(port, certificate.server_config()?).await
    }

    pub(crate) async fn bind_with(port: u16, config: ServerConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        let addr = listener.local_addr()?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let (sender, ready) = mpsc::channel(64);
        let accepting = tokio::spawn(accept_loop(listener, acceptor, sender));
        Ok(Self {
            addr,
            ready,
            accepting,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "TLS listener accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // TLS writes a response in several records; with Nagle on, the last waits for
        // the client's delayed ACK (40 ms on Linux), as Azure's front ends do not.
        let _ = tcp.set_nodelay(true);
        let (acceptor, ready) = (acceptor.clone(), ready.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => {
                    let _ = ready.send((tls, peer)).await;
                }
                Ok(Err(error)) => tracing::info!(%error, %peer, "TLS handshake failed"),
                Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accept loop only ends when this listener is dropped, so this cannot happen while serving.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

/// The AKS token proxy's certificates: a CA made by the emulator, and a leaf it issued for the SNI name only
/// (not for `127.0.0.1`: a client must send and check the SNI name). A handshake naming anything else, or
/// nothing, is refused. Every SNI name a client sent is kept, in order.
#[derive(Debug)]
pub(crate) struct ProxyCertificates {
    sni_name: String,
    current: RwLock<(String, Arc<CertifiedKey>)>,
    seen: Mutex<Vec<Option<String>>>,
}

impl ProxyCertificates {
    pub(crate) fn generate(sni_name: &str) -> std::io::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            sni_name: sni_name.to_owned(),
            current: RwLock::new(issue(sni_name)?),
            seen: Mutex::new(Vec::new()),
        }))
    }

    /// A new CA, and a new leaf from it; handshakes from now on present the new leaf.
    pub(crate) fn rotate(&self) -> std::io::Result<()> {
        let fresh = issue(&self.sni_name)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }

    pub(crate) fn sni_name(&self) -> &str {
        &self.sni_name
    }

    /// The current CA certificate, PEM.
    pub(crate) fn ca_pem(&self) -> String {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone()
    }

    pub(crate) fn seen(&self) -> Vec<Option<String>> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn server_config(self: &Arc<Self>) -> std::io::Result<ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Ok(ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>))
    }
}

impl ResolvesServerCert for ProxyCertificates {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = hello.server_name().map(str::to_owned);
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(name.clone());
        if name.as_deref() != Some(self.sni_name.as_str()) {
            tracing::info!(?name, expected = %self.sni_name, "AKS proxy: refused a handshake for another name");
            return None;
        }
        Some(Arc::clone(
            &self.current.read().unwrap_or_else(|e| e.into_inner()).1,
        ))
    }
}

/// A fresh CA (PEM) and a leaf it issued for `sni_name`, ready to serve.
fn issue(sni_name: &str) -> std::io::Result<(String, Arc<CertifiedKey>)> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().map_err(std::io::Error::other)?;
    let mut ca_params =
        CertificateParams::new(Vec::<String>::new()).map_err(std::io::Error::other)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "entra-emulator AKS token proxy CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = ca_params
        .self_signed(&ca_key)
        .map_err(std::io::Error::other)?;
    let leaf_key = KeyPair::generate().map_err(std::io::Error::other)?;
    let mut leaf_params =
        CertificateParams::new(vec![sni_name.to_owned()]).map_err(std::io::Error::other)?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, sni_name);
    let leaf = leaf_params
        .signed_by(&leaf_key, &ca, &ca_key)
        .map_err(std::io::Error::other)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let signing =
        rustls::crypto::ring::sign::any_supported_type(&key).map_err(std::io::Error::other)?;
    let chain = vec![
        CertificateDer::from(leaf.der().to_vec()),
        CertificateDer::from(ca.der().to_vec()),
    ];
    Ok((ca.pem(), Arc::new(CertifiedKey::new(chain, signing))))
}
