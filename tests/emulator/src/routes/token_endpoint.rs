//! Entra's v2.0 token endpoint: `POST /{tenant}/oauth2/v2.0/token`, client credentials and on-behalf-of grants
//! (see [`crate::on_behalf_of`]). Every grant takes a `claims` field (see [`crate::claims_request`]).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::Endpoint;
use crate::aadsts::{self, AadError};
use crate::claims_request;
use crate::credentials::{self, ClientCredential};
use crate::on_behalf_of;
use crate::recording::RecordedRequest;
use crate::respond;
use crate::routes::tenant_of;
use crate::service::{Issuance, Reply, Service};
use crate::state::EmulatorState;
use crate::token::Subject;

/// OpenID Connect scopes Entra tolerates next to a resource's `/.default`.
pub(crate) const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "offline_access", "email"];

pub(crate) struct TokenEndpoint;

impl Service for TokenEndpoint {
    const ENDPOINT: Endpoint = Endpoint::Token;
    /// The only expiry field this response has.
    const EXPIRY_FIELD: Option<&'static str> = Some("expires_in");
    const SUCCESS_HEADERS: &'static [(&'static str, &'static str)] = aadsts::NO_CACHE;

    fn answer(state: &EmulatorState, request: &RecordedRequest, issuance: &Issuance) -> Reply {
        match issue(state, request, issuance) {
            Ok(body) => Reply::Success(respond::object(body)),
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
        json!({ "token_type": 1, "expires_in": "soon", "ext_expires_in": true, "access_token": 42 })
    }
}

/// Validates in Entra's order: method, tenant, grant, claims, client, scope, credential.
fn issue(
    state: &EmulatorState,
    request: &RecordedRequest,
    issuance: &Issuance,
) -> Result<Value, AadError> {
    if request.method != "POST" {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900561,
            format!(
                "The endpoint only accepts POST, OPTIONS requests. Received a {} request.",
                request.method
            ),
        ));
    }
    let tenant = tenant_of(&request.path);
    if !tenant.eq_ignore_ascii_case(&state.config.tenant_id) {
        return Err(AadError::tenant_not_found(tenant));
    }
    let grant_type = required(request, "grant_type")?;
    if grant_type != "client_credentials" && grant_type != on_behalf_of::GRANT_TYPE {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant_type}'."),
        ));
    }
    let capabilities = claims_request::capabilities(request)?;
    let client_id = required(request, "client_id")?;
    if grant_type == on_behalf_of::GRANT_TYPE {
        let mut body = on_behalf_of::issue(state, request, issuance, &client_id, &capabilities)?;
        add_refresh_in(state, &mut body);
        return Ok(body);
    }
    let audience = audience(&required(request, "scope")?)?;
    let credential = ClientCredential::from_form(request)?;
    credentials::verify(state, &client_id, &credential)?;

    let object_id = object_id(state, &client_id);
    let subject = Subject {
        client_id: &client_id,
        object_id: &object_id,
        resource_id: None,
        authentication: credential.authentication_class(),
        roles: &[],
        capabilities: &capabilities,
    };
    let lifetime = issuance.validity.expires_in(issuance.now);
    let mut body = json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": state.mint(&subject, &audience, issuance.validity),
    });
    add_refresh_in(state, &mut body);
    Ok(body)
}

fn add_refresh_in(state: &EmulatorState, body: &mut Value) {
    if let Some(refresh_in) = state.refresh_in() {
        // Entra sends numbers here, unlike the managed identity endpoints' strings.
        body["refresh_in"] = Value::from(refresh_in);
    }
}

fn required(request: &RecordedRequest, name: &str) -> Result<String, AadError> {
    request
        .non_empty_form_param(name)
        .ok_or_else(|| AadError::missing_parameter(name))
}

/// The token's audience: the one resource the scope names, without `/.default`.
fn audience(scope: &str) -> Result<String, AadError> {
    let resources: Vec<&str> = scope
        .split_whitespace()
        .filter(|s| !OIDC_SCOPES.contains(s))
        .collect();
    if let Some(bad) = resources.iter().find(|s| !s.ends_with("/.default")) {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {bad} is not valid. Client credential flows must have a scope value \
                 with /.default suffixed to the resource identifier (application ID URI)."
            ),
        ));
    }
    match resources.as_slice() {
        [one] => Ok(one.trim_end_matches("/.default").to_owned()),
        [] => Err(AadError::missing_parameter("scope")),
        _ => Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            28000,
            format!(
                "Provided value for the input parameter scope is not valid because it contains more than one \
                 resource. Scope {scope} is not valid."
            ),
        )),
    }
}

/// The service principal's object id: a managed identity's own when the client is one (a user-assigned identity
/// with a federated credential), else one derived from the client id.
fn object_id(state: &EmulatorState, client_id: &str) -> String {
    let config = &state.config;
    std::iter::once(&config.system_assigned)
        .chain(&config.user_assigned)
        .find(|identity| identity.client_id.eq_ignore_ascii_case(client_id))
        .map_or_else(
            || derived_object_id(client_id),
            |identity| identity.object_id.clone(),
        )
}

/// A stable service principal object id for an app: the same client always gets the same `oid`.
fn derived_object_id(client_id: &str) -> String {
    let digest = Sha256::digest(client_id.to_ascii_lowercase().as_bytes());
    let mut bytes = [0; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_is_the_single_default_scope_resource() {
        assert_eq!(
            audience("api://AzureADTokenExchange/.default").unwrap(),
            "api://AzureADTokenExchange"
        );
        assert_eq!(
            audience("openid https://vault.azure.net/.default").unwrap(),
            "https://vault.azure.net"
        );
        assert_eq!(
            audience("https://graph.microsoft.com/User.Read")
                .unwrap_err()
                .code(),
            1002012
        );
        assert_eq!(audience("a/.default b/.default").unwrap_err().code(), 28000);
        assert_eq!(audience("openid").unwrap_err().code(), 900144);
    }

    #[test]
    fn object_ids_are_stable_guids() {
        let id = derived_object_id("ABC");
        assert_eq!(id, derived_object_id("abc"));
        assert_eq!(id.len(), 36);
    }
}
