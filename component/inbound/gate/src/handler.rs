//! The host's `incoming-handler`: check the caller, then answer or call the app.

use crate::bindings::Gate;
use crate::bindings::entra::inbound::bridge;
use crate::bindings::entra::virtual_http::incoming_handler as app;
use crate::bindings::exports::wasi::http::incoming_handler;
use crate::bindings::wasi::config::store;
use ::http::Response;
use ::wasi::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use entra_inbound_core::{check_caller, header_list, principal};

impl incoming_handler::Guest for Gate {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let headers = request.headers().entries();
        match check_caller(&headers, config) {
            Ok(claims) => {
                let headers = principal::request_headers(headers, &claims);
                let request = bridge::wrap_request(request, &headers);
                app::handle(request, bridge::wrap_outparam(response_out));
            }
            Err(answer) => send(response_out, answer),
        }
    }
}

/// The host's `wasi:config` variable `key`.
fn config(key: &str) -> Option<String> {
    store::get(key).ok().flatten()
}

/// Answers the caller without the app.
fn send(response_out: ResponseOutparam, answer: Response<String>) {
    let fields = header_list(answer.headers());
    let headers = Fields::from_list(&fields).unwrap_or_else(|_| Fields::new());
    let response = OutgoingResponse::new(headers);
    let _ = response.set_status_code(answer.status().as_u16());
    let body = response
        .body()
        .expect("a new response's body is there once");
    ResponseOutparam::set(response_out, Ok(response));
    if let Ok(stream) = body.write() {
        for chunk in answer.body().as_bytes().chunks(4096) {
            if stream.blocking_write_and_flush(chunk).is_err() {
                break;
            }
        }
    }
    let _ = OutgoingBody::finish(body, None);
}
