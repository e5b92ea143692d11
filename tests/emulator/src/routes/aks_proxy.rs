//! The AKS token proxy of identity binding: what a workload with `AZURE_KUBERNETES_TOKEN_PROXY` sends its token
//! request to. Every request is recorded as received (the rewritten path and query, the form body); one whose path
//! is the proxy's path ([`PATH`]) followed by `/{tenant}/oauth2/v2.0/token` is answered as Entra's v2.0 token
//! endpoint answers it, as the real proxy forwards it.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use crate::Endpoint;
use crate::aadsts;
use crate::recording::RecordedRequest;
use crate::respond;
use crate::service::{Issuance, Reply, Service};
use crate::state::EmulatorState;

use super::token_endpoint::TokenEndpoint;

/// The path of the proxy's URL ([`crate::Emulator::aks_proxy_url`]), so that tests see it kept.
pub(crate) const PATH: &str = "/aks/identity-binding";

pub(crate) struct AksProxy;

/// The request the proxy forwards: its path without the proxy's, when the rest is a token endpoint path.
fn forwarded(request: &RecordedRequest) -> Option<RecordedRequest> {
    let rest = request.path.strip_prefix(PATH)?;
    let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    if !rest.starts_with('/') || segments.len() != 4 || segments[1..] != ["oauth2", "v2.0", "token"]
    {
        return None;
    }
    Some(RecordedRequest {
        path: rest.to_owned(),
        ..request.clone()
    })
}

impl Service for AksProxy {
    const ENDPOINT: Endpoint = Endpoint::AksProxy;
    const EXPIRY_FIELD: Option<&'static str> = TokenEndpoint::EXPIRY_FIELD;
    const SUCCESS_HEADERS: &'static [(&'static str, &'static str)] = aadsts::NO_CACHE;

    fn answer(state: &EmulatorState, request: &RecordedRequest, issuance: &Issuance) -> Reply {
        match forwarded(request) {
            Some(forwarded) => TokenEndpoint::answer(state, &forwarded, issuance),
            None => Reply::Done(respond::text(
                StatusCode::NOT_FOUND,
                "the AKS token proxy forwards only {proxy path}/{tenant}/oauth2/v2.0/token",
            )),
        }
    }

    fn status_reply(
        state: &EmulatorState,
        request: &RecordedRequest,
        status: StatusCode,
    ) -> Response {
        TokenEndpoint::status_reply(
            state,
            forwarded(request).as_ref().unwrap_or(request),
            status,
        )
    }

    fn wrong_types() -> Value {
        TokenEndpoint::wrong_types()
    }
}
