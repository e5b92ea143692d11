//! The host's `wasi:http/handler`: check the caller, then answer or call the app.

use crate::bindings::exports::wasi::http::handler::Guest;
use crate::bindings::wasi::config::store;
use crate::bindings::wasi::http::handler as app;
use crate::bindings::wasi::http::types::{ErrorCode, Fields, Request, Response};
use crate::bindings::{wit_future, wit_stream};
use entra_inbound_core::principal::{is_principal_header, principal_headers};
use entra_inbound_core::{check_caller, header_list};
use wit_bindgen::spawn_local;

struct Component;

impl Guest for Component {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let headers = request.get_headers().copy_all();
        match check_caller(&headers, config) {
            Ok(claims) => app::handle(for_app(request, principal_headers(&claims))?).await,
            Err(answer) => Ok(respond(answer)),
        }
    }
}

/// The host's `wasi:config` variable `key`.
fn config(key: &str) -> Option<String> {
    store::get(key).ok().flatten()
}

/// Errors reach the host as the handler's `error-code`; `internal-error` is the only
/// code that carries text, and the text is for the operator.
fn internal(text: &str) -> ErrorCode {
    ErrorCode::InternalError(Some(format!("entra-identity inbound: {text}")))
}

/// What the host hears of the body when the app's report never came.
fn not_read() -> Result<(), ErrorCode> {
    Err(internal("the app did not read the request"))
}

/// The caller's `request` as the app gets it: every part but the headers moved over,
/// the headers copied without the caller's principal headers and with `principal`.
fn for_app(request: Request, principal: entra_inbound_core::Headers) -> Result<Request, ErrorCode> {
    // `clone` of an immutable child (headers, options) is an independent, mutable copy;
    // it keeps the headers the host would refuse from a guest (`host`) as they came.
    let headers = request.get_headers().clone();
    for (name, _) in headers.copy_all() {
        if is_principal_header(&name) {
            (headers.delete(&name)).map_err(|e| internal(&format!("removing {name}: {e:?}")))?;
        }
    }
    for (name, value) in principal {
        // The principal can outgrow the host's limit on headers: say so, not the value.
        (headers.append(&name, &value)).map_err(|e| internal(&format!("adding {name}: {e:?}")))?;
    }
    let options = request.get_options().map(|options| options.clone());
    let method = request.get_method();
    let path_with_query = request.get_path_with_query();
    let scheme = request.get_scheme();
    let authority = request.get_authority();
    let (to_host, report) = wit_future::new::<Result<(), ErrorCode>>(not_read);
    let (contents, trailers) = Request::consume_body(request, report);
    let (for_app, from_app) = Request::new(headers, Some(contents), trailers, options);
    let set = [
        for_app.set_method(&method),
        for_app.set_path_with_query(path_with_query.as_deref()),
        for_app.set_scheme(scheme.as_ref()),
        for_app.set_authority(authority.as_deref()),
    ];
    if set.iter().any(Result::is_err) {
        return Err(internal("copying the request failed"));
    }
    // The app's report on reading the body is the host's: it may come after `handle`.
    spawn_local(async move {
        let _ = to_host.write(from_app.await).await;
    });
    Ok(for_app)
}

/// The gate's own answer (401, 403, 400, 500), without the app.
fn respond(answer: http::Response<String>) -> Response {
    let headers = Fields::new();
    for (name, value) in header_list(answer.headers()) {
        let _ = headers.append(&name, &value);
    }
    let (mut writer, contents) = wit_stream::new::<u8>();
    let body = answer.body().clone().into_bytes();
    spawn_local(async move {
        writer.write_all(body).await;
    });
    // Dropped at once, the writer sends its default: no trailers.
    let (_, trailers) = wit_future::new(|| Ok(None));
    let (response, _) = Response::new(headers, Some(contents), trailers);
    let _ = response.set_status_code(answer.status().as_u16());
    response
}

crate::bindings::export!(Component with_types_in crate::bindings);
