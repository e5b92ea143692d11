//! The running server and the handle tests drive it with.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::apps::AppRegistration;
use crate::config::EmulatorConfig;
use crate::endpoint::Endpoint;
use crate::fault::Fault;
use crate::identity::ManagedIdentity;
use crate::recording::RecordedRequest;
use crate::routes;
use crate::state::EmulatorState;
use crate::tls::{ProxyCertificates, ServerCertificate, TlsListener};
use crate::user_token::UserToken;

/// How long [`Emulator::shutdown`] lets in-flight requests finish before cutting them off.
const GRACE: Duration = Duration::from_secs(5);

/// A running emulator on 127.0.0.1. Dropping it, or calling [`Emulator::shutdown`], stops the server.
pub struct Emulator {
    state: Arc<EmulatorState>,
    addr: SocketAddr,
    /// Service Fabric's HTTPS listener.
    tls_addr: SocketAddr,
    tls_certificate: ServerCertificate,
    /// The AKS token proxy's HTTPS listener and its certificates.
    aks_proxy_addr: SocketAddr,
    aks_proxy: Arc<ProxyCertificates>,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
    /// Whether start created the Arc key directory, and so must remove it.
    created_arc_dir: bool,
}

impl Emulator {
    /// Binds 127.0.0.1 on `config.port` (0 for any free port) and starts serving in the background.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<Emulator> {
        let created_arc_dir = !config.arc_token_dir.exists();
        std::fs::create_dir_all(&config.arc_token_dir)?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).await?;
        let addr = listener.local_addr()?;
        let tls_certificate = ServerCertificate::generate()?;
        let tls_listener = TlsListener::bind(config.service_fabric_port, &tls_certificate).await?;
        let tls_addr = axum::serve::Listener::local_addr(&tls_listener)?;
        let aks_proxy = ProxyCertificates::generate(&config.aks_proxy_sni_name)?;
        let aks_listener =
            TlsListener::bind_with(config.aks_proxy_port, aks_proxy.server_config()?).await?;
        let aks_proxy_addr = axum::serve::Listener::local_addr(&aks_listener)?;
        let (stop, stopped) = watch::channel(false);
        let state = Arc::new(EmulatorState::new(
            Arc::new(config),
            format!("http://{addr}"),
            format!("https://{tls_addr}"),
            stopped,
        ));
        let plain = axum::serve(listener, routes::router(Arc::clone(&state)))
            .with_graceful_shutdown(state.shutting_down());
        let tls = axum::serve(tls_listener, routes::tls_router(Arc::clone(&state)))
            .with_graceful_shutdown(state.shutting_down());
        let aks = axum::serve(aks_listener, routes::aks_proxy_router(Arc::clone(&state)))
            .with_graceful_shutdown(state.shutting_down());
        let servers = vec![
            tokio::spawn(async move {
                if let Err(error) = aks.await {
                    tracing::error!(%error, "emulator AKS token proxy failed");
                }
            }),
            tokio::spawn(async move {
                if let Err(error) = plain.await {
                    tracing::error!(%error, "emulator server failed");
                }
            }),
            tokio::spawn(async move {
                if let Err(error) = tls.await {
                    tracing::error!(%error, "emulator HTTPS server failed");
                }
            }),
        ];
        tracing::info!(%addr, %tls_addr, %aks_proxy_addr, "emulator listening");
        Ok(Emulator {
            state,
            addr,
            tls_addr,
            tls_certificate,
            aks_proxy_addr,
            aks_proxy,
            stop,
            servers,
            created_arc_dir,
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

    /// The most requests `endpoint` was answering at the same time (for concurrency caps).
    pub fn max_in_flight(&self, endpoint: Endpoint) -> usize {
        self.state.max_in_flight(endpoint)
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

    /// Forgets every fault planned for `endpoint`, queued or persistent.
    pub fn clear_faults(&self, endpoint: Endpoint) {
        self.state.clear_faults(endpoint);
    }

    /// Lifetime of tokens issued from now on.
    pub fn set_token_lifetime(&self, d: Duration) {
        self.state.set_token_lifetime(d);
    }

    /// Calls `hook` with every access token minted from now on (any endpoint, any
    /// identity), synchronously, before the token is sent: a test's stand-in for a
    /// resource that validates tokens (a Redis ACL user per token, as Azure Cache for
    /// Redis accepts any valid token of its user).
    pub fn on_token_minted(&self, hook: impl Fn(&crate::MintedToken<'_>) + Send + Sync + 'static) {
        self.state.set_mint_hook(Some(std::sync::Arc::new(hook)));
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

    /// Lists the key [`Self::rotate_signing_key`] will sign with next in the JWKS from
    /// now on, while still signing with the current one: Entra publishes a key well
    /// before it signs with it, so validators that fetched since have it at rotation.
    pub fn announce_next_signing_key(&self) {
        self.state.announce_next_signing_key();
    }

    /// Registers `app` with the token endpoint, replacing any app with the same client id.
    ///
    /// # Panics
    ///
    /// If one of its certificates is not a PEM RSA certificate.
    pub fn register_app(&self, app: AppRegistration) {
        self.state.register_app(app);
    }

    /// The value for `IDENTITY_ENDPOINT` on Azure Arc (with `IMDS_ENDPOINT` set to anything, e.g.
    /// [`Emulator::base_url`]).
    pub fn arc_endpoint(&self) -> String {
        format!("{}/arc/metadata/identity/oauth2/token", self.state.base_url)
    }

    /// Where Arc's challenge writes its key files: the directory a client must accept them from.
    pub fn arc_token_dir(&self) -> &Path {
        self.state.arc.dir()
    }

    /// When `true`, Arc ignores identity selectors and answers for the system-assigned identity without echoing
    /// one, as a legacy agent does.
    pub fn set_arc_legacy_ignores_user_assigned(&self, legacy: bool) {
        self.state.set_arc_legacy_ignores_user_assigned(legacy);
    }

    /// The value for `MSI_ENDPOINT` in Cloud Shell (without `MSI_SECRET`).
    pub fn cloud_shell_endpoint(&self) -> String {
        format!("{}/cloudshell/oauth2/token", self.state.base_url)
    }

    /// The value for `MSI_ENDPOINT` in Azure Machine Learning (with [`Emulator::azure_ml_secret`] as
    /// `MSI_SECRET`, and the system-assigned client id as `DEFAULT_IDENTITY_CLIENT_ID`).
    pub fn azure_ml_endpoint(&self) -> String {
        format!("{}/ml/msi/token", self.state.base_url)
    }

    /// The value for `MSI_SECRET` in Azure Machine Learning.
    pub fn azure_ml_secret(&self) -> &str {
        &self.state.config.ml_secret
    }

    /// The value for `IDENTITY_ENDPOINT` on Service Fabric: an `https://127.0.0.1:PORT/...` URL on a second
    /// port. `IDENTITY_HEADER` is [`Emulator::identity_header`].
    pub fn service_fabric_endpoint(&self) -> String {
        format!(
            "https://{}/sf/metadata/identity/oauth2/token",
            self.tls_addr
        )
    }

    /// The value for `IDENTITY_SERVER_THUMBPRINT`: upper-case hex SHA-1 of the HTTPS certificate.
    pub fn service_fabric_thumbprint(&self) -> &str {
        &self.tls_certificate.thumbprint
    }

    /// The HTTPS certificate (self-signed, for `localhost` and `127.0.0.1`), DER.
    pub fn service_fabric_certificate_der(&self) -> &[u8] {
        &self.tls_certificate.der
    }

    /// A rustls client configuration that trusts exactly the HTTPS listener's certificate (valid for `127.0.0.1`
    /// and `localhost`), for clients in tests that talk to [`Emulator::key_vault_https_url`] or the token endpoint
    /// there. The ring provider is named explicitly: with more than one compiled in, rustls will not pick.
    pub fn tls_client_config(&self) -> rustls::ClientConfig {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(
                self.tls_certificate.der.clone(),
            ))
            .expect("the emulator's certificate is a trust anchor");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth()
    }

    /// The HTTPS certificate, PEM.
    pub fn service_fabric_certificate_pem(&self) -> &str {
        &self.tls_certificate.pem
    }

    /// The value for `AZURE_KUBERNETES_TOKEN_PROXY`: `https://127.0.0.1:PORT/aks/identity-binding`, the AKS token
    /// proxy of identity binding on its own HTTPS port. Its certificate is issued by [`Emulator::aks_proxy_ca_pem`]
    /// for [`Emulator::aks_proxy_sni_name`] only, so a client must trust that CA and send that SNI name. Requests are
    /// recorded under [`Endpoint::AksProxy`] as received; `{url}/{tenant}/oauth2/v2.0/token` is answered as the
    /// token endpoint answers.
    pub fn aks_proxy_url(&self) -> String {
        format!("https://{}{}", self.aks_proxy_addr, routes::AKS_PROXY_PATH)
    }

    /// The value for `AZURE_KUBERNETES_SNI_NAME` (the config's `aks_proxy_sni_name`, by default
    /// `aks-proxy.emulator.invalid`): the one name the proxy's certificate is for and the one SNI it answers.
    pub fn aks_proxy_sni_name(&self) -> &str {
        self.aks_proxy.sni_name()
    }

    /// The CA that issued the proxy's current certificate, PEM: the value for `AZURE_KUBERNETES_CA_DATA`, or the
    /// content of `AZURE_KUBERNETES_CA_FILE`.
    pub fn aks_proxy_ca_pem(&self) -> String {
        self.aks_proxy.ca_pem()
    }

    /// Replaces the proxy's CA and certificate with new ones, as a cluster's CA rotation does: handshakes from now on
    /// present a certificate only the new [`Emulator::aks_proxy_ca_pem`] trusts.
    pub fn rotate_aks_proxy_ca(&self) {
        self.aks_proxy
            .rotate()
            .expect("rcgen makes a CA and a certificate");
    }

    /// The SNI name of every TLS handshake the proxy saw, in order (`None`: the client sent none), refused ones
    /// included.
    pub fn aks_proxy_sni_seen(&self) -> Vec<Option<String>> {
        self.aks_proxy.seen()
    }

    /// `<base_url>/oidc`: the issuer of [`Emulator::mint_service_account_token`]'s tokens, to put in a federated
    /// credential. Its discovery document is at `/oidc/.well-known/openid-configuration`.
    pub fn oidc_issuer(&self) -> String {
        self.state.oidc_issuer()
    }

    /// The OIDC issuer's JWKS (`/oidc/openid/v1/jwks`).
    pub fn oidc_jwks(&self) -> Value {
        crate::service_account::jwks(self.state.oidc_key())
    }

    /// A Kubernetes service account token (RS256) from [`Emulator::oidc_issuer`]: `sub` =
    /// `system:serviceaccount:<namespace>:<service_account>`, `aud` = `["api://AzureADTokenExchange"]`, valid
    /// from the emulator clock's now for `lifetime`.
    pub fn mint_service_account_token(
        &self,
        namespace: &str,
        service_account: &str,
        lifetime: Duration,
    ) -> String {
        self.state
            .mint_service_account_token(namespace, service_account, lifetime)
    }

    /// Writes a fresh service account token to `<dir>/azure-identity-token`, the file name the workload identity
    /// webhook mounts, and returns its path (for `AZURE_FEDERATED_TOKEN_FILE`). Writing again replaces it, as the
    /// kubelet's rotation does.
    pub fn write_federated_token_file(
        &self,
        dir: &Path,
        namespace: &str,
        service_account: &str,
        lifetime: Duration,
    ) -> std::io::Result<PathBuf> {
        let path = dir.join("azure-identity-token");
        let token = self.mint_service_account_token(namespace, service_account, lifetime);
        // Write then rename, so that a reader never sees half a token.
        let partial = dir.join(".azure-identity-token.partial");
        std::fs::write(&partial, token)?;
        std::fs::rename(&partial, &path)?;
        Ok(path)
    }

    /// An access token from this emulator's tenant for the system-assigned identity as a
    /// caller of the API `audience`, granted app `roles`: what an API protected with
    /// Entra receives. Valid for the configured token lifetime.
    pub fn mint_api_token(&self, audience: &str, roles: &[&str]) -> String {
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        let identity = &self.state.config.system_assigned;
        let subject = crate::token::Subject {
            roles: &roles,
            ..crate::token::Subject::managed(identity)
        };
        let now = self.state.now();
        self.state
            .mint(&subject, audience, self.state.validity(now, false))
    }

    /// A signed-in user's access token to an API, as Entra issues it to the client app the user signed in with,
    /// signed with the current Entra signing key (the JWKS serves it): what a middle-tier API receives and may
    /// exchange on-behalf-of the user at the token endpoint.
    pub fn mint_user_token(&self, user: &UserToken) -> String {
        self.state.mint_user_token(user)
    }

    /// From now on, an on-behalf-of exchange for a scope that starts with `resource` (e.g.
    /// `https://vault.azure.net`) needs a user token whose `amr` has `mfa`; others are answered 400
    /// `interaction_required` AADSTS50079 with a Conditional Access claims challenge, a JSON string naming the
    /// policy `7e57e000-0000-4000-8000-0000000ca001`.
    pub fn require_mfa_for(&self, resource: &str) {
        self.state.require_mfa_for(resource);
    }

    /// Continuous access evaluation's revocation (a password reset, a disabled user): every access token issued
    /// before this call, by any endpoint or [`Emulator::mint_user_token`], is from then on refused by Key Vault
    /// with 401 and a claims challenge asking for a token issued after now. Tokens issued afterwards, even within
    /// the same second, are accepted.
    pub fn revoke_issued_tokens(&self) {
        self.state.revoke_issued_tokens();
    }

    /// The vault URL on the plain port, `http://127.0.0.1:PORT`: secrets are at `{url}/secrets/{name}`.
    pub fn key_vault_url(&self) -> String {
        self.state.base_url.clone()
    }

    /// The vault URL on the HTTPS port (trust [`Emulator::service_fabric_certificate_der`]), for clients such as
    /// Azure SDK pipelines that only send tokens over TLS.
    pub fn key_vault_https_url(&self) -> String {
        format!("https://{}", self.tls_addr)
    }

    /// Stores a new version of the Key Vault secret `name` and returns its version id (32 hex digits); reads
    /// without a version get the newest. Names are case-insensitive.
    ///
    /// # Panics
    ///
    /// If `name` is not a Key Vault secret name: 1–127 ASCII letters, digits and dashes.
    pub fn set_secret(&self, name: &str, value: &str) -> String {
        self.state.key_vault.set(name, value, self.state.now())
    }

    /// Stops accepting, lets in-flight requests finish (stalled bodies and delays end at once), and waits up to
    /// 5 s for the servers to stop.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        for mut server in std::mem::take(&mut self.servers) {
            if tokio::time::timeout(GRACE, &mut server).await.is_err() {
                server.abort();
            }
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        for server in self.servers.drain(..) {
            server.abort();
        }
        if self.created_arc_dir {
            // Best effort: a leftover temp directory is harmless.
            let _ = std::fs::remove_dir_all(self.state.arc.dir());
        }
    }
}
