//! Any request: answers `{"method","path","headers":[[name,value],…],"body",
//! "environment":[name,…]}` with the headers exactly as the app got them, the body as
//! text and the names of its environment variables, and writes
//! `echo-p3: handled <path>` to stderr so a test can tell whether the app ran at all.
//!
//! No identity code: composed with `--inbound` (the WASIp3 gate in front of its
//! `wasi:http/handler@0.3.0`), it finds the caller in the `X-MS-CLIENT-PRINCIPAL*`
//! headers, as `echo-headers` does for WASI 0.2.

#![cfg(target_arch = "wasm32")]

use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{Request, Response, StatusCode};
use spin_sdk::http_service;

#[http_service]
async fn handle(request: Request) -> anyhow::Result<Response<String>> {
    let path = (request.uri().path_and_query())
        .map(|p| p.to_string())
        .unwrap_or_default();
    eprintln!("echo-p3: handled {path}");
    let method = request.method().to_string();
    let headers: Vec<(String, String)> = (request.headers().iter())
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.to_string(), value)
        })
        .collect();
    let body = request.into_body().bytes().await?;
    let environment: Vec<String> = std::env::vars().map(|(name, _)| name).collect();
    let echo = serde_json::json!({
        "method": method,
        "path": path,
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
        "environment": environment,
    });
    let mut response = Response::new(echo.to_string());
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}
