//! Azure Key Vault's secrets API, the part an app reads secrets with: `GET /secrets/{name}[/{version}]`.
//!
//! The bearer token is checked as Key Vault checks it: RS256 signed by one of the emulator's Entra keys, issued
//! by the emulator's tenant, `aud` the Key Vault resource (`https://vault.azure.net`, with or without a trailing
//! slash, or Key Vault's application id), and within `nbf`..`exp` by the emulator's clock, with no leeway so
//! that tests can put a token exactly one second past its expiry. Every 401 carries the challenge Key Vault
//! sends, `WWW-Authenticate: Bearer authorization="https://login.windows.net/{tenant}", resource="https://vault.azure.net"`,
//! from which SDKs learn the tenant and scope.
//!
//! A token issued before [`crate::Emulator::revoke_issued_tokens`] is refused as continuous access evaluation
//! refuses it: 401 with the challenge extended by `error="insufficient_claims"` and `claims` = standard base64 of
//! `{"access_token":{"nbf":{"essential":true,"value":"<revocation time>"}}}`, which CAE-capable clients send back to
//! Entra as the `claims` of their next token request.
//!
//! Errors have Key Vault's shape, `{"error": {"code", "message"}}`. The messages for a missing token
//! (`AKV10000`), a wrong audience (`AKV10022`), an expired token (`[TokenExpired]`) and an unknown secret
//! (`SecretNotFound`) are the service's own; the other 401 and 400 messages, the revoked token's included, are the
//! emulator's wording.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use crate::Endpoint;
use crate::assertion::UnverifiedJwt;
use crate::key_vault::SecretVersion;
use crate::recording::RecordedRequest;
use crate::respond;
use crate::routes::v2_issuer;
use crate::service::{Issuance, Reply, Service};
use crate::state::EmulatorState;
use crate::token::v1_issuer;

/// The resource Key Vault tokens are issued for, in the public cloud.
pub(crate) const RESOURCE: &str = "https://vault.azure.net";

/// Key Vault's first-party application id, which it also accepts as `aud` (v2.0 tokens carry it).
const APP_ID: &str = "cfa8b339-82a2-471a-a3c9-0fc0be7a4093";

/// Recorded Key Vault challenges name `login.windows.net`; SDKs take only the tenant (the path) from it.
const AUTHORITY_HOST: &str = "https://login.windows.net";

/// Key Vault tells clients not to cache secret reads.
const NO_CACHE: &[(&str, &str)] = &[("cache-control", "no-cache")];

/// The secrets endpoint, on the plain listener (`HTTPS = false`) or the HTTPS one. The scheme only matters for
/// the `id` a secret is answered with, which names the vault URL the client used.
pub(crate) struct KeyVault<const HTTPS: bool>;

impl<const HTTPS: bool> Service for KeyVault<HTTPS> {
    const ENDPOINT: Endpoint = Endpoint::KeyVault;
    const SUCCESS_HEADERS: &'static [(&'static str, &'static str)] = NO_CACHE;

    /// Authentication comes first, as at the real vault: even a request for a secret that does not exist, or with
    /// the wrong method, gets 401 until it carries a valid token.
    fn answer(state: &EmulatorState, request: &RecordedRequest, issuance: &Issuance) -> Reply {
        match authenticate(state, request, issuance.now) {
            Ok(()) => {}
            Err(Refusal::Invalid(message)) => return Reply::Done(unauthorized(state, &message)),
            Err(Refusal::Revoked { at }) => return Reply::Done(revoked(state, at)),
        }
        if request.method != "GET" {
            return Reply::Done(error(
                StatusCode::METHOD_NOT_ALLOWED,
                "BadParameter",
                &format!(
                    "The requested resource does not support http method '{}'.",
                    request.method
                ),
            ));
        }
        if request.non_empty_query_param("api-version").is_none() {
            return Reply::Done(error(
                StatusCode::BAD_REQUEST,
                "BadParameter",
                "The api-version query parameter is required.",
            ));
        }
        let Some((name, version)) = secret_path(&request.path) else {
            return Reply::Done(error(
                StatusCode::BAD_REQUEST,
                "BadParameter",
                "The secret name or version in the request URI is not valid.",
            ));
        };
        match state.key_vault.get(name, version) {
            Some(secret) => Reply::Success(respond::object(bundle(
                &vault_url::<HTTPS>(state, request),
                &secret,
            ))),
            None => Reply::Done(secret_not_found(name, version)),
        }
    }

