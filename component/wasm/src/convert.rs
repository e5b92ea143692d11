//! Conversions between the WIT types and the core's.

use crate::bindings::exports::entra::identity::credentials as wit;
use entra_identity_core::confidential::AppOptions;
use entra_identity_core::error::{Error, ServiceError};
use entra_identity_core::managed_identity::{
    ManagedIdentityOptions, SourceKind, SourceSettings, UserAssignedId,
};
use entra_identity_core::retry::RetryPolicy;
use entra_identity_core::token::{AccessToken, TokenRequest};
use std::time::Duration;

pub(super) fn request(r: wit::TokenRequest) -> TokenRequest {
    TokenRequest {
        scopes: r.scopes,
        tenant_id: r.tenant_id,
        claims: r.claims,
        force_refresh: r.force_refresh,
    }
}

pub(super) fn token(t: AccessToken) -> wit::AccessToken {
    wit::AccessToken {
        token: t.token,
        token_type: t.token_type,
        expires_on: t.expires_on,
        refresh_on: t.refresh_on,
    }
}

pub(super) fn error(e: Error) -> wit::Error {
    match e {
        Error::Unavailable(m) => wit::Error::Unavailable(m),
        Error::AuthenticationFailed(e) => wit::Error::AuthenticationFailed(service_error(e)),
        Error::Throttled {
            retry_after,
            message,
        } => wit::Error::Throttled(wit::ThrottledError {
            retry_after,
            message,
        }),
        Error::Transport(m) => wit::Error::Transport(m),
        Error::InvalidInput(m) => wit::Error::InvalidInput(m),
        Error::InvalidResponse(m) => wit::Error::InvalidResponse(m),
        // `Error` is non-exhaustive; a case the WIT cannot name still reaches the caller.
        other => wit::Error::InvalidResponse(other.to_string()),
    }
}

fn service_error(e: ServiceError) -> wit::ServiceError {
    wit::ServiceError {
        status: e.status,
        code: e.code,
        description: e.description,
        correlation_id: e.correlation_id,
        context: e.context,
    }
}

/// The options, and the settings that are not options of the core's constructor.
pub(super) fn options(o: wit::ManagedIdentityOptions) -> (ManagedIdentityOptions, SourceSettings) {
    let settings = SourceSettings {
        arc_token_dir: o.arc_token_directory.clone(),
        ..Default::default()
    };
    let source = o.source.map(|s| match s {
        wit::ManagedIdentitySource::Imds => SourceKind::Imds,
        wit::ManagedIdentitySource::AppService => SourceKind::AppService,
        wit::ManagedIdentitySource::AzureArc => SourceKind::AzureArc,
        wit::ManagedIdentitySource::ServiceFabric => SourceKind::ServiceFabric,
        wit::ManagedIdentitySource::CloudShell => SourceKind::CloudShell,
        wit::ManagedIdentitySource::AzureMl => SourceKind::AzureMl,
    });
    let user_assigned = o.user_assigned.map(|id| match id {
        wit::UserAssignedId::ClientId(v) => UserAssignedId::ClientId(v),
        wit::UserAssignedId::ObjectId(v) => UserAssignedId::ObjectId(v),
        wit::UserAssignedId::ResourceId(v) => UserAssignedId::ResourceId(v),
    });
    // Which statuses are retried follows the source (the flow sets it); the caller
    // tunes only the numbers.
    let retry = o.retry.map(|r| {
        let ms = |v: u32| Duration::from_millis(u64::from(v));
        RetryPolicy {
            max_retries: r.max_retries,
            initial_delay: ms(r.initial_delay_ms),
            max_delay: ms(r.max_delay_ms),
            max_elapsed: ms(r.max_elapsed_ms),
            attempt_timeout: ms(r.attempt_timeout_ms),
            gone_retry: ms(r.gone_retry_ms),
            ..RetryPolicy::imds()
        }
    });
    let options = ManagedIdentityOptions {
        user_assigned,
        source,
        endpoint: o.endpoint,
        retry,
    };
    (options, settings)
}

pub(super) fn app(a: wit::AppOptions) -> AppOptions {
    AppOptions {
        client_id: a.client_id,
        tenant_id: a.tenant_id,
        authority_host: a.authority_host,
        additionally_allowed_tenants: a.additionally_allowed_tenants,
    }
}
