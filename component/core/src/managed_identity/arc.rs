//! Azure Arc-enabled servers: IMDS-style requests answered with a key-file challenge.

use super::arc_key::{self, DEFAULT_TOKEN_DIR};
use super::{
    ManagedIdentityOptions, NO_CLAIMS, UserAssignedId, cache_identity, identity_name, mi_retry,
};
use crate::binding::Proof;
use crate::credential::{Flow, FlowRequest};
use crate::error::{Error, ServiceError};
use crate::http::{Request, Response, with_query};
use crate::platform::Platform;
use crate::retry::RetryPolicy;
use crate::token::{TokenRequest, scope_to_resource};
use serde_json::Value;
use std::cell::RefCell;

const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:40342/metadata/identity/oauth2/token";
/// Arc honours IMDS's `msi_res_id`; it silently ignores `mi_res_id` and returns the
/// system-assigned identity instead.
const RESOURCE_ID_PARAM: &str = "msi_res_id";
const API_VERSION: &str = "2020-06-01";

pub(super) struct Arc {
    endpoint: String,
    token_dir: String,
    id: Option<UserAssignedId>,
    retry: RetryPolicy,
    /// The last key file content sent: a secret, kept only to scrub it from errors.
    key: RefCell<Option<String>>,
}

impl Arc {
    pub(super) fn new(
        options: ManagedIdentityOptions,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Self {
        Arc {
            endpoint: options
                .endpoint
                .or_else(|| env("IDENTITY_ENDPOINT"))
                .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string()),
            token_dir: options
                .arc_token_directory
                .unwrap_or_else(|| DEFAULT_TOKEN_DIR.to_string()),
            id: options.user_assigned,
            retry: mi_retry(options.retry),
            key: RefCell::new(None),
        }
    }

    fn url(&self, request: &TokenRequest) -> Result<String, Error> {
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
        Ok(with_query(&self.endpoint, params))
    }
}

impl Flow for Arc {
    fn identity(&self) -> String {
        format!(
            "arc|{}",
            cache_identity(self.id.as_ref(), RESOURCE_ID_PARAM)
        )
    }

    fn proof(&self, _: &dyn Platform) -> Result<Proof, Error> {
        // The key file changes per challenge; the endpoint and where keys may come
        // from are what this configuration trusts.
        Ok(Proof::new("arc").with(&self.endpoint).with(&self.token_dir))
    }

    fn describe(&self) -> String {
        format!(
            "managed identity via Azure Arc at {} ({}){NO_CLAIMS}",
            self.endpoint,
            identity_name(self.id.as_ref())
        )
    }

    fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    fn build_request(&self, request: &FlowRequest<'_>, _: &dyn Platform) -> Result<Request, Error> {
        Ok(Request::get(self.url(request)?).header("Metadata", "true"))
    }

    fn challenge(
        &self,
        request: &FlowRequest<'_>,
        response: &Response,
        platform: &dyn Platform,
    ) -> Option<Result<Request, Error>> {
        if response.status != 401 {
            return None;
        }
        Some((|| {
            let challenge = response.header("www-authenticate").ok_or_else(|| {
                Error::InvalidResponse(
                    "Azure Arc answered 401 without a WWW-Authenticate challenge".into(),
                )
            })?;
            let path = arc_key::key_path(challenge, &self.token_dir)?;
            let key = arc_key::read_key(platform, &path, &self.token_dir)?;
            *self.key.borrow_mut() = Some(key.clone());
            Ok(Request::get(self.url(request)?)
                .header("Metadata", "true")
                .header("Authorization", format!("Basic {key}")))
        })())
    }

    /// A legacy agent ignores the user-assigned selector and returns the machine's
    /// system-assigned identity; using that token would act as the wrong principal.
    fn accept(&self, body: &[u8]) -> Result<(), Error> {
        let Some(id) = &self.id else {
            return Ok(());
        };
        let echoed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let field = |k: &str| echoed.get(k).and_then(Value::as_str);
        let fields: &[&str] = match id {
            UserAssignedId::ClientId(_) => &["client_id"],
            UserAssignedId::ObjectId(_) => &["object_id"],
            UserAssignedId::ResourceId(_) => &["msi_res_id", "mi_res_id"],
        };
        let confirmed = fields
            .iter()
            .filter_map(|k| field(k))
            .any(|v| v.eq_ignore_ascii_case(id.value()));
        if confirmed {
            Ok(())
        } else {
            Err(Error::InvalidResponse(format!(
                "Azure Arc issued a token without confirming it is for the {id} ({} not echoed); the agent may be too old to support user-assigned identities, so the token was discarded",
                fields.join(" or ")
            )))
        }
    }

    fn refusal(&self, error: ServiceError) -> Error {
        let who = identity_name(self.id.as_ref());
        let context = match error.status {
            401 => "Azure Arc rejected the key-file answer to its challenge; check that the agent (himds) is healthy".to_string(),
            400 | 404 => format!("Azure Arc refused {who}; check that it is assigned to this machine and the scope is right"),
            _ => format!("Azure Arc could not issue a token for {who}"),
        };
        Error::AuthenticationFailed(error.context(context))
    }

    fn secrets(&self) -> Vec<String> {
        self.key.borrow().iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests;