    fn status_reply(
        state: &EmulatorState,
        _request: &RecordedRequest,
        status: StatusCode,
    ) -> Response {
        let (code, message) = match status.as_u16() {
            401 => {
                return unauthorized(state, "AKV10000: Request is missing a Bearer or PoP token.");
            }
            403 => (
                "Forbidden",
                "The user, group or application does not have secrets get permission on this key vault.",
            ),
            404 => ("NotFound", "The requested resource was not found."),
            429 => (
                "Throttled",
                "Request was not processed because too many requests were received.",
            ),
            503 => ("ServiceUnavailable", "The service is unavailable."),
            _ => (
                "InternalServerError",
                status.canonical_reason().unwrap_or("Error"),
            ),
        };
        error(status, code, message)
    }

    fn wrong_types() -> Value {
        json!({ "value": 42, "id": true, "attributes": "enabled" })
    }
}

/// Why Key Vault refuses a request's token.
enum Refusal {
    /// Not a token Key Vault would accept: the reason, for the 401 body, never quoting the token.
    Invalid(String),
    /// A valid token issued before a revocation, at `at` (Unix seconds).
    Revoked { at: u64 },
}

impl From<&str> for Refusal {
    fn from(reason: &str) -> Self {
        Self::Invalid(reason.to_owned())
    }
}

impl From<String> for Refusal {
    fn from(reason: String) -> Self {
        Self::Invalid(reason)
    }
}

/// `Ok` when the request carries a token Key Vault would accept; otherwise why not.
fn authenticate(state: &EmulatorState, request: &RecordedRequest, now: u64) -> Result<(), Refusal> {
    const MISSING: &str = "AKV10000: Request is missing a Bearer or PoP token.";
    let token = request
        .header("authorization")
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
        .ok_or(MISSING)?;
    let jwt = UnverifiedJwt::parse(token)
        .map_err(|_| "Error validating token: the token is not a JWT.")?;
    let key = jwt
        .header
        .kid
        .as_deref()
        .and_then(|kid| state.entra_decoding_key(kid));
    if !key.is_some_and(|key| jwt.signed_by(&key, &[Algorithm::RS256])) {
        return Err("Error validating token: the signature is invalid.".into());
    }
    let tenant = &state.config.tenant_id;
    let issuers = [v1_issuer(tenant), v2_issuer(tenant)];
    let issuer = jwt.string_claim("iss").unwrap_or_default();
    if !issuers.iter().any(|known| known == issuer) {
        return Err(Refusal::Invalid(format!(
            "AKV10032: Invalid issuer. Expected one of {}, found: {issuer}.",
            issuers.join(", ")
        )));
    }
    let audiences = jwt.audiences();
    if !audiences.iter().any(|aud| is_key_vault_audience(aud)) {
        return Err(Refusal::Invalid(format!(
            "AKV10022: Invalid audience. Expected {RESOURCE}, found: {}.",
            audiences.join(", ")
        )));
    }
    match jwt.time_claim("exp") {
        Some(exp) if exp > now => {}
        Some(_) => return Err("[TokenExpired] Error validating token: 'S2S12086'.".into()),
        None => return Err("Error validating token: the token has no expiry.".into()),
    }
    if jwt.time_claim("nbf").is_some_and(|nbf| nbf > now) {
        return Err("Error validating token: the token is not valid yet.".into());
    }
    if let Some(at) = jwt.string_claim("uti").and_then(|uti| state.revoked(uti)) {
        return Err(Refusal::Revoked { at });
    }
    Ok(())
}

fn is_key_vault_audience(aud: &str) -> bool {
    aud.strip_suffix('/').unwrap_or(aud) == RESOURCE || aud == APP_ID
}

