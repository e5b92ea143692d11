//! What an [`Identity`](crate::Identity) is built from: [`IdentityConfig`] and the
//! [`InstanceLimits`] it shares with a [`Validator`](crate::Validator).

use crate::error::{Error, Result};
use crate::identity::credential_kind::{CertificateSource, CredentialKind};
use crate::outbound::TlsRoots;
use crate::runtime::clock::WallClock;
use crate::shared_cache::CacheConfig;
use entra_identity_core::confidential::TokenProxy;
use entra_identity_core::managed_identity::{self, ManagedIdentityOptions, ManagedIdentitySource};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Environment variables the component may read; nothing else is passed through.
pub const IDENTITY_ENV_VARS: &[&str] = &[
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_AUTHORITY_HOST",
    "AZURE_FEDERATED_TOKEN_FILE",
    "DEFAULT_IDENTITY_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN",
    "AZURE_ADDITIONALLY_ALLOWED_TENANTS",
    "AZURE_TOKEN_CREDENTIALS",
    // AKS identity binding, read only by a workload identity that enables it.
    "AZURE_KUBERNETES_TOKEN_PROXY",
    "AZURE_KUBERNETES_SNI_NAME",
    "AZURE_KUBERNETES_CA_FILE",
    "AZURE_KUBERNETES_CA_DATA",
];

const PUBLIC_AUTHORITY: &str = "https://login.microsoftonline.com";
/// Where the Azure Arc agent writes its challenge key files (Linux).
const ARC_TOKEN_DIR: &str = "/var/opt/azcmagent/tokens";

const DEFAULT_IMDS: &str = "http://169.254.169.254";

/// What an [`Identity`](crate::Identity) is: the environment and options the component
/// sees, the token cache it shares, what it may reach, and the limits its instances run
/// under. The engine those instances run on is the [`Runtime`](crate::Runtime)'s.
///
/// Build it with [`IdentityConfig::default`] or [`IdentityConfig::from_env`] and the
/// `with_*` methods; fields stay public to read and adjust.
#[derive(Clone)]
#[non_exhaustive]
pub struct IdentityConfig {
    /// The environment the component sees (only these variables).
    pub env: BTreeMap<String, String>,
    /// Which credential runs.
    pub credential: CredentialKind,
    /// Where the Azure Arc agent writes challenge keys; `None`: its standard place.
    /// Opened read-only to the component when Arc is the managed-identity source.
    pub arc_token_dir: Option<PathBuf>,
    /// Managed-identity options; each overrides the environment.
    pub managed_identity: ManagedIdentityOptions,
    /// The URLs the component may reach. `None`: only the endpoint of the source this
    /// configuration selects. `Some`: exactly these, nothing derived.
    pub allowed_urls: Option<Vec<String>>,
    /// The wall clock the component sees (tests move it; production leaves `None`).
    pub wall_clock: Option<Arc<dyn WallClock>>,
    /// The token cache every instance shares (L2): store, keys, bucket.
    pub cache: CacheConfig,
    /// Memory, deadline and number of the instances.
    pub limits: InstanceLimits,
    /// Which certificate authorities the component's HTTPS requests trust: the
    /// system's store (default) or the built-in web PKI roots only.
    pub tls_roots: TlsRoots,
    /// `true`: a token the component returned is served by the host, without entering
    /// an instance, until the component's own `refresh_on` (never for claims or
    /// force-refresh requests). `false`: every call reaches the component, as in
    /// tests and benchmarks of the component itself.
    pub host_fast_path: bool,
    /// Where its metrics and spans go: [`Telemetry::global`](crate::Telemetry::global)
    /// by default (no-ops until the application installs OpenTelemetry providers).
    pub telemetry: crate::Telemetry,
    /// How the developer's tools are run when `AZURE_TOKEN_CREDENTIALS` selects them
    /// (`dev`, or one tool's credential name) in the default chain: that selection
    /// narrows [`DevToolsOptions::tools`](crate::dev_tools::DevToolsOptions::tools).
    #[cfg(feature = "dev-tools")]
    pub developer_tools: crate::dev_tools::DevToolsOptions,
}

/// The limits the component's instances run under, for an
/// [`Identity`](crate::Identity) or a [`Validator`](crate::Validator).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstanceLimits {
    /// Most linear memory one instance may use. With a pooling
    /// [`Runtime`](crate::Runtime), its slot size caps it too.
    pub memory_limit: usize,
    /// Longest one call into the component may take, retries included.
    pub call_timeout: Duration,
    /// Most instances running at once; more concurrent callers wait for one.
    pub max_instances: usize,
    /// `true`: an instance goes back to the pool after a call. `false`: every call gets
    /// a fresh instance, as in Spin; the shared cache still answers. Then prefer a
    /// [`Runtime`](crate::Runtime) with a pooling allocator
    /// ([`RuntimeConfig::with_pooling_allocator`](crate::RuntimeConfig::with_pooling_allocator)):
    /// it makes a fresh instance in about half the time of one mapped on demand.
    pub reuse_instances: bool,
}

