//! The flow for sources this version cannot speak: it answers *unavailable*, with why.

use super::SourceKind;
use crate::credential::Flow;
use crate::error::{Error, ServiceError};
use crate::http::Request;
use crate::retry::RetryPolicy;
use crate::token::TokenRequest;

pub(super) struct Unsupported {
    reason: String,
    retry: RetryPolicy,
}

impl Unsupported {
    pub(super) fn not_yet(kind: SourceKind) -> Self {
        Self::misconfigured(format!(
            "the environment points at {kind} managed identity, which this version of entra-identity does not support yet"
        ))
    }

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

    fn describe(&self) -> String {
        format!("managed identity (unavailable: {})", self.reason)
    }

    fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    fn build_request(&self, _: &TokenRequest) -> Result<Request, Error> {
        Err(Error::Unavailable(self.reason.clone()))
    }

    fn refusal(&self, error: ServiceError) -> Error {
        Error::AuthenticationFailed(error)
    }

    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }
}
