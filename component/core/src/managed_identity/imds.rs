//! The Instance Metadata Service: VMs, scale sets, AKS nodes.

use super::{ManagedIdentityOptions, NO_CLAIMS, UserAssignedId, cache_identity, identity_name};
use crate::binding::Proof;
use crate::credential::{Flow, FlowRequest};
use crate::error::{Error, ServiceError};
use crate::http::{Request, with_query};
use crate::platform::Platform;
use crate::retry::RetryPolicy;
use crate::token::scope_to_resource;
use std::cell::Cell;
use std::time::Duration;

const DEFAULT_BASE: &str = "http://169.254.169.254";
const TOKEN_PATH: &str = "/metadata/identity/oauth2/token";
/// IMDS (and Arc) spell the resource-id selector `msi_res_id`.
const RESOURCE_ID_PARAM: &str = "msi_res_id";
const API_VERSION: &str = "2018-02-01";

/// How long the chain's IMDS probe waits: an absent link-local address can hang far
/// longer, and a present IMDS answers in milliseconds.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

pub(super) struct Imds {
    base: String,
    id: Option<UserAssignedId>,
    retry: RetryPolicy,
    /// Probe before the first request until IMDS has answered once.
    probe: Cell<bool>,
}

impl Imds {
    /// The base URL comes from the options, else `AZURE_POD_IDENTITY_AUTHORITY_HOST`
    /// (the SDKs' IMDS override), else the link-local IMDS address.
    pub(super) fn new(
        options: ManagedIdentityOptions,
        probe: bool,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Self {
        // Pod identity (the override) always answers: probing it proves nothing.
        let probe = probe
            && options.endpoint.is_none()
            && env("AZURE_POD_IDENTITY_AUTHORITY_HOST").is_none();
        let base = options
            .endpoint
            .or_else(|| env("AZURE_POD_IDENTITY_AUTHORITY_HOST"))
            .unwrap_or_else(|| DEFAULT_BASE.to_string());
        Imds {
            base: base.trim_end_matches('/').to_string(),
            id: options.user_assigned,
            retry: match &options.retry {
                Some(numbers) => RetryPolicy::imds().with_numbers(numbers),
                None => RetryPolicy::imds(),
            },
            probe: Cell::new(probe),
        }
    }
}

impl Flow for Imds {
    fn identity(&self) -> String {
        format!(
            "imds|{}",
            cache_identity(self.id.as_ref(), RESOURCE_ID_PARAM)
        )
    }

    fn proof(&self, _: &dyn Platform) -> Result<Proof, Error> {
        // IMDS has no secret: the address that answers is what vouches for the token.
        Ok(Proof::new("imds").with(&self.base))
    }

    fn describe(&self) -> String {
        format!(
            "managed identity via IMDS at {} ({}){NO_CLAIMS}",
            self.base,
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
        let url = with_query(&format!("{}{TOKEN_PATH}", self.base), params);
        Ok(Request::get(url).header("Metadata", "true"))
    }

    fn refusal(&self, error: ServiceError) -> Error {
        let who = identity_name(self.id.as_ref());
        let context = if error.status == 400 && error.description.contains("Identity not found") {
            match &self.id {
                Some(_) => format!(
                    "IMDS has no {who} assigned to this VM or scale set; assign it, or fix the id"
                ),
                None => format!(
                    "IMDS found no identity: enable {who} on this VM or scale set, or pass a user-assigned identity"
                ),
            }
        } else if error.status == 400 {
            format!("IMDS rejected the request for {who}; check the scope and the identity id")
        } else {
            format!("IMDS could not issue a token for {who}")
        };
        Error::AuthenticationFailed(error.context(context))
    }

    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }

    /// No query and no `Metadata` header: a live IMDS refuses it at once, which is
    /// all the probe needs to know.
    fn probe(&self) -> Option<(Request, Duration)> {
        self.probe.get().then(|| {
            (
                Request::get(format!("{}{TOKEN_PATH}", self.base)),
                PROBE_TIMEOUT,
            )
        })
    }

    fn probe_answered(&self) {
        self.probe.set(false);
    }
}
