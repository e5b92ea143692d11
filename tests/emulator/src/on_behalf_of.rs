//! The on-behalf-of grant at the v2.0 token endpoint: a middle-tier API exchanges the user token it received
//! (`assertion`) for a token to a downstream resource, authenticating as itself the usual ways.
//!
//! Error codes (status 400, `error`, AADSTS code):
//!
//! * `invalid_request` 900144: `requested_token_use`, `assertion` or `scope` missing.
//! * `invalid_request` 50027: the assertion is not a JWT.
//! * `invalid_grant` 50013: not signed by one of the emulator's Entra keys ("Assertion failed signature
//!   validation", Entra's wording); also, in the emulator's own words, an assertion from another tenant and an
//!   app-only token (no `oid`, no `scp`, or `idtyp` = `app`), for which Entra's exact answer is not established.
//! * `invalid_grant` 500133: the assertion has expired (Entra's wording).
//! * `invalid_grant` 500131: its `aud` is neither the caller's client id nor one of its identifier URIs.
//! * `interaction_required` 50079: [`crate::Emulator::require_mfa_for`] covers the scope and the user's `amr` lacks
//!   `mfa`; the body carries a Conditional Access `claims` challenge as a JSON string.

use axum::http::StatusCode;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use crate::aadsts::{AadError, iso_timestamp};
use crate::apps::AppRegistration;
use crate::assertion::UnverifiedJwt;
use crate::credentials::{self, ClientCredential};
use crate::recording::RecordedRequest;
use crate::routes::{OIDC_SCOPES, v2_issuer};
use crate::service::Issuance;
use crate::state::EmulatorState;
use crate::token::v1_issuer;
use crate::user_token::UserClaims;

/// The grant type on-behalf-of shares with other assertion grants; `requested_token_use` tells them apart.
pub(crate) const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The Conditional Access policy [`crate::Emulator::require_mfa_for`] stands for, named in its claims challenge.
const MFA_POLICY_ID: &str = "7e57e000-0000-4000-8000-0000000ca001";

/// A scope without a resource (`User.Read`) is Microsoft Graph's, as at Entra.
const GRAPH: &str = "https://graph.microsoft.com";

/// Validates in Entra's order: parameters, client, assertion, Conditional Access; then issues a delegated token.
pub(crate) fn issue(
    state: &EmulatorState,
    request: &RecordedRequest,
    issuance: &Issuance,
    client_id: &str,
    capabilities: &[String],
) -> Result<Value, AadError> {
    let token_use = required(request, "requested_token_use")?;
    if token_use != "on_behalf_of" {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            9002313,
            "Invalid request. Request is malformed or invalid.",
        ));
    }
    let assertion = required(request, "assertion")?;
    let scope = required(request, "scope")?;
    let requested = Requested::parse(&scope)?;
    let credential = ClientCredential::from_form(request)?;
    let app = credentials::verify(state, client_id, &credential)?;
    let user = verify_assertion(state, &app.registration, &assertion)?;
    if let Some(resource) = state.mfa_required_for(&scope)
        && !user.amr.iter().any(|method| method == "mfa")
    {
        return Err(mfa_required(&resource));
    }

    let uti = state.new_token_id();
    let claims = UserClaims {
        aud: &requested.resource,
        iss: v2_issuer(&state.config.tenant_id),
        iat: issuance.validity.issued_at,
        nbf: issuance.validity.issued_at,
        exp: issuance.validity.expires_on,
        amr: &user.amr,
        azp: &app.registration.client_id,
        azpacr: credential.authentication_class(),
        oid: &user.oid,
        scp: requested.permissions.join(" "),
        sub: &user.sub,
        tid: &state.config.tenant_id,
        uti: &uti,
        ver: "2.0",
        xms_cc: capabilities,
    };
    let lifetime = issuance.validity.expires_in(issuance.now);
    let granted: Vec<String> = requested
        .permissions
        .iter()
        .map(|permission| format!("{}/{permission}", requested.resource))
        .collect();
    Ok(json!({
        "token_type": "Bearer",
        "scope": granted.join(" "),
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": state.sign_user_claims(&claims),
    }))
}

fn required(request: &RecordedRequest, name: &str) -> Result<String, AadError> {
    request
        .non_empty_form_param(name)
        .ok_or_else(|| AadError::missing_parameter(name))
}

/// The one resource the scopes name, and the delegated permissions asked of it (`/.default` counting as
/// `user_impersonation`, the permission Azure resources expose).
#[derive(Debug, PartialEq, Eq)]
struct Requested {
    resource: String,
    permissions: Vec<String>,
}

impl Requested {
    fn parse(scope: &str) -> Result<Self, AadError> {
        let mut resource: Option<&str> = None;
        let mut permissions: Vec<String> = Vec::new();
        for one in scope
            .split_whitespace()
            .filter(|s| !OIDC_SCOPES.contains(s))
        {
            let (named, permission) = match one.rsplit_once('/') {
                Some((named, permission)) if !named.is_empty() && !permission.is_empty() => {
                    (named, permission)
                }
                _ => (GRAPH, one),
            };
            match resource {
                Some(known) if !known.eq_ignore_ascii_case(named) => {
                    return Err(AadError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_scope",
                        28000,
                        format!(
                            "Provided value for the input parameter scope is not valid because it contains more \
                             than one resource. Scope {scope} is not valid."
                        ),
                    ));
                }
                _ => resource = Some(named),
            }
            let permission = if permission == ".default" {
                "user_impersonation"
            } else {
                permission
            };
            if !permissions.iter().any(|p| p == permission) {
                permissions.push(permission.to_owned());
            }
        }
        let resource = resource.ok_or_else(|| AadError::missing_parameter("scope"))?;
        Ok(Self {
            resource: resource.to_owned(),
            permissions,
        })
    }
}

