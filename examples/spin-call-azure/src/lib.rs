//! `GET /secrets/{name}`: reads the secret `name` from the Key Vault at the `vault_url`
//! variable, with a token the app gets from its own Entra identity.
//!
//! The token comes from the `entra:identity` component that spin.toml declares as a
//! dependency; this app holds no credential and calls no token endpoint itself.
//!
//! The credential declares the client capability `cp1`: this app answers claims
//! challenges, so Entra may issue it long-lived CAE tokens that Key Vault revokes at
//! once (a disabled identity, a changed policy) with a 401 carrying a claims challenge.
//! `send_with_token` answers that with one new token and one retried call; the new
//! token replaces the revoked one in the identity component's cache.

// Everything here needs the Spin and identity imports; on the host (`cargo test
// --workspace`) the crate compiles to nothing.
#![cfg(target_arch = "wasm32")]

use entra_identity_sdk::http::{SendError, send_with_token, set_bearer};
use entra_identity_sdk::{AccessToken, Credential, ManagedIdentityOptions};
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{EmptyBody, Request, Response, StatusCode, send};
use spin_sdk::http_service;

const KEY_VAULT_SCOPE: &str = "https://vault.azure.net/.default";
const KEY_VAULT_API_VERSION: &str = "7.4";

type Answer = spin_sdk::http::Response<String>;

#[http_service]
async fn handle(request: Request) -> anyhow::Result<Answer> {
    let Some(name) = secret_name(request.uri().path()) else {
        return Ok(text(
            StatusCode::BAD_REQUEST,
            "usage: GET /secrets/{name}, name of letters, digits and '-'",
        ));
    };
    let vault = match vault_url() {
        Ok(vault) => vault,
        Err(why) => return Ok(text(StatusCode::INTERNAL_SERVER_ERROR, &why)),
    };

    // The production chain (environment, workload identity, managed identity), declaring
    // `cp1`. Sources that cannot pass capabilities on (IMDS) ignore them.
    let credential = match Credential::default_chain(
        ManagedIdentityOptions::default().client_capabilities(&["cp1"]),
    ) {
        Ok(credential) => credential,
        Err(e) => {
            return Ok(text(
                StatusCode::BAD_GATEWAY,
                &format!("no credential: {e}"),
            ));
        }
    };

    let url = format!("{vault}/secrets/{name}?api-version={KEY_VAULT_API_VERSION}");
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
        // The identity component's messages say what was tried and carry no secrets.
        Err(SendError::Token(e)) => {
            return Ok(text(StatusCode::BAD_GATEWAY, &format!("no token: {e}")));
        }
        Err(SendError::Send(e)) => return Err(e),
    };
    let status = response.status();
    let body = response.into_body().bytes().await?;
    if !status.is_success() {
        let detail = String::from_utf8_lossy(&body);
        return Ok(text(
            StatusCode::BAD_GATEWAY,
            &format!("Key Vault answered {status}: {detail}"),
        ));
    }
    let secret: serde_json::Value = serde_json::from_slice(&body)?;
    match secret["value"].as_str() {
        // A demo returns the value; a real app would use it, not echo it.
        Some(value) => Ok(text(StatusCode::OK, value)),
        None => Ok(text(
            StatusCode::BAD_GATEWAY,
            "Key Vault's answer has no value",
        )),
    }
}

/// The name after `/secrets/`, if it is a valid Key Vault secret name, so nothing
/// else of the vault's URL space can be reached through it.
fn secret_name(path: &str) -> Option<&str> {
    let name = path.rsplit_once("/secrets/")?.1;
    let valid = (1..=127).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    valid.then_some(name)
}

/// `wasi:config` rather than `spin:variables`: Spin serves both from the app's
/// variables, and it is the one `entra-identity serve` provides too.
fn vault_url() -> Result<String, String> {
    use spin_sdk::experimental::wasi::config::store;
    match store::get("vault_url") {
        Ok(Some(url)) => Ok(url.trim_end_matches('/').to_string()),
        Ok(None) => Err("the variable vault_url is not set".into()),
        Err(e) => Err(format!("reading the variable vault_url: {e:?}")),
    }
}

fn text(status: StatusCode, body: &str) -> Answer {
    let mut response = spin_sdk::http::Response::new(body.to_string());
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        spin_sdk::http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
