//! Azure Arc's hybrid instance metadata service (himds): `GET /arc/metadata/identity/oauth2/token`, guarded by
//! a challenge: the first request gets 401 and `WWW-Authenticate: Basic realm=<path of a fresh .key file>`, the
//! retry sends `Authorization: Basic <file contents>`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use crate::Endpoint;
use crate::fault::Fault;
use crate::identity::{self, SelectionError};
use crate::recording::RecordedRequest;
use crate::respond;
use crate::service::{Issuance, Reply, Service};
use crate::state::EmulatorState;
use crate::token::Subject;

pub(crate) struct Arc;

impl Service for Arc {
    const ENDPOINT: Endpoint = Endpoint::Arc;
    const EXPIRY_FIELD: Option<&'static str> = Some("expires_on");

    /// Checks in the agent's order: `Metadata: true`, then the secret (a missing or unknown one gets a new
    /// challenge), then `api-version` and `resource`, then the identity. Selectors are IMDS's `client_id`,
    /// `object_id` and `msi_res_id`; a user-assigned identity is echoed back as `client_id` and `msi_res_id`
    /// (what MSAL Go checks before trusting the token) unless the agent plays legacy and ignores selectors.
    fn answer(state: &EmulatorState, request: &RecordedRequest, issuance: &Issuance) -> Reply {
        if request.method != "GET" {
            return Reply::Done(error(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request",
                "Method not allowed",
            ));
        }
        if request.header("metadata") != Some("true") {
            return Reply::Done(error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Required metadata header not specified",
            ));
        }
        let authorized = request
            .header("authorization")
            .is_some_and(|value| state.arc.accepts(value));
        if !authorized {
            return Reply::Done(challenge(state, issuance.fault.as_ref()));
        }
        if request.non_empty_query_param("api-version").is_none() {
            return Reply::Done(missing_query_variable("api-version"));
        }
        let Some(resource) = request.non_empty_query_param("resource") else {
            return Reply::Done(missing_query_variable("resource"));
        };
        let legacy = state.arc_legacy_ignores_user_assigned();
        let selectors = if legacy {
            [None; 3]
        } else {
            identity::selectors(request, "msi_res_id")
        };
        let user_assigned = selectors.iter().any(Option::is_some);
        let config = &state.config;
        let identity =
            match identity::select(selectors, &config.system_assigned, &config.user_assigned) {
                Ok(identity) => identity,
                Err(SelectionError::NotFound) => {
                    return Reply::Done(error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "Identity not found",
                    ));
                }
                Err(SelectionError::Ambiguous) => {
                    return Reply::Done(error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "Only one of client_id, object_id and msi_res_id may be specified",
                    ));
                }
            };
        let subject = Subject::managed(identity);
        let validity = issuance.validity;
        let mut body = json!({
            "access_token": state.mint(&subject, resource, validity),
            "expires_in": validity.expires_in(issuance.now).to_string(),
            "expires_on": validity.expires_on.to_string(),
            "resource": resource,
            "token_type": "Bearer",
        });
        if user_assigned {
            body["client_id"] = Value::String(identity.client_id.clone());
            body["msi_res_id"] = Value::String(identity.resource_id.clone());
        }
        state.add_refresh_in(&mut body);
        Reply::Success(respond::object(body))
    }

    /// The IMDS error shape the agent shares; 401 is a full challenge, key file included.
    fn status_reply(
        state: &EmulatorState,
        _request: &RecordedRequest,
        status: StatusCode,
    ) -> Response {
        match status.as_u16() {
            401 => challenge(state, None),
            429 => error(
                status,
                "invalid_request",
                "Temporarily throttled, too many requests",
            ),
            _ => error(
                status,
                "unknown",
                status.canonical_reason().unwrap_or("Error"),
            ),
        }
    }

    fn wrong_types() -> Value {
        json!({
            "access_token": 42,
            "expires_in": [],
            "expires_on": true,
            "resource": 7,
            "token_type": null,
        })
    }
}

/// 401 with a realm naming a fresh key file, or the realm a [`Fault::ArcRealm`] dictates (and no file).
fn challenge(state: &EmulatorState, fault: Option<&Fault>) -> Response {
    let realm = match fault {
        Some(Fault::ArcRealm(realm)) => realm.clone(),
        _ => match state.arc.issue() {
            Ok(path) => path.display().to_string(),
            Err(e) => {
                tracing::error!(error = %e, dir = %state.arc.dir().display(), "cannot write the Arc key file");
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "unknown",
                    "Failed to create the challenge token file",
                );
            }
        },
    };
    // The documented body carries the status as a numeric error code too.
    let mut response = respond::json(
        StatusCode::UNAUTHORIZED,
        &json!({
            "error": "unauthorized_client",
            "error_description": "Missing Basic Authorization header",
            "error_codes": [401],
        }),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("Basic realm={realm}")) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The agent's error shape, IMDS's: `{"error": ..., "error_description": ...}`.
fn error(status: StatusCode, code: &str, description: &str) -> Response {
    respond::json(
        status,
        &json!({ "error": code, "error_description": description }),
    )
}

fn missing_query_variable(name: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        &format!("Required query variable '{name}' is missing"),
    )
}
