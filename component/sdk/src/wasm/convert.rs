//! Conversions between `entra-identity-types` and the generated import bindings, as
//! trait impls; nothing here decides anything. Where the WIT is narrower than the
//! types (milliseconds or seconds in a `u32`), values saturate.

use super::bindings::app::entra::identity::{credentials as wit, validation as wit_validation};
use super::bindings::plugin::entra::identity::tokens as wit_tokens;
use crate::{
    AccessToken, AppOptions, CertificateOptions, Claims, ClientAuthentication, Error,
    ManagedIdentityOptions, ManagedIdentitySource, RetryOptions, ServiceError, TokenRequest,
    UserAssignedId, ValidationError, ValidatorOptions,
};
use std::time::Duration;

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

fn usize_of(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

impl From<UserAssignedId> for wit::UserAssignedId {
    fn from(id: UserAssignedId) -> Self {
        match id {
            UserAssignedId::ClientId(v) => wit::UserAssignedId::ClientId(v),
            UserAssignedId::ObjectId(v) => wit::UserAssignedId::ObjectId(v),
            UserAssignedId::ResourceId(v) => wit::UserAssignedId::ResourceId(v),
        }
    }
}

impl From<ManagedIdentitySource> for wit::ManagedIdentitySource {
    fn from(s: ManagedIdentitySource) -> Self {
        match s {
            ManagedIdentitySource::Imds => wit::ManagedIdentitySource::Imds,
            ManagedIdentitySource::AppService => wit::ManagedIdentitySource::AppService,
            ManagedIdentitySource::AzureArc => wit::ManagedIdentitySource::AzureArc,
            ManagedIdentitySource::ServiceFabric => wit::ManagedIdentitySource::ServiceFabric,
            ManagedIdentitySource::CloudShell => wit::ManagedIdentitySource::CloudShell,
            ManagedIdentitySource::AzureMl => wit::ManagedIdentitySource::AzureMl,
        }
    }
}

impl From<RetryOptions> for wit::RetryOptions {
    fn from(r: RetryOptions) -> Self {
        wit::RetryOptions {
            max_retries: r.max_retries,
            initial_delay_ms: millis(r.initial_delay),
            max_delay_ms: millis(r.max_delay),
            max_elapsed_ms: millis(r.max_elapsed),
            attempt_timeout_ms: millis(r.attempt_timeout),
            gone_retry_ms: millis(r.gone_retry),
        }
    }
}

impl From<ManagedIdentityOptions> for wit::ManagedIdentityOptions {
    fn from(o: ManagedIdentityOptions) -> Self {
        wit::ManagedIdentityOptions {
            user_assigned: o.user_assigned.map(Into::into),
            source: o.source.map(Into::into),
            endpoint: o.endpoint,
            retry: o.retry.map(Into::into),
            arc_token_directory: o.arc_token_directory,
            client_capabilities: o.client_capabilities,
        }
    }
}

impl From<AppOptions> for wit::AppOptions {
    fn from(o: AppOptions) -> Self {
        wit::AppOptions {
            client_id: o.client_id,
            tenant_id: o.tenant_id,
            authority_host: o.authority_host,
            additionally_allowed_tenants: o.additionally_allowed_tenants,
            client_capabilities: o.client_capabilities,
        }
    }
}

impl From<CertificateOptions> for wit::CertificateOptions {
    fn from(o: CertificateOptions) -> Self {
        wit::CertificateOptions {
            pem: o.pem,
            path: o.path,
            send_certificate_chain: o.send_certificate_chain,
            rs256: o.rs256,
        }
    }
}

impl From<ClientAuthentication> for wit::ClientAuthentication {
    fn from(a: ClientAuthentication) -> Self {
        match a {
            ClientAuthentication::Secret(secret) => wit::ClientAuthentication::Secret(secret),
            ClientAuthentication::Certificate(c) => {
                wit::ClientAuthentication::Certificate(c.into())
            }
            ClientAuthentication::ManagedIdentity(m) => {
                wit::ClientAuthentication::ManagedIdentity(m.into())
            }
            // `ClientAuthentication` is non-exhaustive; a new kind needs its WIT case.
            other => unreachable!("no WIT case for {other:?}"),
        }
    }
}

impl From<&TokenRequest> for wit::TokenRequest {
    fn from(r: &TokenRequest) -> Self {
        wit::TokenRequest {
            scopes: r.scopes.clone(),
            tenant_id: r.tenant_id.clone(),
            claims: r.claims.clone(),
            force_refresh: r.force_refresh,
        }
    }
}

impl From<wit::AccessToken> for AccessToken {
    fn from(t: wit::AccessToken) -> Self {
        AccessToken::new(t.token, t.expires_on)
            .with_token_type(t.token_type)
            .with_refresh_on(t.refresh_on)
    }
}

impl From<wit_tokens::AccessToken> for AccessToken {
    fn from(t: wit_tokens::AccessToken) -> Self {
        AccessToken::new(t.token, t.expires_on).with_refresh_on(t.refresh_on)
    }
}

impl From<wit::ServiceError> for ServiceError {
    fn from(s: wit::ServiceError) -> Self {
        let mut e = ServiceError::new(s.status)
            .code(s.code)
            .description(s.description)
            .context(s.context);
        e.correlation_id = s.correlation_id;
        e.claims = s.claims;
        e
    }
}

impl From<wit::Error> for Error {
    fn from(e: wit::Error) -> Self {
        match e {
            wit::Error::Unavailable(why) => Error::Unavailable(why),
            wit::Error::AuthenticationFailed(s) => Error::AuthenticationFailed(s.into()),
            wit::Error::Throttled(t) => Error::Throttled {
                retry_after: t.retry_after,
                message: t.message,
            },
            wit::Error::Transport(why) => Error::Transport(why),
            wit::Error::InvalidInput(why) => Error::InvalidInput(why),
            wit::Error::InvalidResponse(why) => Error::InvalidResponse(why),
            wit::Error::InteractionRequired(s) => Error::InteractionRequired(s.into()),
        }
    }
}

impl From<wit_tokens::Error> for Error {
    fn from(e: wit_tokens::Error) -> Self {
        match e {
            wit_tokens::Error::Denied(why) => Error::Denied(why),
            wit_tokens::Error::RateLimited(retry_after) => Error::Throttled {
                retry_after,
                message: "the plugin host's rate limit on token requests".into(),
            },
            wit_tokens::Error::Unavailable(why) => Error::Unavailable(why),
        }
    }
}

impl From<ValidatorOptions> for wit_validation::ValidatorOptions {
    fn from(o: ValidatorOptions) -> Self {
        wit_validation::ValidatorOptions {
            leeway_seconds: u32::try_from(o.leeway.as_secs()).unwrap_or(u32::MAX),
            tenant: o.tenant,
            allowed_tenants: o.allowed_tenants,
            audiences: o.audiences,
            authority: o.authority,
        }
    }
}

impl From<wit_validation::Claims> for Claims {
    fn from(c: wit_validation::Claims) -> Self {
        let mut claims = Claims::new(c.tid);
        claims.oid = c.oid;
        claims.sub = c.sub;
        claims.app_id = c.app_id;
        claims.roles = c.roles;
        claims.scopes = c.scopes;
        claims.expires_on = c.expires_on;
        claims.issued_at = c.issued_at;
        claims.version = c.version;
        claims.raw = c.raw;
        claims
    }
}

impl From<wit_validation::ValidationError> for ValidationError {
    fn from(e: wit_validation::ValidationError) -> Self {
        use wit_validation::ValidationError as W;
        match e {
            W::TooLarge(s) => ValidationError::TooLarge {
                size: usize_of(s.size),
                limit: usize_of(s.limit),
            },
            W::Malformed(why) => ValidationError::Malformed(why),
            W::UnsupportedAlgorithm(alg) => ValidationError::UnsupportedAlgorithm(alg),
            W::UnknownKey(kid) => ValidationError::UnknownKey(kid),
            W::BadSignature => ValidationError::BadSignature,
            W::Expired(t) => ValidationError::Expired {
                exp: t.exp,
                now: t.now,
            },
            W::NotYetValid(t) => ValidationError::NotYetValid {
                nbf: t.nbf,
                now: t.now,
            },
            W::WrongAudience(aud) => ValidationError::WrongAudience(aud),
            W::WrongIssuer(iss) => ValidationError::WrongIssuer(iss),
            W::TenantNotAllowed(tid) => ValidationError::TenantNotAllowed(tid),
            W::NotAnAccessToken(why) => ValidationError::NotAnAccessToken(why),
            W::MissingRole(role) => ValidationError::MissingRole(role),
            W::MissingScope(scope) => ValidationError::MissingScope(scope),
            W::KeysUnavailable(why) => ValidationError::KeysUnavailable(why),
            W::InvalidConfiguration(why) => ValidationError::InvalidConfiguration(why),
        }
    }
}
