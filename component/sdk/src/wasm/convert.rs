//! SDK types to WIT types and back; nothing here decides anything.

use super::bindings::app::entra::identity::{credentials as wit, validation as wit_validation};
use super::bindings::plugin::entra::identity::tokens as wit_tokens;
use crate::{
    AccessToken, AppOptions, CertificateOptions, Claims, Error, ManagedIdentityOptions,
    ManagedIdentitySource, RetryOptions, ServiceError, TokenRequest, UserAssignedId,
    ValidationError, ValidatorOptions,
};

pub(super) fn managed_identity(o: ManagedIdentityOptions) -> wit::ManagedIdentityOptions {
    wit::ManagedIdentityOptions {
        user_assigned: o.user_assigned.map(|id| match id {
            UserAssignedId::ClientId(v) => wit::UserAssignedId::ClientId(v),
            UserAssignedId::ObjectId(v) => wit::UserAssignedId::ObjectId(v),
            UserAssignedId::ResourceId(v) => wit::UserAssignedId::ResourceId(v),
        }),
        source: o.source.map(|s| match s {
            ManagedIdentitySource::Imds => wit::ManagedIdentitySource::Imds,
            ManagedIdentitySource::AppService => wit::ManagedIdentitySource::AppService,
            ManagedIdentitySource::AzureArc => wit::ManagedIdentitySource::AzureArc,
            ManagedIdentitySource::ServiceFabric => wit::ManagedIdentitySource::ServiceFabric,
            ManagedIdentitySource::CloudShell => wit::ManagedIdentitySource::CloudShell,
            ManagedIdentitySource::AzureMl => wit::ManagedIdentitySource::AzureMl,
        }),
        endpoint: o.endpoint,
        retry: o.retry.map(retry),
        arc_token_directory: o.arc_token_directory,
    }
}

fn retry(r: RetryOptions) -> wit::RetryOptions {
    wit::RetryOptions {
        max_retries: r.max_retries,
        initial_delay_ms: r.initial_delay_ms,
        max_delay_ms: r.max_delay_ms,
        max_elapsed_ms: r.max_elapsed_ms,
        attempt_timeout_ms: r.attempt_timeout_ms,
        gone_retry_ms: r.gone_retry_ms,
    }
}

pub(super) fn app(o: AppOptions) -> wit::AppOptions {
    wit::AppOptions {
        client_id: o.client_id,
        tenant_id: o.tenant_id,
        authority_host: o.authority_host,
        additionally_allowed_tenants: o.additionally_allowed_tenants,
    }
}

pub(super) fn certificate(o: CertificateOptions) -> wit::CertificateOptions {
    wit::CertificateOptions {
        pem: o.pem,
        path: o.path,
        send_certificate_chain: o.send_certificate_chain,
        rs256: o.rs256,
    }
}

pub(super) fn request(r: TokenRequest) -> wit::TokenRequest {
    wit::TokenRequest {
        scopes: r.scopes,
        tenant_id: r.tenant_id,
        claims: r.claims,
        force_refresh: r.force_refresh,
    }
}

pub(super) fn token(t: wit::AccessToken) -> AccessToken {
    AccessToken::new(t.token, t.expires_on)
        .with_token_type(t.token_type)
        .with_refresh_on(t.refresh_on)
}

pub(super) fn error(e: wit::Error) -> Error {
    match e {
        wit::Error::Unavailable(why) => Error::Unavailable(why),
        wit::Error::AuthenticationFailed(s) => Error::AuthenticationFailed(ServiceError {
            status: s.status,
            code: s.code,
            description: s.description,
            correlation_id: s.correlation_id,
            context: s.context,
        }),
        wit::Error::Throttled(t) => Error::Throttled {
            retry_after: t.retry_after,
            message: t.message,
        },
        wit::Error::Transport(why) => Error::Transport(why),
        wit::Error::InvalidInput(why) => Error::InvalidInput(why),
        wit::Error::InvalidResponse(why) => Error::InvalidResponse(why),
    }
}

pub(super) fn plugin_token(t: wit_tokens::AccessToken) -> AccessToken {
    AccessToken::new(t.token, t.expires_on)
}

pub(super) fn plugin_error(e: wit_tokens::Error) -> Error {
    match e {
        wit_tokens::Error::Denied(why) => Error::Denied(why),
        wit_tokens::Error::RateLimited(retry_after) => Error::Throttled {
            retry_after,
            message: "the plugin host's rate limit on token requests".into(),
        },
        wit_tokens::Error::Unavailable(why) => Error::Unavailable(why),
    }
}

pub(super) fn validator_options(o: ValidatorOptions) -> wit_validation::ValidatorOptions {
    wit_validation::ValidatorOptions {
        tenant: o.tenant,
        allowed_tenants: o.allowed_tenants,
        audiences: o.audiences,
        leeway_seconds: o.leeway_seconds,
        authority: o.authority,
    }
}

pub(super) fn claims(c: wit_validation::Claims) -> Claims {
    Claims {
        oid: c.oid,
        tid: c.tid,
        sub: c.sub,
        app_id: c.app_id,
        roles: c.roles,
        scopes: c.scopes,
        expires_on: c.expires_on,
        issued_at: c.issued_at,
        version: c.version,
        raw: c.raw,
    }
}

pub(super) fn validation_error(e: wit_validation::ValidationError) -> ValidationError {
    use wit_validation::ValidationError as W;
    match e {
        W::TooLarge(size) => ValidationError::TooLarge(size),
        W::Malformed(why) => ValidationError::Malformed(why),
        W::UnsupportedAlgorithm(alg) => ValidationError::UnsupportedAlgorithm(alg),
        W::UnknownKey(kid) => ValidationError::UnknownKey(kid),
        W::BadSignature => ValidationError::BadSignature,
        W::Expired(exp) => ValidationError::Expired(exp),
        W::NotYetValid(nbf) => ValidationError::NotYetValid(nbf),
        W::WrongAudience(aud) => ValidationError::WrongAudience(aud),
        W::WrongIssuer(iss) => ValidationError::WrongIssuer(iss),
        W::TenantNotAllowed(tid) => ValidationError::TenantNotAllowed(tid),
        W::MissingRole(role) => ValidationError::MissingRole(role),
        W::MissingScope(scope) => ValidationError::MissingScope(scope),
        W::KeysUnavailable(why) => ValidationError::KeysUnavailable(why),
        W::InvalidConfiguration(why) => ValidationError::InvalidConfiguration(why),
    }
}
