//! Any request: answers `{"method","path","headers":[[name,value],…],"environment":[name,…]}`
//! with the headers exactly as the app got them and the names of its environment
//! variables, and writes `echo-headers: handled <path>` to stderr so a test can tell
//! whether the app ran at all.
//!
//! No identity code: `entra-identity compose echo_headers.wasm --inbound --tenant T
//! --audience A` puts the caller check in front of it, and the app finds the caller in
//! the `X-MS-CLIENT-PRINCIPAL*` headers. Built against WASI 0.2.4 (the `wasi` crate),
//! older than the 0.2.12 our components use, as apps from other toolchains are.

// The handler needs the component's imports; on the host the crate is empty.
#![cfg(target_arch = "wasm32")]

use std::io::Write as _;
use wasi::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

wasi::http::proxy::export!(Echo);

struct Echo;

impl wasi::exports::http::incoming_handler::Guest for Echo {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        eprintln!("echo-headers: handled {path}");
        let headers: Vec<(String, String)> = (request.headers().entries().into_iter())
            .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
            .collect();
        let environment: Vec<String> = std::env::vars().map(|(name, _)| name).collect();
        let body = serde_json::json!({
            "method": format!("{:?}", request.method()),
            "path": path,
            "headers": headers,
            "environment": environment,
        });
        respond(out, body.to_string().as_bytes());
    }
}

fn respond(out: ResponseOutparam, body: &[u8]) {
    let headers = Fields::new();
    let _ = headers.set("content-type", &[b"application/json".to_vec()]);
    let response = OutgoingResponse::new(headers);
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
