//! An API protected with Entra ID: every request needs a bearer token for this API
//! (`audience`) from `tenant_id`, carrying the app role `required_role`.
//!
//! * no token → 401 with `WWW-Authenticate: Bearer realm="", authorization_uri=...`
//! * a bad token → 401 with `error="invalid_token"` and what was wrong
//! * a good token without the role → 403 with `error="insufficient_scope"`
//! * otherwise → 200 with the caller's identity as JSON
//!
//! Signature checks, key fetching and caching happen in the `entra:identity`
//! component that spin.toml declares as a dependency.

// Everything here needs the Spin and identity imports; on the host (`cargo test
// --workspace`) the crate compiles to nothing.
#![cfg(target_arch = "wasm32")]

use entra_identity_sdk::http::Challenge;
use entra_identity_sdk::{Claims, Validator, ValidatorOptions};
use spin_sdk::http::{HeaderValue, Request, StatusCode};
use spin_sdk::http_service;

type Answer = spin_sdk::http::Response<String>;

#[http_service]
async fn handle(request: Request) -> anyhow::Result<Answer> {
    let (options, role) = match settings() {
        Ok(settings) => settings,
        Err(why) => {
            eprintln!("spin-protected-api: {why}");
            return Ok(json(
                StatusCode::INTERNAL_SERVER_ERROR,
                serde_json::json!({ "error": "server_error" }),
            ));
        }
    };
    let challenge = Challenge::for_options(&options);
    let validator = match Validator::new(options) {
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
    if let Err(e) = claims.require_role(&role) {
        eprintln!("spin-protected-api: refused: {e}");
        return Ok(validator.challenge().reject(&e));
    }
    Ok(json(StatusCode::OK, identity(&claims)))
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

/// `wasi:config` rather than `spin:variables`: Spin serves both from the app's
/// variables, and it is the one `entra-identity serve` provides too.
fn settings() -> Result<(ValidatorOptions, String), String> {
    let tenant = variable("tenant_id")?.ok_or("the variable tenant_id is not set")?;
    let audiences = variable("audience")?.ok_or("the variable audience is not set")?;
    let audiences: Vec<&str> = audiences.split(',').map(str::trim).collect();
    let mut options = ValidatorOptions::new(tenant, &audiences);
    if let Some(authority) = variable("authority")?.filter(|a| !a.is_empty()) {
        options = options.authority(authority);
    }
    let role = variable("required_role")?.ok_or("the variable required_role is not set")?;
    Ok((options, role))
}

fn variable(name: &str) -> Result<Option<String>, String> {
    spin_sdk::experimental::wasi::config::store::get(name)
        .map_err(|e| format!("reading the variable {name}: {e:?}"))
}

fn json(status: StatusCode, body: serde_json::Value) -> Answer {
    let mut response = spin_sdk::http::Response::new(body.to_string());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}
