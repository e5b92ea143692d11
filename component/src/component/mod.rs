//! The `entra:identity` component: WIT glue over the protocol core.
//!
//! Only compiled for `wasm32`. `bindings` holds the generated code, `convert` maps
//! between WIT types and core types, `credentials` and `validation` are the two
//! exports, `wasi_platform` implements the core's
//! `Transport` and `Platform` over `wasi:http`, `wasi:clocks` and `wasi:random`.

mod bindings;
mod convert;
mod credentials;
mod validation;
mod wasi_platform;

use bindings::exports::entra::identity::{credentials as wit, validation as wit_validation};

struct Component;

impl wit::Guest for Component {
    type Credential = credentials::CredentialResource;
}

impl wit_validation::Guest for Component {
    type Validator = validation::ValidatorResource;

    fn require_role(
        claims: wit_validation::Claims,
        role: String,
    ) -> Result<(), wit_validation::ValidationError> {
        validation::require_role(claims, role)
    }

    fn require_scope(
        claims: wit_validation::Claims,
        scope: String,
    ) -> Result<(), wit_validation::ValidationError> {
        validation::require_scope(claims, scope)
    }
}

bindings::export!(Component with_types_in bindings);
