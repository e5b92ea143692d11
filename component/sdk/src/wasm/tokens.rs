//! Tokens for a plugin, from the identity its host chose for it
//! (`entra:identity/tokens`): no configuration, no secrets in the plugin.

use super::bindings::plugin::entra::identity::tokens as wit;
use crate::{AccessToken, Error};

/// A token for `scopes`, e.g. `["https://vault.azure.net/.default"]`.
///
/// A scope the host's policy does not allow is [`Error::Denied`]; asking too often
/// is [`Error::Throttled`].
pub fn get_token<S: AsRef<str>>(scopes: &[S]) -> Result<AccessToken, Error> {
    let scopes: Vec<String> = scopes.iter().map(|s| s.as_ref().to_string()).collect();
    wit::get_token(&scopes).map(Into::into).map_err(Into::into)
}