/// What a valid assertion says about the signed-in user.
struct User {
    oid: String,
    sub: String,
    amr: Vec<String>,
}

/// Accepts only a user token the emulator's tenant signed, unexpired, issued for the calling app.
fn verify_assertion(
    state: &EmulatorState,
    app: &AppRegistration,
    assertion: &str,
) -> Result<User, AadError> {
    let jwt = UnverifiedJwt::parse(assertion)?;
    let Some(key) = jwt
        .header
        .kid
        .as_deref()
        .and_then(|kid| state.entra_decoding_key(kid))
    else {
        return Err(signature_failed("The key was not found."));
    };
    if !jwt.signed_by(&key, &[Algorithm::RS256]) {
        return Err(signature_failed(
            "The provided signature value did not match the expected signature value.",
        ));
    }
    let tenant = &state.config.tenant_id;
    let tid = jwt.string_claim("tid").unwrap_or_default();
    let issuer = jwt.string_claim("iss").unwrap_or_default();
    if !tid.eq_ignore_ascii_case(tenant)
        || (issuer != v1_issuer(tenant) && issuer != v2_issuer(tenant))
    {
        return Err(invalid_grant(
            50013,
            format!(
                "Assertion failed signature validation. [Reason - The assertion was issued by '{issuer}' for tenant \
                 '{tid}', not by tenant '{tenant}'.]"
            ),
        ));
    }
    let now = state.now();
    let Some(expiry) = jwt.time_claim("exp") else {
        return Err(crate::assertion::malformed(
            "The 'exp' claim is missing from the assertion.",
        ));
    };
    if now >= expiry || jwt.time_claim("nbf").is_some_and(|nbf| nbf > now) {
        return Err(invalid_grant(
            500133,
            format!(
                "Assertion is not within its valid time range. Ensure that the access token is not expired before \
                 using it for user assertion, or request a new token. Current time: {}, expiry time of assertion {}.",
                iso_timestamp(now),
                iso_timestamp(expiry)
            ),
        ));
    }
    let audiences = jwt.audiences();
    if !audiences.iter().any(|aud| app.is_audience(aud)) {
        return Err(invalid_grant(
            500131,
            format!(
                "Assertion audience does not match the Client app presenting the assertion. The audience in the \
                 assertion was '{}' and the expected audience is '{}' or one of the Application Uris of this \
                 application.",
                audiences.join(","),
                app.client_id
            ),
        ));
    }
    let oid = jwt.string_claim("oid").filter(|oid| !oid.is_empty());
    let app_only = jwt.string_claim("idtyp") == Some("app") || jwt.string_claim("scp").is_none();
    let (Some(oid), false) = (oid, app_only) else {
        return Err(invalid_grant(
            50013,
            "Assertion is not a user token: an on-behalf-of assertion needs a signed-in user ('oid' and 'scp'), \
             and this one is app-only.",
        ));
    };
    let amr = match jwt.claim("amr") {
        Some(Value::Array(methods)) => methods
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    Ok(User {
        oid: oid.to_owned(),
        sub: jwt.string_claim("sub").unwrap_or(oid).to_owned(),
        amr,
    })
}

fn invalid_grant(code: u32, message: impl Into<String>) -> AadError {
    AadError::new(StatusCode::BAD_REQUEST, "invalid_grant", code, message)
}

/// AADSTS50013 with Entra's bracketed reason.
fn signature_failed(reason: &str) -> AadError {
    invalid_grant(
        50013,
        format!("Assertion failed signature validation. [Reason - {reason}]"),
    )
}

/// AADSTS50079 as Conditional Access answers it, with the claims challenge the client app must take back to the
/// user: a JSON string, not base64. Entra's documentation example names the policies `polids`; responses seen
/// from the service name them `capolids`, which is what this sends.
fn mfa_required(resource: &str) -> AadError {
    let claims = json!({
        "access_token": { "capolids": { "essential": true, "values": [MFA_POLICY_ID] } }
    });
    AadError::new(
        StatusCode::BAD_REQUEST,
        "interaction_required",
        50079,
        format!(
            "Due to a configuration change made by your administrator, or because you moved to a new location, you \
             must enroll in multi-factor authentication to access '{resource}'."
        ),
    )
    .with_claims(claims.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(scope: &str) -> (String, Vec<String>) {
        let requested = Requested::parse(scope).unwrap();
        (requested.resource, requested.permissions)
    }

    #[test]
    fn scopes_name_one_resource_and_its_permissions() {
        assert_eq!(
            parsed("https://vault.azure.net/user_impersonation offline_access"),
            (
                "https://vault.azure.net".into(),
                vec!["user_impersonation".into()]
            )
        );
        assert_eq!(
            parsed("https://vault.azure.net/.default"),
            (
                "https://vault.azure.net".into(),
                vec!["user_impersonation".into()]
            )
        );
        assert_eq!(
            parsed("api://downstream/Read api://downstream/Write"),
            (
                "api://downstream".into(),
                vec!["Read".into(), "Write".into()]
            )
        );
        assert_eq!(
            parsed("User.Read"),
            (GRAPH.into(), vec!["User.Read".into()])
        );
        assert_eq!(Requested::parse("a/x b/y").unwrap_err().code(), 28000);
        assert_eq!(Requested::parse("openid").unwrap_err().code(), 900144);
    }
}
