//! Cloud Shell's token endpoint (`MSI_ENDPOINT` alone): `POST /cloudshell/oauth2/token` with the form field
//! `resource`, headers `Metadata: true` and `Content-Type: application/x-www-form-urlencoded`.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::Endpoint;
use crate::recording::RecordedRequest;
use crate::respond;
use crate::service::{Issuance, Reply, Service};
use crate::state::EmulatorState;
use crate::token::Subject;

/// The audiences Cloud Shell issues tokens for, as its `AudienceNotSupported` error lists them.
const SUPPORTED_AUDIENCES: &str = "https://management.core.windows.net/,https://management.azure.com/,https://graph.windows.net/,https://vault.azure.net,https://datalake.azure.net/,https://outlook.office365.com/,https://graph.microsoft.com/,https://batch.core.windows.net/,https://analysis.windows.net/powerbi/api,https://storage.azure.com/,https://rest.media.azure.net,https://api.loganalytics.io,https://ossrdbms-aad.database.windows.net,https://www.yammer.com,https://digitaltwins.azure.net,0b07f429-9f4b-4714-9392-cc5e8e80c8b0,822c8694-ad95-4735-9c55-256f7db2f9b4,https://dev.azuresynapse.net,https://database.windows.net,https://quantum.microsoft.com,https://iothubs.azure.net,2ff814a6-3304-4ab8-85cb-cd0e6f879c1d,https://azuredatabricks.net/,ce34e7e5-485f-4d76-964f-b3d2b16d1e4f,https://azure-devices-provisioning.net,https://managedhsm.azure.net,499b84ac-1321-427f-aa17-267ca6975798,https://api.adu.microsoft.com/,https://purview.azure.net/,6dae42f8-4368-4678-94ff-3960e28e3630";

/// Parameters that would select a user-assigned identity, which Cloud Shell has none of.
const USER_ASSIGNED_PARAMS: [&str; 5] = [
    "client_id",
    "object_id",
    "msi_res_id",
    "mi_res_id",
    "principal_id",
];

pub(crate) struct CloudShell;

impl Service for CloudShell {
    const ENDPOINT: Endpoint = Endpoint::CloudShell;
    const EXPIRY_FIELD: Option<&'static str> = Some("expires_on");

    /// Errors use the nested `{"error": {"code", "message"}}` shape. Tokens are issued for the system-assigned
    /// identity (the real service issues the signed-in user's delegated token; the emulator has no users), and
    /// only for the audiences Cloud Shell supports: `api://AzureADTokenExchange` is not one of them.
    fn answer(state: &EmulatorState, request: &RecordedRequest, issuance: &Issuance) -> Reply {
        if request.method != "POST" {
            return Reply::Done(error(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "The requested resource does not support this HTTP method.",
            ));
        }
        if request.header("metadata") != Some("true") {
            return Reply::Done(error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Required metadata header not specified.",
            ));
        }
        let form = request
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        if !form {
            return Reply::Done(error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "The request body must be application/x-www-form-urlencoded.",
            ));
        }
        let named_identity = USER_ASSIGNED_PARAMS.iter().any(|param| {
            request.non_empty_form_param(param).is_some()
                || request.non_empty_query_param(param).is_some()
        });
        if named_identity {
            return Reply::Done(error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "User-assigned managed identities are not supported in Cloud Shell.",
            ));
        }
        let Some(resource) = request.non_empty_form_param("resource") else {
            return Reply::Done(error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "The 'resource' parameter is required.",
            ));
        };
        if !supported(&resource) {
            return Reply::Done(error(
                StatusCode::BAD_REQUEST,
                "AudienceNotSupported",
                &format!(
                    "Audience {resource} is not a supported MSI token audience.Supported audiences:{SUPPORTED_AUDIENCES}"
                ),
            ));
        }
        let identity = &state.config.system_assigned;
        // Cloud Shell answers for a user, not a resource.
        let subject = Subject {
            resource_id: None,
            ..Subject::managed(identity)
        };
        let validity = issuance.validity;
        let mut body = json!({
            "access_token": state.mint(&subject, &resource, validity),
            "refresh_token": "",
            "expires_in": validity.expires_in(issuance.now).to_string(),
            "expires_on": validity.expires_on.to_string(),
            "not_before": validity.issued_at.to_string(),
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
            429 => "TooManyRequests",
            500.. => "InternalServerError",
            _ => "BadRequest",
        };
        error(status, code, status.canonical_reason().unwrap_or("Error"))
    }

    fn wrong_types() -> Value {
        json!({ "access_token": 42, "expires_in": [], "expires_on": true, "resource": 7, "token_type": null })
    }
}

/// Trailing slashes differ between the list's entries and what clients send, so they are ignored.
fn supported(resource: &str) -> bool {
    let wanted = resource.trim_end_matches('/');
    SUPPORTED_AUDIENCES
        .split(',')
        .any(|audience| audience.trim_end_matches('/').eq_ignore_ascii_case(wanted))
}

/// Cloud Shell's nested error shape, which MSAL.NET parses as `error.code` / `error.message`.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    respond::json(
        status,
        &json!({ "error": { "code": code, "message": message } }),
    )
}
