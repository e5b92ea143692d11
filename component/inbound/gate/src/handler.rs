//! The host's `incoming-handler`: check the caller, then answer or call the app.

use crate::baked::{self, CAPACITY, MARKER};
use crate::bindings::Gate;
use crate::bindings::entra::inbound::bridge;
use crate::bindings::entra::virtual_http::incoming_handler as app;
use crate::bindings::exports::wasi::http::incoming_handler;
use crate::bindings::wasi::config::store;
use crate::principal;
use crate::settings::Settings;
use ::http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use ::http::{Response, StatusCode};
use ::wasi::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use entra_identity_sdk::http::{BearerError, Rejection, bearer_token};
use entra_identity_sdk::{Claims, Validator};
use std::cell::OnceCell;

/// The region `entra-identity compose` writes the settings into (see [`crate::baked`]).
#[repr(C)]
struct Region {
    marker: [u8; MARKER.len()],
    settings: [u8; CAPACITY],
}

#[used]
static REGION: Region = Region {
    marker: *MARKER,
    settings: [b' '; CAPACITY],
};

/// The validator and the requirements, made once per instance.
struct Checks {
    validator: Validator,
    role: Option<String>,
    scope: Option<String>,
}

thread_local! {
    static CHECKS: OnceCell<Result<Checks, ()>> = const { OnceCell::new() };
}

impl incoming_handler::Guest for Gate {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let headers = request.headers().entries();
        let checked = CHECKS.with(|checks| match checks.get_or_init(checks_from_settings) {
            Ok(checks) => (checks.check(&headers))
                .map_err(|rejection| checks.validator.challenge().respond(&rejection)),
            Err(()) => Err(misconfigured()),
        });
        match checked {
            Ok(claims) => {
                let headers = principal::request_headers(headers, &claims);
                let request = bridge::wrap_request(request, &headers);
                app::handle(request, bridge::wrap_outparam(response_out));
            }
            Err(answer) => send(response_out, answer),
        }
    }
}

impl Checks {
    fn check(&self, headers: &[(String, Vec<u8>)]) -> Result<Claims, Rejection> {
        // Only the Authorization headers: bearer parsing refuses more than one.
        let mut authorization = HeaderMap::new();
        for (_, value) in headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        {
            let value = HeaderValue::from_bytes(value)
                .map_err(|_| BearerError::Malformed("not a header value"))?;
            authorization.append(AUTHORIZATION, value);
        }
        let claims = self.validator.validate(bearer_token(&authorization)?)?;
        if let Some(role) = &self.role {
            claims.require_role(role)?;
        }
        if let Some(scope) = &self.scope {
            claims.require_scope(scope)?;
        }
        Ok(claims)
    }
}

/// Baked settings, else the environment, else `wasi:config`. Why they do not work is
/// written to stderr once per instance, for the operator; callers get a bare 500.
fn checks_from_settings() -> Result<Checks, ()> {
    read_settings().map_err(|why| eprintln!("entra-identity inbound: {why}"))
}

fn read_settings() -> Result<Checks, String> {
    let baked = baked::read(&std::hint::black_box(&REGION).settings);
    let settings = Settings::from_lookup(|name| {
        (baked.get(name).cloned())
            .or_else(|| std::env::var(name).ok())
            .or_else(|| store::get(&name.to_ascii_lowercase()).ok().flatten())
    })
    .map_err(|e| e.to_string())?;
    let validator = Validator::new(settings.validator)
        .map_err(|e| format!("the inbound validator cannot be made: {e}"))?;
    Ok(Checks {
        validator,
        role: settings.role,
        scope: settings.scope,
    })
}

/// Answers the caller without the app.
fn send(response_out: ResponseOutparam, answer: Response<String>) {
    let fields: Vec<(String, Vec<u8>)> = (answer.headers().iter())
        .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
        .collect();
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

/// 500 without the reason, which is for the operator (stderr), not the caller.
fn misconfigured() -> Response<String> {
    let body = r#"{"error":"server_error","error_description":"the API cannot validate tokens"}"#;
    let mut answer = Response::new(body.to_string());
    *answer.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    (answer.headers_mut()).insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    answer
}
