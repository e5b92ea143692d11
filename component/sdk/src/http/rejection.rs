//! Why a request was refused: no usable bearer header, or a token that failed validation.

use super::BearerError;
use crate::ValidationError;
use ::http::StatusCode;
use std::fmt;

/// Why a request was refused. [`super::Challenge::respond`] turns it into the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// No usable `Authorization: Bearer` header.
    Bearer(BearerError),
    /// The token failed validation, or lacks a required role or scope.
    Token(ValidationError),
}

impl Rejection {
    /// 401 for a missing or invalid token, 400 for a malformed header, 403 for a
    /// missing role or scope, 5xx when the API cannot validate at all.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::Bearer(BearerError::Missing) => StatusCode::UNAUTHORIZED,
            Rejection::Bearer(BearerError::Malformed(_)) => StatusCode::BAD_REQUEST,
            Rejection::Token(e) => e.status(),
        }
    }
}

impl From<BearerError> for Rejection {
    fn from(e: BearerError) -> Self {
        Rejection::Bearer(e)
    }
}

impl From<ValidationError> for Rejection {
    fn from(e: ValidationError) -> Self {
        Rejection::Token(e)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Bearer(e) => e.fmt(f),
            Rejection::Token(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Rejection {}
