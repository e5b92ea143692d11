//! Azure Cloud Shell (`MSI_ENDPOINT` without `MSI_SECRET`): a form POST.

use super::{ManagedIdentityOptions, NO_CLAIMS, mi_retry};
use crate::binding::Proof;
use crate::credential::{Flow, FlowRequest};
use crate::error::{Error, ServiceError};
use crate::http::{Method, Request};
use crate::platform::Platform;
use crate::retry::RetryPolicy;
use crate::token::scope_to_resource;

pub(super) struct CloudShell {
    endpoint: String,
    retry: RetryPolicy,
}

impl CloudShell {
    pub(super) fn new(
        options: ManagedIdentityOptions,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        if let Some(id) = &options.user_assigned {
            return Err(Error::InvalidInput(format!(
                "Cloud Shell issues tokens for the signed-in user only; a {id} cannot be chosen there"
            )));
        }
        let endpoint = options.endpoint.or_else(|| env("MSI_ENDPOINT")).ok_or_else(|| {
            Error::InvalidInput("Cloud Shell managed identity needs MSI_ENDPOINT in the environment (or an endpoint option)".into())
        })?;
        Ok(CloudShell {
            endpoint,
            retry: mi_retry(options.retry),
        })
    }
}

impl Flow for CloudShell {
    fn identity(&self) -> String {
        "cloud-shell|user".into()
    }

    fn proof(&self, _: &dyn Platform) -> Result<Proof, Error> {
        Ok(Proof::new("cloud-shell").with(&self.endpoint))
    }

    fn describe(&self) -> String {
        format!(
            "managed identity via Cloud Shell at {}{NO_CLAIMS}",
            self.endpoint
        )
    }

    fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    fn build_request(&self, request: &FlowRequest<'_>, _: &dyn Platform) -> Result<Request, Error> {
        let resource = scope_to_resource(&request.scopes)?;
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("resource", &resource)
            .finish();
        Ok(Request {
            method: Method::Post,
            url: self.endpoint.clone(),
            headers: Vec::new(),
            body: body.into_bytes(),
        }
        .header("Metadata", "true")
        .header("Content-Type", "application/x-www-form-urlencoded"))
    }

    fn refusal(&self, error: ServiceError) -> Error {
        let context = if error.code == "AudienceNotSupported" {
            "Cloud Shell does not issue tokens for this resource; it serves a fixed list of Azure audiences".to_string()
        } else {
            "Cloud Shell could not issue a token for the signed-in user".to_string()
        };
        Error::AuthenticationFailed(error.context(context))
    }

    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }
}
