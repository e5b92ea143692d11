//! What the emulator remembers about each request it received.

use axum::body::Body;
use axum::http::Request;

/// A request as received, kept so that tests can assert on exactly what a client sent.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// The HTTP method, e.g. `GET`.
    pub method: String,
    /// The path without the query string.
    pub path: String,
    /// Query parameters in order, percent-decoded.
    pub query: Vec<(String, String)>,
    /// Headers in order, names lower-case; a value that is not UTF-8 is kept lossily.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

/// Token requests are small; anything bigger is recorded without its body.
const BODY_LIMIT: usize = 1 << 20;

impl RecordedRequest {
    /// Reads a whole request. A body over 1 MiB, or one that fails mid-way, is recorded as empty.
    pub(crate) async fn read(request: Request<Body>) -> Self {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, BODY_LIMIT)
            .await
            .map(|b| b.to_vec())
            .unwrap_or_default();
        Self {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: parse_pairs(parts.uri.query().unwrap_or_default().as_bytes()),
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body,
        }
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of an `application/x-www-form-urlencoded` body field.
    pub fn form_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(&self.body)
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The first non-empty value of a query parameter: services treat `?resource=` like no `resource` at all.
    pub(crate) fn non_empty_query_param(&self, name: &str) -> Option<&str> {
        self.query_param(name).filter(|v| !v.is_empty())
    }

    /// The first non-empty value of a form field, for the same reason.
    pub(crate) fn non_empty_form_param(&self, name: &str) -> Option<String> {
        self.form_param(name).filter(|v| !v.is_empty())
    }
}

fn parse_pairs(encoded: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(encoded)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_query_headers_and_form() {
        let request = Request::post("/t/oauth2/v2.0/token?a=1&b=x%20y&a=2")
            .header("X-Identity-Header", "s")
            .body(Body::from(
                "scope=https%3A%2F%2Fvault.azure.net%2F.default&client_id=c",
            ))
            .unwrap();
        let recorded = RecordedRequest::read(request).await;
        assert_eq!(recorded.path, "/t/oauth2/v2.0/token");
        assert_eq!(recorded.query_param("a"), Some("1"));
        assert_eq!(recorded.query_param("b"), Some("x y"));
        assert_eq!(recorded.headers[0].0, "x-identity-header");
        assert_eq!(recorded.header("X-IDENTITY-HEADER"), Some("s"));
        assert_eq!(
            recorded.form_param("scope").as_deref(),
            Some("https://vault.azure.net/.default")
        );
        assert_eq!(recorded.form_param("missing"), None);
    }
}
