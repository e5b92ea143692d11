//! How a client proves its identity to the token endpoint: a registered app's secret, or a client assertion
//! (see [`crate::assertion`]).

use std::sync::Arc;

use axum::http::StatusCode;

use crate::aadsts::AadError;
use crate::apps::RegisteredApp;
use crate::assertion;
use crate::recording::RecordedRequest;
use crate::state::EmulatorState;

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

/// Decides whether `credential` proves `client_id`: the app must be registered (AADSTS700016 otherwise) and the
/// credential one the registration lists. Returns the app it proved.
pub(crate) fn verify(
    state: &EmulatorState,
    client_id: &str,
    credential: &ClientCredential,
) -> Result<Arc<RegisteredApp>, AadError> {
    let Some(app) = state.app(client_id) else {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if \
                 the application has not been installed by the administrator of the tenant or consented to by any \
                 user in the tenant. You may have sent your authentication request to the wrong tenant.",
                state.config.tenant_id
            ),
        ));
    };
    match credential {
        ClientCredential::Secret(secret) => {
            if app.registration.client_secret.as_deref() != Some(secret.as_str()) {
                return Err(invalid_secret(&app.registration.client_id));
            }
        }
        ClientCredential::Assertion(jwt) => assertion::verify(state, &app, jwt)?,
    }
    Ok(app)
}

/// AADSTS7000215, also when the app has no secret at all, as Entra answers.
fn invalid_secret(client_id: &str) -> AadError {
    AadError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        7000215,
        format!(
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret \
             value, not the client secret ID, for a secret added to app '{client_id}'."
        ),
    )
}
