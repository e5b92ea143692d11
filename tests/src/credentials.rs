//! How a client proves its identity to the token endpoint.
//!
//! Today any non-empty secret or assertion is accepted; stricter checks (known secrets, assertion signature,
//! issuer/subject/audience against federated credentials) belong in [`verify`].

use axum::http::StatusCode;

use crate::aadsts::AadError;
use crate::recording::RecordedRequest;

/// The only `client_assertion_type` Entra accepts.
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The credential a token request carries.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ClientCredential {
    Secret(String),
    /// A signed JWT: a certificate assertion, or a federated token (workload identity, managed identity FIC).
    Assertion(String),
}

impl ClientCredential {
    /// Reads the credential from the form. An assertion wins over a secret, as it does at Entra.
    pub(crate) fn from_form(request: &RecordedRequest) -> Result<Self, AadError> {
        if let Some(assertion) = request.non_empty_form_param("client_assertion") {
            return match request.non_empty_form_param("client_assertion_type") {
                None => Err(AadError::missing_parameter("client_assertion_type")),
                Some(kind) if kind == JWT_BEARER => Ok(Self::Assertion(assertion)),
                Some(_) => Err(AadError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    90014,
                    "The required field 'client_assertion_type' is missing from the credential. Ensure that you have \
                     all the necessary parameters for the login request.",
                )),
            };
        }
        if let Some(secret) = request.non_empty_form_param("client_secret") {
            return Ok(Self::Secret(secret));
        }
        Err(AadError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ))
    }

    /// Entra's `appidacr` for this kind of credential.
    pub(crate) fn authentication_class(&self) -> &'static str {
        match self {
            Self::Secret(_) => "1",
            Self::Assertion(_) => "2",
        }
    }
}

/// Decides whether `credential` proves `client_id`. Accepts everything `from_form` let through, for now.
pub(crate) fn verify(_client_id: &str, _credential: &ClientCredential) -> Result<(), AadError> {
    Ok(())
}
