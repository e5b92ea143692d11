//! Which certificate authorities outbound HTTPS trusts ([`TlsRoots`]), for every
//! authority that is neither pinned (Service Fabric) nor given its own CA (the AKS
//! token proxy).
//!
//! The default is the platform's store, as the Azure SDKs' HTTP stacks have it (Go's
//! `crypto/x509`, .NET's `HttpClient`, OpenSSL under Python): a host behind a
//! TLS-inspecting proxy, or whose Entra endpoint has a private CA, reaches it once the
//! machine trusts that CA. `SSL_CERT_FILE`/`SSL_CERT_DIR`, when set, replace the store,
//! as in OpenSSL and Go (`rustls-native-certs` reads them). A machine with no store at
//! all (a `FROM scratch` image) gets the built-in roots, with a warning, so what worked
//! before keeps working. [`TlsRoots::WebPki`] opts out: the built-in Mozilla roots only,
//! whatever the machine trusts.

use rustls::ClientConfig;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

/// Which certificate authorities outbound HTTPS trusts: the component's requests, a
/// validator's key fetches and plugins' requests. Pinned authorities (Service Fabric)
/// and the AKS token proxy given its CA trust only their own.
///
/// Set it with [`IdentityConfig::tls_roots`](crate::IdentityConfig::tls_roots) and
/// [`ValidatorConfig::tls_roots`](crate::ValidatorConfig::tls_roots), or the
/// environment variable [`TlsRoots::ENV_VAR`] (`system` or `webpki`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsRoots {
    /// The platform's trust store (on Linux the distribution's CA bundle), or the
    /// certificates of `SSL_CERT_FILE` and `SSL_CERT_DIR` when either is set; read once
    /// per process, on the first HTTPS request. The default.
    #[default]
    System,
    /// Only the web PKI roots built into this binary (Mozilla's, from `webpki-roots`):
    /// what the machine trusts is ignored.
    WebPki,
}

impl TlsRoots {
    /// The environment variable that picks them: `system` (the default) or `webpki`.
    pub const ENV_VAR: &'static str = "ENTRA_IDENTITY_TLS_ROOTS";

    /// [`Self::ENV_VAR`] from `var`: unset or empty is the default; anything but
    /// `system` or `webpki` is an error naming the variable.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        match var(Self::ENV_VAR) {
            Some(value) if !value.trim().is_empty() => value
                .parse()
                .map_err(|why| format!("{}: {why}", Self::ENV_VAR)),
            _ => Ok(Self::default()),
        }
    }

    /// The client configuration these roots make, built once per process.
    pub(crate) fn client_config(self) -> Arc<ClientConfig> {
        match self {
            TlsRoots::System => system(),
            TlsRoots::WebPki => super::connect::web_pki(),
        }
    }

    /// What to do when a server's certificate does not chain to these roots.
    pub(crate) fn remedy(self) -> String {
        let var = Self::ENV_VAR;
        match self {
            TlsRoots::System => format!(
                "outbound HTTPS trusts the system's certificate store{}; add the CA that \
                 issued the server's certificate there, or point SSL_CERT_FILE at a PEM \
                 bundle that holds it",
                match system_source() {
                    Some(source) => format!(" ({source})"),
                    None => String::new(),
                }
            ),
            TlsRoots::WebPki => format!(
                "outbound HTTPS trusts only the built-in web PKI roots ({var}=webpki); \
                 set {var}=system to trust the system's store, SSL_CERT_FILE and \
                 SSL_CERT_DIR (a private CA, a TLS-inspecting proxy)"
            ),
        }
    }
}

impl FromStr for TlsRoots {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim().to_ascii_lowercase().as_str() {
            "system" => Ok(TlsRoots::System),
            "webpki" => Ok(TlsRoots::WebPki),
            _ => Err(format!(
                "{value:?} is not a trust setting: use system (the machine's store, \
                 SSL_CERT_FILE, SSL_CERT_DIR) or webpki (the built-in roots only)"
            )),
        }
    }
}

impl fmt::Display for TlsRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsRoots::System => "system",
            TlsRoots::WebPki => "webpki",
        })
    }
}

/// Where the system roots came from, when an environment variable chose them.
fn system_source() -> Option<String> {
    ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .find_map(|k| std::env::var(k).ok().map(|v| format!("{k}={v}")))
}

/// The platform's roots, loaded on first use. Unreadable or unparsable entries are
/// reported and skipped, as OpenSSL skips them; no roots at all falls back to the
/// built-in set.
fn system() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let loaded = rustls_native_certs::load_native_certs();
            for error in &loaded.errors {
                tracing::warn!(%error, "skipped part of the system's trusted certificates");
            }
            let mut roots = rustls::RootCertStore::empty();
            let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
            if ignored > 0 {
                tracing::warn!(ignored, "skipped system certificates that are not valid trust anchors");
            }
            if added == 0 {
                tracing::warn!(
                    source = system_source().as_deref().unwrap_or("the platform's store"),
                    "no trusted certificates found on this machine; outbound HTTPS trusts \
                     the built-in web PKI roots instead (install the CA bundle, e.g. \
                     ca-certificates, or set SSL_CERT_FILE; {}=webpki says this is meant)",
                    TlsRoots::ENV_VAR
                );
                return super::connect::web_pki();
            }
            tracing::debug!(roots = added, source = ?system_source(), "trusting the system's certificates");
            Arc::new(super::connect::with_roots(roots))
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variable_takes_system_or_webpki_and_names_itself_otherwise() {
        let env = |value: Option<&str>| {
            let value = value.map(str::to_owned);
            TlsRoots::from_env(move |k| (k == TlsRoots::ENV_VAR).then(|| value.clone()).flatten())
        };
        assert_eq!(env(None), Ok(TlsRoots::System));
        assert_eq!(env(Some(" ")), Ok(TlsRoots::System));
        assert_eq!(env(Some("WebPKI")), Ok(TlsRoots::WebPki));
        assert_eq!(env(Some("system")), Ok(TlsRoots::System));
        let wrong = env(Some("webkpi")).unwrap_err();
        assert!(
            wrong.starts_with("ENTRA_IDENTITY_TLS_ROOTS: \"webkpi\""),
            "{wrong}"
        );
        assert!(
            wrong.contains("system") && wrong.contains("webpki"),
            "{wrong}"
        );
        for roots in [TlsRoots::System, TlsRoots::WebPki] {
            assert_eq!(roots.to_string().parse(), Ok(roots));
        }
    }
}
