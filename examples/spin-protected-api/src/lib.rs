//! An API protected with Entra ID: every request needs a bearer token for this API
//! (`audience`) from `tenant_id`.
//!
//! `GET /` (any path but `/secrets/...`), for apps calling as themselves: the token
//! must carry the app role `required_role`.
//!
//! * no token → 401 with `WWW-Authenticate: Bearer realm="", authorization_uri=...`
//! * a bad token → 401 with `error="invalid_token"` and what was wrong
//! * a good token without the role → 403 with `error="insufficient_scope"`
//! * otherwise → 200 with the caller's identity as JSON
//!
//! `GET /secrets/{name}`, for a signed-in user's client: the token must carry the
//! delegated scope `required_scope` (`scp`). The API then reads the secret from the Key
//! Vault at `vault_url` *as that user* (on-behalf-of: the caller's token exchanged for a
//! Key Vault token, the API proving itself with `client_id` and `client_secret`), so the
//! vault's access policy for the user applies, not the API's own rights.
//!
//! * Entra needs the user to act (MFA, a Conditional Access policy) → 401 with
//!   `error="insufficient_claims", claims="<base64>"`, which the client's MSAL turns
//!   into an interactive sign-in asking for those claims; without claims (consent
//!   missing) → 401 `error="interaction_required"`
//! * any other token failure → 502, the reason only in the API's log
//! * Key Vault's own claims challenge (CAE revocation) → one new token, one retry
//!
//! Signature checks, key fetching, the token exchange and caching happen in the
//! `entra:identity` component that spin.toml declares as a dependency.

// Everything here needs the Spin and identity imports; on the host (`cargo test
// --workspace`) the crate compiles to nothing.
#![cfg(target_arch = "wasm32")]

use entra_identity_sdk::http::{Challenge, SendError, bearer_token, send_with_token, set_bearer};
use entra_identity_sdk::{
    AccessToken, AppOptions, Claims, ClientAuthentication, Credential, Validator, ValidatorOptions,
};
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{EmptyBody, HeaderValue, Request, Response, StatusCode, send};
use spin_sdk::http_service;

const KEY_VAULT_SCOPE: &str = "https://vault.azure.net/.default";
const KEY_VAULT_API_VERSION: &str = "7.4";

type Answer = spin_sdk::http::Response<String>;

struct Settings {
    options: ValidatorOptions,
    role: String,
    scope: String,
}

#[http_service]
async fn handle(request: Request) -> anyhow::Result<Answer> {
    let settings = match settings() {
        Ok(settings) => settings,
        Err(why) => return Ok(server_error(&why)),
    };
    let challenge = Challenge::for_options(&settings.options);
    let authority = settings.options.authority_host().to_string();
    let validator = match Validator::new(settings.options) {
        Ok(validator) => validator,
        Err(e) => {
            eprintln!("spin-protected-api: {e}");
            return Ok(challenge.reject(&e));
        }
    };

    let claims = match validator.validate_request(&request) {
        Ok(claims) => claims,
        Err(rejection) => {
            // The rejection never contains the token; operators need the reason.
            eprintln!("spin-protected-api: refused: {rejection}");
            return Ok(validator.challenge().respond(&rejection));
        }
    };

    if let Some(rest) = request.uri().path().strip_prefix("/secrets/") {
        // A delegated call: the user's client asked for the API's scope.
        if let Err(e) = claims.require_scope(&settings.scope) {
            eprintln!("spin-protected-api: refused: {e}");
            return Ok(validator.challenge().reject(&e));
        }
        let Some(name) = secret_name(rest) else {
            return Ok(json(
                StatusCode::BAD_REQUEST,
                serde_json::json!({ "error": "invalid_request", "error_description": "a secret name is letters, digits and '-'" }),
            ));
        };
        // Validated above, so it is there.
        let bearer = bearer_token(request.headers()).unwrap_or_default();
        return read_as_caller(validator.challenge(), &authority, &claims, bearer, name).await;
    }

    if let Err(e) = claims.require_role(&settings.role) {
        eprintln!("spin-protected-api: refused: {e}");
        return Ok(validator.challenge().reject(&e));
    }
    Ok(json(StatusCode::OK, identity(&claims)))
}

