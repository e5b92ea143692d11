//! The default chain for production: environment (secret or certificate), then
//! workload identity, then managed identity. A member that is not configured here
//! (or managed identity whose IMDS probe gets no answer) is *unavailable* and the
//! chain moves on; any failure of a configured member, a connect error included,
//! stops the chain and surfaces; the first credential that works is used from then on.

use crate::confidential::{self, AppOptions};
use crate::credential::{Credential, Flow};
use crate::error::Error;
use crate::managed_identity::{self, ManagedIdentityOptions, SourceSettings, UserAssignedId};
use crate::token::{AccessToken, TokenRequest};
use std::cell::Cell;

/// The chain's members, in order, by the names the Azure SDKs use.
pub const MEMBERS: [&str; 3] = [
    "EnvironmentCredential",
    "WorkloadIdentityCredential",
    MANAGED_IDENTITY,
];
const MANAGED_IDENTITY: &str = "ManagedIdentityCredential";

/// Settings for the chain's members.
#[derive(Clone, Debug, Default)]
pub struct ChainOptions {
    /// For the managed-identity member. Without a user-assigned id, `AZURE_CLIENT_ID`
    /// names one, as in the Go and Python SDKs.
    pub managed_identity: ManagedIdentityOptions,
}

struct Member {
    name: &'static str,
    /// A member that could not be built is unavailable, with why.
    credential: Result<Credential, Error>,
}

/// A chain of credentials tried in order.
pub struct ChainedCredential {
    members: Vec<Member>,
    chosen: Cell<Option<usize>>,
}

/// Which members `AZURE_TOKEN_CREDENTIALS` selects (all for unset or `prod`).
pub fn selection(value: Option<&str>) -> Result<Vec<&'static str>, Error> {
    let v = value
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if v.is_empty() || v == "prod" {
        return Ok(MEMBERS.to_vec());
    }
    if let Some(one) = MEMBERS.iter().find(|m| m.eq_ignore_ascii_case(&v)) {
        return Ok(vec![one]);
    }
    let dev = if v == "dev" {
        " (developer-tool credentials do not exist inside a sandbox)"
    } else {
        ""
    };
    Err(Error::InvalidInput(format!(
        "AZURE_TOKEN_CREDENTIALS={:?} is not valid{dev}; valid values are \"prod\" or one of {} (case-insensitive)",
        value.unwrap_or_default(),
        MEMBERS.join(", ")
    )))
}

/// Builds the default chain. `make` turns each member's flow into a credential (it
/// supplies the transport, platform and cache). Only an invalid
/// `AZURE_TOKEN_CREDENTIALS` is an error here; a member that cannot be built is
/// reported as unavailable when tokens are asked for.
pub fn default_chain(
    options: ChainOptions,
    env: &dyn Fn(&str) -> Option<String>,
    make: &dyn Fn(Box<dyn Flow>) -> Credential,
) -> Result<ChainedCredential, Error> {
    let env = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    let selected = selection(env("AZURE_TOKEN_CREDENTIALS").as_deref())?;
    let whole_chain = selected.len() > 1;
    // The capabilities are the application's, not one member's: every member that can
    // send them does (managed identity only where its source can).
    let app =
        AppOptions::default().client_capabilities(&options.managed_identity.client_capabilities);
    let members = selected
        .into_iter()
        .map(|name| {
            let flow = match name {
                "EnvironmentCredential" => confidential::environment_with(app.clone(), &env),
                "WorkloadIdentityCredential" => workload_identity(app.clone(), &env),
                _ => managed_identity(&options, whole_chain, &env),
            };
            Member {
                name,
                credential: flow.map(make),
            }
        })
        .collect();
    Ok(ChainedCredential {
        members,
        chosen: Cell::new(None),
    })
}

/// Workload identity in a chain: unavailable unless all three variables are set.
fn workload_identity(
    app: AppOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn Flow>, Error> {
    let vars = [
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_FEDERATED_TOKEN_FILE",
    ];
    let missing: Vec<&str> = vars.into_iter().filter(|v| env(v).is_none()).collect();
    if !missing.is_empty() {
        return Err(Error::Unavailable(format!(
            "not configured: missing {}",
            missing.join(", ")
        )));
    }
    confidential::workload_identity(app, None, env)
}

/// Managed identity in a chain probes IMDS first, so hosts without it fall through in
/// a second, not after a minute of retries; chosen alone, it does not.
fn managed_identity(
    options: &ChainOptions,
    probe: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn Flow>, Error> {
    let mut mi = options.managed_identity.clone();
    if mi.user_assigned.is_none() {
        mi.user_assigned = env("AZURE_CLIENT_ID").map(UserAssignedId::ClientId);
    }
    let settings = SourceSettings { probe_imds: probe };
    managed_identity::flow_with(mi, settings, env)
}

impl ChainedCredential {
    /// A token from the first member that can give one (or from the member that
    /// worked before).
    pub fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, Error> {
        if let Some(i) = self.chosen.get()
            && let Ok(credential) = &self.members[i].credential
        {
            return credential.get_token(request);
        }
        let mut reasons = Vec::new();
        for (i, member) in self.members.iter().enumerate() {
            let result = match &member.credential {
                Ok(credential) => credential.get_token(request),
                Err(e) => Err(e.clone()),
            };
            // Only a member that is not configured here moves the chain on. A member
            // that was built is configured: its failures (a DNS or connect error, a
            // missing token file) are the app's to see, as in the Azure SDKs, not a
            // reason to authenticate as someone else. Managed identity is the one
            // exception: built from what it detects, it says *unavailable* when the
            // IMDS probe gets no answer or no source exists.
            let configured = member.credential.is_ok() && member.name != MANAGED_IDENTITY;
            match result {
                Ok(token) => {
                    self.chosen.set(Some(i));
                    return Ok(token);
                }
                Err(e) if configured => return Err(e),
                Err(Error::Unavailable(why)) => reasons.push(format!("{}: {why}", member.name)),
                Err(other) if member.credential.is_err() => {
                    reasons.push(format!("{}: {other}", member.name))
                }
                Err(other) => return Err(other),
            }
        }
        Err(Error::Unavailable(format!(
            "no credential in the chain could get a token. {}",
            reasons.join(". ")
        )))
    }

    /// The chain's members and their state, for people.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let state = match &m.credential {
                    Ok(c) if self.chosen.get() == Some(i) => format!("in use: {}", c.describe()),
                    Ok(c) => c.describe(),
                    Err(e) => format!("unavailable: {e}"),
                };
                format!("{} ({state})", m.name)
            })
            .collect();
        format!("default chain: {}", parts.join("; "))
    }

    /// The TLS thumbprint a member's endpoint must be pinned to (Service Fabric).
    pub fn pinned_thumbprint(&self) -> Option<String> {
        self.members
            .iter()
            .filter_map(|m| m.credential.as_ref().ok())
            .find_map(Credential::pinned_thumbprint)
    }
}

#[cfg(test)]
mod tests;
