//! Managed identity: which source this environment has, and each source's protocol.

mod app_service;
mod imds;
mod source;
mod unsupported;

pub use source::{SourceKind, detect};

use crate::credential::Flow;
use crate::error::Error;
use crate::http::UrlParts;
use crate::retry::RetryPolicy;
use std::fmt;

/// A user-assigned managed identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserAssignedId {
    /// By client (application) id.
    ClientId(String),
    /// By object (principal) id.
    ObjectId(String),
    /// By Azure resource id.
    ResourceId(String),
}

impl UserAssignedId {
    /// The query parameter that selects this identity; sources disagree on how the
    /// resource-id one is spelled.
    fn query_param(&self, resource_id_name: &'static str) -> (&'static str, &str) {
        match self {
            UserAssignedId::ClientId(v) => ("client_id", v),
            UserAssignedId::ObjectId(v) => ("object_id", v),
            UserAssignedId::ResourceId(v) => (resource_id_name, v),
        }
    }

    fn value(&self) -> &str {
        match self {
            UserAssignedId::ClientId(v)
            | UserAssignedId::ObjectId(v)
            | UserAssignedId::ResourceId(v) => v,
        }
    }
}

impl fmt::Display for UserAssignedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserAssignedId::ClientId(v) => write!(f, "user-assigned identity with client id {v}"),
            UserAssignedId::ObjectId(v) => write!(f, "user-assigned identity with object id {v}"),
            UserAssignedId::ResourceId(v) => write!(f, "user-assigned identity {v}"),
        }
    }
}

/// The identity part of cache keys: `system` or `client_id=...`.
fn cache_identity(id: Option<&UserAssignedId>, resource_id_name: &'static str) -> String {
    id.map_or("system".into(), |id| {
        let (k, v) = id.query_param(resource_id_name);
        format!("{k}={v}")
    })
}

/// How to describe "which identity" in messages.
fn identity_name(id: Option<&UserAssignedId>) -> String {
    id.map_or_else(
        || "the system-assigned identity".to_string(),
        ToString::to_string,
    )
}

/// Explicit settings; each one overrides what the environment says.
#[derive(Clone, Debug, Default)]
pub struct ManagedIdentityOptions {
    /// A user-assigned identity; `None` means system-assigned.
    pub user_assigned: Option<UserAssignedId>,
    /// Use this source instead of detecting one.
    pub source: Option<SourceKind>,
    /// The IMDS base URL or the identity endpoint URL.
    pub endpoint: Option<String>,
    /// Retry numbers instead of the source's defaults; which statuses are
    /// retried stays the source's own.
    pub retry: Option<RetryPolicy>,
}

/// Builds the flow for this environment: `env` reads an environment variable.
///
/// Errors only for input that can never work (a malformed endpoint or id, a missing
/// secret for an explicitly chosen source). A source this version cannot speak yields
/// a flow that answers *unavailable*, so a chain of credentials can move on.
pub fn flow(
    options: ManagedIdentityOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn Flow>, Error> {
    let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if let Some(id) = &options.user_assigned {
        let v = id.value();
        if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::InvalidInput(format!(
                "{id:?} is empty or contains whitespace; pass the identity's id as shown in the Azure portal"
            )));
        }
    }
    if let Some(endpoint) = &options.endpoint {
        UrlParts::parse(endpoint)?;
    }
    let kind = match options.source {
        Some(kind) => kind,
        None => match detect(&env) {
            Ok(kind) => kind,
            Err(why) => return Ok(Box::new(unsupported::Unsupported::misconfigured(why))),
        },
    };
    match kind {
        SourceKind::Imds => Ok(Box::new(imds::Imds::new(options, &env))),
        SourceKind::AppService => Ok(Box::new(app_service::AppService::new(options, &env)?)),
        other => Ok(Box::new(unsupported::Unsupported::not_yet(other))),
    }
}

#[cfg(test)]
mod tests;
