//! TLS to the AKS token proxy (identity binding): trust only the proxy's CA, with
//! `AZURE_KUBERNETES_SNI_NAME` as the server name.
//!
//! The component rewrites the token request onto `AZURE_KUBERNETES_TOKEN_PROXY`; the
//! connection is the host's. As the Go SDK does (`RootCAs = caPool`, `ServerName =
//! sniName`), and unlike the Rust PR, which adds the CA to the usual roots, the given
//! CA *replaces* the host's roots for the proxy's authority: only a certificate that
//! CA issued, for the SNI name, is accepted. Without a CA the host's roots apply
//! ([`TlsRoots`](super::TlsRoots): the system's store, as Go's `RootCAs = nil` has it,
//! unless set to the web PKI's).
//! The TCP connection goes to the proxy URL's host and port (resolved and checked by
//! the allowlist); the SNI name is only what TLS sends and checks, and the `Host`
//! header stays the proxy URL's authority, as in the Go and Rust SDKs.
//!
//! `AZURE_KUBERNETES_CA_FILE` rotates: it is read again for every new connection
//! (token requests are rare and the file is small, as in the Go SDK), and the
//! configuration is rebuilt when its content changed. An empty file keeps the
//! configuration in hand (an error if there is none yet); a file that cannot be read,
//! or no longer parses, fails that connection and keeps the configuration in hand for
//! the next attempt. TLS sessions are not resumed, so every connection checks the
//! proxy's certificate against the CA of the moment.

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use entra_identity_core::confidential::{ProxyCa, TokenProxy};
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use wasmtime_wasi_http::Error as HttpError;

/// CA bundles are a few KiB.
const MAX_CA_FILE: u64 = 1 << 20;

/// The proxy's TLS: its server name and where its trust comes from. Cloning shares it.
#[derive(Clone)]
pub(crate) struct ProxyTls {
    inner: Arc<Inner>,
}

struct Inner {
    /// `AZURE_KUBERNETES_SNI_NAME`, parsed; `None`: the URL's host.
    sni: Option<ServerName<'static>>,
    trust: Trust,
}

enum Trust {
    /// No CA given: the host's roots.
    HostRoots,
    /// `AZURE_KUBERNETES_CA_DATA`, built once.
    Fixed(Arc<ClientConfig>),
    /// `AZURE_KUBERNETES_CA_FILE`, and the content and configuration last built from it.
    File {
        path: PathBuf,
        loaded: Mutex<Option<(Vec<u8>, Arc<ClientConfig>)>>,
    },
}

impl ProxyTls {
    /// The TLS of `proxy`; a CA given as data that does not parse is an error here.
    pub(crate) fn new(proxy: &TokenProxy) -> Result<Self, String> {
        let sni = proxy
            .sni_name
            .as_deref()
            .map(|name| {
                ServerName::try_from(name.to_owned())
                    .map_err(|e| format!("invalid AZURE_KUBERNETES_SNI_NAME {name:?}: {e}"))
            })
            .transpose()?;
        let trust = match &proxy.ca {
            None => Trust::HostRoots,
            Some(ProxyCa::Data(pem)) => Trust::Fixed(
                trusting_only(pem.as_bytes())
                    .map_err(|why| format!("invalid AZURE_KUBERNETES_CA_DATA: {why}"))?,
            ),
            Some(ProxyCa::File(path)) => Trust::File {
                path: PathBuf::from(path),
                loaded: Mutex::new(None),
            },
        };
        Ok(ProxyTls {
            inner: Arc::new(Inner { sni, trust }),
        })
    }

    /// The server name to send and check: the SNI name, else the URL's `host`.
    pub(crate) fn server_name(&self, host: &str) -> Result<ServerName<'static>, HttpError> {
        match &self.inner.sni {
            Some(name) => Ok(name.clone()),
            None => super::connect::tls_server_name(host),
        }
    }

    /// The client configuration for a new connection, the CA file read again;
    /// `roots` when no CA was given.
    pub(crate) fn client_config(
        &self,
        roots: super::TlsRoots,
    ) -> Result<Arc<ClientConfig>, HttpError> {
        match &self.inner.trust {
            Trust::HostRoots => Ok(roots.client_config()),
            Trust::Fixed(config) => Ok(config.clone()),
            Trust::File { path, loaded } => reload(path, loaded).map_err(|why| {
                tracing::warn!(%why, "cannot trust the AKS token proxy");
                HttpError::Tls(io::Error::other(why))
            }),
        }
    }
}

impl std::fmt::Debug for ProxyTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let trust = match &self.inner.trust {
            Trust::HostRoots => "the host's roots".to_string(),
            Trust::Fixed(_) => "AZURE_KUBERNETES_CA_DATA".to_string(),
            Trust::File { path, .. } => path.display().to_string(),
        };
        f.debug_struct("ProxyTls")
            .field("sni", &self.inner.sni)
            .field("trust", &trust)
            .finish()
    }
}

