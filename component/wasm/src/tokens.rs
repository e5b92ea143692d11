//! The `entra:identity/tokens` export: tokens from the default chain, configured by
//! the environment, for a composer that wires a plugin's import to this component.

use crate::bindings::exports::entra::identity::tokens as wit;
use crate::credentials::credential;
use crate::shared::shared_cache;
use entra_identity_core::chain::{self, ChainOptions, ChainedCredential};
use entra_identity_core::error::Error;
use entra_identity_core::token::TokenRequest;
use std::cell::OnceCell;

thread_local! {
    // Boxed for `.bss`, as `shared::SHARED` is.
    static DEFAULT: OnceCell<Box<Result<ChainedCredential, Error>>> = const { OnceCell::new() };
}

/// A token for `request` from the default chain (a plain request, or one carrying a
/// resource's claims challenge).
pub(super) fn get_token(request: TokenRequest) -> Result<wit::AccessToken, wit::Error> {
    DEFAULT.with(|cell| {
        let chain = cell.get_or_init(|| {
            Box::new(shared_cache().and_then(|_| {
                let env = |name: &str| std::env::var(name).ok();
                chain::default_chain(ChainOptions::default(), &env, &credential)
            }))
        });
        let chain = (**chain).as_ref().map_err(|e| e.clone())?;
        Ok(chain.get_token(&request)?.into())
    })
}
