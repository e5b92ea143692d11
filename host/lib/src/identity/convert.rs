//! Conversions between the generated WIT types and the core's plain types.

use crate::bindings::wit;
use entra_identity_core::confidential::AppOptions;
use entra_identity_core::managed_identity::{ManagedIdentityOptions, SourceKind, UserAssignedId};
use entra_identity_core::{AccessToken, Error, ServiceError, TokenRequest};

fn millis(d: std::time::Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

pub(crate) fn options(
    o: &ManagedIdentityOptions,
    arc_token_dir: Option<&std::path::Path>,
) -> wit::ManagedIdentityOptions {
    wit::ManagedIdentityOptions {
        user_assigned: o.user_assigned.as_ref().map(|id| match id {
            UserAssignedId::ClientId(v) => wit::UserAssignedId::ClientId(v.clone()),
            UserAssignedId::ObjectId(v) => wit::UserAssignedId::ObjectId(v.clone()),
            UserAssignedId::ResourceId(v) => wit::UserAssignedId::ResourceId(v.clone()),
        }),
        source: o.source.map(|s| match s {
            SourceKind::Imds => wit::ManagedIdentitySource::Imds,
            SourceKind::AppService => wit::ManagedIdentitySource::AppService,
            SourceKind::AzureArc => wit::ManagedIdentitySource::AzureArc,
            SourceKind::ServiceFabric => wit::ManagedIdentitySource::ServiceFabric,
            SourceKind::CloudShell => wit::ManagedIdentitySource::CloudShell,
            SourceKind::AzureMl => wit::ManagedIdentitySource::AzureMl,
        }),
        endpoint: o.endpoint.clone(),
        retry: o.retry.as_ref().map(|r| wit::RetryOptions {
            max_retries: r.max_retries,
            initial_delay_ms: millis(r.initial_delay),
            max_delay_ms: millis(r.max_delay),
            max_elapsed_ms: millis(r.max_elapsed),
            attempt_timeout_ms: millis(r.attempt_timeout),
            gone_retry_ms: millis(r.gone_retry),
        }),
        arc_token_directory: arc_token_dir.map(|d| d.to_string_lossy().into_owned()),
    }
}

pub(crate) fn request(r: &TokenRequest) -> wit::TokenRequest {
    wit::TokenRequest {
        scopes: r.scopes.clone(),
        tenant_id: r.tenant_id.clone(),
        claims: r.claims.clone(),
        force_refresh: r.force_refresh,
    }
}

pub(crate) fn token(t: wit::AccessToken) -> AccessToken {
    AccessToken {
        token: t.token,
        token_type: t.token_type,
        expires_on: t.expires_on,
        refresh_on: t.refresh_on,
    }
}

pub(crate) fn error(e: wit::Error) -> Error {
    match e {
        wit::Error::Unavailable(m) => Error::Unavailable(m),
        wit::Error::AuthenticationFailed(e) => Error::AuthenticationFailed(ServiceError {
            status: e.status,
            code: e.code,
            description: e.description,
            correlation_id: e.correlation_id,
            context: e.context,
        }),
        wit::Error::Throttled(t) => Error::Throttled {
            retry_after: t.retry_after,
            message: t.message,
        },
        wit::Error::Transport(m) => Error::Transport(m),
        wit::Error::InvalidInput(m) => Error::InvalidInput(m),
        wit::Error::InvalidResponse(m) => Error::InvalidResponse(m),
    }
}

pub(crate) fn app(a: &AppOptions) -> wit::AppOptions {
    wit::AppOptions {
        client_id: a.client_id.clone(),
        tenant_id: a.tenant_id.clone(),
        authority_host: a.authority_host.clone(),
        additionally_allowed_tenants: a.additionally_allowed_tenants.clone(),
    }
}
