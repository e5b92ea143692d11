//! Confidential clients: app registrations that get tokens from Entra ID's v2.0
//! token endpoint with a secret, a certificate, a federated token file (workload
//! identity) or a managed identity's token (managed identity as federated credential).

pub mod assertion;
pub mod authority;
pub mod certificate;
mod client;
pub mod entra_error;
pub mod form;
mod kept_assertion;
mod mi_fic;
crate::parses_untrusted_input!(
    mod on_behalf_of;
);
pub mod token_proxy;
mod workload_identity;

pub use assertion::SigningAlgorithm;
pub use authority::{AllowedTenants, Cloud};
pub use client::{AssertionSource, CertificateInput, ClientCredential, ConfidentialClient};
pub use kept_assertion::ASSERTION_REUSE;
pub use mi_fic::{ManagedIdentityAssertion, managed_identity_as_federated_credential};
pub use on_behalf_of::{client_credential, on_behalf_of};
pub use token_proxy::{ProxyCa, TokenProxy};
pub use workload_identity::{
    MAX_TOKEN_FILE, REREAD_AFTER, TokenFile, workload_identity, workload_identity_with_options,
};

use crate::claims::Capabilities;
use crate::credential::Flow;
use crate::error::Error;

pub use entra_identity_types::{AppOptions, CertificateOptions, ClientAuthentication};

/// [`AppOptions`] resolved and validated.
struct App {
    client_id: String,
    tenant_id: String,
    host: String,
    allowed: AllowedTenants,
    capabilities: Capabilities,
}

impl App {
    /// The flow for this app proving itself with `credential`; `kind` names it in
    /// messages.
    fn client(self, kind: &'static str, credential: ClientCredential) -> ConfidentialClient {
        ConfidentialClient::new(
            kind,
            self.host,
            self.tenant_id,
            self.client_id,
            self.allowed,
            credential,
        )
        .with_capabilities(self.capabilities)
    }
}

/// Validates `options`, filling client and tenant id from the environment only when
/// `ids_from_env`.
fn resolve(
    options: AppOptions,
    what: &str,
    ids_from_env: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<App, Error> {
    let id = |given: Option<String>, var: &str| {
        given
            .or_else(|| if ids_from_env { env(var) } else { None })
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                let from = if ids_from_env {
                    format!("{var} or the option")
                } else {
                    "the option".to_string()
                };
                Error::InvalidInput(format!(
                    "{what} needs {} ({from})",
                    var.trim_start_matches("AZURE_").to_lowercase()
                ))
            })
    };
    let client_id = id(options.client_id, "AZURE_CLIENT_ID")?;
    if client_id
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Error::InvalidInput(format!(
            "client id {client_id:?} contains whitespace"
        )));
    }
    let tenant_id = id(options.tenant_id, "AZURE_TENANT_ID")?;
    authority::validate_tenant_id(&tenant_id)?;
    let capabilities = Capabilities::new(&options.client_capabilities)?;
    Ok(App {
        capabilities,
        client_id,
        tenant_id,
        host: authority::authority_host(options.authority_host, env)?,
        allowed: AllowedTenants::new(options.additionally_allowed_tenants, env),
    })
}

/// An app authenticating with a client secret; ids from `app` or the environment.
pub fn client_secret(
    app: AppOptions,
    secret: String,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn Flow>, Error> {
    if secret.is_empty() {
        return Err(Error::InvalidInput("the client secret is empty".into()));
    }
    let app = resolve(app, "a client secret credential", true, env)?;
    Ok(Box::new(
        app.client("client secret", ClientCredential::Secret(secret)),
    ))
}

/// An app authenticating with a certificate; ids from `app` or the environment. A
/// certificate path is read on the first token request, through the platform.
pub fn client_certificate(
    app: AppOptions,
    certificate: CertificateOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn Flow>, Error> {
    let credential = certificate_credential(certificate, env)?;
    let app = resolve(app, "a client certificate credential", true, env)?;
    Ok(Box::new(app.client("client certificate", credential)))
}

/// A certificate as a [`ClientCredential`]: exactly one of PEM or path (PEM, not
/// PKCS#12); the chain is sent when asked, else when
/// `AZURE_CLIENT_SEND_CERTIFICATE_CHAIN` is `1` or `true`.
pub fn certificate_credential(
    certificate: CertificateOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ClientCredential, Error> {
    let input = match (certificate.pem, certificate.path) {
        (Some(pem), None) => CertificateInput::Pem(pem.into_bytes()),
        (None, Some(path)) => CertificateInput::Path(path),
        _ => {
            return Err(Error::InvalidInput(
                "give the certificate as exactly one of pem or path".into(),
            ));
        }
    };
    if let CertificateInput::Path(p) = &input {
        let lower = p.to_ascii_lowercase();
        if lower.ends_with(".pfx") || lower.ends_with(".p12") {
            return Err(Error::InvalidInput(format!(
                "{p} looks like PKCS#12, which is not supported; convert it to PEM (openssl pkcs12 -in {p} -nodes -out cert.pem)"
            )));
        }
    }
    let send_chain = certificate.send_certificate_chain.unwrap_or_else(|| {
        env("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN")
            .is_some_and(|v| v.trim() == "1" || v.trim().eq_ignore_ascii_case("true"))
    });
    Ok(ClientCredential::Certificate {
        input,
        send_chain,
        algorithm: if certificate.rs256 {
            SigningAlgorithm::Rs256
        } else {
            SigningAlgorithm::Ps256
        },
    })
}

/// The environment credential: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and either
/// `AZURE_CLIENT_SECRET` or `AZURE_CLIENT_CERTIFICATE_PATH` (PEM). Not configured is
/// *unavailable*, so a chain moves on.
pub fn environment(env: &dyn Fn(&str) -> Option<String>) -> Result<Box<dyn Flow>, Error> {
    environment_with(AppOptions::default(), env)
}

/// [`environment`], with `app`'s settings (client capabilities) where the environment
/// has none: the ids and the secret or certificate still come from the environment.
pub fn environment_with(
    app: AppOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn Flow>, Error> {
    let get = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    let missing: Vec<&str> = ["AZURE_TENANT_ID", "AZURE_CLIENT_ID"]
        .into_iter()
        .filter(|k| get(k).is_none())
        .collect();
    let secret = get("AZURE_CLIENT_SECRET");
    let cert = get("AZURE_CLIENT_CERTIFICATE_PATH");
    if !missing.is_empty() || (secret.is_none() && cert.is_none()) {
        return Err(Error::Unavailable(format!(
            "environment variables are not fully configured: missing {}",
            missing
                .into_iter()
                .chain(
                    (secret.is_none() && cert.is_none())
                        .then_some("AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH")
                )
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    match (secret, cert) {
        (Some(secret), _) => client_secret(app, secret, &get),
        (None, Some(path)) => client_certificate(app, CertificateOptions::from_path(path), &get),
        (None, None) => unreachable!("checked above"),
    }
}

#[cfg(test)]
mod tests;
