//! The `wasi:http/client` export: each request the app sends, with a token when a
//! rule names its destination, retried once for a claims challenge when its body was
//! kept, and sent on through the host's client.

use crate::bindings::exports::wasi::http::client::Guest;
use crate::bindings::wasi::config::store;
use crate::bindings::wasi::http::client as host;
use crate::bindings::wasi::http::types::{
    ErrorCode, Fields, Method, Request, RequestOptions, Response, Scheme,
};
use crate::bindings::wit_future;
use crate::body::{self, Body, Trailers};
use entra_identity_core::attach::{
    RULES_SETTING, Rules, SettingError, load_rules, no_token_message,
};
use entra_identity_sdk::http::{bearer_header, claims_to_retry_in_fields};
use entra_identity_sdk::{AccessToken, tokens};
use std::cell::OnceCell;
use wit_bindgen::{FutureReader, StreamReader, spawn_local};

struct Component;

thread_local! {
    // Read once per instance: a served app gets a fresh instance per request anyway.
    static RULES: OnceCell<Result<Rules, SettingError>> = const { OnceCell::new() };
}

fn load() -> Result<Rules, SettingError> {
    let env = std::env::var(RULES_SETTING).ok();
    let config = store::get(&RULES_SETTING.to_ascii_lowercase())
        .ok()
        .flatten();
    load_rules(env.as_deref(), config.as_deref())
}

/// Errors reach the app as its request's `error-code`; `internal-error` is the only
/// code that carries text, and the text is what the operator needs to fix it.
fn internal(text: String) -> ErrorCode {
    ErrorCode::InternalError(Some(text))
}

/// What the app's own request is reported as when no request of ours carried it.
fn not_sent() -> Result<(), ErrorCode> {
    Err(internal(
        "entra-identity outbound: the request was not sent".into(),
    ))
}

impl Guest for Component {
    async fn send(request: Request) -> Result<Response, ErrorCode> {
        // Fail closed: with rules that do not parse, no request can be routed safely.
        let rules = RULES
            .with(|cell| cell.get_or_init(load).clone())
            .map_err(|e| internal(format!("entra-identity outbound: {e}")))?;
        let scheme = request.get_scheme().map(|scheme| match scheme {
            Scheme::Http => "http".to_string(),
            Scheme::Https => "https".to_string(),
            Scheme::Other(other) => other,
        });
        let authority = request.get_authority();
        let has_authorization = request.get_headers().has("authorization");
        let Some(scope) =
            rules.scope_for_request(has_authorization, scheme.as_deref(), authority.as_deref())
        else {
            return host::send(request).await;
        };
        let parts = Parts::of(&request, authority.unwrap_or_default(), scope.to_string());
        let token = tokens::get_token(&[&parts.scope]).map_err(|e| parts.no_token(&e))?;

        let (sent_writer, sent) = wit_future::new::<Result<(), ErrorCode>>(not_sent);
        let (contents, trailers) = Request::consume_body(request, sent);
        let kept = match body::read(contents, trailers).await {
            Body::Streamed(streamed) => {
                let (contents, trailers) = streamed.contents();
                let (request, transmitted) = parts.request(&token, contents, trailers)?;
                forward(transmitted, sent_writer);
                return host::send(request).await;
            }
            Body::Kept(kept) => kept,
        };
        let (contents, trailers) = kept.contents();
        let (request, transmitted) = parts.request(&token, contents, trailers)?;
        let response = host::send(request).await?;
        let Some(claims) = retry_claims(&response) else {
            forward(transmitted, sent_writer);
            return Ok(response);
        };
        drop((response, transmitted));
        let token = tokens::get_token_with_claims(&[&parts.scope], &claims)
            .map_err(|e| parts.no_token(&e))?;
        let (contents, trailers) = kept.contents();
        let (request, transmitted) = parts.request(&token, contents, trailers)?;
        forward(transmitted, sent_writer);
        host::send(request).await
    }
}

/// The claims a 401 response's challenge asks for, if it is worth one retry.
fn retry_claims(response: &Response) -> Option<String> {
    let status = response.get_status_code();
    if status != 401 {
        return None;
    }
    claims_to_retry_in_fields(status, &response.get_headers().copy_all())
}

/// Tells the app how its request's transmission ended: as the one that carried it.
fn forward(
    transmitted: FutureReader<Result<(), ErrorCode>>,
    to_app: wit_bindgen::FutureWriter<Result<(), ErrorCode>>,
) {
    spawn_local(async move {
        let _ = to_app.write(transmitted.await).await;
    });
}

/// Everything of the app's request but its body, to build each request that carries it.
struct Parts {
    method: Method,
    path_with_query: Option<String>,
    scheme: Option<Scheme>,
    authority: String,
    /// A mutable copy of the app's headers, copied again for each attempt.
    headers: Fields,
    options: Option<RequestOptions>,
    scope: String,
}

impl Parts {
    fn of(request: &Request, authority: String, scope: String) -> Parts {
        // `clone` of an immutable child (headers, options) is an independent copy.
        Parts {
            method: request.get_method(),
            path_with_query: request.get_path_with_query(),
            scheme: request.get_scheme(),
            authority,
            headers: request.get_headers().clone(),
            options: request.get_options().map(|options| options.clone()),
            scope,
        }
    }

    fn no_token(&self, why: &dyn std::fmt::Display) -> ErrorCode {
        internal(no_token_message(&self.authority, &self.scope, why))
    }

    /// The app's request with `authorization: Bearer …` and the given body.
    fn request(
        &self,
        token: &AccessToken,
        contents: Option<StreamReader<u8>>,
        trailers: FutureReader<Trailers>,
    ) -> Result<(Request, FutureReader<Result<(), ErrorCode>>), ErrorCode> {
        let bearer = bearer_header(token).map_err(|e| self.no_token(&e))?;
        let headers = self.headers.clone();
        // The app's headers may already fill the host's limit: say so, without the value.
        headers
            .append("authorization", bearer.as_bytes())
            .map_err(|e| self.no_token(&format!("adding the header failed: {e:?}")))?;
        let options = self.options.as_ref().map(|options| options.clone());
        let (request, transmitted) = Request::new(headers, contents, trailers, options);
        let set = [
            request.set_method(&self.method),
            request.set_path_with_query(self.path_with_query.as_deref()),
            request.set_scheme(self.scheme.as_ref()),
            request.set_authority(Some(&self.authority)),
        ];
        if set.iter().any(Result::is_err) {
            return Err(self.no_token(&"copying the request failed"));
        }
        Ok((request, transmitted))
    }
}

crate::bindings::export!(Component with_types_in crate::bindings);
