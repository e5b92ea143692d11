//! App Service, Azure Functions and Container Apps (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`).

use super::{ManagedIdentityOptions, NO_CLAIMS, UserAssignedId, cache_identity, identity_name};
use crate::binding::Proof;
use crate::credential::{Flow, FlowRequest};
use crate::error::{Error, ServiceError};
use crate::http::{Request, with_query};
use crate::platform::Platform;
use crate::retry::RetryPolicy;
use crate::token::scope_to_resource;

/// The App Service identity protocol's names: what this client sends and what a server
/// of the protocol (the host's developer endpoint) must answer to.
pub mod protocol {
    /// The variable holding the endpoint's URL.
    pub const ENDPOINT_VAR: &str = "IDENTITY_ENDPOINT";
    /// The variable holding the secret every request carries.
    pub const SECRET_VAR: &str = "IDENTITY_HEADER";
    /// The header the secret travels in.
    pub const SECRET_HEADER: &str = "X-IDENTITY-HEADER";
    /// The protocol version spoken.
    pub const API_VERSION: &str = "2019-08-01";
    /// The query parameters that select a user-assigned identity.
    pub const IDENTITY_SELECTORS: [&str; 3] = ["client_id", "object_id", RESOURCE_ID_PARAM];
    /// App Service spells the resource-id selector `mi_res_id`.
    pub(crate) const RESOURCE_ID_PARAM: &str = "mi_res_id";
}

use protocol::{API_VERSION, ENDPOINT_VAR, RESOURCE_ID_PARAM, SECRET_HEADER, SECRET_VAR};

pub(super) struct AppService {
    endpoint: String,
    /// The value of `IDENTITY_HEADER`: a secret.
    header: String,
    id: Option<UserAssignedId>,
    retry: RetryPolicy,
}

impl AppService {
    pub(super) fn new(
        options: ManagedIdentityOptions,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        let endpoint = options.endpoint.or_else(|| env(ENDPOINT_VAR)).ok_or_else(|| {
            Error::InvalidInput("App Service managed identity needs IDENTITY_ENDPOINT in the environment (or an endpoint option)".into())
        })?;
        let header = env(SECRET_VAR).ok_or_else(|| {
            Error::InvalidInput("App Service managed identity needs IDENTITY_HEADER in the environment; pass it through to the component".into())
        })?;
        Ok(AppService {
            endpoint,
            header,
            id: options.user_assigned,
            retry: match &options.retry {
                Some(numbers) => RetryPolicy::managed_identity().with_numbers(numbers),
                None => RetryPolicy::managed_identity(),
            },
        })
    }
}

impl Flow for AppService {
    fn identity(&self) -> String {
        format!(
            "app-service|{}",
            cache_identity(self.id.as_ref(), RESOURCE_ID_PARAM)
        )
    }

    fn proof(&self, _: &dyn Platform) -> Result<Proof, Error> {
        Ok(Proof::new("app-service")
            .with(&self.endpoint)
            .with(&self.header))
    }

    fn describe(&self) -> String {
        format!(
            "managed identity via App Service at {} ({}){NO_CLAIMS}",
            self.endpoint,
            identity_name(self.id.as_ref())
        )
    }

    fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    fn build_request(&self, request: &FlowRequest<'_>, _: &dyn Platform) -> Result<Request, Error> {
        let resource = scope_to_resource(&request.scopes)?;
        let mut params = vec![
            ("api-version", API_VERSION),
            ("resource", resource.as_str()),
        ];
        params.extend(
            self.id
                .as_ref()
                .map(|id| super::query_param(id, RESOURCE_ID_PARAM)),
        );
        Ok(Request::get(with_query(&self.endpoint, params))
            .header(SECRET_HEADER, self.header.clone()))
    }

    fn refusal(&self, error: ServiceError) -> Error {
        let who = identity_name(self.id.as_ref());
        let context = match error.status {
            401 | 403 => "the identity endpoint rejected IDENTITY_HEADER; pass the current value through to the component (it rotates on restart)".to_string(),
            400 | 404 => format!("the App Service identity endpoint refused {who}; check that it is assigned to this app and the scope is right"),
            _ => format!("the App Service identity endpoint could not issue a token for {who}"),
        };
        Error::AuthenticationFailed(error.context(context))
    }

    fn secrets(&self) -> Vec<String> {
        vec![self.header.clone()]
    }
}