fn reload(
    path: &std::path::Path,
    loaded: &Mutex<Option<(Vec<u8>, Arc<ClientConfig>)>>,
) -> Result<Arc<ClientConfig>, String> {
    let shown = path.display();
    let bytes = read_bounded(path)
        .map_err(|e| format!("invalid AZURE_KUBERNETES_CA_FILE: cannot read {shown}: {e}"))?;
    let mut loaded = loaded.lock().unwrap_or_else(|e| e.into_inner());
    if bytes.iter().all(u8::is_ascii_whitespace) {
        // Being rewritten, or not written yet: keep what works.
        return match loaded.as_ref() {
            Some((_, config)) => Ok(config.clone()),
            None => Err(format!(
                "invalid AZURE_KUBERNETES_CA_FILE: {shown} is empty"
            )),
        };
    }
    if let Some((previous, config)) = loaded.as_ref()
        && *previous == bytes
    {
        return Ok(config.clone());
    }
    let config = trusting_only(&bytes)
        .map_err(|why| format!("invalid AZURE_KUBERNETES_CA_FILE: {shown} {why}"))?;
    if loaded.is_some() {
        tracing::info!(path = %shown, "the AKS token proxy's CA file changed; trusting the new CA");
    }
    *loaded = Some((bytes, config.clone()));
    Ok(config)
}

fn read_bounded(path: &std::path::Path) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_CA_FILE + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_CA_FILE {
        return Err(io::Error::other(format!("larger than {MAX_CA_FILE} bytes")));
    }
    Ok(bytes)
}

/// A client configuration whose only roots are the certificates in `pem`. The error
/// completes "invalid {VAR}: ".
fn trusting_only(pem: &[u8]) -> Result<Arc<ClientConfig>, String> {
    let roots = super::connect::roots_from_pem(pem)?;
    if roots.is_empty() {
        return Err("contains no certificates".into());
    }
    let mut config = super::connect::with_roots(roots);
    // No session resumption: a resumed session skips the certificate check, so after a
    // CA rotation a proxy no longer trusted would still be reached. Every connection
    // checks the proxy's certificate against the CA of the moment.
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::TlsRoots;

    fn proxy(vars: &[(&str, &str)]) -> TokenProxy {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TokenProxy::from_env(&move |k: &str| {
            vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
        .unwrap()
        .unwrap()
    }

    /// A self-signed CA certificate (its key was thrown away): only parsed here.
    fn ca_pem() -> String {
        include_str!("testdata/proxy-ca.pem").to_string()
    }

    #[test]
    fn the_ca_file_is_reread_kept_when_empty_and_errors_say_what_to_fix() {
        let dir = std::env::temp_dir().join(format!("aks-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ca.pem");
        let path = file.to_str().unwrap();
        let tls = ProxyTls::new(&proxy(&[
            ("AZURE_KUBERNETES_TOKEN_PROXY", "https://127.0.0.1:9"),
            ("AZURE_KUBERNETES_SNI_NAME", "proxy.example.invalid"),
            ("AZURE_KUBERNETES_CA_FILE", path),
        ]))
        .unwrap();
        assert_eq!(
            tls.server_name("127.0.0.1").unwrap(),
            ServerName::try_from("proxy.example.invalid").unwrap()
        );
        let error = |tls: &ProxyTls| {
            tls.client_config(TlsRoots::WebPki)
                .err()
                .unwrap()
                .to_string()
        };

        // Missing, then empty before any CA was read.
        assert!(error(&tls).contains("cannot read"), "{}", error(&tls));
        std::fs::write(&file, "").unwrap();
        assert!(error(&tls).contains("is empty"), "{}", error(&tls));
        std::fs::write(&file, "no certificate here").unwrap();
        assert!(error(&tls).contains("contains no certificates"));

        std::fs::write(&file, ca_pem()).unwrap();
        let first = tls.client_config(TlsRoots::WebPki).unwrap();
        // Unchanged: the same configuration.
        assert!(Arc::ptr_eq(
            &first,
            &tls.client_config(TlsRoots::WebPki).unwrap()
        ));
        // Emptied while rotating: the configuration in hand stays.
        std::fs::write(&file, "\n").unwrap();
        assert!(Arc::ptr_eq(
            &first,
            &tls.client_config(TlsRoots::WebPki).unwrap()
        ));
        // Unreadable: an error for this connection, the configuration kept for the next.
        std::fs::remove_file(&file).unwrap();
        assert!(error(&tls).contains("cannot read"));
        // Changed: rebuilt.
        std::fs::write(&file, format!("{}\n{}", ca_pem(), ca_pem())).unwrap();
        assert!(!Arc::ptr_eq(
            &first,
            &tls.client_config(TlsRoots::WebPki).unwrap()
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn without_a_ca_the_host_roots_and_the_url_host_are_used() {
        let tls = ProxyTls::new(&proxy(&[(
            "AZURE_KUBERNETES_TOKEN_PROXY",
            "https://proxy.example.com",
        )]))
        .unwrap();
        assert!(Arc::ptr_eq(
            &tls.client_config(TlsRoots::WebPki).unwrap(),
            &TlsRoots::WebPki.client_config()
        ));
        assert_eq!(
            tls.server_name("proxy.example.com").unwrap(),
            ServerName::try_from("proxy.example.com").unwrap()
        );
        let data = ProxyTls::new(&proxy(&[
            ("AZURE_KUBERNETES_TOKEN_PROXY", "https://p"),
            ("AZURE_KUBERNETES_CA_DATA", &ca_pem()),
        ]))
        .unwrap();
        assert!(data.client_config(TlsRoots::WebPki).is_ok());
    }
}
