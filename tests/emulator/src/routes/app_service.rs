//! App Service / Functions / Container Apps managed identity endpoint (`IDENTITY_ENDPOINT`): `GET /msi/token`.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::Endpoint;
use crate::identity::{self, SelectionError};
use crate::recording::RecordedRequest;
use crate::respond;
use crate::service::{Issuance, Reply, Service};
use crate::state::EmulatorState;
use crate::token::Subject;

/// The only protocol version emulated; the 2017-09-01 one used a `secret` header and is not served.
const API_VERSION: &str = "2019-08-01";

const IDENTITY_NOT_FOUND: &str = "No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId.";

pub(crate) struct AppService;

impl Service for AppService {
    const ENDPOINT: Endpoint = Endpoint::AppService;
    const EXPIRY_FIELD: Option<&'static str> = Some("expires_on");

    /// A missing or wrong `X-IDENTITY-HEADER` gets **401** (what App Service answers to a request without the
    /// secret, as reported against the SDKs); a bad `api-version`, a missing `resource` or an unknown identity get
    /// 400. Every error has the `{"statusCode", "message", "correlationId"}` shape. Identity selectors are
    /// `client_id`, `object_id` and `mi_res_id` (IMDS's `msi_res_id` is ignored, yielding system-assigned).
    fn answer(state: &EmulatorState, request: &RecordedRequest, issuance: &Issuance) -> Reply {
        if request.method != "GET" {
            return Reply::Done(error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed."));
        }
        if request.header("x-identity-header") != Some(state.config.identity_header.as_str()) {
            return Reply::Done(error(
                StatusCode::UNAUTHORIZED,
                "The X-IDENTITY-HEADER header is missing or does not match the IDENTITY_HEADER secret.",
            ));
        }
        match request.query_param("api-version") {
            Some(API_VERSION) => {}
            other => {
                return Reply::Done(error(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "The api-version '{}' is invalid. The supported version is '{API_VERSION}'.",
                        other.unwrap_or_default()
                    ),
                ));
            }
        }
        let Some(resource) = request.non_empty_query_param("resource") else {
            return Reply::Done(error(
                StatusCode::BAD_REQUEST,
                "The 'resource' query parameter is required.",
            ));
        };
        let selectors = identity::selectors(request, "mi_res_id");
        let config = &state.config;
        let identity =
            match identity::select(selectors, &config.system_assigned, &config.user_assigned) {
                Ok(identity) => identity,
                Err(SelectionError::NotFound) => {
                    return Reply::Done(error(StatusCode::BAD_REQUEST, IDENTITY_NOT_FOUND));
                }
                Err(SelectionError::Ambiguous) => {
                    return Reply::Done(error(
                        StatusCode::BAD_REQUEST,
                        "Only one of client_id, object_id and mi_res_id may be specified.",
                    ));
                }
            };
        let subject = Subject::managed(identity);
        let mut body = json!({
            "access_token": state.mint(&subject, resource, issuance.validity),
            "expires_on": issuance.validity.expires_on.to_string(),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": identity.client_id,
        });
        state.add_refresh_in(&mut body);
        Reply::Success(respond::object(body))
    }

    /// 400 is the unknown-identity error and 500 the message App Service sends when Entra failed it (both as
    /// documented); other statuses carry their reason phrase in the same shape.
    fn status_reply(
        _state: &EmulatorState,
        _request: &RecordedRequest,
        status: StatusCode,
    ) -> Response {
        let message = match status.as_u16() {
            400 => IDENTITY_NOT_FOUND,
            // Sic: the service's own spelling.
            500 => "An unexpected error occured while fetching the AAD Token.",
            _ => status.canonical_reason().unwrap_or("Error"),
        };
        error(status, message)
    }

    fn wrong_types() -> Value {
        json!({
            "access_token": 42,
            "expires_on": true,
            "resource": [],
            "token_type": null,
            "client_id": 7,
        })
    }
}

/// App Service's error shape, with a fresh correlation id as the service sends.
fn error(status: StatusCode, message: &str) -> Response {
    respond::json(
        status,
        &json!({
            "statusCode": status.as_u16(),
            "message": message,
            "correlationId": uuid::Uuid::new_v4().to_string(),
        }),
    )
}
