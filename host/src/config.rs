//! What an [`Identity`](crate::Identity) is built from.

use crate::clock::WallClock;
use entra_identity::managed_identity::{self, ManagedIdentityOptions, SourceKind};
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
];

const DEFAULT_IMDS: &str = "http://169.254.169.254";

/// Host configuration: what the component sees, and the limits it runs under.
#[derive(Clone)]
pub struct IdentityConfig {
    /// The environment the component sees (only these variables).
    pub env: BTreeMap<String, String>,
    /// Managed-identity options; each overrides the environment.
    pub managed_identity: ManagedIdentityOptions,
    /// The URLs the component may reach. `None`: only the endpoint of the source this
    /// configuration selects. `Some`: exactly these, nothing derived.
    pub allowed_urls: Option<Vec<String>>,
    /// Most linear memory the component may use.
    pub memory_limit: usize,
    /// Longest one call into the component may take, retries included.
    pub call_timeout: Duration,
    /// Where compiled components are cached; `None` compiles on every start.
    pub compile_cache_dir: Option<PathBuf>,
    /// The wall clock the component sees (tests move it; production leaves `None`).
    pub wall_clock: Option<Arc<dyn WallClock>>,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            env: BTreeMap::new(),
            managed_identity: ManagedIdentityOptions::default(),
            allowed_urls: None,
            memory_limit: 64 << 20,
            // IMDS retries for up to 90 s; leave room for the last attempt.
            call_timeout: Duration::from_secs(120),
            compile_cache_dir: crate::engine::default_cache_dir(),
            wall_clock: None,
        }
    }
}

impl fmt::Debug for IdentityConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values can be secrets (IDENTITY_HEADER, MSI_SECRET): show names only.
        f.debug_struct("IdentityConfig")
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("managed_identity", &self.managed_identity)
            .field("allowed_urls", &self.allowed_urls)
            .field("memory_limit", &self.memory_limit)
            .field("call_timeout", &self.call_timeout)
            .field("compile_cache_dir", &self.compile_cache_dir)
            .finish_non_exhaustive()
    }
}

impl IdentityConfig {
    /// The identity variables of this process's environment.
    pub fn env_from_process() -> BTreeMap<String, String> {
        IDENTITY_ENV_VARS
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
            .collect()
    }

    /// The URLs the outbound allowlist holds: [`Self::allowed_urls`] when set, else
    /// the endpoint of the source this configuration selects. Nothing else.
    pub fn outbound_urls(&self) -> Vec<String> {
        if let Some(urls) = &self.allowed_urls {
            return urls.clone();
        }
        let env = |k: &str| self.env.get(k).filter(|v| !v.trim().is_empty()).cloned();
        let options = &self.managed_identity;
        let source = options
            .source
            .or_else(|| managed_identity::detect(&env).ok());
        match source {
            Some(SourceKind::Imds) => vec![
                options
                    .endpoint
                    .clone()
                    .or_else(|| env("AZURE_POD_IDENTITY_AUTHORITY_HOST"))
                    .unwrap_or_else(|| DEFAULT_IMDS.to_string()),
            ],
            Some(SourceKind::AppService | SourceKind::ServiceFabric | SourceKind::AzureArc) => {
                options
                    .endpoint
                    .clone()
                    .or_else(|| env("IDENTITY_ENDPOINT"))
                    .into_iter()
                    .collect()
            }
            Some(SourceKind::CloudShell | SourceKind::AzureMl) => options
                .endpoint
                .clone()
                .or_else(|| env("MSI_ENDPOINT"))
                .into_iter()
                .collect(),
            None => Vec::new(),
        }
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
    fn debug_shows_no_env_values() {
        let c = config(&[("IDENTITY_HEADER", "very-secret-header")]);
        assert!(!format!("{c:?}").contains("very-secret-header"));
    }
}
