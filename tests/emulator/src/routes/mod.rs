//! The HTTP surface: which path reaches which emulated service.

mod aks_proxy;
mod app_service;
mod arc;
mod azure_ml;
mod cloud_shell;
mod discovery;
mod imds;
mod key_vault;
mod oidc;
mod service_fabric;
mod token_endpoint;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode};
use axum::response::Response;
use axum::routing::any;

pub(crate) use aks_proxy::PATH as AKS_PROXY_PATH;
pub(crate) use discovery::v2_issuer;
pub(crate) use token_endpoint::OIDC_SCOPES;

use crate::respond;
use crate::service::{self, Service};
use crate::state::EmulatorState;

/// Every method is routed to the services, so that even a wrong-method request is recorded and answered the
/// way the service would.
pub(crate) fn router(state: Arc<EmulatorState>) -> Router {
    Router::new()
        .route("/metadata/identity/oauth2/token", any(serve::<imds::Imds>))
        .route("/msi/token", any(serve::<app_service::AppService>))
        .route(
            "/{tenant}/oauth2/v2.0/token",
            any(serve::<token_endpoint::TokenEndpoint>),
        )
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            any(serve::<discovery::OpenIdConfiguration>),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            any(serve::<discovery::OpenIdConfiguration>),
        )
        .route(
            "/{tenant}/discovery/v2.0/keys",
            any(serve::<discovery::Jwks>),
        )
        .route("/{tenant}/discovery/keys", any(serve::<discovery::Jwks>))
        .route(
            "/arc/metadata/identity/oauth2/token",
            any(serve::<arc::Arc>),
        )
        .route(
            "/cloudshell/oauth2/token",
            any(serve::<cloud_shell::CloudShell>),
        )
        .route("/ml/msi/token", any(serve::<azure_ml::AzureMl>))
        .route(
            "/oidc/.well-known/openid-configuration",
            any(serve::<oidc::Configuration>),
        )
        .route("/oidc/openid/v1/jwks", any(serve::<oidc::Keys>))
        .merge(key_vault_routes::<false>())
        .fallback(not_found)
        .with_state(state)
}

/// The HTTPS listener serves Service Fabric, and the plain one never does: a client that skips TLS must not get a
/// token. Key Vault is on both: Azure SDK pipelines refuse to send a bearer token over plain HTTP. So is Entra's
/// v2.0 token endpoint, which in Azure is HTTPS only: SDKs such as `azure_identity` refuse an `http://` authority
/// host, and reach the emulator with an `https://127.0.0.1:PORT` one trusting its certificate.
pub(crate) fn tls_router(state: Arc<EmulatorState>) -> Router {
    Router::new()
        .route(
            "/sf/metadata/identity/oauth2/token",
            any(serve::<service_fabric::ServiceFabric>),
        )
        .route(
            "/{tenant}/oauth2/v2.0/token",
            any(serve::<token_endpoint::TokenEndpoint>),
        )
        .merge(key_vault_routes::<true>())
        .fallback(not_found)
        .with_state(state)
}

/// The AKS token proxy's listener: every path is the proxy's, recorded, and forwarded when it is a token request.
pub(crate) fn aks_proxy_router(state: Arc<EmulatorState>) -> Router {
    Router::new()
        .fallback(serve::<aks_proxy::AksProxy>)
        .with_state(state)
}

/// `/secrets/{name}/` is its own route because SDKs ask for the newest version with an empty version segment.
fn key_vault_routes<const HTTPS: bool>() -> Router<Arc<EmulatorState>> {
    let secrets = any(serve::<key_vault::KeyVault<HTTPS>>);
    Router::new()
        .route("/secrets/{name}", secrets.clone())
        .route("/secrets/{name}/", secrets.clone())
        .route("/secrets/{name}/{version}", secrets)
}

async fn serve<S: Service>(
    State(state): State<Arc<EmulatorState>>,
    request: Request<Body>,
) -> Response {
    service::dispatch::<S>(&state, request).await
}

async fn not_found(request: Request<Body>) -> Response {
    tracing::info!(method = %request.method(), path = %request.uri().path(), "no such endpoint");
    respond::text(StatusCode::NOT_FOUND, "Not Found")
}

/// The first path segment, which every Entra path starts with.
pub(crate) fn tenant_of(path: &str) -> &str {
    path.trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
}
