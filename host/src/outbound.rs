//! The outbound policy: every request the component makes passes this allowlist, and
//! anything not on it is denied before a connection is made.

use std::sync::Arc;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// Authorities (`host:port`) the component may reach.
#[derive(Clone, Debug, Default)]
pub struct Allowlist {
    authorities: Arc<Vec<String>>,
}

impl Allowlist {
    /// An allowlist of the authorities of `urls` (`http(s)://host[:port]/...`).
    pub fn from_urls<'a>(urls: impl IntoIterator<Item = &'a str>) -> Self {
        let mut authorities: Vec<String> = urls.into_iter().filter_map(authority_of).collect();
        authorities.sort();
        authorities.dedup();
        Allowlist {
            authorities: Arc::new(authorities),
        }
    }

    /// The allowed `host:port` pairs.
    pub fn authorities(&self) -> &[String] {
        &self.authorities
    }

    /// Whether a request to `uri` may go out.
    pub fn allows(&self, uri: &http::Uri) -> bool {
        authority_of(&uri.to_string()).is_some_and(|a| self.authorities.contains(&a))
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
}
