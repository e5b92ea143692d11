//! The `entra:identity/validation` export.

use crate::bindings::exports::entra::identity::validation as wit;
use crate::shared::shared_cache;
use crate::wasi_platform::{WasiPlatform, WasiTransport};
use entra_identity_core::validation::{
    self, Claims, KeyCache, ValidationError, Validator, ValidatorOptions,
};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

thread_local! {
    /// Signing keys per metadata URL, shared by every validator in the instance.
    static KEYS: RefCell<HashMap<String, Rc<RefCell<KeyCache>>>> = RefCell::new(HashMap::new());
}

pub(super) struct ValidatorResource(Validator);

impl wit::GuestValidator for ValidatorResource {
    fn create(options: wit::ValidatorOptions) -> Result<wit::Validator, wit::ValidationError> {
        let defaults = ValidatorOptions::new(options.tenant, options.audiences);
        let options = ValidatorOptions {
            allowed_tenants: options.allowed_tenants,
            leeway: u64::from(options.leeway_seconds),
            authority: options.authority.unwrap_or(defaults.authority.clone()),
            ..defaults
        };
        let keys = KEYS.with(|all| {
            all.borrow_mut()
                .entry(options.metadata_url())
                .or_default()
                .clone()
        });
        let validator = Validator::new(
            options,
            keys,
            Box::new(WasiTransport),
            Box::new(WasiPlatform),
        )
        .map_err(error)?;
        // A malformed cache key is reported by the credentials; here it only means
        // keys are cached in this instance alone.
        let validator = match shared_cache() {
            Ok(Some(shared)) => validator.with_shared_cache(shared),
            _ => validator,
        };
        Ok(wit::Validator::new(ValidatorResource(validator)))
    }

    fn validate(&self, bearer: String) -> Result<wit::Claims, wit::ValidationError> {
        self.0.validate(&bearer).map(claims).map_err(error)
    }
}

pub(super) fn require_role(c: wit::Claims, role: String) -> Result<(), wit::ValidationError> {
    validation::require_role(&from_wit(c), &role).map_err(error)
}

pub(super) fn require_scope(c: wit::Claims, scope: String) -> Result<(), wit::ValidationError> {
    validation::require_scope(&from_wit(c), &scope).map_err(error)
}

fn claims(c: Claims) -> wit::Claims {
    wit::Claims {
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

fn from_wit(c: wit::Claims) -> Claims {
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

fn error(e: ValidationError) -> wit::ValidationError {
    use ValidationError as E;
    use wit::ValidationError as W;
    match e {
        E::TooLarge { size, .. } => W::TooLarge(u32::try_from(size).unwrap_or(u32::MAX)),
        E::Malformed(m) => W::Malformed(m),
        E::UnsupportedAlgorithm(a) => W::UnsupportedAlgorithm(a),
        E::UnknownKey(k) => W::UnknownKey(k),
        E::BadSignature => W::BadSignature,
        E::Expired { exp, .. } => W::Expired(exp),
        E::NotYetValid { nbf, .. } => W::NotYetValid(nbf),
        E::WrongAudience(a) => W::WrongAudience(a),
        E::WrongIssuer(i) => W::WrongIssuer(i),
        E::TenantNotAllowed(t) => W::TenantNotAllowed(t),
        // The WIT has no variant for it yet; what is wrong is the kind of token.
        e @ E::NotAnAccessToken(_) => W::Malformed(e.to_string()),
        E::MissingRole(r) => W::MissingRole(r),
        E::MissingScope(s) => W::MissingScope(s),
        E::KeysUnavailable(m) => W::KeysUnavailable(m),
        E::InvalidConfiguration(m) => W::InvalidConfiguration(m),
        other => W::Malformed(other.to_string()),
    }
}
