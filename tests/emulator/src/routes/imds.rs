//! Azure VM instance metadata service (IMDS): `GET /metadata/identity/oauth2/token`.

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

/// IMDS names itself in `Server`, which some clients use to tell it from a proxy.
const SERVER: &[(&str, &str)] = &[("server", "IMDS/150.870.65.1015")];

pub(crate) struct Imds;

impl Service for Imds {
    const ENDPOINT: Endpoint = Endpoint::Imds;
    const EXPIRY_FIELD: Option<&'static str> = Some("expires_on");
    const SUCCESS_HEADERS: &'static [(&'static str, &'static str)] = SERVER;

    /// Checks in IMDS's order: the SSRF header first (a probe without it gets a fast 400), then the query.
    /// Identity selectors are `client_id`, `object_id` and `msi_res_id`; App Service's `mi_res_id` is not one
    /// here and is ignored, which yields the system-assigned identity, as Azure Arc does.
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
                "bad_request_102",
                "Required metadata header not specified",
            ));
        }
        if request.non_empty_query_param("api-version").is_none() {
            return Reply::Done(missing_query_variable("api-version"));
        }
        let Some(resource) = request.non_empty_query_param("resource") else {
            return Reply::Done(missing_query_variable("resource"));
        };
        let selectors = identity::selectors(request, "msi_res_id");
        let config = &state.config;
        let identity =
            match identity::select(selectors, &config.system_assigned, &config.user_assigned) {
                Ok(identity) => identity,
                Err(SelectionError::NotFound) => return Reply::Done(identity_not_found()),
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
            "refresh_token": "",
            "expires_in": validity.expires_in(issuance.now).to_string(),
            "expires_on": validity.expires_on.to_string(),
            "not_before": validity.issued_at.to_string(),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": identity.client_id,
        });
        state.add_refresh_in(&mut body);
        Reply::Success(respond::object(body))
    }

    /// 400 and 429 carry the bodies real IMDS sends; 500 the documented `unknown` error; other statuses, which
    /// have no documented body, a short text naming what the docs say they mean.
    fn status_reply(
        _state: &EmulatorState,
        _request: &RecordedRequest,
        status: StatusCode,
    ) -> Response {
        match status.as_u16() {
            400 => identity_not_found(),
            429 => error(
                status,
                "invalid_request",
                "Temporarily throttled, too many requests",
            ),
            500 => error(
                status,
                "unknown",
                "Failed to retrieve token from the Active directory.",
            ),
            404 => with_server(respond::text(status, "IMDS endpoint is updating")),
            410 => with_server(respond::text(status, "IMDS is going through updates")),
            _ => with_server(respond::text(
                status,
                status.canonical_reason().unwrap_or("Error"),
            )),
        }
    }

    fn wrong_types() -> Value {
        json!({
            "access_token": 42,
            "refresh_token": 0,
            "expires_in": [],
            "expires_on": true,
            "not_before": {},
            "resource": 7,
            "token_type": null,
            "client_id": false,
        })
    }
}

/// IMDS's error shape: `{"error": ..., "error_description": ...}`.
fn error(status: StatusCode, code: &str, description: &str) -> Response {
    with_server(respond::json(
        status,
        &json!({ "error": code, "error_description": description }),
    ))
}

fn identity_not_found() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Identity not found",
    )
}

fn missing_query_variable(name: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        &format!("Required query variable '{name}' is missing"),
    )
}

fn with_server(response: Response) -> Response {
    respond::with_headers(response, SERVER)
}
