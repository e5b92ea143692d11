//! Service Fabric's managed identity endpoint (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER` +
//! `IDENTITY_SERVER_THUMBPRINT`): `GET /sf/metadata/identity/oauth2/token` with header `secret`, served only over
//! HTTPS with a self-signed certificate (see [`crate::tls`]).
//!
//! Like the real endpoint, it keeps a token cache of its own ([`crate::token_cache`]): a request for a resource gets
//! the same token back while that token is valid, whoever asks. The one way out is continuous access evaluation's:
//! MSAL.NET, given a claims challenge for a revoked token, sends `token_sha256_to_refresh` = the lower-case hex
//! SHA-256 of the token it holds; when that names the cached token, a new token is minted and cached instead. A
//! hash naming any other token changes nothing; one that is not 64 lower-case hex digits is a 400
//! `InvalidParameter` (the emulator's wording: the service's is not documented). `xms_cc` (comma-separated client
//! capabilities) containing `cp1` marks a newly minted token CAE-capable (`xms_cc: ["cp1"]`); a cached token is
//! returned as it was minted. An [`crate::Fault::ExpiredToken`] bypasses the cache: the expired token it asks for
//! is neither served from nor kept in it.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::Endpoint;
use crate::fault::Fault;
use crate::recording::RecordedRequest;
use crate::respond;
use crate::service::{Issuance, Reply, Service};
use crate::state::EmulatorState;
use crate::token::Subject;
use crate::token_cache::{CachedToken, is_sha256_hex};

/// What MSAL Go and MSAL Python send, and what MSAL.NET sends.
const API_VERSIONS: [&str; 2] = ["2019-07-01-preview", "2020-05-01"];

pub(crate) struct ServiceFabric;

impl Service for ServiceFabric {
    const ENDPOINT: Endpoint = Endpoint::ServiceFabric;
    const EXPIRY_FIELD: Option<&'static str> = Some("expires_on");

    /// The secret is `IDENTITY_HEADER` ([`crate::EmulatorConfig::identity_header`]); a missing or wrong one gets
    /// 404 `SecretHeaderNotFound`, as documented. The identity comes from the cluster's configuration, not the
    /// request, so selectors (MSAL.NET's `principalId`) are ignored and the system-assigned identity answers.
    /// `expires_on` is a JSON number here, as the Service Fabric docs show it.
    fn answer(state: &EmulatorState, request: &RecordedRequest, issuance: &Issuance) -> Reply {
        if request.method != "GET" {
            return Reply::Done(error(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "The requested HTTP method is not supported.",
            ));
        }
        if request.header("secret") != Some(state.config.identity_header.as_str()) {
            return Reply::Done(error(
                StatusCode::NOT_FOUND,
                "SecretHeaderNotFound",
                "Secret is not found in the request headers.",
            ));
        }
        let version = request.query_param("api-version").unwrap_or_default();
        if !API_VERSIONS.contains(&version) {
            return Reply::Done(error(
                StatusCode::BAD_REQUEST,
                "InvalidApiVersion",
                &format!(
                    "The api-version '{version}' is not supported. Supported version is '2019-07-01-preview'."
                ),
            ));
        }
        let Some(resource) = request.non_empty_query_param("resource") else {
            return Reply::Done(error(
                StatusCode::BAD_REQUEST,
                "ArgumentNullOrEmpty",
                "The parameter 'resource' should not be null or empty string",
            ));
        };
        let refresh = request.non_empty_query_param("token_sha256_to_refresh");
        if refresh.is_some_and(|hash| !is_sha256_hex(hash)) {
            return Reply::Done(error(
                StatusCode::BAD_REQUEST,
                "InvalidParameter",
                "The parameter 'token_sha256_to_refresh' is not valid: expected the SHA-256 of a token, as 64 \
                 lower-case hexadecimal characters.",
            ));
        }
        let capabilities: Vec<String> = request
            .non_empty_query_param("xms_cc")
            .filter(|cc| cc.split(',').any(|c| c.trim().eq_ignore_ascii_case("cp1")))
            .map(|_| vec!["cp1".to_owned()])
            .unwrap_or_default();
        let subject = Subject {
            capabilities: &capabilities,
            ..Subject::managed(&state.config.system_assigned)
        };
        let mint = || CachedToken {
            access_token: state.mint(&subject, resource, issuance.validity),
            validity: issuance.validity,
        };
        let token = if matches!(issuance.fault, Some(Fault::ExpiredToken)) {
            mint()
        } else {
            state.service_fabric_token(resource, issuance.now, refresh, mint)
        };
        let mut body = json!({
            "access_token": token.access_token,
            "expires_on": token.validity.expires_on,
            "resource": resource,
            "token_type": "Bearer",
        });
        if let Some(refresh_in) = state.refresh_in() {
            body["refresh_in"] = Value::from(refresh_in);
        }
        Reply::Success(respond::object(body))
    }

    /// 429 carries the throttling message a real cluster sent (MSAL.NET issue #5178).
    fn status_reply(
        _state: &EmulatorState,
        _request: &RecordedRequest,
        status: StatusCode,
    ) -> Response {
        match status.as_u16() {
            404 => error(
                status,
                "SecretHeaderNotFound",
                "Secret is not found in the request headers.",
            ),
            429 => error(
                status,
                "TooManyRequests",
                "The request was throttled locally; the service allows 30 requests per 10s; retry after 4s.",
            ),
            500.. => error(
                status,
                "InternalServerError",
                status.canonical_reason().unwrap_or("Error"),
            ),
            _ => error(
                status,
                "ManagedIdentityNotFound",
                "Managed identity not found for the specified application host",
            ),
        }
    }

    fn wrong_types() -> Value {
        json!({ "access_token": 42, "expires_on": "soon", "resource": [], "token_type": null })
    }
}

/// Service Fabric's error shape, with a fresh correlation id.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    respond::json(
        status,
        &json!({ "error": {
            "correlationId": uuid::Uuid::new_v4().to_string(),
            "code": code,
            "message": message,
        }}),
    )
}
