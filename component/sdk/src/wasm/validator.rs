//! `Validator`: checks incoming Entra tokens inside the identity component.

use super::bindings::app::entra::identity::validation as wit;
use crate::http::{Challenge, Rejection, bearer_token};
use crate::{Claims, ValidationError, ValidatorOptions};
use std::fmt;

/// Validates tokens for one API. Signing keys are cached in the identity component.
pub struct Validator {
    inner: wit::Validator,
    challenge: Challenge,
}

impl Validator {
    /// A validator for the API `options` describe.
    pub fn new(options: ValidatorOptions) -> Result<Self, ValidationError> {
        let challenge = Challenge::for_options(&options);
        let inner = wit::Validator::create(&options.into())?;
        Ok(Validator { inner, challenge })
    }

    /// Names the API's client id in this validator's challenges.
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.challenge = self.challenge.client_id(client_id);
        self
    }

    /// Checks `bearer` (with or without `Bearer `): size, algorithm, signature,
    /// `exp`/`nbf`, issuer, tenant, audience.
    pub fn validate(&self, bearer: &str) -> Result<Claims, ValidationError> {
        self.inner
            .validate(bearer)
            .map(Into::into)
            .map_err(Into::into)
    }

    /// Takes the bearer token from `request` and validates it.
    pub fn validate_request<B>(&self, request: &::http::Request<B>) -> Result<Claims, Rejection> {
        let token = bearer_token(request.headers())?;
        Ok(self.validate(token)?)
    }

    /// The answers for callers this validator refuses (401/403 with `WWW-Authenticate`).
    pub fn challenge(&self) -> &Challenge {
        &self.challenge
    }
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Validator")
            .field("authorization_uri", &self.challenge.authorization_uri())
            .finish_non_exhaustive()
    }
}
