//! Named identities: which identity answers a plugin. A policy's `[identities.<name>]`
//! describes one (a user-assigned managed identity, an app registration with a client
//! secret or a certificate, workload identity with a token file), a plugin's
//! `identity = "<name>"` picks it, and the host keeps one [`Identity`] per name, shared
//! by every plugin naming it. A plugin naming none is answered by the host's own.
//!
//! ```toml
//! [identities.reporter]
//! kind = "managed-identity"
//! client_id = "00000000-0000-0000-0000-000000000001"
//!
//! [identities.billing]
//! kind = "client-secret"
//! tenant_id = "contoso.onmicrosoft.com"
//! client_id = "00000000-0000-0000-0000-000000000002"
//! client_secret_env = "BILLING_CLIENT_SECRET"
//!
//! [plugins.report]
//! identity = "reporter"
//! scopes = ["https://vault.azure.net/.default"]
//! ```
//!
//! **Secrets are referenced, never written in the policy**: `client_secret_env` names a
//! variable of the host's environment, `client_secret_file` a file (a mounted
//! Kubernetes secret); both are read when the host starts. A policy file is
//! configuration: reviewed, diffed, committed, mounted from a config map, printed in
//! `Debug`. A secret in it would travel with all of that. An inline `client_secret` is
//! refused, naming the fields to use instead. Certificates are referenced by path for
//! the same reason (their directory is opened read-only to that identity's component,
//! never to a plugin).
//!
//! Each named identity is its own [`Identity`]: its own instances, fast path and
//! single flight, and cache entries bound to its own credential (the component keys
//! every cache entry by the credential's proof), so two plugins with different
//! identities never share a token, even through one shared store.

use crate::{AppOptions, CertificateSource, CredentialKind, IdentityConfig, UserAssignedId};
use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;

/// One identity a policy names (`[identities.<name>]`), chosen by `kind`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub enum PluginIdentity {
    /// A managed identity of the host's managed-identity source: a user-assigned one
    /// named by exactly one of its ids, or the system-assigned one when none is given.
    ManagedIdentity {
        /// The user-assigned identity's client (application) id.
        client_id: Option<String>,
        /// Its object (principal) id.
        object_id: Option<String>,
        /// Its Azure resource id.
        resource_id: Option<String>,
    },
    /// An app registration with a client secret, read from the environment or a file.
    ClientSecret {
        /// The app's home tenant.
        tenant_id: String,
        /// The app's client id.
        client_id: String,
        /// The host's environment variable holding the secret.
        client_secret_env: Option<String>,
        /// A file holding the secret (surrounding whitespace is trimmed).
        client_secret_file: Option<PathBuf>,
        /// The authority; else the host's `AZURE_AUTHORITY_HOST`, else the public cloud.
        authority_host: Option<String>,
    },
    /// An app registration with a certificate (PEM: certificate and private key).
    ClientCertificate {
        /// The app's home tenant.
        tenant_id: String,
        /// The app's client id.
        client_id: String,
        /// The PEM file, an absolute path; its directory is opened read-only to this
        /// identity's component.
        certificate_path: PathBuf,
        /// Send the certificate chain (`x5c`, subject name/issuer auth).
        #[serde(default)]
        send_certificate_chain: bool,
        /// The authority; else the host's `AZURE_AUTHORITY_HOST`, else the public cloud.
        authority_host: Option<String>,
    },
    /// Workload identity federation with a projected service account token file.
    WorkloadIdentity {
        /// The app's (or user-assigned identity's) tenant.
        tenant_id: String,
        /// Its client id.
        client_id: String,
        /// The projected token file, an absolute path.
        token_file: PathBuf,
        /// The authority; else the host's `AZURE_AUTHORITY_HOST`, else the public cloud.
        authority_host: Option<String>,
    },
}

impl fmt::Debug for PluginIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Nothing here is a secret (the secret itself is only referenced), but keep the
        // shape explicit so a future inline field cannot leak by derive.
        match self {
            PluginIdentity::ManagedIdentity {
                client_id,
                object_id,
                resource_id,
            } => f
                .debug_struct("ManagedIdentity")
                .field("client_id", client_id)
                .field("object_id", object_id)
                .field("resource_id", resource_id)
                .finish(),
            PluginIdentity::ClientSecret {
                tenant_id,
                client_id,
                client_secret_env,
                client_secret_file,
                authority_host,
            } => f
                .debug_struct("ClientSecret")
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("client_secret_env", client_secret_env)
                .field("client_secret_file", client_secret_file)
                .field("authority_host", authority_host)
                .finish(),
            PluginIdentity::ClientCertificate {
                tenant_id,
                client_id,
                certificate_path,
                send_certificate_chain,
                authority_host,
            } => f
                .debug_struct("ClientCertificate")
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("certificate_path", certificate_path)
                .field("send_certificate_chain", send_certificate_chain)
                .field("authority_host", authority_host)
                .finish(),
            PluginIdentity::WorkloadIdentity {
                tenant_id,
                client_id,
                token_file,
                authority_host,
            } => f
                .debug_struct("WorkloadIdentity")
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("token_file", token_file)
                .field("authority_host", authority_host)
                .finish(),
        }
    }
}

