//! The `entra:identity` WASI 0.2 component: WIT glue over the protocol core
//! ([`entra_identity_core`]), built for `wasm32-wasip2` as `entra_identity.wasm`.
//!
//! Natively this crate is empty, so a workspace build compiles it without wasm imports. `bindings` holds the generated code, `convert` maps
//! between WIT types and core types; `credentials`, `validation` and `tokens` are the
//! three exports; `wasi_platform` implements the core's `Transport` and `Platform`
//! over `wasi:http`, `wasi:clocks`, `wasi:random` and stderr; `keyvalue` the shared
//! cache's store over `wasi:keyvalue`, which `shared` opens once per instance.

#![cfg(target_arch = "wasm32")]

mod bindings;
mod convert;
mod credentials;
mod keyvalue;
mod shared;
mod tokens;
mod validation;
mod wasi_platform;

use bindings::exports::entra::identity::{
    credentials as wit, tokens as wit_tokens, validation as wit_validation,
};

use entra_identity_core::token::TokenRequest;

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

impl wit_tokens::Guest for Component {
    fn get_token(scopes: Vec<String>) -> Result<wit_tokens::AccessToken, wit_tokens::Error> {
        tokens::get_token(TokenRequest::new(&scopes))
    }

    fn get_token_with_claims(
        scopes: Vec<String>,
        claims: String,
    ) -> Result<wit_tokens::AccessToken, wit_tokens::Error> {
        tokens::get_token(TokenRequest::new(&scopes).claims(claims))
    }
}

bindings::export!(Component with_types_in bindings);
