//! Conversions between the generated WIT types and `entra-identity-types`, as trait
//! impls, in both directions the exports need. Nothing here decides anything; where
//! the WIT is narrower than the types (milliseconds in a `u32`), values saturate.

use crate::bindings::exports::entra::identity::{
    credentials as wit, tokens as wit_tokens, validation as wit_validation,
};
use entra_identity_types::{
    AccessToken, AppOptions, CertificateOptions, Claims, ClientAuthentication, Error,
    ManagedIdentityOptions, ManagedIdentitySource, RetryOptions, ServiceError, TokenRequest,
    UserAssignedId, ValidationError, ValidatorOptions,
};
use std::time::Duration;

fn saturating_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl From<wit::TokenRequest> for TokenRequest {
    fn from(r: wit::TokenRequest) -> Self {
        let mut request = TokenRequest::new(&r.scopes);
        request.tenant_id = r.tenant_id;
        request.claims = r.claims;
        request.force_refresh = r.force_refresh;
        request
    }
}

impl From<AccessToken> for wit::AccessToken {
    fn from(t: AccessToken) -> Self {
        wit::AccessToken {
            token_type: t.token_type().to_string(),
            expires_on: t.expires_on(),
            refresh_on: t.refresh_on(),
            token: t.into_secret(),
        }
    }
}

impl From<AccessToken> for wit_tokens::AccessToken {
    fn from(t: AccessToken) -> Self {
        wit_tokens::AccessToken {
            expires_on: t.expires_on(),
            refresh_on: t.refresh_on(),
            token: t.into_secret(),
        }
    }
}

impl From<ServiceError> for wit::ServiceError {
    fn from(e: ServiceError) -> Self {
        wit::ServiceError {
            status: e.status,
            code: e.code,
            description: e.description,
            correlation_id: e.correlation_id,
            context: e.context,
            claims: e.claims,
        }
    }
}

impl From<Error> for wit::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Unavailable(m) => wit::Error::Unavailable(m),
            Error::AuthenticationFailed(e) => wit::Error::AuthenticationFailed(e.into()),
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
            Error::InteractionRequired(e) => wit::Error::InteractionRequired(e.into()),
            // Only a plugin host denies, and credentials have no such case: the
            // message still says what happened.
            other => wit::Error::Unavailable(other.to_string()),
        }
    }
}

/// A plugin sees only whether to wait and how long; everything else is unavailable
/// with the core's (scrubbed) message.
impl From<Error> for wit_tokens::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Throttled { retry_after, .. } => wit_tokens::Error::RateLimited(retry_after),
            Error::Denied(m) => wit_tokens::Error::Denied(m),
            other => wit_tokens::Error::Unavailable(other.to_string()),
        }
    }
}

impl From<wit::UserAssignedId> for UserAssignedId {
    fn from(id: wit::UserAssignedId) -> Self {
        match id {
            wit::UserAssignedId::ClientId(v) => UserAssignedId::ClientId(v),
            wit::UserAssignedId::ObjectId(v) => UserAssignedId::ObjectId(v),
            wit::UserAssignedId::ResourceId(v) => UserAssignedId::ResourceId(v),
        }
    }
}

impl From<wit::ManagedIdentitySource> for ManagedIdentitySource {
    fn from(s: wit::ManagedIdentitySource) -> Self {
        match s {
            wit::ManagedIdentitySource::Imds => ManagedIdentitySource::Imds,
            wit::ManagedIdentitySource::AppService => ManagedIdentitySource::AppService,
            wit::ManagedIdentitySource::AzureArc => ManagedIdentitySource::AzureArc,
            wit::ManagedIdentitySource::ServiceFabric => ManagedIdentitySource::ServiceFabric,
            wit::ManagedIdentitySource::CloudShell => ManagedIdentitySource::CloudShell,
            wit::ManagedIdentitySource::AzureMl => ManagedIdentitySource::AzureMl,
        }
    }
}

