//! One request's fate, the same behind WASI 0.2 and 0.3: the caller's token is valid
//! for the configured tenant and audience and carries the required role and scope,
//! and the app gets the caller's claims; or the gate answers without the app: 401
//! with a `WWW-Authenticate` challenge (no token, an invalid one), 400 (a malformed
//! `Authorization`), 403 (a missing role or scope), 500 (a gate that cannot validate).

use crate::settings::{MissingSetting, Settings};
use entra_identity_sdk::http::{BearerError, Challenge, Rejection, bearer_token};
use entra_identity_sdk::{Claims, ValidationError};
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use std::fmt;

/// Headers as `wasi:http` lists them: (name, value) in the order they came.
pub type Headers = Vec<(String, Vec<u8>)>;

/// Validates one bearer token: in a gate, the identity component's validator.
pub type Validate = Box<dyn Fn(&str) -> Result<Claims, ValidationError>>;

/// Checks callers for one API.
pub struct Gate {
    validate: Validate,
    challenge: Challenge,
    role: Option<String>,
    scope: Option<String>,
}

impl Gate {
    /// The gate `settings` describe, validating tokens with `validate`.
    pub fn new(settings: Settings, validate: Validate) -> Self {
        Gate {
            validate,
            challenge: Challenge::for_options(&settings.validator),
            role: settings.role,
            scope: settings.scope,
        }
    }

    /// The caller's claims, or the answer the caller gets instead of the app.
    pub fn check(&self, headers: &[(String, Vec<u8>)]) -> Result<Claims, Response<String>> {
        self.claims(headers)
            .map_err(|rejection| self.challenge.respond(&rejection))
    }

    fn claims(&self, headers: &[(String, Vec<u8>)]) -> Result<Claims, Rejection> {
        // Only the Authorization headers: bearer parsing refuses more than one.
        let mut authorization = HeaderMap::new();
        for (_, value) in headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        {
            let value = HeaderValue::from_bytes(value)
                .map_err(|_| BearerError::Malformed("not a header value"))?;
            authorization.append(AUTHORIZATION, value);
        }
        let claims = (self.validate)(bearer_token(&authorization)?)?;
        if let Some(role) = &self.role {
            claims.require_role(role)?;
        }
        if let Some(scope) = &self.scope {
            claims.require_scope(scope)?;
        }
        Ok(claims)
    }
}

/// Why a gate cannot be made: for the operator (stderr), never for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupError {
    /// A setting the gate needs is missing.
    Missing(MissingSetting),
    /// The identity component refused the validator's options.
    Validator(ValidationError),
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::Missing(missing) => missing.fmt(f),
            SetupError::Validator(e) => write!(f, "the inbound validator cannot be made: {e}"),
        }
    }
}

impl std::error::Error for SetupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SetupError::Missing(missing) => Some(missing),
            SetupError::Validator(e) => Some(e),
        }
    }
}

impl From<MissingSetting> for SetupError {
    fn from(missing: MissingSetting) -> Self {
        SetupError::Missing(missing)
    }
}

impl From<ValidationError> for SetupError {
    fn from(e: ValidationError) -> Self {
        SetupError::Validator(e)
    }
}

/// 500 without the reason, which is for the operator (stderr), not the caller.
pub fn misconfigured() -> Response<String> {
    let body = r#"{"error":"server_error","error_description":"the API cannot validate tokens"}"#;
    let mut answer = Response::new(body.to_string());
    *answer.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    (answer.headers_mut()).insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    answer
}

/// `headers` as `wasi:http` lists them.
pub fn header_list(headers: &HeaderMap) -> Headers {
    (headers.iter())
        .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
        .collect()
}

#[cfg(test)]
mod tests;