/// Variables of the host's identity that configure *its* credential; a named identity
/// never inherits them (it would otherwise silently run as, or next to, the host's app).
/// Endpoint variables (IMDS, App Service, the authority host) are kept: they say where,
/// not who.
const CREDENTIAL_VARS: &[&str] = &[
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_ADDITIONALLY_ALLOWED_TENANTS",
    "AZURE_TOKEN_CREDENTIALS",
    "DEFAULT_IDENTITY_CLIENT_ID",
];

impl PluginIdentity {
    /// A user-assigned managed identity by client id.
    pub fn user_assigned_client_id(client_id: impl Into<String>) -> Self {
        PluginIdentity::ManagedIdentity {
            client_id: Some(client_id.into()),
            object_id: None,
            resource_id: None,
        }
    }

    /// Whether it is usable as written; the error names the field (after the caller's
    /// `identities.<name>.` prefix).
    pub(crate) fn check(&self) -> Result<(), String> {
        let non_empty = |field: &str, value: &str| {
            if value.trim().is_empty() {
                Err(format!("{field} is empty"))
            } else {
                Ok(())
            }
        };
        let absolute = |field: &str, path: &PathBuf| {
            if path.is_absolute() {
                Ok(())
            } else {
                Err(format!(
                    "{field}: {} must be an absolute path",
                    path.display()
                ))
            }
        };
        match self {
            PluginIdentity::ManagedIdentity {
                client_id,
                object_id,
                resource_id,
            } => {
                let given: Vec<(&str, &String)> = [
                    ("client_id", client_id),
                    ("object_id", object_id),
                    ("resource_id", resource_id),
                ]
                .into_iter()
                .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
                .collect();
                if given.len() > 1 {
                    return Err(format!(
                        "{}: name a user-assigned identity by one id only",
                        given.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
                    ));
                }
                for (k, v) in given {
                    non_empty(k, v)?;
                }
            }
            PluginIdentity::ClientSecret {
                tenant_id,
                client_id,
                client_secret_env,
                client_secret_file,
                ..
            } => {
                non_empty("tenant_id", tenant_id)?;
                non_empty("client_id", client_id)?;
                match (client_secret_env, client_secret_file) {
                    (Some(var), None) => non_empty("client_secret_env", var)?,
                    (None, Some(file)) => absolute("client_secret_file", file)?,
                    (Some(_), Some(_)) => {
                        return Err(
                            "client_secret_env, client_secret_file: give one, not both".into()
                        );
                    }
                    (None, None) => {
                        return Err(
                            "client_secret_env: missing; name the variable (or client_secret_file the file) holding the secret"
                                .into(),
                        );
                    }
                }
            }
            PluginIdentity::ClientCertificate {
                tenant_id,
                client_id,
                certificate_path,
                ..
            } => {
                non_empty("tenant_id", tenant_id)?;
                non_empty("client_id", client_id)?;
                absolute("certificate_path", certificate_path)?;
            }
            PluginIdentity::WorkloadIdentity {
                tenant_id,
                client_id,
                token_file,
                ..
            } => {
                non_empty("tenant_id", tenant_id)?;
                non_empty("client_id", client_id)?;
                absolute("token_file", token_file)?;
            }
        }
        Ok(())
    }

