//! The outbound room, the sandbox's edge: every request the component makes passes this
//! allowlist, and
//! anything not on it is denied before a connection is made. A listed name is then
//! resolved once and the connection goes to an address that was checked: a name may not
//! lead to IMDS, Azure's platform address, loopback, link-local, private, CGNAT,
//! unspecified or multicast addresses unless the list names that address itself (an IP
//! literal or `localhost` in a URL, or [`Allowlist::with_allowed_addresses`]).
//! Pinned authorities (Service Fabric's self-signed endpoint) are reached over TLS that
//! trusts only their pinned certificate (`pinned_tls`); every other https authority is
//! checked against the [`TlsRoots`] the list is given (`roots`: the system's store by
//! default, or the built-in web PKI roots only). The AKS token proxy (identity binding)
//! is reached over TLS that trusts only its CA, with its SNI name (`token_proxy`).

mod address;
pub(crate) mod concurrency;
mod connect;
mod pinned_tls;
mod roots;
mod token_proxy;

pub use concurrency::IMDS_MAX_CONCURRENT;
pub use connect::Resolver;
#[cfg(feature = "redis")]
pub(crate) use connect::{roots_from_pem, web_pki, with_roots};
pub use roots::TlsRoots;

use connect::Timeouts;
use ipnet::IpNet;
use pinned_tls::{PinnedTls, Thumbprint};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use token_proxy::ProxyTls;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// Authorities (`host:port`) the component may reach.
#[derive(Clone, Debug, Default)]
pub struct Allowlist {
    authorities: Arc<Vec<String>>,
    /// Authorities whose TLS is pinned to a certificate thumbprint; each is also in `authorities`.
    pinned: Arc<Vec<(String, PinnedTls)>>,
    /// AKS token proxies and their TLS; each is also in `authorities`.
    proxies: Arc<Vec<(String, ProxyTls)>>,
    /// Authorities with a cap on concurrent requests (process-wide).
    limits: Arc<Vec<(String, Arc<tokio::sync::Semaphore>)>>,
    /// Restricted addresses a listed name may still resolve to, because the list says so.
    allowed_addresses: Arc<Vec<IpNet>>,
    resolver: Resolver,
    /// What every authority that is neither pinned nor a token proxy is checked against.
    roots: TlsRoots,
}

impl Allowlist {
    /// Caps concurrent requests to the authority of `url` at `permits`, shared by every
    /// allowlist in the process (IMDS counts per VM, not per caller).
    pub fn with_concurrency_limit(mut self, url: &str, permits: usize) -> Self {
        if let Some(authority) = authority_of(url) {
            let limiter = concurrency::limiter(&authority, permits);
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
            ..Allowlist::default()
        }
    }

    /// Lets listed names resolve to these restricted addresses too: CIDR ranges
    /// (`10.0.0.0/8`, `fd00::/8`) or single addresses (`127.0.0.1`). The error names the
    /// entry that is neither.
    pub fn with_allowed_addresses<'a>(
        mut self,
        ranges: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, String> {
        let mut allowed = Arc::unwrap_or_clone(self.allowed_addresses);
        for range in ranges {
            allowed.push(address::parse_net(range)?);
        }
        self.allowed_addresses = Arc::new(allowed);
        Ok(self)
    }

    /// Checks the certificates of https authorities that are neither pinned nor a token
    /// proxy (and of a token proxy given no CA) against `roots`.
    pub fn with_tls_roots(mut self, roots: TlsRoots) -> Self {
        self.roots = roots;
        self
    }

