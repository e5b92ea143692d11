//! The running server and the handle tests drive it with.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::EmulatorConfig;
use crate::endpoint::Endpoint;
use crate::fault::Fault;
use crate::identity::ManagedIdentity;
use crate::recording::RecordedRequest;
use crate::routes;
use crate::state::EmulatorState;

/// How long [`Emulator::shutdown`] lets in-flight requests finish before cutting them off.
const GRACE: Duration = Duration::from_secs(5);

/// A running emulator on 127.0.0.1. Dropping it, or calling [`Emulator::shutdown`], stops the server.
pub struct Emulator {
    state: Arc<EmulatorState>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Binds 127.0.0.1 on `config.port` (0 for any free port) and starts serving in the background.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<Emulator> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let state = Arc::new(EmulatorState::new(
            Arc::new(config),
            format!("http://{addr}"),
            stopped,
        ));
        let app = routes::router(Arc::clone(&state));
        let shutting_down = state.shutting_down();
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app)
                .with_graceful_shutdown(shutting_down)
                .await
            {
                tracing::error!(%error, "emulator server failed");
            }
        });
        tracing::info!(%addr, "emulator listening");
        Ok(Emulator {
            state,
            addr,
            stop,
            server: Some(server),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: the value for `AZURE_POD_IDENTITY_AUTHORITY_HOST` and `AZURE_AUTHORITY_HOST`-like
    /// settings.
    pub fn base_url(&self) -> String {
        self.state.base_url.clone()
    }

    /// The full IMDS token URL.
    pub fn imds_endpoint(&self) -> String {
        format!("{}/metadata/identity/oauth2/token", self.state.base_url)
    }

    /// The value for `IDENTITY_ENDPOINT`.
    pub fn app_service_endpoint(&self) -> String {
        format!("{}/msi/token", self.state.base_url)
    }

    /// The tenant's v2.0 token endpoint URL.
    pub fn token_endpoint(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.state.base_url,
            self.tenant_id()
        )
    }

    /// The value for `IDENTITY_HEADER`.
    pub fn identity_header(&self) -> &str {
        &self.state.config.identity_header
    }

    /// The tenant served.
    pub fn tenant_id(&self) -> &str {
        &self.state.config.tenant_id
    }

    /// The configuration the emulator started with; [`Emulator::set_token_lifetime`] does not change it (see
    /// [`Emulator::token_lifetime`]).
    pub fn config(&self) -> &EmulatorConfig {
        &self.state.config
    }

    /// The identity served when a request names none.
    pub fn system_assigned(&self) -> &ManagedIdentity {
        &self.state.config.system_assigned
    }

    /// The identities a request may select.
    pub fn user_assigned(&self) -> &[ManagedIdentity] {
        &self.state.config.user_assigned
    }

    /// Requests received by `endpoint` since start or the last [`Emulator::reset_counters`], faulted ones included.
    pub fn count(&self, endpoint: Endpoint) -> usize {
        self.state.count(endpoint)
    }

    /// Every request `endpoint` received since start or the last reset, in arrival order.
    pub fn requests(&self, endpoint: Endpoint) -> Vec<RecordedRequest> {
        self.state.requests(endpoint)
    }

    /// Queues faults for `endpoint`: each request consumes the next one; once the queue is empty, requests get
    /// the persistent fault if one is set, else normal answers.
    pub fn push_faults(&self, endpoint: Endpoint, faults: impl IntoIterator<Item = Fault>) {
        self.state.push_faults(endpoint, faults);
    }

    /// Makes every request to `endpoint` that finds the queue empty suffer `fault`; `None` clears it.
    pub fn set_persistent_fault(&self, endpoint: Endpoint, fault: Option<Fault>) {
        self.state.set_persistent_fault(endpoint, fault);
    }

    /// Lifetime of tokens issued from now on.
    pub fn set_token_lifetime(&self, d: Duration) {
        self.state.set_token_lifetime(d);
    }

    /// Lifetime of tokens issued now.
    pub fn token_lifetime(&self) -> Duration {
        self.state.token_lifetime()
    }

    /// When `Some`, successes carry `refresh_in`: a string on the managed identity endpoints, a number on the
    /// token endpoint, as each service sends it.
    pub fn set_refresh_in(&self, secs: Option<u64>) {
        self.state.set_refresh_in(secs);
    }

    /// Forgets every recorded request, so counts restart at 0. Queued and persistent faults stay.
    pub fn reset_counters(&self) {
        self.state.forget_requests();
    }

    /// The JWKS served for this tenant (`/{tenant}/discovery/v2.0/keys`).
    pub fn jwks(&self) -> Value {
        self.state.jwks(&routes::v2_issuer(self.tenant_id()))
    }

    /// Signs with the next shipped key from now on; the JWKS then lists the new key and the old one. Until the
    /// first rotation it lists only the first key.
    pub fn rotate_signing_key(&self) {
        self.state.rotate_signing_key();
    }

    /// Stops accepting, lets in-flight requests finish (stalled bodies and delays end at once), and waits up to
    /// 5 s for the server to stop.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if let Some(mut server) = self.server.take()
            && tokio::time::timeout(GRACE, &mut server).await.is_err()
        {
            server.abort();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}
