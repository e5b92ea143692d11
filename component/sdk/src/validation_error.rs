//! Why an incoming token was refused, and what that means for the HTTP answer.

use ::http::StatusCode;
use std::fmt;

/// Which check failed. Never contains the token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidationError {
    /// The token is larger than the limit (bytes); nothing else was looked at.
    TooLarge(u32),
    /// Not a compact JWS with a JSON header and payload.
    Malformed(String),
    /// The header's `alg` is not RS256.
    UnsupportedAlgorithm(String),
    /// No signing key with this `kid` at the authority.
    UnknownKey(String),
    /// The signature does not verify.
    BadSignature,
    /// `exp` (Unix seconds) has passed.
    Expired(u64),
    /// `nbf` (Unix seconds) is in the future.
    NotYetValid(u64),
    /// `aud` is none of the accepted audiences.
    WrongAudience(String),
    /// `iss` is not Entra's issuer for the token's tenant.
    WrongIssuer(String),
    /// The token's tenant is not allowed.
    TenantNotAllowed(String),
    /// A required app role is missing.
    MissingRole(String),
    /// A required delegated scope is missing.
    MissingScope(String),
    /// The signing keys could not be fetched: the API's problem, not the caller's.
    KeysUnavailable(String),
    /// The validator's options are wrong: the API's problem, not the caller's.
    InvalidConfiguration(String),
}

impl ValidationError {
    /// The status to answer with: 403 when the token is good but lacks a role or
    /// scope, 503/500 when the API itself cannot validate, else 401.
    pub fn status(&self) -> StatusCode {
        match self {
            ValidationError::MissingRole(_) | ValidationError::MissingScope(_) => {
                StatusCode::FORBIDDEN
            }
            ValidationError::KeysUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ValidationError::InvalidConfiguration(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The RFC 6750 error code for the `WWW-Authenticate` challenge, if the caller
    /// can do something about it.
    pub fn oauth_error(&self) -> Option<&'static str> {
        match self.status() {
            StatusCode::UNAUTHORIZED => Some("invalid_token"),
            StatusCode::FORBIDDEN => Some("insufficient_scope"),
            _ => None,
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ValidationError::*;
        match self {
            TooLarge(size) => write!(f, "the token is too large ({size} bytes)"),
            Malformed(why) => write!(f, "malformed token: {why}"),
            UnsupportedAlgorithm(alg) => write!(f, "algorithm {alg} is not accepted"),
            UnknownKey(kid) => write!(f, "no signing key with kid {kid}"),
            BadSignature => f.write_str("the signature does not verify"),
            Expired(exp) => write!(f, "the token expired at {exp}"),
            NotYetValid(nbf) => write!(f, "the token is not valid before {nbf}"),
            WrongAudience(aud) => write!(f, "the audience {aud} is not accepted"),
            WrongIssuer(iss) => write!(f, "the issuer {iss} is not accepted"),
            TenantNotAllowed(tid) => write!(f, "the tenant {tid} is not allowed"),
            MissingRole(role) => write!(f, "the app role {role} is required"),
            MissingScope(scope) => write!(f, "the scope {scope} is required"),
            KeysUnavailable(why) => write!(f, "signing keys unavailable: {why}"),
            InvalidConfiguration(why) => write!(f, "validator misconfigured: {why}"),
        }
    }
}

impl std::error::Error for ValidationError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_is_blamed_only_for_the_token() {
        let cases = [
            (ValidationError::Expired(1), 401, Some("invalid_token")),
            (ValidationError::BadSignature, 401, Some("invalid_token")),
            (
                ValidationError::WrongAudience("x".into()),
                401,
                Some("invalid_token"),
            ),
            (
                ValidationError::MissingRole("r".into()),
                403,
                Some("insufficient_scope"),
            ),
            (
                ValidationError::MissingScope("s".into()),
                403,
                Some("insufficient_scope"),
            ),
            (ValidationError::KeysUnavailable("down".into()), 503, None),
            (
                ValidationError::InvalidConfiguration("no".into()),
                500,
                None,
            ),
        ];
        for (error, status, code) in cases {
            assert_eq!(error.status().as_u16(), status, "{error:?}");
            assert_eq!(error.oauth_error(), code, "{error:?}");
        }
    }
}
