//! The `entra:identity/validation` export.

use crate::bindings::exports::entra::identity::validation as wit;
use crate::shared::shared_cache;
use crate::wasi_platform::{WasiPlatform, WasiTransport};
use entra_identity_core::validation::{self, KeyCache, Validator, ValidatorOptions};
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
        let options = ValidatorOptions::from(options);
        let keys = KEYS.with(|all| {
            all.borrow_mut()
                .entry(validation::metadata_url(&options))
                .or_default()
                .clone()
        });
        let validator = Validator::new(
            options,
            keys,
            Box::new(WasiTransport),
            Box::new(WasiPlatform),
        )
        .map_err(wit::ValidationError::from)?;
        // A malformed cache key is reported by the credentials; here it only means
        // keys are cached in this instance alone.
        let validator = match shared_cache() {
            Ok(Some(shared)) => validator.with_shared_cache(shared),
            _ => validator,
        };
        Ok(wit::Validator::new(ValidatorResource(validator)))
    }

    fn validate(&self, bearer: String) -> Result<wit::Claims, wit::ValidationError> {
        self.0.validate(&bearer).map(Into::into).map_err(Into::into)
    }
}

pub(super) fn require_role(c: wit::Claims, role: String) -> Result<(), wit::ValidationError> {
    validation::Claims::from(c)
        .require_role(&role)
        .map_err(Into::into)
}

pub(super) fn require_scope(c: wit::Claims, scope: String) -> Result<(), wit::ValidationError> {
    validation::Claims::from(c)
        .require_scope(&scope)
        .map_err(Into::into)
}