impl Default for InstanceLimits {
    fn default() -> Self {
        InstanceLimits {
            memory_limit: 64 << 20,
            // IMDS retries for up to 90 s; leave room for the last attempt.
            call_timeout: Duration::from_secs(120),
            max_instances: 8,
            reuse_instances: true,
        }
    }
}

impl InstanceLimits {
    /// Sets [`Self::memory_limit`].
    pub fn with_memory_limit(mut self, bytes: usize) -> Self {
        self.memory_limit = bytes;
        self
    }

    /// Sets [`Self::call_timeout`].
    pub fn with_call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// Sets [`Self::max_instances`].
    pub fn with_max_instances(mut self, max: usize) -> Self {
        self.max_instances = max;
        self
    }

    /// Sets [`Self::reuse_instances`].
    pub fn with_reuse_instances(mut self, reuse: bool) -> Self {
        self.reuse_instances = reuse;
        self
    }
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            env: BTreeMap::new(),
            credential: CredentialKind::default(),
            arc_token_dir: None,
            managed_identity: ManagedIdentityOptions::default(),
            allowed_urls: None,
            wall_clock: None,
            cache: CacheConfig::default(),
            limits: InstanceLimits::default(),
            tls_roots: TlsRoots::default(),
            host_fast_path: true,
            telemetry: crate::Telemetry::global(),
            #[cfg(feature = "dev-tools")]
            developer_tools: Default::default(),
        }
    }
}

impl fmt::Debug for IdentityConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values can be secrets (IDENTITY_HEADER, MSI_SECRET): show names only.
        f.debug_struct("IdentityConfig")
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("credential", &self.credential)
            .field("arc_token_dir", &self.arc_token_dir)
            .field("managed_identity", &self.managed_identity)
            .field("allowed_urls", &self.allowed_urls)
            .field("cache", &self.cache)
            .field("limits", &self.limits)
            .field("tls_roots", &self.tls_roots)
            .field("host_fast_path", &self.host_fast_path)
            .finish_non_exhaustive()
    }
}

impl IdentityConfig {
    /// The defaults (managed identity, nothing from the environment) with `credential`.
    pub fn new(credential: CredentialKind) -> Self {
        IdentityConfig {
            credential,
            ..Default::default()
        }
    }

    /// Sets [`Self::env`].
    pub fn with_env(mut self, env: BTreeMap<String, String>) -> Self {
        self.env = env;
        self
    }

    /// Sets [`Self::credential`].
    pub fn with_credential(mut self, credential: CredentialKind) -> Self {
        self.credential = credential;
        self
    }

