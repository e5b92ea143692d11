//! HTTP requests and responses as plain values, so protocol code never touches a socket.

use std::fmt;

/// Header names whose values are secrets; `Debug` shows them as `<redacted>`.
const SECRET_HEADERS: &[&str] = &["x-identity-header", "secret", "authorization"];

/// Request method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
}

/// An HTTP request to send.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Absolute `http` or `https` URL, query included.
    pub url: String,
    /// Header name/value pairs.
    pub headers: Vec<(String, String)>,
    /// Body bytes (empty for GET).
    pub body: Vec<u8>,
}

impl Request {
    /// A GET of `url` with no headers.
    pub fn get(url: impl Into<String>) -> Self {
        Request {
            method: Method::Get,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// The value of the first header called `name` (case-insensitive).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// Splits the URL into the parts `wasi:http` wants.
    pub fn url_parts(&self) -> Result<UrlParts<'_>, crate::Error> {
        UrlParts::parse(&self.url)
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                let secret = SECRET_HEADERS.iter().any(|s| n.eq_ignore_ascii_case(s));
                (n.as_str(), if secret { "<redacted>" } else { v.as_str() })
            })
            .collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A response as received.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header name/value pairs.
    pub headers: Vec<(String, String)>,
    /// The body, already bounded by the transport.
    pub body: Vec<u8>,
}

impl Response {
    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body may hold a token: show only its size.
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish()
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Scheme, authority and path-with-query of an absolute URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// `http` or `https`.
    pub scheme: &'a str,
    /// `host[:port]`.
    pub authority: &'a str,
    /// Path and query, starting with `/`.
    pub path_and_query: std::borrow::Cow<'a, str>,
}

impl<'a> UrlParts<'a> {
    /// Parses an absolute `http(s)` URL without user info or fragment.
    pub fn parse(url: &'a str) -> Result<Self, crate::Error> {
        let bad = |why: &str| crate::Error::InvalidInput(format!("endpoint URL {url:?} {why}"));
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("is not an absolute URL"))?;
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            return Err(bad("must use http or https"));
        }
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.is_empty() || authority.contains('@') {
            return Err(bad("must name a host and no user info"));
        }
        if url.contains('#') || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("must not contain a fragment or whitespace"));
        }
        Ok(UrlParts {
            scheme,
            authority,
            path_and_query: if path.starts_with('/') {
                path.into()
            } else {
                format!("/{path}").into()
            },
        })
    }
}

/// Appends query parameters to a URL that may already have a query.
pub fn with_query<'p>(url: &str, params: impl IntoIterator<Item = (&'p str, &'p str)>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(params);
    let query = query.finish();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parts() {
        let p = UrlParts::parse("http://169.254.169.254/metadata/identity?x=1").unwrap();
        assert_eq!(
            (p.scheme, p.authority, &*p.path_and_query),
            ("http", "169.254.169.254", "/metadata/identity?x=1")
        );
        let p = UrlParts::parse("https://host:8443").unwrap();
        assert_eq!((p.authority, &*p.path_and_query), ("host:8443", "/"));
        let p = UrlParts::parse("http://h?a=b").unwrap();
        assert_eq!(p.path_and_query, "/?a=b");
        for bad in [
            "ftp://x/",
            "x/y",
            "http:///p",
            "http://u@h/",
            "http://h/#f",
            "http://h/ a",
        ] {
            assert!(UrlParts::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_is_encoded_and_appended() {
        assert_eq!(
            with_query("http://h/p", [("resource", "https://v.net/"), ("a", "b c")]),
            "http://h/p?resource=https%3A%2F%2Fv.net%2F&a=b+c"
        );
        assert_eq!(
            with_query("http://h/p?x=1", [("a", "b")]),
            "http://h/p?x=1&a=b"
        );
    }

    #[test]
    fn debug_redacts_secret_headers_and_bodies() {
        let r = Request::get("http://h/").header("X-IDENTITY-HEADER", "hunter22");
        assert!(!format!("{r:?}").contains("hunter22"));
        let resp = Response {
            status: 200,
            headers: vec![],
            body: b"{\"access_token\":\"tok\"}".to_vec(),
        };
        assert!(!format!("{resp:?}").contains("tok"));
    }
}
