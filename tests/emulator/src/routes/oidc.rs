//! The Kubernetes-style OIDC issuer workload identity federates with: `GET /oidc/.well-known/openid-configuration`
//! and `GET /oidc/openid/v1/jwks`, as a cluster's service account issuer serves them.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::Endpoint;
use crate::recording::RecordedRequest;
use crate::respond;
use crate::service::{Issuance, Reply, Service};
use crate::service_account;
use crate::state::EmulatorState;

/// The discovery document.
pub(crate) struct Configuration;

/// The key set.
pub(crate) struct Keys;

impl Service for Configuration {
    const ENDPOINT: Endpoint = Endpoint::OidcIssuer;

    fn answer(state: &EmulatorState, request: &RecordedRequest, _issuance: &Issuance) -> Reply {
        only_get(request).unwrap_or_else(|| {
            Reply::Success(respond::object(service_account::openid_configuration(
                &state.oidc_issuer(),
            )))
        })
    }

    fn status_reply(_: &EmulatorState, _: &RecordedRequest, status: StatusCode) -> Response {
        plain_status(status)
    }

    fn wrong_types() -> Value {
        json!({ "issuer": 1, "jwks_uri": [] })
    }
}

impl Service for Keys {
    const ENDPOINT: Endpoint = Endpoint::OidcIssuer;

    fn answer(state: &EmulatorState, request: &RecordedRequest, _issuance: &Issuance) -> Reply {
        only_get(request).unwrap_or_else(|| {
            Reply::Success(respond::object(service_account::jwks(state.oidc_key())))
        })
    }

    fn status_reply(_: &EmulatorState, _: &RecordedRequest, status: StatusCode) -> Response {
        plain_status(status)
    }

    fn wrong_types() -> Value {
        json!({ "keys": "none" })
    }
}

/// The API server answers other methods with 405 and a plain reason.
fn only_get(request: &RecordedRequest) -> Option<Reply> {
    (request.method != "GET").then(|| Reply::Done(plain_status(StatusCode::METHOD_NOT_ALLOWED)))
}

fn plain_status(status: StatusCode) -> Response {
    respond::text(status, status.canonical_reason().unwrap_or("Error"))
}
