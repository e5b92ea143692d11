//! A plugin: `plugin <url> [scope]` gets a token for `scope` from its host through
//! `entra:identity/tokens`, calls `url` with it over `wasi:http`, and prints the
//! status and the start of the answer. It exits successfully for a 2xx answer only.
//!
//! The plugin holds no credential and chooses no identity: its host does, and its
//! host's policy decides which scopes it may ask for and which hosts it may call.

#[cfg(target_arch = "wasm32")]
mod outbound;

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

    let token = match entra_identity_sdk::tokens::get_token(&[&scope]) {
        Ok(token) => token,
        Err(e) => {
            eprintln!("plugin: no token for {scope}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let authorization = match entra_identity_sdk::http::bearer_header(&token) {
        Ok(value) => value,
        Err(e) => {
            eprintln!("plugin: {e}");
            return ExitCode::FAILURE;
        }
    };
    match outbound::get(&url, &authorization) {
        Ok((status, body)) => {
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

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "this plugin runs inside a host: cargo build -p wasmtime-plugin-guest --target wasm32-wasip2 --release"
    );
    std::process::exit(2);
}
