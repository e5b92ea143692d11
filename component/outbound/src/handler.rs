//! The `wasi:http/outgoing-handler` export: each request the app sends, decided by
//! `decide` and sent on through the host's handler.

use crate::attach::{RULES_SETTING, Rules, SettingError, load_rules};
use crate::bindings::entra::identity::tokens;
use crate::bindings::exports::wasi::http::outgoing_handler::Guest;
use crate::bindings::wasi::config::store;
use crate::decide::{Decision, body_not_carried, decide, no_token};
use std::cell::OnceCell;
use wasi::http::outgoing_handler as host;
use wasi::http::types::{
    ErrorCode, FutureIncomingResponse, OutgoingRequest, RequestOptions, Scheme,
};

struct Component;

thread_local! {
    // Read once per instance: a served app gets a fresh instance per request anyway.
    static RULES: OnceCell<Result<Rules, SettingError>> = const { OnceCell::new() };
}

fn load() -> Result<Rules, SettingError> {
    let config = store::get(&RULES_SETTING.to_ascii_lowercase())
        .ok()
        .flatten();
    load_rules(
        std::env::var(RULES_SETTING).ok().as_deref(),
        config.as_deref(),
    )
}

/// Errors reach the app as its request's `error-code`; `internal-error` is the only
/// code that carries text, and the text is what the operator needs to fix it.
fn internal(text: String) -> ErrorCode {
    ErrorCode::InternalError(Some(text))
}

impl Guest for Component {
    fn handle(
        request: OutgoingRequest,
        options: Option<RequestOptions>,
    ) -> Result<FutureIncomingResponse, ErrorCode> {
        let scheme = request.scheme().map(|scheme| match scheme {
            Scheme::Http => "http".to_string(),
            Scheme::Https => "https".to_string(),
            Scheme::Other(other) => other,
        });
        let authority = request.authority();
        let headers = request.headers();
        let has_authorization = headers.has("authorization");
        // The child must go before its parent is consumed.
        drop(headers);
        RULES.with(|cell| {
            // Fail closed: with rules that do not parse, no request can be routed safely.
            let rules = match cell.get_or_init(load) {
                Ok(rules) => rules,
                Err(e) => return Err(internal(format!("entra-identity outbound: {e}"))),
            };
            match decide(
                rules,
                has_authorization,
                scheme.as_deref(),
                authority.as_deref(),
            ) {
                Decision::Forward => host::handle(request, options),
                Decision::Attach { scope } => {
                    let authority = authority.as_deref().unwrap_or_default();
                    let with_token = with_token(&request, authority, scope)?;
                    drop(request);
                    host::handle(with_token, options)
                }
            }
        })
    }
}

/// A copy of `request` (which must have no body) with `authorization: Bearer …`.
fn with_token(
    request: &OutgoingRequest,
    authority: &str,
    scope: &str,
) -> Result<OutgoingRequest, ErrorCode> {
    // The body can be taken once: if the app took it, it has one we cannot copy.
    match request.body() {
        Ok(body) => drop(body),
        Err(()) => return Err(internal(body_not_carried(authority, scope))),
    }
    let token = tokens::get_token(&[scope.to_string()])
        .map_err(|e| internal(no_token(authority, scope, &describe(e))))?;
    let headers = request.headers();
    // `clone` of a request's (immutable) headers is a mutable copy.
    let copy = headers.clone();
    drop(headers);
    copy.append(
        "authorization",
        format!("Bearer {}", token.token).as_bytes(),
    )
    // The app's headers already fill the host's limit: say so, without the value.
    .map_err(|e| {
        internal(no_token(
            authority,
            scope,
            &format!("adding the header failed: {e:?}"),
        ))
    })?;
    let copied = OutgoingRequest::new(copy);
    let set = [
        copied.set_method(&request.method()),
        copied.set_path_with_query(request.path_with_query().as_deref()),
        copied.set_scheme(request.scheme().as_ref()),
        copied.set_authority(Some(authority)),
    ];
    if set.iter().any(Result::is_err) {
        return Err(internal(no_token(
            authority,
            scope,
            "copying the request failed",
        )));
    }
    Ok(copied)
}

fn describe(error: tokens::Error) -> String {
    match error {
        tokens::Error::Denied(why) => format!("denied: {why}"),
        tokens::Error::RateLimited(seconds) => {
            format!("rate-limited by the identity component; retry after {seconds} s")
        }
        tokens::Error::Unavailable(why) => why,
    }
}

crate::bindings::export!(Component with_types_in crate::bindings);