    /// Sets [`Self::arc_token_dir`].
    pub fn with_arc_token_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.arc_token_dir = dir;
        self
    }

    /// Sets [`Self::managed_identity`].
    pub fn with_managed_identity(mut self, options: ManagedIdentityOptions) -> Self {
        self.managed_identity = options;
        self
    }

    /// Declares client capabilities (`cp1`) for whichever credential runs: on the
    /// credential's app registration ([`CredentialKind::with_client_capabilities`]) and
    /// in [`Self::managed_identity`], for the kinds that include managed identity (only
    /// sources that can pass them on send them). Set the credential first.
    pub fn with_client_capabilities<S: AsRef<str>>(mut self, capabilities: &[S]) -> Self {
        self.credential = self.credential.with_client_capabilities(capabilities);
        self.managed_identity = self.managed_identity.client_capabilities(capabilities);
        self
    }

    /// Sets [`Self::allowed_urls`].
    pub fn with_allowed_urls(mut self, urls: Option<Vec<String>>) -> Self {
        self.allowed_urls = urls;
        self
    }

    /// Sets [`Self::wall_clock`].
    pub fn with_wall_clock(mut self, clock: Option<Arc<dyn WallClock>>) -> Self {
        self.wall_clock = clock;
        self
    }

    /// Sets [`Self::cache`].
    pub fn with_cache(mut self, cache: CacheConfig) -> Self {
        self.cache = cache;
        self
    }

    /// Sets [`Self::limits`].
    pub fn with_limits(mut self, limits: InstanceLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets [`Self::developer_tools`].
    #[cfg(feature = "dev-tools")]
    pub fn with_developer_tools(mut self, options: crate::dev_tools::DevToolsOptions) -> Self {
        self.developer_tools = options;
        self
    }

    /// Sets [`Self::tls_roots`].
    pub fn with_tls_roots(mut self, roots: TlsRoots) -> Self {
        self.tls_roots = roots;
        self
    }

    /// Sets [`Self::telemetry`].
    pub fn with_telemetry(mut self, telemetry: crate::Telemetry) -> Self {
        self.telemetry = telemetry;
        self
    }

    /// Sets [`Self::host_fast_path`].
    pub fn with_host_fast_path(mut self, on: bool) -> Self {
        self.host_fast_path = on;
        self
    }

    /// The defaults, with the identity variables, the shared cache's
    /// (`ENTRA_IDENTITY_CACHE_*`) and the trust roots ([`TlsRoots::ENV_VAR`]) from this
    /// process's environment.
    pub fn from_env() -> Result<Self> {
        Ok(IdentityConfig {
            env: Self::env_from_process(),
            cache: CacheConfig::from_process_env()?,
            tls_roots: TlsRoots::from_env(|k| std::env::var(k).ok()).map_err(Error::Config)?,
            ..Default::default()
        })
    }

    /// The identity variables of this process's environment.
    pub fn env_from_process() -> BTreeMap<String, String> {
        IDENTITY_ENV_VARS
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
            .collect()
    }

    /// The URLs the outbound allowlist holds: [`Self::allowed_urls`] when set, else
    /// the endpoints the configured credential talks to. Nothing else.
    pub fn outbound_urls(&self) -> Vec<String> {
        if let Some(urls) = &self.allowed_urls {
            return urls.clone();
        }
        let mut urls = Vec::new();
        if self.credential.uses_managed_identity() {
            urls.extend(self.managed_identity_url());
        }
        if let Some(proxy) = self.aks_token_proxy() {
            // Identity binding: the token request goes to the proxy, never to Entra.
            urls.push(proxy.url());
        } else if matches!(self.credential, CredentialKind::DefaultChain)
            || self.credential.app().is_some()
        {
            urls.push(self.authority_host());
        }
        urls
    }

    fn var(&self, k: &str) -> Option<String> {
        self.env.get(k).filter(|v| !v.trim().is_empty()).cloned()
    }

    fn authority_host(&self) -> String {
        self.credential
            .app()
            .and_then(|a| a.authority_host.clone())
            .or_else(|| self.var("AZURE_AUTHORITY_HOST"))
            .unwrap_or_else(|| PUBLIC_AUTHORITY.to_string())
    }

    /// The Arc key directory the component is told about and may read:
    /// [`arc_token_dir`](Self::arc_token_dir), else the managed-identity options' own.
    pub(crate) fn arc_key_dir(&self) -> Option<PathBuf> {
        self.arc_token_dir.clone().or_else(|| {
            self.managed_identity
                .arc_token_directory
                .as_ref()
                .map(PathBuf::from)
        })
    }

    pub(crate) fn managed_identity_source(&self) -> Option<ManagedIdentitySource> {
        let env = |k: &str| self.var(k);
        self.managed_identity
            .source
            .or_else(|| managed_identity::detect(&env).ok())
    }

    fn managed_identity_url(&self) -> Option<String> {
        let endpoint = self.managed_identity.endpoint.clone();
        match self.managed_identity_source()? {
            ManagedIdentitySource::Imds => Some(
                endpoint
                    .or_else(|| self.var("AZURE_POD_IDENTITY_AUTHORITY_HOST"))
                    .unwrap_or_else(|| DEFAULT_IMDS.to_string()),
            ),
            ManagedIdentitySource::AppService
            | ManagedIdentitySource::ServiceFabric
            | ManagedIdentitySource::AzureArc => endpoint.or_else(|| self.var("IDENTITY_ENDPOINT")),
            ManagedIdentitySource::CloudShell | ManagedIdentitySource::AzureMl => {
                endpoint.or_else(|| self.var("MSI_ENDPOINT"))
            }
        }
    }

    /// The IMDS endpoint, when IMDS may be the managed-identity source (its concurrent
    /// requests are capped).
    pub fn imds_url(&self) -> Option<String> {
        if self.credential.uses_managed_identity()
            && self.managed_identity_source() == Some(ManagedIdentitySource::Imds)
        {
            self.managed_identity_url()
        } else {
            None
        }
    }

    /// The Service Fabric endpoint and the thumbprint its self-signed certificate must
    /// have, when Service Fabric is the managed-identity source. The guest cannot check
    /// a certificate, so the host pins it for that one endpoint.
    pub fn service_fabric_pin(&self) -> Option<(String, String)> {
        if !self.credential.uses_managed_identity()
            || self.managed_identity_source() != Some(ManagedIdentitySource::ServiceFabric)
        {
            return None;
        }
        Some((
            self.managed_identity_url()?,
            self.var("IDENTITY_SERVER_THUMBPRINT")?,
        ))
    }

    /// AKS identity binding's settings, when the credential is a workload identity that
    /// enables it and `AZURE_KUBERNETES_TOKEN_PROXY` is set. Invalid settings are `None`
    /// here: the component refuses them, with the error that says what to fix, when
    /// the credential is created.
    pub fn aks_token_proxy(&self) -> Option<TokenProxy> {
        if !matches!(
            self.credential,
            CredentialKind::WorkloadIdentity {
                enable_azure_proxy: true,
                ..
            }
        ) {
            return None;
        }
        TokenProxy::from_env(&|k: &str| self.var(k)).ok().flatten()
    }

    /// Directories the component may read (read-only): those of the federated token
    /// file and the certificate file, and the Arc agent's key directory when Arc is
    /// the managed-identity source.
    pub fn readable_dirs(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        let chain = matches!(self.credential, CredentialKind::DefaultChain);
        match &self.credential {
            CredentialKind::WorkloadIdentity { token_file, .. } => files.extend(
                token_file
                    .clone()
                    .or_else(|| self.var("AZURE_FEDERATED_TOKEN_FILE")),
            ),
            CredentialKind::ClientCertificate {
                certificate: CertificateSource::Path(p),
                ..
            } => files.push(p.clone()),
            _ if chain => {
                files.extend(self.var("AZURE_FEDERATED_TOKEN_FILE"));
                files.extend(self.var("AZURE_CLIENT_CERTIFICATE_PATH"));
            }
            _ => {}
        }
        let mut dirs: Vec<PathBuf> = files
            .iter()
            .filter_map(|f| std::path::Path::new(f).parent().map(PathBuf::from))
            .collect();
        if self.credential.uses_managed_identity()
            && self.managed_identity_source() == Some(ManagedIdentitySource::AzureArc)
        {
            dirs.push(
                self.arc_key_dir()
                    .unwrap_or_else(|| PathBuf::from(ARC_TOKEN_DIR)),
            );
        }
        dirs.sort();
        dirs.dedup();
        dirs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(env: &[(&str, &str)]) -> IdentityConfig {
        IdentityConfig {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn the_allowlist_holds_only_the_selected_endpoint() {
        assert_eq!(config(&[]).outbound_urls(), ["http://169.254.169.254"]);
        let app = config(&[
            ("IDENTITY_ENDPOINT", "http://127.0.0.1:41/msi/token"),
            ("IDENTITY_HEADER", "h"),
        ]);
        assert_eq!(app.outbound_urls(), ["http://127.0.0.1:41/msi/token"]);
        let pod = config(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9")]);
        assert_eq!(pod.outbound_urls(), ["http://127.0.0.1:9"]);
    }

    #[test]
    fn client_capabilities_reach_the_app_and_managed_identity_options() {
        let app = IdentityConfig::new(CredentialKind::WorkloadIdentity {
            app: crate::AppOptions::default(),
            token_file: None,
            enable_azure_proxy: false,
        })
        .with_client_capabilities(&["cp1"]);
        assert_eq!(app.credential.app().unwrap().client_capabilities, ["cp1"]);
        assert_eq!(app.managed_identity.client_capabilities, ["cp1"]);
        let mi = IdentityConfig::default().with_client_capabilities(&["cp1"]);
        assert_eq!(mi.managed_identity.client_capabilities, ["cp1"]);
        // What the component is handed.
        let wit = crate::bindings::wit::AppOptions::from(app.credential.app().unwrap());
        assert_eq!(wit.client_capabilities, ["cp1"]);
        let wit = crate::bindings::wit::ManagedIdentityOptions::from(&mi.managed_identity);
        assert_eq!(wit.client_capabilities, ["cp1"]);
    }

    #[test]
    fn debug_shows_no_env_values_and_no_cache_keys() {
        let mut c = config(&[("IDENTITY_HEADER", "very-secret-header")]);
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        c.cache.keys = crate::shared_cache::CacheKey::parse_list(key).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("very-secret-header"), "{shown}");
        assert!(
            !shown.contains(key) && !shown.contains("AAECAwQF"),
            "{shown}"
        );
        assert!(shown.contains("keys: 1"), "{shown}");
    }
}
