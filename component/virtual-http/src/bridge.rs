//! `entra:inbound/bridge`: the gate's way to hand the app the host's request and
//! response slot.

use crate::bindings::VirtualHttp;
use crate::bindings::exports::entra::inbound::bridge;
use crate::bindings::exports::entra::virtual_http::types as v;
use crate::types::{IncomingRequest, ResponseOutparam};
use ::wasi::http::types as host;

impl bridge::Guest for VirtualHttp {
    fn wrap_request(
        request: host::IncomingRequest,
        headers: Vec<(String, Vec<u8>)>,
    ) -> v::IncomingRequest {
        v::IncomingRequest::new(IncomingRequest {
            host: request,
            headers: Some(headers),
        })
    }

    fn wrap_outparam(response_out: host::ResponseOutparam) -> v::ResponseOutparam {
        v::ResponseOutparam::new(ResponseOutparam(response_out))
    }
}
