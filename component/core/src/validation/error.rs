//! Why a token was rejected: which check failed, never the token itself.

use std::fmt;

/// A rejected token or an unusable validator.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidationError {
    /// The token is larger than the limit; nothing else was looked at.
    TooLarge {
        /// Its size in bytes.
        size: usize,
        /// The limit.
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
        /// The token's `exp`.
        exp: u64,
        /// Now.
        now: u64,
    },
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid {
        /// The token's `nbf`.
        nbf: u64,
        /// Now.
        now: u64,
    },
    /// `aud` is none of the accepted audiences.
    WrongAudience(String),
    /// `iss` is not Entra's issuer for the token's tenant.
    WrongIssuer(String),
    /// The token's tenant is not allowed.
    TenantNotAllowed(String),
    /// A signed Entra token, but not an access token: an ID token (see the module
    /// docs of [`crate::validation`] for how they are told apart).
    NotAnAccessToken(String),
    /// A required app role is missing.
    MissingRole(String),
    /// A required delegated scope is missing.
    MissingScope(String),
    /// The signing keys could not be fetched.
    KeysUnavailable(String),
    /// The validator's options are wrong.
    InvalidConfiguration(String),
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