    /// Resolves host names with `resolver` instead of the system's.
    pub fn with_resolver(mut self, resolver: Resolver) -> Self {
        self.resolver = resolver;
        self
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
            ..self
        })
    }

    /// Allows the AKS token proxy of identity binding and reaches it over TLS that
    /// trusts only its CA (`AZURE_KUBERNETES_CA_FILE`, re-read as it rotates, or
    /// `AZURE_KUBERNETES_CA_DATA`; the web PKI roots when neither is given), sending and
    /// checking `AZURE_KUBERNETES_SNI_NAME` when set. Never over plain HTTP.
    pub fn with_token_proxy(
        self,
        proxy: &entra_identity_core::confidential::TokenProxy,
    ) -> Result<Self, String> {
        let url = proxy.url();
        let authority =
            authority_of(&url).ok_or_else(|| format!("the token proxy URL {url} has no host"))?;
        let tls = ProxyTls::new(proxy)?;
        let mut authorities = Arc::unwrap_or_clone(self.authorities);
        if let Err(at) = authorities.binary_search(&authority) {
            authorities.insert(at, authority.clone());
        }
        let mut proxies = Arc::unwrap_or_clone(self.proxies);
        proxies.retain(|(a, _)| *a != authority);
        proxies.push((authority, tls));
        Ok(Allowlist {
            authorities: Arc::new(authorities),
            proxies: Arc::new(proxies),
            ..self
        })
    }

    /// The token proxy TLS of `uri`'s authority, if it is one.
    fn proxy_tls(&self, uri: &http::Uri) -> Option<ProxyTls> {
        let authority = authority_of(&uri.to_string())?;
        self.proxies
            .iter()
            .find(|(a, _)| *a == authority)
            .map(|(_, tls)| tls.clone())
    }

    /// The allowed `host:port` pairs.
    pub fn authorities(&self) -> &[String] {
        &self.authorities
    }

    /// Whether a request to `uri` may go out, by its name; the address it resolves to is
    /// checked when it is sent.
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

/// Why `ip` may not be reached through a name, or `None` when it may: public, or in
/// `explicit`.
fn refusal(explicit: &[IpNet], ip: IpAddr) -> Option<&'static str> {
    if address::in_any(explicit, ip) {
        return None;
    }
    address::restricted(ip)
}

/// Where one allowed request goes, and what may be at the other end.
struct Egress {
    authority: String,
    host: String,
    port: u16,
    https: bool,
    /// The URL's host is an IP literal: the list named that address itself.
    literal: Option<IpAddr>,
    explicit: Arc<Vec<IpNet>>,
    resolver: Resolver,
    pinned: Option<PinnedTls>,
    proxy: Option<ProxyTls>,
    roots: TlsRoots,
}

impl Egress {
    fn of(list: &Allowlist, uri: &http::Uri) -> Result<Self, HttpError> {
        let authority = authority_of(&uri.to_string()).ok_or(HttpError::HttpRequestUriInvalid)?;
        let host = uri
            .host()
            .ok_or(HttpError::HttpRequestUriInvalid)?
            .to_ascii_lowercase();
        let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let unbracketed = host.trim_start_matches('[').trim_end_matches(']');
        let literal = unbracketed.parse::<IpAddr>().ok();
        let mut explicit = list.allowed_addresses.clone();
        // `localhost` means loopback (RFC 6761): naming it names loopback.
        if host == "localhost" || host.ends_with(".localhost") {
            Arc::make_mut(&mut explicit).extend(address::loopback());
        }
        Ok(Egress {
            pinned: list.pinned_tls(uri),
            proxy: list.proxy_tls(uri),
            authority,
            host,
            port,
            https,
            literal,
            explicit,
            resolver: list.resolver.clone(),
            roots: list.roots,
        })
    }

