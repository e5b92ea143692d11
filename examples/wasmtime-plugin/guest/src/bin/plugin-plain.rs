//! A plugin with no identity code: `plugin-plain <url>` GETs `url` over `wasi:http`
//! with no `Authorization` header and prints the status and the start of the answer;
//! it exits successfully for a 2xx answer only. It imports nothing from
//! `entra:identity`: a host whose policy says `attach_tokens = true` adds the token
//! after the request has left the plugin.

#[cfg(target_arch = "wasm32")]
fn main() -> std::process::ExitCode {
    use std::process::ExitCode;

    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: plugin-plain <url>");
        return ExitCode::FAILURE;
    };
    match wasmtime_plugin_guest::outbound::get(&url, None) {
        Ok(response) => {
            let status = response.status().as_u16();
            let body = response.into_body();
            println!(
                "{status} {}",
                String::from_utf8_lossy(&body[..body.len().min(512)])
            );
            if (200..300).contains(&status) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("plugin-plain: GET {url}: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "this plugin runs inside a host: cargo build -p wasmtime-plugin-guest --target wasm32-wasip2 --release"
    );
}
