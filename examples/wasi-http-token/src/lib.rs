//! `GET /token?scope=S`: gets a token for `S` (default Key Vault) with the identity
//! component's default chain and answers with what a caller may see of it: its type
//! and expiry, never the token itself.
//!
//! A plain `wasi:http@0.2` handler, no Spin: it shows the SDK in a WASIp2 component,
//! composed or served the same way as the Spin apps (`entra-identity serve`), where it
//! gets a fresh instance per request and still one upstream request per token.

// The handler needs the component's imports; on the host the crate is empty.
#![cfg(target_arch = "wasm32")]

use entra_identity_sdk::Credential;
use std::io::Write as _;
use wasi::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

wasi::http::proxy::export!(Handler);

const DEFAULT_SCOPE: &str = "https://vault.azure.net/.default";

struct Handler;

impl wasi::exports::http::incoming_handler::Guest for Handler {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let scope = scope(&request.path_with_query().unwrap_or_default());
        let (status, body) =
            match Credential::from_environment().and_then(|c| c.get_token(&[&scope])) {
                Ok(token) => (
                    200,
                    serde_json::json!({
                        "scope": scope,
                        "token_type": token.token_type(),
                        "expires_on": token.expires_on(),
                    }),
                ),
                // The component's errors say what was tried and never carry secrets.
                Err(e) => (502, serde_json::json!({ "error": e.to_string() })),
            };
        respond(out, status, body.to_string().as_bytes());
    }
}

/// The `scope` query parameter, percent-decoded just enough for scope URLs.
fn scope(path_with_query: &str) -> String {
    let query = path_with_query.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("scope="))
        .map(|s| s.replace("%3A", ":").replace("%2F", "/"))
        .unwrap_or_else(|| DEFAULT_SCOPE.to_string())
}

fn respond(out: ResponseOutparam, status: u16, body: &[u8]) {
    let headers = Fields::new();
    let _ = headers.set("content-type", &[b"application/json".to_vec()]);
    let response = OutgoingResponse::new(headers);
    let _ = response.set_status_code(status);
    let Ok(outgoing) = response.body() else {
        return;
    };
    ResponseOutparam::set(out, Ok(response));
    if let Ok(mut stream) = outgoing.write() {
        let _ = stream.write_all(body);
        let _ = stream.flush();
    }
    let _ = OutgoingBody::finish(outgoing, None);
}
