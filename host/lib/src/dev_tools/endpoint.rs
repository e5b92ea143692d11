//! [`DevEndpoint`]: the App Service managed-identity protocol on loopback, answered
//! with the developer's tokens.

use super::chain::{DevToolsError, DevToolsOptions, DeveloperTools};
use super::tool::ToolFailure;
use base64::Engine as _;
use bytes::Bytes;
use entra_identity_core::managed_identity::app_service_protocol::{
    API_VERSION, ENDPOINT_VAR, IDENTITY_SELECTORS, SECRET_HEADER, SECRET_VAR,
};
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;
use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use wasmtime_wasi_http::io::TokioIo;

/// Where the protocol is served, as on App Service.
const PATH: &str = "/msi/token";

/// A loopback App Service managed-identity endpoint that answers with tokens from
/// the developer's Azure CLI, Azure PowerShell or Azure Developer CLI. It stops when
/// dropped.
///
/// It listens on `127.0.0.1` only, refuses any request without the secret it made
/// (constant-time compared), and logs which resource and tool, never a token.
pub struct DevEndpoint {
    addr: SocketAddr,
    secret: String,
    _stop: oneshot::Sender<()>,
}

impl DevEndpoint {
    /// Starts serving on `127.0.0.1:port` (`0`: a free port), on the tokio runtime
    /// this is called from.
    pub fn start(options: DevToolsOptions, port: u16) -> Result<DevEndpoint, DevToolsError> {
        let invalid =
            |what: &str, e: &dyn fmt::Display| DevToolsError::Invalid(format!("{what}: {e}"));
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| invalid("the developer endpoint runs on a tokio runtime", &e))?;
        let tools = Arc::new(DeveloperTools::new(options)?);
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .map_err(|e| invalid(&format!("cannot listen on 127.0.0.1:{port}"), &e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| invalid("cannot make the listener non-blocking", &e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| invalid("the listener has no address", &e))?;
        let listener = {
            let _entered = runtime.enter();
            TcpListener::from_std(listener)
                .map_err(|e| invalid("cannot register the listener", &e))?
        };
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(|e| invalid("no randomness for the secret", &e))?;
        let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random);
        let (stop, stopped) = oneshot::channel();
        runtime.spawn(accept(listener, tools, Arc::from(secret.as_str()), stopped));
        Ok(DevEndpoint {
            addr,
            secret,
            _stop: stop,
        })
    }

    /// The address it listens on (always loopback).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The value of `IDENTITY_ENDPOINT`.
    pub fn url(&self) -> String {
        format!("http://{}{PATH}", self.addr)
    }

    /// The two variables that point a managed-identity client at this endpoint:
    /// `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`. The second is a secret: hand it
    /// only to what should get the developer's tokens.
    pub fn env(&self) -> [(&'static str, String); 2] {
        [
            (ENDPOINT_VAR, self.url()),
            (SECRET_VAR, self.secret.clone()),
        ]
    }
}

impl fmt::Debug for DevEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevEndpoint")
            .field("addr", &self.addr)
            .field("secret", &"<redacted>")
            .finish()
    }
}

async fn accept(
    listener: TcpListener,
    tools: Arc<DeveloperTools>,
    secret: Arc<str>,
    mut stopped: oneshot::Receiver<()>,
) {
    loop {
        let accepted = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, peer)) = accepted else {
            continue;
        };
        // The listener is bound to loopback; this holds if that ever changes.
        if !peer.ip().is_loopback() {
            continue;
        }
        let (tools, secret) = (tools.clone(), secret.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let (tools, secret) = (tools.clone(), secret.clone());
                async move { Ok::<_, Infallible>(answer(&tools, &secret, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer<B>(
    tools: &DeveloperTools,
    secret: &str,
    request: Request<B>,
) -> Response<Full<Bytes>> {
    if request.uri().path() != PATH {
        return error(
            StatusCode::NOT_FOUND,
            &format!("not found; the endpoint is {PATH}"),
        );
    }
    if request.method() != Method::GET {
        return error(StatusCode::METHOD_NOT_ALLOWED, "only GET is served");
    }
    let sent = request
        .headers()
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !bool::from(sent.ct_eq(secret.as_bytes())) {
        return error(
            StatusCode::UNAUTHORIZED,
            &format!("the {SECRET_HEADER} header is missing or does not match {SECRET_VAR}"),
        );
    }
    let query: HashMap<String, String> = request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    if query.get("api-version").map(String::as_str) != Some(API_VERSION) {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("the api-version must be {API_VERSION}"),
        );
    }
    if let Some(selector) = IDENTITY_SELECTORS.iter().find(|s| query.contains_key(**s)) {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "this developer endpoint serves the signed-in developer's own identity; a user-assigned identity ({selector}) cannot be selected here: leave the client id, object id or resource id unset when running locally"
            ),
        );
    }
    let Some(resource) = query.get("resource").filter(|r| !r.is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "the 'resource' query parameter is required",
        );
    };
    match tools.token(resource).await {
        Ok((token, tool, cached)) => {
            tracing::info!(resource, %tool, cached, "served a developer token");
            let body = json!({
                "access_token": token.token,
                "expires_on": token.expires_on.to_string(),
                "resource": resource,
                "token_type": "Bearer",
            });
            respond(StatusCode::OK, &body)
        }
        Err(e) => {
            tracing::warn!(resource, error = %e, "no developer token");
            // A slow tool may answer next time (the client retries a 5xx); the rest
            // need the developer.
            let status = match &e {
                DevToolsError::Failed(ToolFailure::TimedOut { .. }) => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
                _ => StatusCode::BAD_REQUEST,
            };
            error(status, &e.to_string())
        }
    }
}

/// App Service's error shape.
fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    respond(
        status,
        &json!({"statusCode": status.as_u16(), "message": message}),
    )
}

fn respond(status: StatusCode, body: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests;
