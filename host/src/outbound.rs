//! The outbound policy: every request the component makes passes this allowlist, and
//! anything not on it is denied before a connection is made. Pinned authorities (Service
//! Fabric's self-signed endpoint) are reached over TLS that trusts only their pinned
//! certificate (`pinned_tls`); every other authority keeps wasmtime-wasi-http's default
//! web PKI verification.

use crate::pinned_tls::{self, PinnedTls, Thumbprint};
use std::sync::Arc;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// Authorities (`host:port`) the component may reach.
#[derive(Clone, Debug, Default)]
pub struct Allowlist {
    authorities: Arc<Vec<String>>,
    /// Authorities whose TLS is pinned to a certificate thumbprint; each is also in `authorities`.
    pinned: Arc<Vec<(String, PinnedTls)>>,
    /// Authorities with a cap on concurrent requests (process-wide).
    limits: Arc<Vec<(String, Arc<tokio::sync::Semaphore>)>>,
}

impl Allowlist {
    /// Caps concurrent requests to the authority of `url` at `permits`, shared by every
    /// allowlist in the process (IMDS counts per VM, not per caller).
    pub fn with_concurrency_limit(mut self, url: &str, permits: usize) -> Self {
        if let Some(authority) = authority_of(url) {
            let limiter = crate::concurrency::limiter(&authority, permits);
            let mut limits = (*self.limits).clone();
            limits.retain(|(a, _)| *a != authority);
            limits.push((authority, limiter));
            self.limits = Arc::new(limits);
        }
        self
    }

    fn limiter(&self, uri: &http::Uri) -> Option<Arc<tokio::sync::Semaphore>> {
        let authority = authority_of(&uri.to_string())?;
        self.limits
            .iter()
            .find(|(a, _)| *a == authority)
            .map(|(_, l)| l.clone())
    }

    /// An allowlist of the authorities of `urls` (`http(s)://host[:port]/...`).
    pub fn from_urls<'a>(urls: impl IntoIterator<Item = &'a str>) -> Self {
        let mut authorities: Vec<String> = urls.into_iter().filter_map(authority_of).collect();
        authorities.sort();
        authorities.dedup();
        Allowlist {
            authorities: Arc::new(authorities),
            pinned: Arc::default(),
            limits: Arc::default(),
        }
    }

    /// Pins the TLS of `url`'s authority to the certificate whose SHA-1 thumbprint is
    /// `sha1_thumbprint` (Service Fabric's `IDENTITY_SERVER_THUMBPRINT`: 40 hex digits of
    /// either case, `:` and spaces ignored), and allows that authority if it was not already.
    ///
    /// Requests to it then trust exactly that certificate, self-signed or not, and fail before
    /// any HTTP bytes are sent when the server presents another. `url` must be `https`.
    pub fn with_pinned_certificate(self, url: &str, sha1_thumbprint: &str) -> Result<Self, String> {
        let parsed = url::Url::parse(url)
            .map_err(|e| format!("invalid URL to pin a certificate for: {e}"))?;
        if parsed.scheme() != "https" {
            return Err(format!(
                "a pinned certificate needs an https URL, not {}://",
                parsed.scheme()
            ));
        }
        let authority = authority_of(url)
            .ok_or_else(|| "the URL to pin a certificate for has no host".to_owned())?;
        let tls = PinnedTls::new(Thumbprint::parse(sha1_thumbprint)?)?;

        let mut authorities = Arc::unwrap_or_clone(self.authorities);
        if let Err(at) = authorities.binary_search(&authority) {
            authorities.insert(at, authority.clone());
        }
        let mut pinned = Arc::unwrap_or_clone(self.pinned);
        pinned.retain(|(a, _)| *a != authority);
        pinned.push((authority, tls));
        Ok(Allowlist {
            authorities: Arc::new(authorities),
            pinned: Arc::new(pinned),
            limits: self.limits,
        })
    }

    /// The allowed `host:port` pairs.
    pub fn authorities(&self) -> &[String] {
        &self.authorities
    }

    /// Whether a request to `uri` may go out.
    pub fn allows(&self, uri: &http::Uri) -> bool {
        authority_of(&uri.to_string()).is_some_and(|a| self.authorities.contains(&a))
    }

    /// The pinned TLS of `uri`'s authority, if it has one.
    fn pinned_tls(&self, uri: &http::Uri) -> Option<PinnedTls> {
        let authority = authority_of(&uri.to_string())?;
        self.pinned
            .iter()
            .find(|(a, _)| *a == authority)
            .map(|(_, tls)| tls.clone())
    }
}

