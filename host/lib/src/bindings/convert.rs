//! Conversions between the wasmtime-generated WIT types (`bindings`, and the plugin
//! world's `tokens`) and `entra-identity-types`, as trait impls. Nothing here decides
//! anything; where the WIT is narrower than the types (milliseconds or seconds in a
//! `u32`), values saturate.

#[cfg(feature = "plugin")]
use super::plugin::tokens as wit_tokens;
use super::{wit, wit_validation};
use entra_identity_types::{
    AccessToken, AppOptions, CertificateOptions, Claims, Error, ManagedIdentityOptions,
    ManagedIdentitySource, RetryOptions, ServiceError, TokenRequest, UserAssignedId,
    ValidationError, ValidatorOptions,
};
use std::time::Duration;

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

fn usize_of(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

impl From<&UserAssignedId> for wit::UserAssignedId {
    fn from(id: &UserAssignedId) -> Self {
        match id {
            UserAssignedId::ClientId(v) => wit::UserAssignedId::ClientId(v.clone()),
            UserAssignedId::ObjectId(v) => wit::UserAssignedId::ObjectId(v.clone()),
            UserAssignedId::ResourceId(v) => wit::UserAssignedId::ResourceId(v.clone()),
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

impl From<&RetryOptions> for wit::RetryOptions {
    fn from(r: &RetryOptions) -> Self {
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

impl From<&ManagedIdentityOptions> for wit::ManagedIdentityOptions {
    fn from(o: &ManagedIdentityOptions) -> Self {
        wit::ManagedIdentityOptions {
            user_assigned: o.user_assigned.as_ref().map(Into::into),
            source: o.source.map(Into::into),
            endpoint: o.endpoint.clone(),
            retry: o.retry.as_ref().map(Into::into),
            arc_token_directory: o.arc_token_directory.clone(),
            client_capabilities: o.client_capabilities.clone(),
        }
    }
}

impl From<&AppOptions> for wit::AppOptions {
    fn from(a: &AppOptions) -> Self {
        wit::AppOptions {
            client_id: a.client_id.clone(),
            tenant_id: a.tenant_id.clone(),
            authority_host: a.authority_host.clone(),
            additionally_allowed_tenants: a.additionally_allowed_tenants.clone(),
            client_capabilities: a.client_capabilities.clone(),
        }
    }
}

impl From<CertificateOptions> for wit::CertificateOptions {
    fn from(c: CertificateOptions) -> Self {
        wit::CertificateOptions {
            pem: c.pem,
            path: c.path,
            send_certificate_chain: c.send_certificate_chain,
            rs256: c.rs256,
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
            wit::Error::Unavailable(m) => Error::Unavailable(m),
            wit::Error::AuthenticationFailed(s) => Error::AuthenticationFailed(s.into()),
            wit::Error::Throttled(t) => Error::Throttled {
                retry_after: t.retry_after,
                message: t.message,
            },
            wit::Error::Transport(m) => Error::Transport(m),
            wit::Error::InvalidInput(m) => Error::InvalidInput(m),
            wit::Error::InvalidResponse(m) => Error::InvalidResponse(m),
            wit::Error::InteractionRequired(s) => Error::InteractionRequired(s.into()),
        }
    }
}

impl From<&ValidatorOptions> for wit_validation::ValidatorOptions {
    fn from(o: &ValidatorOptions) -> Self {
        wit_validation::ValidatorOptions {
            tenant: o.tenant.clone(),
            allowed_tenants: o.allowed_tenants.clone(),
            audiences: o.audiences.clone(),
            leeway_seconds: u32::try_from(o.leeway.as_secs()).unwrap_or(u32::MAX),
            authority: o.authority.clone(),
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
        use ValidationError as E;
        use wit_validation::ValidationError as W;
        match e {
            W::TooLarge(s) => E::TooLarge {
                size: usize_of(s.size),
                limit: usize_of(s.limit),
            },
            W::Malformed(m) => E::Malformed(m),
            W::UnsupportedAlgorithm(a) => E::UnsupportedAlgorithm(a),
            W::UnknownKey(k) => E::UnknownKey(k),
            W::BadSignature => E::BadSignature,
            W::Expired(t) => E::Expired {
                exp: t.exp,
                now: t.now,
            },
            W::NotYetValid(t) => E::NotYetValid {
                nbf: t.nbf,
                now: t.now,
            },
            W::WrongAudience(a) => E::WrongAudience(a),
            W::WrongIssuer(i) => E::WrongIssuer(i),
            W::TenantNotAllowed(t) => E::TenantNotAllowed(t),
            W::NotAnAccessToken(m) => E::NotAnAccessToken(m),
            W::MissingRole(r) => E::MissingRole(r),
            W::MissingScope(s) => E::MissingScope(s),
            W::KeysUnavailable(m) => E::KeysUnavailable(m),
            W::InvalidConfiguration(m) => E::InvalidConfiguration(m),
        }
    }
}

/// What a plugin gets: the token and its times, nothing about where it came from.
#[cfg(feature = "plugin")]
impl From<AccessToken> for wit_tokens::AccessToken {
    fn from(t: AccessToken) -> Self {
        wit_tokens::AccessToken {
            expires_on: t.expires_on(),
            refresh_on: t.refresh_on(),
            token: t.into_secret(),
        }
    }
}
