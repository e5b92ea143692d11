//! Service Fabric (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER` + `IDENTITY_SERVER_THUMBPRINT`).
//!
//! The endpoint's certificate is self-signed; it is trusted only because its SHA-1
//! thumbprint equals `IDENTITY_SERVER_THUMBPRINT`. The core cannot see certificates,
//! so it hands the normalised thumbprint to whoever owns the TLS connection.
//!
//! Service Fabric is the one source that takes claims challenges and client
//! capabilities, as MSAL.NET, Python and node send them: `xms_cc` (the capabilities,
//! comma-joined) whenever capabilities are configured, and `token_sha256_to_refresh`
//! (lower-case hex SHA-256 of the token the resource refused) when a request answers
//! a claims challenge and that token is in the cache, so the endpoint issues a new
//! token instead of handing back its own cached copy of the revoked one.

use super::{ManagedIdentityOptions, mi_retry};
use crate::binding::Proof;
use crate::claims::Capabilities;
use crate::credential::{Flow, FlowRequest};
use crate::error::{Error, ServiceError};
use crate::http::{Request, UrlParts, with_query};
use crate::platform::Platform;
use crate::retry::RetryPolicy;
use crate::token::scope_to_resource;

const API_VERSION: &str = "2019-07-01-preview";

pub(super) struct ServiceFabric {
    endpoint: String,
    /// `IDENTITY_HEADER`: a secret.
    header: String,
    thumbprint: String,
    capabilities: Capabilities,
    retry: RetryPolicy,
}

/// `IDENTITY_SERVER_THUMBPRINT` as 40 upper-case hex digits, however it was written
/// (`ab:cd ...`, lower case).
pub fn normalize_thumbprint(raw: &str) -> Result<String, Error> {
    let t: String = raw
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if t.len() == 40 && t.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(t)
    } else {
        Err(Error::InvalidInput(format!(
            "IDENTITY_SERVER_THUMBPRINT {raw:?} is not a SHA-1 thumbprint (40 hex digits)"
        )))
    }
}

impl ServiceFabric {
    pub(super) fn new(
        options: ManagedIdentityOptions,
        capabilities: Capabilities,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        if let Some(id) = &options.user_assigned {
            return Err(Error::InvalidInput(format!(
                "Service Fabric chooses the identity in the cluster's application manifest; a {id} cannot be chosen at runtime"
            )));
        }
        let missing = |what: &str| {
            Error::InvalidInput(format!(
                "Service Fabric managed identity needs {what} in the environment; pass it through to the component"
            ))
        };
        let endpoint = options
            .endpoint
            .or_else(|| env("IDENTITY_ENDPOINT"))
            .ok_or_else(|| missing("IDENTITY_ENDPOINT"))?;
        if !UrlParts::parse(&endpoint)?
            .scheme
            .eq_ignore_ascii_case("https")
        {
            return Err(Error::InvalidInput(format!(
                "the Service Fabric identity endpoint {endpoint} must use https: its answers carry tokens"
            )));
        }
        let thumbprint = env("IDENTITY_SERVER_THUMBPRINT")
            .ok_or_else(|| missing("IDENTITY_SERVER_THUMBPRINT"))?;
        Ok(ServiceFabric {
            endpoint,
            header: env("IDENTITY_HEADER").ok_or_else(|| missing("IDENTITY_HEADER"))?,
            thumbprint: normalize_thumbprint(&thumbprint)?,
            capabilities,
            retry: mi_retry(options.retry),
        })
    }
}

impl Flow for ServiceFabric {
    fn identity(&self) -> String {
        format!("service-fabric|app{}", self.capabilities.identity_suffix())
    }

    fn proof(&self, _: &dyn Platform) -> Result<Proof, Error> {
        Ok(Proof::new("service-fabric")
            .with(&self.endpoint)
            .with(&self.header)
            .with(&self.thumbprint))
    }

    fn describe(&self) -> String {
        format!(
            "managed identity via Service Fabric at {} (certificate thumbprint {}); passes claims challenges (as the refused token's hash) and client capabilities",
            self.endpoint, self.thumbprint
        )
    }

    fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    fn build_request(&self, request: &FlowRequest<'_>, _: &dyn Platform) -> Result<Request, Error> {
        let resource = scope_to_resource(&request.scopes)?;
        let capabilities = self.capabilities.joined();
        let mut params = vec![
            ("api-version", API_VERSION),
            ("resource", resource.as_str()),
        ];
        params.extend(capabilities.as_deref().map(|c| ("xms_cc", c)));
        params.extend(
            request
                .revoked_token_sha256
                .map(|hash| ("token_sha256_to_refresh", hash)),
        );
        Ok(Request::get(with_query(&self.endpoint, params)).header("secret", self.header.clone()))
    }

    fn refusal(&self, error: ServiceError) -> Error {
        let context = match error.code.as_str() {
            "SecretHeaderNotFound" => {
                "the endpoint did not get IDENTITY_HEADER; pass it through to the component"
                    .to_string()
            }
            "ManagedIdentityNotFound" => {
                "this application has no managed identity in the cluster's application manifest"
                    .to_string()
            }
            _ => {
                "the Service Fabric identity endpoint could not issue a token for this application"
                    .to_string()
            }
        };
        Error::AuthenticationFailed(error.context(context))
    }

    fn secrets(&self) -> Vec<String> {
        vec![self.header.clone()]
    }

    fn sends_revoked_token_hash(&self) -> bool {
        true
    }

    fn pinned_thumbprint(&self) -> Option<String> {
        Some(self.thumbprint.clone())
    }
}
