//! OpenID Connect discovery documents and the signing keys (JWKS), under the paths Entra serves them at.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::Endpoint;
use crate::aadsts::AadError;
use crate::recording::RecordedRequest;
use crate::respond;
use crate::routes::tenant_of;
use crate::service::{Issuance, Reply, Service};
use crate::state::EmulatorState;
use crate::token::v1_issuer;

/// Entra lets clients cache these documents for a day.
const CACHEABLE: &[(&str, &str)] = &[("cache-control", "max-age=86400, private")];

/// Tenants that stand for "any tenant": their documents carry the literal `{tenantid}` template.
const META_TENANTS: [&str; 3] = ["common", "organizations", "consumers"];

/// The v2.0 issuer of tokens from `tenant`.
pub(crate) fn v2_issuer(tenant: &str) -> String {
    format!("https://login.microsoftonline.com/{tenant}/v2.0")
}

/// The tenant a document describes: the configured one, or the template for a meta-tenant.
fn described_tenant(state: &EmulatorState, request: &RecordedRequest) -> Result<String, AadError> {
    let tenant = tenant_of(&request.path);
    if tenant.eq_ignore_ascii_case(&state.config.tenant_id) {
        Ok(state.config.tenant_id.clone())
    } else if META_TENANTS
        .iter()
        .any(|meta| tenant.eq_ignore_ascii_case(meta))
    {
        Ok("{tenantid}".to_owned())
    } else {
        Err(AadError::tenant_not_found(tenant))
    }
}

fn only_get(request: &RecordedRequest) -> Result<(), AadError> {
    if request.method == "GET" {
        Ok(())
    } else {
        Err(AadError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            900561,
            format!(
                "The endpoint only accepts GET, OPTIONS requests. Received a {} request.",
                request.method
            ),
        ))
    }
}

pub(crate) struct OpenIdConfiguration;

impl Service for OpenIdConfiguration {
    const ENDPOINT: Endpoint = Endpoint::OpenIdConfiguration;
    const SUCCESS_HEADERS: &'static [(&'static str, &'static str)] = CACHEABLE;

    /// `/{tenant}/v2.0/.well-known/openid-configuration` is the v2.0 document; `/{tenant}/.well-known/...` the v1
    /// one. Endpoint URLs point at this emulator; issuers are Entra's real ones, as tokens carry them.
    fn answer(state: &EmulatorState, request: &RecordedRequest, _issuance: &Issuance) -> Reply {
        let document = only_get(request)
            .and_then(|()| described_tenant(state, request))
            .map(|issuer_tenant| {
                // Endpoint URLs keep the tenant as requested (`organizations/...`, as Entra's
                // do); only the issuer carries the `{tenantid}` template.
                let path_tenant = tenant_of(&request.path);
                let v2 = request.path.contains("/v2.0/");
                openid_configuration(&state.base_url, path_tenant, &issuer_tenant, v2)
            });
        match document {
            Ok(document) => Reply::Success(respond::object(document)),
            Err(error) => Reply::Done(error.into_response(state, request)),
        }
    }

    fn status_reply(
        state: &EmulatorState,
        request: &RecordedRequest,
        status: StatusCode,
    ) -> Response {
        AadError::for_status(status).into_response(state, request)
    }

    fn wrong_types() -> Value {
        json!({ "issuer": 42, "jwks_uri": true, "token_endpoint": [], "id_token_signing_alg_values_supported": "RS256" })
    }
}

fn openid_configuration(base_url: &str, tenant: &str, issuer_tenant: &str, v2: bool) -> Value {
    let (version_path, issuer, jwks_uri, scopes) = if v2 {
        (
            "/v2.0",
            v2_issuer(issuer_tenant),
            format!("{base_url}/{tenant}/discovery/v2.0/keys"),
            json!(["openid", "profile", "email", "offline_access"]),
        )
    } else {
        (
            "",
            v1_issuer(issuer_tenant),
            format!("{base_url}/common/discovery/keys"),
            json!(["openid"]),
        )
    };
    let oauth2 = format!("{base_url}/{tenant}/oauth2{version_path}");
    json!({
        "token_endpoint": format!("{oauth2}/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": jwks_uri,
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": scopes,
        "issuer": issuer,
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": format!("{oauth2}/authorize"),
        "device_authorization_endpoint": format!("{oauth2}/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{oauth2}/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
    })
}

pub(crate) struct Jwks;

impl Service for Jwks {
    const ENDPOINT: Endpoint = Endpoint::Jwks;
    const SUCCESS_HEADERS: &'static [(&'static str, &'static str)] = CACHEABLE;

    /// The same keys under every path; each key's `issuer` names the tenant the path names (or the template).
    fn answer(state: &EmulatorState, request: &RecordedRequest, _issuance: &Issuance) -> Reply {
        let jwks = only_get(request)
            .and_then(|()| described_tenant(state, request))
            .map(|tenant| state.jwks(&v2_issuer(&tenant)));
        match jwks {
            Ok(jwks) => Reply::Success(respond::object(jwks)),
            Err(error) => Reply::Done(error.into_response(state, request)),
        }
    }

    fn status_reply(
        state: &EmulatorState,
        request: &RecordedRequest,
        status: StatusCode,
    ) -> Response {
        AadError::for_status(status).into_response(state, request)
    }

    fn wrong_types() -> Value {
        json!({ "keys": 42 })
    }
}
