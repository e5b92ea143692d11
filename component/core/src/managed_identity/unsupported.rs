//! The flow for an environment that names no usable source: it answers
//! *unavailable*, with why, so a chain can move on.

use super::NO_CLAIMS;
use crate::binding::Proof;
use crate::credential::{Flow, FlowRequest};
use crate::error::{Error, ServiceError};
use crate::http::Request;
use crate::platform::Platform;
use crate::retry::RetryPolicy;

pub(super) struct Unsupported {
    reason: String,
    retry: RetryPolicy,
}

impl Unsupported {
    pub(super) fn misconfigured(reason: String) -> Self {
        Unsupported {
            reason,
            retry: RetryPolicy::managed_identity(),
        }
    }
}

impl Flow for Unsupported {
    fn identity(&self) -> String {
        "unsupported".into()
    }

    fn proof(&self, _: &dyn Platform) -> Result<Proof, Error> {
        Ok(Proof::new("unsupported").with(&self.reason))
    }

    fn describe(&self) -> String {
        format!("managed identity (unavailable: {}){NO_CLAIMS}", self.reason)
    }

    fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    fn build_request(&self, _: &FlowRequest<'_>, _: &dyn Platform) -> Result<Request, Error> {
        Err(Error::Unavailable(self.reason.clone()))
    }

    fn refusal(&self, error: ServiceError) -> Error {
        Error::AuthenticationFailed(error)
    }

    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }
}
