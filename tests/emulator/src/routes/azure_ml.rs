//! Azure Machine Learning's managed identity endpoint (`MSI_ENDPOINT` with `MSI_SECRET`), the App Service 2017
//! protocol: `GET /ml/msi/token?api-version=2017-09-01&resource=...&clientid=...` with header `secret`.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::Endpoint;
use crate::recording::RecordedRequest;
use crate::respond;
use crate::service::{Issuance, Reply, Service};
use crate::state::EmulatorState;
use crate::token::Subject;

const API_VERSION: &str = "2017-09-01";

pub(crate) struct AzureMl;

impl Service for AzureMl {
    const ENDPOINT: Endpoint = Endpoint::AzureMl;
    const EXPIRY_FIELD: Option<&'static str> = Some("expires_on");

    /// `clientid` (no underscore) is required: the system-assigned identity's client id (what
    /// `DEFAULT_IDENTITY_CLIENT_ID` holds) or a user-assigned one's; object and resource ids are not selectors
    /// here. Errors have the `{"error", "message"}` shape MSAL Python's tests use.
    fn answer(state: &EmulatorState, request: &RecordedRequest, issuance: &Issuance) -> Reply {
        if request.method != "GET" {
            return Reply::Done(error(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request",
                "Method not allowed.",
            ));
        }
        if request.header("secret") != Some(state.config.ml_secret.as_str()) {
            return Reply::Done(error(
                StatusCode::UNAUTHORIZED,
                "unauthorized_client",
                "The secret header is missing or does not match MSI_SECRET.",
            ));
        }
        if request.query_param("api-version") != Some(API_VERSION) {
            return Reply::Done(error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("The api-version is invalid. The supported version is '{API_VERSION}'."),
            ));
        }
        let Some(resource) = request.non_empty_query_param("resource") else {
            return Reply::Done(error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The 'resource' query parameter is required.",
            ));
        };
        let Some(client_id) = request.non_empty_query_param("clientid") else {
            return Reply::Done(error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The 'clientid' query parameter is required.",
            ));
        };
        let config = &state.config;
        let Some(identity) = std::iter::once(&config.system_assigned)
            .chain(&config.user_assigned)
            .find(|identity| identity.client_id.eq_ignore_ascii_case(client_id))
        else {
            return Reply::Done(error(
                StatusCode::BAD_REQUEST,
                "invalid_client",
                "No managed identity found for the specified clientid.",
            ));
        };
        let subject = Subject::managed(identity);
        let mut body = json!({
            "access_token": state.mint(&subject, resource, issuance.validity),
            "expires_on": issuance.validity.expires_on.to_string(),
            "resource": resource,
            "token_type": "Bearer",
        });
        state.add_refresh_in(&mut body);
        Reply::Success(respond::object(body))
    }

    fn status_reply(
        _state: &EmulatorState,
        _request: &RecordedRequest,
        status: StatusCode,
    ) -> Response {
        let code = match status.as_u16() {
            429 => "throttled",
            500.. => "server_error",
            _ => "invalid_request",
        };
        error(status, code, status.canonical_reason().unwrap_or("Error"))
    }

    fn wrong_types() -> Value {
        json!({ "access_token": 42, "expires_on": true, "resource": [], "token_type": null })
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    respond::json(status, &json!({ "error": code, "message": message }))
}