/// `/secrets/{name}`, `/secrets/{name}/` (SDKs send an empty version for "the newest") or
/// `/secrets/{name}/{version}`.
fn secret_path(path: &str) -> Option<(&str, Option<&str>)> {
    let rest = path.strip_prefix("/secrets/")?;
    let (name, version) = match rest.split_once('/') {
        None => (rest, None),
        Some((name, "")) => (name, None),
        Some((name, version)) => (name, Some(version)),
    };
    let valid_version =
        version.is_none_or(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric()));
    (crate::key_vault::is_valid_name(name) && valid_version).then_some((name, version))
}

/// `https://{host}` (or `http://` on the plain listener): the vault URL as the client addressed it.
fn vault_url<const HTTPS: bool>(state: &EmulatorState, request: &RecordedRequest) -> String {
    let scheme = if HTTPS { "https" } else { "http" };
    match request.header("host") {
        Some(host) => format!("{scheme}://{host}"),
        None => state.base_url.clone(),
    }
}

/// A secret bundle as `GET /secrets/{name}` answers it.
fn bundle(vault_url: &str, secret: &SecretVersion) -> Value {
    json!({
        "value": secret.value,
        "id": format!("{vault_url}/secrets/{}/{}", secret.name, secret.version),
        "attributes": {
            "enabled": true,
            "created": secret.created,
            "updated": secret.created,
            "recoveryLevel": "Recoverable+Purgeable",
            "recoverableDays": 90,
        },
        "tags": {},
    })
}

fn secret_not_found(name: &str, version: Option<&str>) -> Response {
    let id = match version {
        Some(version) => format!("{name}/{version}"),
        None => name.to_owned(),
    };
    error(
        StatusCode::NOT_FOUND,
        "SecretNotFound",
        &format!(
            "A secret with (name/id) {id} was not found in this key vault. If you recently deleted this secret \
             you may be able to recover it using the correct recovery command. For help resolving this issue, \
             please see https://go.microsoft.com/fwlink/?linkid=2125182"
        ),
    )
}

/// 401 with the challenge, which Key Vault puts on every 401 so that a client can find out where to get a token.
fn unauthorized(state: &EmulatorState, message: &str) -> Response {
    challenged(state, message, "")
}

/// 401 with continuous access evaluation's claims challenge: a token issued after `revoked_at` will do.
fn revoked(state: &EmulatorState, revoked_at: u64) -> Response {
    let claims = json!({
        "access_token": { "nbf": { "essential": true, "value": revoked_at.to_string() } }
    });
    challenged(
        state,
        "The access token was revoked by continuous access evaluation: it was issued before the latest revocation.          Get a new token satisfying the claims challenge in the WWW-Authenticate header.",
        &format!(
            r#", error="insufficient_claims", claims="{}""#,
            STANDARD.encode(claims.to_string())
        ),
    )
}

/// 401 with the challenge, its parameters followed by `extra`.
fn challenged(state: &EmulatorState, message: &str, extra: &str) -> Response {
    let mut response = error(StatusCode::UNAUTHORIZED, "Unauthorized", message);
    let challenge = format!(
        r#"Bearer authorization="{AUTHORITY_HOST}/{}", resource="{RESOURCE}"{extra}"#,
        state.config.tenant_id
    );
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    respond::json(
        status,
        &json!({ "error": { "code": code, "message": message } }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_a_secret_and_maybe_a_version() {
        assert_eq!(secret_path("/secrets/db"), Some(("db", None)));
        assert_eq!(secret_path("/secrets/db/"), Some(("db", None)));
        assert_eq!(secret_path("/secrets/db/0a1B"), Some(("db", Some("0a1B"))));
        for bad in ["/secrets/", "/secrets/a_b", "/secrets/db/v/x", "/keys/db"] {
            assert_eq!(secret_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn audience_with_or_without_slash_or_as_app_id() {
        for good in [
            "https://vault.azure.net",
            "https://vault.azure.net/",
            APP_ID,
        ] {
            assert!(is_key_vault_audience(good), "{good}");
        }
        for bad in [
            "https://vault.azure.net//",
            "https://management.azure.com/",
            "https://myvault.vault.azure.net",
        ] {
            assert!(!is_key_vault_audience(bad), "{bad}");
        }
    }
}
