//! Every other resource of `wasi:http/types` (the outgoing request's are in
//! `outgoing`, its response future in `response`): each wraps the host's resource and
//! forwards its methods.

use crate::bindings::VirtualHttp;
use crate::bindings::exports::entra::virtual_http::types as v;
use crate::fields::Fields;
use crate::outgoing::{OutgoingBody, OutgoingRequest};
use crate::response::FutureIncomingResponse;
use ::wasi::http::types::{self as host, ErrorCode, Method, Scheme};
use ::wasi::io::error::Error as IoError;
use ::wasi::io::poll::Pollable;
use ::wasi::io::streams::InputStream;

impl v::Guest for VirtualHttp {
    type Fields = Fields;
    type IncomingRequest = IncomingRequest;
    type OutgoingRequest = OutgoingRequest;
    type RequestOptions = RequestOptions;
    type ResponseOutparam = ResponseOutparam;
    type IncomingResponse = IncomingResponse;
    type IncomingBody = IncomingBody;
    type FutureTrailers = FutureTrailers;
    type OutgoingResponse = OutgoingResponse;
    type OutgoingBody = OutgoingBody;
    type FutureIncomingResponse = FutureIncomingResponse;

    fn http_error_code(err: &IoError) -> Option<ErrorCode> {
        host::http_error_code(err)
    }
}

/// The host's request; with the gate's headers when the gate wrapped it.
pub(crate) struct IncomingRequest {
    pub(crate) host: host::IncomingRequest,
    pub(crate) headers: Option<Vec<(String, Vec<u8>)>>,
}

impl v::GuestIncomingRequest for IncomingRequest {
    fn method(&self) -> Method {
        self.host.method()
    }
    fn path_with_query(&self) -> Option<String> {
        self.host.path_with_query()
    }
    fn scheme(&self) -> Option<Scheme> {
        self.host.scheme()
    }
    fn authority(&self) -> Option<String> {
        self.host.authority()
    }
    fn headers(&self) -> v::Fields {
        match &self.headers {
            Some(headers) => Fields::listed(headers.clone()),
            None => Fields::host(self.host.headers()),
        }
    }
    fn consume(&self) -> Result<v::IncomingBody, ()> {
        let body = self.host.consume()?;
        Ok(v::IncomingBody::new(IncomingBody(body)))
    }
}

pub(crate) struct RequestOptions(pub(crate) host::RequestOptions);

impl v::GuestRequestOptions for RequestOptions {
    fn new() -> Self {
        RequestOptions(host::RequestOptions::new())
    }
    fn connect_timeout(&self) -> Option<u64> {
        self.0.connect_timeout()
    }
    fn set_connect_timeout(&self, duration: Option<u64>) -> Result<(), ()> {
        self.0.set_connect_timeout(duration)
    }
    fn first_byte_timeout(&self) -> Option<u64> {
        self.0.first_byte_timeout()
    }
    fn set_first_byte_timeout(&self, duration: Option<u64>) -> Result<(), ()> {
        self.0.set_first_byte_timeout(duration)
    }
    fn between_bytes_timeout(&self) -> Option<u64> {
        self.0.between_bytes_timeout()
    }
    fn set_between_bytes_timeout(&self, duration: Option<u64>) -> Result<(), ()> {
        self.0.set_between_bytes_timeout(duration)
    }
}

pub(crate) struct ResponseOutparam(pub(crate) host::ResponseOutparam);

impl v::GuestResponseOutparam for ResponseOutparam {
    fn set(param: v::ResponseOutparam, response: Result<v::OutgoingResponse, ErrorCode>) {
        let response = response.map(|r| r.into_inner::<OutgoingResponse>().0);
        host::ResponseOutparam::set(param.into_inner::<ResponseOutparam>().0, response);
    }
}

pub(crate) struct IncomingResponse(host::IncomingResponse);

impl IncomingResponse {
    pub(crate) fn wrap(response: host::IncomingResponse) -> v::IncomingResponse {
        v::IncomingResponse::new(IncomingResponse(response))
    }
}

impl v::GuestIncomingResponse for IncomingResponse {
    fn status(&self) -> u16 {
        self.0.status()
    }
    fn headers(&self) -> v::Fields {
        Fields::host(self.0.headers())
    }
    fn consume(&self) -> Result<v::IncomingBody, ()> {
        Ok(v::IncomingBody::new(IncomingBody(self.0.consume()?)))
    }
}

pub(crate) struct IncomingBody(host::IncomingBody);

impl v::GuestIncomingBody for IncomingBody {
    fn stream(&self) -> Result<InputStream, ()> {
        self.0.stream()
    }
    fn finish(this: v::IncomingBody) -> v::FutureTrailers {
        let body = this.into_inner::<IncomingBody>().0;
        v::FutureTrailers::new(FutureTrailers(host::IncomingBody::finish(body)))
    }
}

pub(crate) struct FutureTrailers(host::FutureTrailers);

impl v::GuestFutureTrailers for FutureTrailers {
    fn subscribe(&self) -> Pollable {
        self.0.subscribe()
    }
    #[allow(clippy::type_complexity)] // the WIT's own shape
    fn get(&self) -> Option<Result<Result<Option<v::Fields>, ErrorCode>, ()>> {
        self.0
            .get()
            .map(|got| got.map(|trailers| trailers.map(|t| t.map(Fields::host))))
    }
}

pub(crate) struct OutgoingResponse(host::OutgoingResponse);

impl v::GuestOutgoingResponse for OutgoingResponse {
    fn new(headers: v::Fields) -> Self {
        OutgoingResponse(host::OutgoingResponse::new(Fields::into_host(headers)))
    }
    fn status_code(&self) -> u16 {
        self.0.status_code()
    }
    fn set_status_code(&self, status_code: u16) -> Result<(), ()> {
        self.0.set_status_code(status_code)
    }
    fn headers(&self) -> v::Fields {
        Fields::host(self.0.headers())
    }
    fn body(&self) -> Result<v::OutgoingBody, ()> {
        Ok(OutgoingBody::response(self.0.body()?))
    }
}
