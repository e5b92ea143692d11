//! The `Authorization: Bearer` header, outgoing and incoming.

use crate::{AccessToken, Error};
use ::http::Request;
use ::http::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use std::fmt;

/// `Bearer <token>`, marked sensitive so `http`'s own `Debug` hides it too.
pub fn bearer_header(token: &AccessToken) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::try_from(format!("Bearer {}", token.secret())).map_err(|_| {
        Error::InvalidResponse("the token holds characters an HTTP header cannot carry".into())
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Sets `Authorization: Bearer <token>` on `request`, replacing any earlier value.
pub fn set_bearer<B>(request: &mut Request<B>, token: &AccessToken) -> Result<(), Error> {
    request
        .headers_mut()
        .insert(AUTHORIZATION, bearer_header(token)?);
    Ok(())
}

/// Why no bearer token could be taken from a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerError {
    /// No `Authorization` header, or one with another scheme (`Basic`, ...).
    Missing,
    /// A `Bearer` header that is not usable; the text says how, without the value.
    Malformed(&'static str),
}

impl fmt::Display for BearerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BearerError::Missing => f.write_str("no bearer token in the Authorization header"),
            BearerError::Malformed(why) => write!(f, "malformed Authorization header: {why}"),
        }
    }
}

impl std::error::Error for BearerError {}

/// The token of the request's single `Authorization: Bearer` header.
///
/// The scheme is matched case-insensitively (RFC 9110); the token must be an
/// RFC 6750 `b64token`, which every JWT is, so junk is refused before validation.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, BearerError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next().ok_or(BearerError::Missing)?;
    if values.next().is_some() {
        return Err(BearerError::Malformed("more than one Authorization header"));
    }
    let value = value
        .to_str()
        .map_err(|_| BearerError::Malformed("not visible ASCII"))?
        .trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(BearerError::Missing);
    }
    let token = token.trim_start();
    if token.is_empty() {
        return Err(BearerError::Malformed("empty bearer token"));
    }
    if !is_b64token(token) {
        return Err(BearerError::Malformed("the bearer token is not a b64token"));
    }
    Ok(token)
}

/// `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn set_bearer_replaces_and_hides_the_token() {
        let mut request = Request::get("https://vault.example/secrets/s")
            .header(AUTHORIZATION, "Basic old")
            .body(())
            .unwrap();
        set_bearer(&mut request, &AccessToken::new(JWT, 0)).unwrap();
        let values: Vec<_> = request.headers().get_all(AUTHORIZATION).iter().collect();
        assert_eq!(values.len(), 1);
        assert_eq!(values[0], format!("Bearer {JWT}").as_str());
        assert!(values[0].is_sensitive());
        assert!(!format!("{request:?}").contains("c2lnbmF0dXJl"));
    }

    #[test]
    fn a_token_that_cannot_be_a_header_is_an_error_without_its_value() {
        let err = bearer_header(&AccessToken::new("line\nbreak-secret", 0)).unwrap_err();
        assert!(!err.to_string().contains("break-secret"));
    }

    #[test]
    fn takes_the_token_whatever_the_scheme_case() {
        for value in [
            format!("Bearer {JWT}"),
            format!("bearer {JWT}"),
            format!("BEARER   {JWT} "),
        ] {
            assert_eq!(bearer_token(&headers(&[&value])), Ok(JWT), "{value}");
        }
        assert_eq!(bearer_token(&headers(&["Bearer abc=="])), Ok("abc=="));
    }

    #[test]
    fn no_bearer_header_is_missing() {
        assert_eq!(bearer_token(&headers(&[])), Err(BearerError::Missing));
        assert_eq!(
            bearer_token(&headers(&["Basic dXNlcjpwdw=="])),
            Err(BearerError::Missing)
        );
        assert_eq!(
            bearer_token(&headers(&["Bearerx abc"])),
            Err(BearerError::Missing)
        );
    }

    #[test]
    fn unusable_bearer_headers_are_malformed() {
        for value in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer a\"b",
            "Bearer ==",
            "Bearer a=b",
        ] {
            assert!(
                matches!(
                    bearer_token(&headers(&[value])),
                    Err(BearerError::Malformed(_))
                ),
                "{value}"
            );
        }
        let two = headers(&[&format!("Bearer {JWT}"), &format!("Bearer {JWT}")]);
        assert!(matches!(bearer_token(&two), Err(BearerError::Malformed(_))));
    }

    #[test]
    fn errors_never_echo_the_header() {
        let err = bearer_token(&headers(&["Bearer secret\"value"])).unwrap_err();
        assert!(!format!("{err} {err:?}").contains("secret"));
    }
}
