//! Why an incoming token was refused, and what that means for the HTTP answer.

use http::StatusCode;
use std::fmt;

/// Which check failed, or why the validator cannot work. Never contains the token.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidationError {
    /// The token is larger than the limit; nothing else was looked at.
    TooLarge {
        /// Its size in bytes.
        size: usize,
        /// The limit, in bytes.
        limit: usize,
    },
    /// Not a compact JWS with a JSON header and payload.
    Malformed(String),
    /// The header's `alg` is not the algorithm the keys are for (RS256).
    UnsupportedAlgorithm(String),
    /// No key with this `kid`, even after refreshing the keys (when allowed).
    UnknownKey(String),
    /// The signature does not verify with the key named by `kid`.
    BadSignature,
    /// `exp` has passed (beyond the leeway).
    Expired {
        /// The token's `exp`, Unix seconds.
        exp: u64,
        /// The validator's clock when it checked, Unix seconds.
        now: u64,
    },
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid {
        /// The token's `nbf`, Unix seconds.
        nbf: u64,
        /// The validator's clock when it checked, Unix seconds.
        now: u64,
    },
    /// `aud` is none of the accepted audiences.
    WrongAudience(String),
    /// `iss` is not Entra's issuer for the token's tenant.
    WrongIssuer(String),
    /// The token's tenant is not allowed.
    TenantNotAllowed(String),
    /// A signed Entra token, but not an access token: an ID token. Every Entra
    /// access token names the client that asked for it (`appid` or `azp`) and no ID
    /// token does; only ID tokens carry `nonce`, `at_hash` or `c_hash`.
    NotAnAccessToken(String),
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
            TooLarge { size, limit } => {
                write!(f, "token is {size} bytes, over the {limit}-byte limit")
            }
            Malformed(why) => write!(f, "malformed token: {why}"),
            UnsupportedAlgorithm(alg) => write!(
                f,
                "algorithm {alg:?} is not accepted; Entra access tokens are RS256"
            ),
            UnknownKey(kid) => write!(f, "no signing key with kid {kid:?} at the authority"),
            BadSignature => write!(f, "the signature does not verify"),
            Expired { exp, now } => write!(f, "token expired at {exp} (now {now})"),
            NotYetValid { nbf, now } => write!(f, "token not valid before {nbf} (now {now})"),
            WrongAudience(aud) => write!(f, "audience {aud} is not accepted"),
            WrongIssuer(iss) => write!(
                f,
                "issuer {iss} is not Entra's issuer for the token's tenant"
            ),
            TenantNotAllowed(tid) => write!(f, "tenant {tid} is not allowed"),
            NotAnAccessToken(why) => write!(
                f,
                "not an access token ({why}); an API accepts access tokens issued for it, never the ID token of a sign-in"
            ),
            MissingRole(role) => write!(f, "the caller lacks the app role {role:?}"),
            MissingScope(scope) => write!(f, "the caller lacks the delegated scope {scope:?}"),
            KeysUnavailable(why) => write!(f, "signing keys unavailable: {why}"),
            InvalidConfiguration(why) => write!(f, "invalid validator configuration: {why}"),
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
            (
                ValidationError::Expired { exp: 1, now: 2 },
                401,
                Some("invalid_token"),
            ),
            (ValidationError::BadSignature, 401, Some("invalid_token")),
            (
                ValidationError::WrongAudience("x".into()),
                401,
                Some("invalid_token"),
            ),
            (
                ValidationError::NotAnAccessToken("id token".into()),
                401,
                Some("invalid_token"),
            ),
            (
                ValidationError::TooLarge {
                    size: 20_000,
                    limit: 16_384,
                },
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

    #[test]
    fn time_errors_say_both_times() {
        let text = ValidationError::Expired { exp: 10, now: 20 }.to_string();
        assert!(text.contains("10") && text.contains("20"), "{text}");
    }
}