    /// The addresses to connect to: the literal, or what the name resolves to minus the
    /// restricted addresses the list does not name. None left is a denial.
    async fn addresses(&self, timeout: Duration) -> Result<Vec<SocketAddr>, HttpError> {
        if let Some(ip) = self.literal {
            return Ok(vec![SocketAddr::new(ip, self.port)]);
        }
        let resolved = self
            .resolver
            .resolve(&self.host, self.port, timeout)
            .await?;
        let (allowed, refused): (Vec<_>, Vec<_>) = resolved
            .into_iter()
            .map(|a| SocketAddr::new(a.ip(), self.port))
            .partition(|a| refusal(&self.explicit, a.ip()).is_none());
        let reasons = || {
            refused
                .iter()
                .map(|a| {
                    format!(
                        "{} ({})",
                        a.ip(),
                        refusal(&self.explicit, a.ip()).unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        if allowed.is_empty() {
            tracing::warn!(
                authority = %self.authority,
                refused = %reasons(),
                "denied an outbound request: its host name resolves only to restricted addresses; \
                 allow the address explicitly if it is meant to be reached"
            );
            return Err(HttpError::DestinationIpProhibited);
        }
        if !refused.is_empty() {
            tracing::debug!(authority = %self.authority, refused = %reasons(), "skipped restricted addresses of an outbound host");
        }
        Ok(allowed)
    }

    /// Resolves, checks, connects to a checked address, then TLS and HTTP/1 over it.
    async fn send(
        self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<connect::Sent, HttpError> {
        if (self.pinned.is_some() || self.proxy.is_some()) && !self.https {
            // A pinned authority is only ever spoken to over its pinned TLS, a token
            // proxy over TLS that trusts its CA.
            return Err(HttpError::HttpRequestDenied);
        }
        let timeouts = Timeouts::of(options);
        // The proxy's CA file is read before anything connects: a CA that cannot be
        // trusted fails the request without a byte sent.
        let tls = if self.https {
            Some(match (&self.pinned, &self.proxy) {
                (Some(pinned), _) => (
                    pinned.client_config(),
                    connect::tls_server_name(&self.host)?,
                ),
                (None, Some(proxy)) => (
                    proxy.client_config(self.roots)?,
                    proxy.server_name(&self.host)?,
                ),
                (None, None) => (
                    self.roots.client_config(),
                    connect::tls_server_name(&self.host)?,
                ),
            })
        } else {
            None
        };
        let addrs = self.addresses(timeouts.connect).await?;
        let stream = connect::tcp(&addrs, timeouts.connect).await?;
        let sent = connect::send(stream, request, timeouts, tls).await;
        if let Err(HttpError::Tls(e)) = &sent
            && self.pinned.is_none()
            && untrusted_certificate(e)
        {
            // The guest sees only an error code: the host says what to change.
            tracing::warn!(
                authority = %self.authority,
                error = %e,
                "the server's TLS certificate is not trusted: {}",
                match &self.proxy {
                    Some(_) => "the AKS token proxy is checked against its CA \
                                (AZURE_KUBERNETES_CA_FILE or AZURE_KUBERNETES_CA_DATA), \
                                else the host's roots"
                        .to_owned(),
                    None => self.roots.remedy(),
                }
            );
        }
        sent
    }
}

impl WasiHttpHooks for Allowlist {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<dyn Future<Output = Result<connect::Sent, HttpError>> + Send> {
        let allowed = self.allows(request.uri());
        let egress = Egress::of(self, request.uri());
        let limiter = self.limiter(request.uri());
        let authority = request
            .uri()
            .authority()
            .map(|a| a.to_string())
            .unwrap_or_default();
        // Metrics and a span when the component is inside a `get_token` call (src/telemetry.rs).
        let observed = crate::telemetry::Upstream::begin(request.uri());
        Box::new(observed.around(async move {
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
            egress?.send(request, options).await
        }))
    }

    /// A certificate the roots refuse is a certificate error to the guest, not a protocol
    /// error (wasmtime-wasi-http's default for every TLS failure).
    fn p2_error_from_tls(
        &mut self,
        err: &std::io::Error,
    ) -> wasmtime_wasi_http::p2::bindings::http::types::ErrorCode {
        use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
        if untrusted_certificate(err) {
            ErrorCode::TlsCertificateError
        } else {
            // What wasmtime-wasi-http's default hook logs, kept.
            tracing::warn!(error = %err, "outbound TLS failed");
            ErrorCode::TlsProtocolError
        }
    }
}

/// Whether a TLS failure is the server's certificate being refused.
fn untrusted_certificate(err: &std::io::Error) -> bool {
    err.get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .is_some_and(|e| {
            matches!(
                e,
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
            )
        })
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

    /// A resolver that answers `addr`'s IP for every name, and counts the lookups.
    fn resolving_to(ip: &str, lookups: Arc<std::sync::atomic::AtomicUsize>) -> Resolver {
        let ip: IpAddr = ip.parse().unwrap();
        Resolver::new(move |_host, port| {
            lookups.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move { Ok(vec![SocketAddr::new(ip, port)]) }
        })
    }

    async fn addresses(list: &Allowlist, url: &str) -> Result<Vec<SocketAddr>, HttpError> {
        let egress = Egress::of(list, &url.parse().unwrap()).unwrap();
        egress.addresses(Duration::from_secs(5)).await
    }

    #[tokio::test]
    async fn names_may_not_resolve_to_restricted_addresses() {
        let lookups = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for ip in [
            "169.254.169.254",
            "168.63.129.16",
            "127.0.0.1",
            "10.0.0.5",
            "100.64.1.1",
            "::ffff:169.254.169.254",
            "::1",
            "fd00::1",
        ] {
            let list = Allowlist::from_urls(["https://vault.example"])
                .with_resolver(resolving_to(ip, lookups.clone()));
            assert!(
                matches!(
                    addresses(&list, "https://vault.example/secrets").await,
                    Err(HttpError::DestinationIpProhibited)
                ),
                "{ip}"
            );
        }
        assert_eq!(lookups.load(std::sync::atomic::Ordering::SeqCst), 8);
    }

    #[tokio::test]
    async fn explicit_addresses_and_public_ones_are_reached() {
        let lookups = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let public = Allowlist::from_urls(["https://vault.example"])
            .with_resolver(resolving_to("20.190.160.1", lookups.clone()));
        assert_eq!(
            addresses(&public, "https://vault.example/").await.unwrap(),
            ["20.190.160.1:443".parse().unwrap()]
        );

        // Named in the list: an IP literal (IMDS, the emulator) is not resolved at all.
        let literal = Allowlist::from_urls(["http://169.254.169.254", "http://127.0.0.1:9"])
            .with_resolver(resolving_to("20.190.160.1", lookups.clone()));
        let imds = addresses(&literal, "http://169.254.169.254/metadata").await;
        assert_eq!(imds.unwrap(), ["169.254.169.254:80".parse().unwrap()]);
        let emulator = addresses(&literal, "http://127.0.0.1:9/").await;
        assert_eq!(emulator.unwrap(), ["127.0.0.1:9".parse().unwrap()]);
        assert_eq!(lookups.load(std::sync::atomic::Ordering::SeqCst), 1);

        // `localhost` names loopback, and only loopback.
        let local = Allowlist::from_urls(["http://localhost:40342"])
            .with_resolver(resolving_to("::ffff:127.0.0.1", lookups.clone()));
        assert!(addresses(&local, "http://localhost:40342/").await.is_ok());
        let rebound = Allowlist::from_urls(["http://localhost:40342"])
            .with_resolver(resolving_to("169.254.169.254", lookups.clone()));
        assert!(
            addresses(&rebound, "http://localhost:40342/")
                .await
                .is_err()
        );

        // A range the list allows, in its IPv4-mapped form too.
        let ranged = Allowlist::from_urls(["http://vault.example"])
            .with_allowed_addresses(["10.20.0.0/16"])
            .unwrap()
            .with_resolver(resolving_to("::ffff:10.20.3.4", lookups.clone()));
        assert!(addresses(&ranged, "http://vault.example/").await.is_ok());
        assert!(
            Allowlist::default()
                .with_allowed_addresses(["10.20.0.0/99"])
                .unwrap_err()
                .contains("10.20.0.0/99")
        );
    }

    /// Through the hook, as the component sends: a denied name never connects; the same
    /// name with its address allowed does.
    #[tokio::test]
    async fn a_denied_address_is_never_connected_to() {
        use http_body_util::BodyExt as _;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = format!("http://vault.example:{port}/secrets/x");
        let request = || {
            http::Request::get(&url)
                .header("Metadata", "true")
                .body(
                    http_body_util::Empty::new()
                        .map_err(|never| match never {})
                        .boxed_unsync(),
                )
                .unwrap()
        };
        // Nobody answers: the first byte's timeout ends a request that got through.
        let options = RequestOptions {
            connect_timeout: Some(Duration::from_secs(5)),
            first_byte_timeout: Some(Duration::from_millis(1)),
            between_bytes_timeout: None,
        };
        let lookups = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut list = Allowlist::from_urls([url.as_str()])
            .with_resolver(resolving_to("127.0.0.1", lookups.clone()));
        let denied =
            Box::into_pin(list.send_request(request(), Some(options), Box::new(async { Ok(()) })));
        assert!(matches!(
            denied.await,
            Err(HttpError::DestinationIpProhibited)
        ));
        match listener.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("the denied request connected: {other:?}"),
        }

        let mut allowed = list.with_allowed_addresses(["127.0.0.1/32"]).unwrap();
        let sent = Box::into_pin(allowed.send_request(
            request(),
            Some(options),
            Box::new(async { Ok(()) }),
        ));
        // What matters is that it connected, not what came back.
        let outcome = sent.await;
        assert!(
            !matches!(outcome, Err(HttpError::DestinationIpProhibited)),
            "an explicitly allowed address was denied"
        );
        listener.set_nonblocking(false).unwrap();
        assert!(
            listener.accept().is_ok(),
            "the allowed request never connected"
        );
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
