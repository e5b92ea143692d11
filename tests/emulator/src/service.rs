//! The request pipeline every emulated service shares: record, apply the fault, answer.

use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value};
use tracing::info;

use crate::endpoint::Endpoint;
use crate::fault::Fault;
use crate::recording::RecordedRequest;
use crate::respond;
use crate::state::EmulatorState;
use crate::token::Validity;

/// The moment a request is answered, and the validity of any token issued for it.
pub(crate) struct Issuance {
    pub(crate) now: u64,
    pub(crate) validity: Validity,
    /// The fault this request suffers, for services whose faults act inside the protocol (Arc's realm).
    pub(crate) fault: Option<Fault>,
}

/// What a service answers before faults reshape it.
pub(crate) enum Reply {
    /// A success document, which success-shaping faults may still alter.
    Success(Map<String, Value>),
    /// A finished response, typically an error, that faults leave alone.
    Done(Response),
}

/// One emulated service: how it answers, and how it words the failures a test injects.
pub(crate) trait Service {
    const ENDPOINT: Endpoint;
    /// The field holding the token's expiry, which [`Fault::ExpiresOn`] replaces.
    const EXPIRY_FIELD: Option<&'static str> = None;
    /// Headers the service puts on every success.
    const SUCCESS_HEADERS: &'static [(&'static str, &'static str)] = &[];

    fn answer(state: &EmulatorState, request: &RecordedRequest, issuance: &Issuance) -> Reply;

    /// The body the real service sends with `status`.
    fn status_reply(
        state: &EmulatorState,
        request: &RecordedRequest,
        status: StatusCode,
    ) -> Response;

    /// A success whose fields have the wrong JSON types.
    fn wrong_types() -> Value;
}

pub(crate) async fn dispatch<S: Service>(
    state: &EmulatorState,
    request: Request<Body>,
) -> Response {
    let request = RecordedRequest::read(request).await;
    let fault = state.admit(S::ENDPOINT, request.clone());
    let _in_flight = state.enter(S::ENDPOINT);
    let response = respond_with_fault::<S>(state, &request, fault.as_ref()).await;
    // Paths and statuses only: bodies and queries can hold secrets and tokens.
    info!(endpoint = ?S::ENDPOINT, method = %request.method, path = %request.path, status = response.status().as_u16(), fault = fault.as_ref().map(fault_name), "request");
    response
}

async fn respond_with_fault<S: Service>(
    state: &EmulatorState,
    request: &RecordedRequest,
    fault: Option<&Fault>,
) -> Response {
    match fault {
        Some(Fault::Status(status)) => status_reply::<S>(state, request, *status),
        Some(Fault::StatusWithBody {
            status,
            body,
            content_type,
        }) => respond::raw(status_code(*status), content_type, body.clone()),
        Some(Fault::TooManyRequests { retry_after }) => {
            let mut response = status_reply::<S>(state, request, 429);
            if let Some(value) = retry_after
                .as_deref()
                .and_then(|v| HeaderValue::from_str(v).ok())
            {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Some(Fault::Delay(delay)) => {
            tokio::select! {
                () = tokio::time::sleep(*delay) => {}
                () = state.shutting_down() => {}
            }
            answer::<S>(state, request, None)
        }
        Some(Fault::Hold(hold)) => {
            tokio::select! {
                () = hold.pass() => {}
                () = state.shutting_down() => {}
            }
            answer::<S>(state, request, None)
        }
        shaping => answer::<S>(state, request, shaping),
    }
}

/// Answers normally, then lets a success-shaping fault break the success.
fn answer<S: Service>(
    state: &EmulatorState,
    request: &RecordedRequest,
    fault: Option<&Fault>,
) -> Response {
    let now = state.now();
    let issuance = Issuance {
        now,
        validity: state.validity(now, matches!(fault, Some(Fault::ExpiredToken))),
        fault: fault.cloned(),
    };
    let body = match S::answer(state, request, &issuance) {
        Reply::Done(response) => return response,
        Reply::Success(body) => body,
    };
    let response = match fault {
        Some(Fault::MalformedJson) => respond::raw(
            StatusCode::OK,
            respond::JSON,
            respond::truncated(Value::Object(body).to_string()),
        ),
        Some(Fault::WrongTypes) => respond::json(StatusCode::OK, &S::wrong_types()),
        Some(Fault::OversizedBody(size)) => {
            respond::raw(StatusCode::OK, respond::JSON, respond::padded(body, *size))
        }
        Some(Fault::ExpiresOn(raw)) => match S::EXPIRY_FIELD {
            Some(field) => respond::raw(
                StatusCode::OK,
                respond::JSON,
                respond::splice_field(body, field, raw),
            ),
            None => respond::json(StatusCode::OK, &Value::Object(body)),
        },
        Some(Fault::StallBody) => respond::cut_short(
            Value::Object(body).to_string(),
            respond::stall(state.shutting_down()),
        ),
        Some(Fault::DropConnection) => {
            // One yield: the server flushes the head and the half before the cut.
            respond::cut_short(Value::Object(body).to_string(), tokio::task::yield_now())
        }
        _ => respond::json(StatusCode::OK, &Value::Object(body)),
    };
    respond::with_headers(response, S::SUCCESS_HEADERS)
}

fn status_reply<S: Service>(
    state: &EmulatorState,
    request: &RecordedRequest,
    status: u16,
) -> Response {
    S::status_reply(state, request, status_code(status))
}

/// A status a test asked for; a number HTTP cannot carry is the test's bug, answered with a 500 that says so.
fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn fault_name(fault: &Fault) -> &'static str {
    match fault {
        Fault::Status(_) => "status",
        Fault::StatusWithBody { .. } => "status_with_body",
        Fault::TooManyRequests { .. } => "too_many_requests",
        Fault::Delay(_) => "delay",
        Fault::Hold(_) => "hold",
        Fault::MalformedJson => "malformed_json",
        Fault::WrongTypes => "wrong_types",
        Fault::OversizedBody(_) => "oversized_body",
        Fault::ExpiredToken => "expired_token",
        Fault::ExpiresOn(_) => "expires_on",
        Fault::StallBody => "stall_body",
        Fault::DropConnection => "drop_connection",
        Fault::ArcRealm(_) => "arc_realm",
    }
}
