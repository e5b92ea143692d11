//! Azure Machine Learning (`MSI_ENDPOINT` + `MSI_SECRET`): the 2017 App Service protocol.

use super::{ManagedIdentityOptions, NO_CLAIMS, UserAssignedId, identity_name, mi_retry};
use crate::binding::Proof;
use crate::credential::{Flow, FlowRequest};
use crate::error::{Error, ServiceError};
use crate::http::{Request, with_query};
use crate::platform::Platform;
use crate::retry::RetryPolicy;
use crate::token::scope_to_resource;

const API_VERSION: &str = "2017-09-01";

pub(super) struct AzureMl {
    endpoint: String,
    /// `MSI_SECRET`: a secret.
    secret: String,
    /// Always sent: the system-assigned identity is named by `DEFAULT_IDENTITY_CLIENT_ID`.
    client_id: String,
    user_assigned: bool,
    retry: RetryPolicy,
}

impl AzureMl {
    pub(super) fn new(
        options: ManagedIdentityOptions,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        let missing = |what: &str| {
            Error::InvalidInput(format!(
                "Azure ML managed identity needs {what} in the environment; pass it through to the component"
            ))
        };
        let client_id = match &options.user_assigned {
            None => env("DEFAULT_IDENTITY_CLIENT_ID")
                .ok_or_else(|| missing("DEFAULT_IDENTITY_CLIENT_ID"))?,
            Some(UserAssignedId::ClientId(id)) => id.clone(),
            Some(other) => {
                return Err(Error::InvalidInput(format!(
                    "Azure ML selects user-assigned identities by client id only, not a {other}"
                )));
            }
        };
        Ok(AzureMl {
            endpoint: options
                .endpoint
                .or_else(|| env("MSI_ENDPOINT"))
                .ok_or_else(|| missing("MSI_ENDPOINT"))?,
            secret: env("MSI_SECRET").ok_or_else(|| missing("MSI_SECRET"))?,
            client_id,
            user_assigned: options.user_assigned.is_some(),
            retry: mi_retry(options.retry),
        })
    }

    fn who(&self) -> String {
        if self.user_assigned {
            identity_name(Some(&UserAssignedId::ClientId(self.client_id.clone())))
        } else {
            format!("the compute's identity (client id {})", self.client_id)
        }
    }
}

impl Flow for AzureMl {
    fn identity(&self) -> String {
        format!("azure-ml|clientid={}", self.client_id)
    }

    fn proof(&self, _: &dyn Platform) -> Result<Proof, Error> {
        Ok(Proof::new("azure-ml")
            .with(&self.endpoint)
            .with(&self.secret))
    }

    fn describe(&self) -> String {
        format!(
            "managed identity via Azure ML at {} ({}){NO_CLAIMS}",
            self.endpoint,
            self.who()
        )
    }

    fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    fn build_request(&self, request: &FlowRequest<'_>, _: &dyn Platform) -> Result<Request, Error> {
        let resource = scope_to_resource(&request.scopes)?;
        // `clientid`, no underscore: the 2017 API's spelling.
        let params = [
            ("api-version", API_VERSION),
            ("resource", resource.as_str()),
            ("clientid", self.client_id.as_str()),
        ];
        Ok(Request::get(with_query(&self.endpoint, params)).header("secret", self.secret.clone()))
    }

    fn refusal(&self, error: ServiceError) -> Error {
        let context = match error.status {
            401 | 403 => "the Azure ML identity endpoint rejected MSI_SECRET; pass the current value through to the component".to_string(),
            _ => format!("the Azure ML identity endpoint could not issue a token for {}", self.who()),
        };
        Error::AuthenticationFailed(error.context(context))
    }

    fn secrets(&self) -> Vec<String> {
        vec![self.secret.clone()]
    }
}
