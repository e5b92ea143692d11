//! A plugin: `plugin <url> [scope]` gets a token for `scope` from its host through
//! `entra:identity/tokens`, calls `url` with it over `wasi:http`, and prints the
//! status and the start of the answer. It exits successfully for a 2xx answer only.
//! A 401 with a claims challenge (the resource revoked the token) is answered once:
//! a new token that satisfies the claims, and the call again.
//!
//! The plugin holds no credential and chooses no identity: its host does, and its
//! host's policy decides which scopes it may ask for and which hosts it may call.

/// What the answer's first bytes are shown up to: enough to see what came back.
#[cfg(target_arch = "wasm32")]
const SHOWN_BYTES: usize = 512;

#[cfg(target_arch = "wasm32")]
fn main() -> std::process::ExitCode {
    use std::process::ExitCode;

    let mut args = std::env::args().skip(1);
    let (Some(url), scope) = (
        args.next().or_else(|| std::env::var("PLUGIN_URL").ok()),
        args.next()
            .or_else(|| std::env::var("PLUGIN_SCOPE").ok())
            .unwrap_or_else(|| "https://vault.azure.net/.default".into()),
    ) else {
        eprintln!("usage: plugin <url> [scope]   (or PLUGIN_URL, PLUGIN_SCOPE)");
        return ExitCode::FAILURE;
    };

    let mut answer = call(&url, entra_identity_sdk::tokens::get_token(&[&scope]));
    if let Ok(refused) = &answer
        && let Some(claims) = entra_identity_sdk::http::claims_to_retry(refused)
    {
        eprintln!("plugin: {url} asked for new claims; one new token, one retry");
        let token = entra_identity_sdk::tokens::get_token_with_claims(&[&scope], &claims);
        answer = call(&url, token);
    }
    match answer {
        Ok(response) => {
            let status = response.status().as_u16();
            let body = response.into_body();
            let shown = &body[..body.len().min(SHOWN_BYTES)];
            println!("{status} {}", String::from_utf8_lossy(shown));
            if (200..300).contains(&status) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("plugin: GET {url}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// GETs `url` with `token`, or says why there is no token.
#[cfg(target_arch = "wasm32")]
fn call(
    url: &str,
    token: Result<entra_identity_sdk::AccessToken, entra_identity_sdk::Error>,
) -> Result<http::Response<Vec<u8>>, String> {
    let token = token.map_err(|e| format!("no token: {e}"))?;
    let authorization =
        entra_identity_sdk::http::bearer_header(&token).map_err(|e| e.to_string())?;
    wasmtime_plugin_guest::outbound::get(url, Some(&authorization))
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "this plugin runs inside a host: cargo build -p wasmtime-plugin-guest --target wasm32-wasip2 --release"
    );
    std::process::exit(2);
}