    /// The configuration of this identity: `base` (the host identity's endpoints,
    /// cache, clock and limits) with this credential, and none of `base`'s own
    /// credential variables. `var` reads the host's environment (for
    /// `client_secret_env`).
    pub(crate) fn config(
        &self,
        base: &IdentityConfig,
        var: &dyn Fn(&str) -> Option<String>,
    ) -> Result<IdentityConfig, String> {
        let mut config = base.clone();
        config
            .env
            .retain(|k, _| !CREDENTIAL_VARS.contains(&k.as_str()));
        // Reach what this credential needs, derived from it, not the host's list.
        config.allowed_urls = None;
        let app = |tenant_id: &str, client_id: &str, authority_host: &Option<String>| {
            let mut app = AppOptions::new(tenant_id, client_id);
            app.authority_host = authority_host.clone();
            app
        };
        config.credential = match self {
            PluginIdentity::ManagedIdentity {
                client_id,
                object_id,
                resource_id,
            } => {
                let user_assigned = (client_id.clone().map(UserAssignedId::ClientId))
                    .or_else(|| object_id.clone().map(UserAssignedId::ObjectId))
                    .or_else(|| resource_id.clone().map(UserAssignedId::ResourceId));
                config.managed_identity = base.managed_identity.clone();
                config.managed_identity.user_assigned = user_assigned;
                CredentialKind::ManagedIdentity
            }
            PluginIdentity::ClientSecret {
                tenant_id,
                client_id,
                client_secret_env,
                client_secret_file,
                authority_host,
            } => {
                let secret = match (client_secret_env, client_secret_file) {
                    (Some(name), _) => var(name)
                        .filter(|s| !s.trim().is_empty())
                        .ok_or_else(|| {
                            format!("client_secret_env: the variable {name} is not set in the host's environment")
                        })?,
                    (None, Some(path)) => std::fs::read_to_string(path)
                        .map(|s| s.trim().to_string())
                        .map_err(|e| {
                            format!("client_secret_file: cannot read {}: {e}", path.display())
                        })?,
                    (None, None) => return Err("client_secret_env: missing".into()),
                };
                CredentialKind::ClientSecret {
                    app: app(tenant_id, client_id, authority_host),
                    secret,
                }
            }
            PluginIdentity::ClientCertificate {
                tenant_id,
                client_id,
                certificate_path,
                send_certificate_chain,
                authority_host,
            } => CredentialKind::ClientCertificate {
                app: app(tenant_id, client_id, authority_host),
                certificate: CertificateSource::Path(certificate_path.to_string_lossy().into()),
                send_certificate_chain: Some(*send_certificate_chain),
                rs256: false,
            },
            PluginIdentity::WorkloadIdentity {
                tenant_id,
                client_id,
                token_file,
                authority_host,
            } => CredentialKind::WorkloadIdentity {
                app: app(tenant_id, client_id, authority_host),
                token_file: Some(token_file.to_string_lossy().into()),
                // A named identity reaches Entra directly; the AKS token proxy is the
                // host's own opt-in (`IdentityConfig`), not yet a policy setting.
                enable_azure_proxy: false,
            },
        };
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_named_identity_drops_the_hosts_credential_and_keeps_its_endpoints() {
        let mut base = IdentityConfig::default();
        for (k, v) in [
            ("AZURE_CLIENT_ID", "host-app"),
            ("AZURE_CLIENT_SECRET", "host-secret"),
            ("AZURE_TENANT_ID", "host-tenant"),
            ("IMDS_ENDPOINT", "http://imds.local"),
            ("AZURE_AUTHORITY_HOST", "https://login.local"),
        ] {
            base.env.insert(k.into(), v.into());
        }
        let mi = PluginIdentity::user_assigned_client_id("uami-1")
            .config(&base, &no_env)
            .unwrap();
        assert_eq!(
            mi.managed_identity.user_assigned,
            Some(UserAssignedId::ClientId("uami-1".into()))
        );
        assert!(matches!(mi.credential, CredentialKind::ManagedIdentity));
        let names: Vec<_> = mi.env.keys().map(String::as_str).collect();
        assert_eq!(names, ["AZURE_AUTHORITY_HOST", "IMDS_ENDPOINT"]);

        let secret = PluginIdentity::ClientSecret {
            tenant_id: "t".into(),
            client_id: "c".into(),
            client_secret_env: Some("PLUGIN_SECRET".into()),
            client_secret_file: None,
            authority_host: None,
        };
        let env = |k: &str| (k == "PLUGIN_SECRET").then(|| "from-env".to_string());
        match secret.config(&base, &env).unwrap().credential {
            CredentialKind::ClientSecret { app, secret } => {
                assert_eq!(secret, "from-env");
                assert_eq!(app.client_id.as_deref(), Some("c"));
            }
            other => panic!("{other:?}"),
        }
        let missing = secret.config(&base, &no_env).unwrap_err();
        assert!(missing.contains("client_secret_env"), "{missing}");
        assert!(missing.contains("PLUGIN_SECRET"), "{missing}");
    }

    #[test]
    fn a_secret_file_is_read_and_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "file-secret\n").unwrap();
        let id = PluginIdentity::ClientSecret {
            tenant_id: "t".into(),
            client_id: "c".into(),
            client_secret_env: None,
            client_secret_file: Some(path),
            authority_host: Some("https://login.example".into()),
        };
        let config = id.config(&IdentityConfig::default(), &no_env).unwrap();
        assert!(
            config
                .outbound_urls()
                .iter()
                .any(|u| u == "https://login.example")
        );
        match config.credential {
            CredentialKind::ClientSecret { secret, .. } => assert_eq!(secret, "file-secret"),
            other => panic!("{other:?}"),
        }
    }
}