/// `host:port`, lower-cased, with the scheme's default port made explicit.
fn authority_of(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    let port = url.port_or_known_default()?;
    Some(format!("{host}:{port}"))
}

impl WasiHttpHooks for Allowlist {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                    ),
                    HttpError,
                >,
            > + Send,
    > {
        let allowed = self.allows(request.uri());
        let pinned = self.pinned_tls(request.uri());
        let limiter = self.limiter(request.uri());
        let authority = request
            .uri()
            .authority()
            .map(|a| a.to_string())
            .unwrap_or_default();
        Box::new(async move {
            if !allowed {
                // Only the authority: paths and queries can name identities.
                tracing::warn!(%authority, "denied an outbound request not on the allowlist");
                return Err(HttpError::HttpRequestDenied);
            }
            // Held until the response head arrives; managed-identity bodies are small.
            let _permit = match limiter {
                Some(l) => Some(
                    l.acquire_owned()
                        .await
                        .map_err(|_| HttpError::HttpRequestDenied)?,
                ),
                None => None,
            };
            if let Some(tls) = pinned {
                return pinned_tls::send_request(request, options, tls).await;
            }
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities_are_normalised() {
        let list = Allowlist::from_urls([
            "http://169.254.169.254",
            "HTTP://LocalHost:8080/msi/token?x=1",
            "https://login.microsoftonline.com/t",
        ]);
        assert_eq!(
            list.authorities(),
            [
                "169.254.169.254:80",
                "localhost:8080",
                "login.microsoftonline.com:443"
            ]
        );
        let allows = |u: &str| list.allows(&u.parse().unwrap());
        assert!(allows(
            "http://169.254.169.254:80/metadata/identity/oauth2/token"
        ));
        assert!(allows("http://localhost:8080/other"));
        assert!(!allows("http://localhost:8081/msi/token"));
        assert!(!allows("http://169.254.169.254.evil.example/"));
        assert!(!allows("https://169.254.169.254/"));
    }

    #[test]
    fn pinning_allows_the_authority_and_checks_its_input() {
        const THUMBPRINT: &str = "0123456789ABCDEF0123456789ABCDEF01234567";
        let list = Allowlist::from_urls(["http://localhost:8080"])
            .with_pinned_certificate("https://LOCALHOST:2377/metadata/identity", THUMBPRINT)
            .unwrap();
        assert_eq!(list.authorities(), ["localhost:2377", "localhost:8080"]);
        let uri = |u: &str| u.parse::<http::Uri>().unwrap();
        assert!(list.allows(&uri("https://localhost:2377/x")));
        assert!(list.pinned_tls(&uri("https://localhost:2377/x")).is_some());
        assert!(list.pinned_tls(&uri("http://localhost:8080/x")).is_none());

        // Pinning again replaces the pin and keeps one entry.
        let again = list
            .clone()
            .with_pinned_certificate("https://localhost:2377/", &THUMBPRINT.to_lowercase())
            .unwrap();
        assert_eq!(again.authorities(), list.authorities());
        assert_eq!(again.pinned.len(), 1);

        let error = |url: &str, thumbprint: &str| {
            Allowlist::default()
                .with_pinned_certificate(url, thumbprint)
                .unwrap_err()
        };
        assert!(error("https://localhost:2377", "abc").contains("40 hex digits"));
        assert!(error("https://localhost:2377", &"g".repeat(40)).contains("hex digits"));
        assert!(error("http://localhost:2377", THUMBPRINT).contains("https"));
        assert!(error("not a url", THUMBPRINT).contains("invalid URL"));
    }
}