impl From<wit::RetryOptions> for RetryOptions {
    fn from(r: wit::RetryOptions) -> Self {
        let ms = |v: u32| Duration::from_millis(u64::from(v));
        RetryOptions::default()
            .max_retries(r.max_retries)
            .initial_delay(ms(r.initial_delay_ms))
            .max_delay(ms(r.max_delay_ms))
            .max_elapsed(ms(r.max_elapsed_ms))
            .attempt_timeout(ms(r.attempt_timeout_ms))
            .gone_retry(ms(r.gone_retry_ms))
    }
}

impl From<wit::ManagedIdentityOptions> for ManagedIdentityOptions {
    fn from(o: wit::ManagedIdentityOptions) -> Self {
        let mut options = ManagedIdentityOptions::default();
        options.user_assigned = o.user_assigned.map(Into::into);
        options.source = o.source.map(Into::into);
        options.endpoint = o.endpoint;
        options.retry = o.retry.map(Into::into);
        options.arc_token_directory = o.arc_token_directory;
        options.client_capabilities = o.client_capabilities;
        options
    }
}

impl From<wit::AppOptions> for AppOptions {
    fn from(a: wit::AppOptions) -> Self {
        let mut app = AppOptions::default();
        app.client_id = a.client_id;
        app.tenant_id = a.tenant_id;
        app.authority_host = a.authority_host;
        app.additionally_allowed_tenants = a.additionally_allowed_tenants;
        app.client_capabilities = a.client_capabilities;
        app
    }
}

impl From<wit::CertificateOptions> for CertificateOptions {
    fn from(c: wit::CertificateOptions) -> Self {
        let mut certificate = CertificateOptions::default().rs256(c.rs256);
        certificate.pem = c.pem;
        certificate.path = c.path;
        certificate.send_certificate_chain = c.send_certificate_chain;
        certificate
    }
}

impl From<wit::ClientAuthentication> for ClientAuthentication {
    fn from(a: wit::ClientAuthentication) -> Self {
        match a {
            wit::ClientAuthentication::Secret(s) => ClientAuthentication::Secret(s),
            wit::ClientAuthentication::Certificate(c) => {
                ClientAuthentication::Certificate(c.into())
            }
            wit::ClientAuthentication::ManagedIdentity(o) => {
                ClientAuthentication::ManagedIdentity(o.into())
            }
        }
    }
}

impl From<wit_validation::ValidatorOptions> for ValidatorOptions {
    fn from(o: wit_validation::ValidatorOptions) -> Self {
        let mut options = ValidatorOptions::new(o.tenant, &o.audiences)
            .allow_tenants(&o.allowed_tenants)
            .leeway(Duration::from_secs(u64::from(o.leeway_seconds)));
        options.authority = o.authority;
        options
    }
}

impl From<Claims> for wit_validation::Claims {
    fn from(c: Claims) -> Self {
        wit_validation::Claims {
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

impl From<ValidationError> for wit_validation::ValidationError {
    fn from(e: ValidationError) -> Self {
        use ValidationError as E;
        use wit_validation::ValidationError as W;
        match e {
            E::TooLarge { size, limit } => W::TooLarge(wit_validation::SizeLimit {
                size: saturating_u32(size),
                limit: saturating_u32(limit),
            }),
            E::Malformed(m) => W::Malformed(m),
            E::UnsupportedAlgorithm(a) => W::UnsupportedAlgorithm(a),
            E::UnknownKey(k) => W::UnknownKey(k),
            E::BadSignature => W::BadSignature,
            E::Expired { exp, now } => W::Expired(wit_validation::Expiry { exp, now }),
            E::NotYetValid { nbf, now } => W::NotYetValid(wit_validation::NotBefore { nbf, now }),
            E::WrongAudience(a) => W::WrongAudience(a),
            E::WrongIssuer(i) => W::WrongIssuer(i),
            E::TenantNotAllowed(t) => W::TenantNotAllowed(t),
            E::NotAnAccessToken(m) => W::NotAnAccessToken(m),
            E::MissingRole(r) => W::MissingRole(r),
            E::MissingScope(s) => W::MissingScope(s),
            E::KeysUnavailable(m) => W::KeysUnavailable(m),
            E::InvalidConfiguration(m) => W::InvalidConfiguration(m),
            // A check added to the types later is the token's fault until the WIT
            // names it.
            other => W::Malformed(other.to_string()),
        }
    }
}
