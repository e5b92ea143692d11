//! The `entra:identity` component: WIT glue over the protocol core.
//!
//! Only compiled for `wasm32`. `bindings` holds the generated code, `convert` maps
//! between WIT types and core types, `validation` is the validation export, `wasi_platform` implements the core's
//! `Transport` and `Platform` over `wasi:http`, `wasi:clocks` and `wasi:random`.

mod bindings;
mod convert;
mod validation;
mod wasi_platform;

use crate::cache::MemoryStore;
use crate::credential::{Credential, SharedStore};
use crate::managed_identity;
use bindings::exports::entra::identity::credentials as wit;
use std::cell::RefCell;
use std::rc::Rc;

thread_local! {
    /// One cache per instance, shared by every credential resource in it, so that a
    /// caller creating a credential per request still hits the cache.
    static STORE: SharedStore = Rc::new(RefCell::new(MemoryStore::default()));
}

struct Component;

impl wit::Guest for Component {
    type Credential = CredentialResource;
}

impl bindings::exports::entra::identity::validation::Guest for Component {
    type Validator = validation::ValidatorResource;

    fn require_role(
        claims: bindings::exports::entra::identity::validation::Claims,
        role: String,
    ) -> Result<(), bindings::exports::entra::identity::validation::ValidationError> {
        validation::require_role(claims, role)
    }

    fn require_scope(
        claims: bindings::exports::entra::identity::validation::Claims,
        scope: String,
    ) -> Result<(), bindings::exports::entra::identity::validation::ValidationError> {
        validation::require_scope(claims, scope)
    }
}

struct CredentialResource(Credential);

impl wit::GuestCredential for CredentialResource {
    fn managed_identity(
        options: wit::ManagedIdentityOptions,
    ) -> Result<wit::Credential, wit::Error> {
        let options = convert::options(options);
        let env = |name: &str| std::env::var(name).ok();
        let flow = managed_identity::flow(options, &env).map_err(convert::error)?;
        let credential = Credential::new(
            flow,
            Box::new(wasi_platform::WasiTransport),
            Box::new(wasi_platform::WasiPlatform),
            STORE.with(Rc::clone),
        );
        Ok(wit::Credential::new(CredentialResource(credential)))
    }

    fn get_token(&self, request: wit::TokenRequest) -> Result<wit::AccessToken, wit::Error> {
        self.0
            .get_token(&convert::request(request))
            .map(convert::token)
            .map_err(convert::error)
    }

    fn describe(&self) -> String {
        self.0.describe()
    }
}

bindings::export!(Component with_types_in bindings);