/// `GET {vault_url}/secrets/{name}` with a Key Vault token for the caller (OBO).
async fn read_as_caller(
    challenge: &Challenge,
    authority: &str,
    claims: &Claims,
    bearer: &str,
    name: &str,
) -> anyhow::Result<Answer> {
    let obo = match obo_settings() {
        Ok(obo) => obo,
        Err(why) => return Ok(server_error(&why)),
    };
    // The exchange happens in the caller's tenant (the same as `tenant_id` unless the
    // API is multi-tenant). `cp1`: this API answers Key Vault's claims challenges.
    let app = AppOptions::new(&claims.tid, obo.client_id)
        .authority_host(authority)
        .client_capabilities(&["cp1"]);
    let credential = match Credential::on_behalf_of(
        app,
        ClientAuthentication::Secret(obo.client_secret),
        bearer,
    ) {
        Ok(credential) => credential,
        Err(e) => return Ok(token_failure(challenge, &e)),
    };

    let url = format!(
        "{}/secrets/{name}?api-version={KEY_VAULT_API_VERSION}",
        obo.vault_url
    );
    let sent = send_with_token(
        &credential,
        &[KEY_VAULT_SCOPE],
        async |token: &AccessToken| -> anyhow::Result<Response> {
            let mut outgoing = spin_sdk::http::Request::get(&url).body(EmptyBody::new())?;
            set_bearer(&mut outgoing, token)?;
            Ok(send(outgoing).await?)
        },
    )
    .await;
    let response = match sent {
        Ok(response) => response,
        Err(SendError::Token(e)) => return Ok(token_failure(challenge, &e)),
        Err(SendError::Send(e)) => {
            eprintln!("spin-protected-api: Key Vault unreachable: {e}");
            return Ok(bad_gateway());
        }
    };
    let status = response.status();
    let body = response.into_body().bytes().await?;
    match status.as_u16() {
        200 => {
            let secret: serde_json::Value = serde_json::from_slice(&body)?;
            // A demo returns the value; a real API would use it, not echo it.
            Ok(json(
                StatusCode::OK,
                serde_json::json!({ "name": name, "value": secret["value"] }),
            ))
        }
        404 => Ok(json(
            StatusCode::NOT_FOUND,
            serde_json::json!({ "error": "not_found" }),
        )),
        // The vault refused the user: their rights, not the API's.
        401 | 403 => Ok(json(
            StatusCode::FORBIDDEN,
            serde_json::json!({ "error": "forbidden", "error_description": "the vault does not let this user read the secret" }),
        )),
        _ => {
            eprintln!("spin-protected-api: Key Vault answered {status}");
            Ok(bad_gateway())
        }
    }
}

/// The user must act → the SDK's 401 challenge for the client; anything else → 502,
/// the reason (free of secrets) in the log only.
fn token_failure(challenge: &Challenge, error: &entra_identity_sdk::Error) -> Answer {
    eprintln!("spin-protected-api: no on-behalf-of token: {error}");
    challenge
        .interaction_required(error)
        .unwrap_or_else(bad_gateway)
}

/// The caller as the API sees it: who (`oid`), through which app, with which rights.
fn identity(claims: &Claims) -> serde_json::Value {
    serde_json::json!({
        "oid": claims.oid,
        "appid": claims.app_id,
        "tid": claims.tid,
        "roles": claims.roles,
        "scopes": claims.scopes,
        "version": claims.version,
    })
}

/// A valid Key Vault secret name, so nothing else of the vault's URL space can be
/// reached through it.
fn secret_name(name: &str) -> Option<&str> {
    let valid = (1..=127).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    valid.then_some(name)
}

/// `wasi:config` rather than `spin:variables`: Spin serves both from the app's
/// variables, and it is the one `entra-identity serve` provides too.
fn settings() -> Result<Settings, String> {
    let tenant = variable("tenant_id")?.ok_or("the variable tenant_id is not set")?;
    let audiences = variable("audience")?.ok_or("the variable audience is not set")?;
    let audiences: Vec<&str> = audiences.split(',').map(str::trim).collect();
    let mut options = ValidatorOptions::new(tenant, &audiences);
    if let Some(authority) = variable("authority")?.filter(|a| !a.is_empty()) {
        options = options.authority(authority);
    }
    let role = variable("required_role")?.ok_or("the variable required_role is not set")?;
    let scope = variable("required_scope")?
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "access_as_user".to_string());
    Ok(Settings {
        options,
        role,
        scope,
    })
}

struct OboSettings {
    client_id: String,
    client_secret: String,
    vault_url: String,
}

/// The API's own app registration and the vault, for `/secrets/...` only.
fn obo_settings() -> Result<OboSettings, String> {
    let set = |name: &str| -> Result<String, String> {
        variable(name)?
            .filter(|v| !v.is_empty())
            .ok_or(format!("the variable {name} is not set"))
    };
    Ok(OboSettings {
        client_id: set("client_id")?,
        client_secret: set("client_secret")?,
        vault_url: set("vault_url")?.trim_end_matches('/').to_string(),
    })
}

fn variable(name: &str) -> Result<Option<String>, String> {
    spin_sdk::experimental::wasi::config::store::get(name)
        .map_err(|e| format!("reading the variable {name}: {e:?}"))
}

fn server_error(why: &str) -> Answer {
    eprintln!("spin-protected-api: {why}");
    json(
        StatusCode::INTERNAL_SERVER_ERROR,
        serde_json::json!({ "error": "server_error" }),
    )
}

fn bad_gateway() -> Answer {
    json(
        StatusCode::BAD_GATEWAY,
        serde_json::json!({ "error": "bad_gateway", "error_description": "the API could not reach a downstream service" }),
    )
}

fn json(status: StatusCode, body: serde_json::Value) -> Answer {
    let mut response = spin_sdk::http::Response::new(body.to_string());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}
