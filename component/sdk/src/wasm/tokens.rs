//! Tokens for a plugin, from the identity its host chose for it
//! (`entra:identity/tokens`): no configuration, no secrets in the plugin.

use super::bindings::plugin::entra::identity::tokens as wit;
use crate::http::TokenSource;
use crate::{AccessToken, Error, TokenRequest};

/// A token for `scopes`, e.g. `["https://vault.azure.net/.default"]`.
///
/// A scope the host's policy does not allow is [`Error::Denied`]; asking too often
/// is [`Error::Throttled`].
pub fn get_token<S: AsRef<str>>(scopes: &[S]) -> Result<AccessToken, Error> {
    let scopes: Vec<String> = scopes.iter().map(|s| s.as_ref().to_string()).collect();
    wit::get_token(&scopes).map(Into::into).map_err(Into::into)
}

/// A new token for `scopes` that satisfies `claims`: the JSON a resource demanded in
/// a claims challenge (see [`crate::http::claims_challenge`]), decoded. It replaces
/// the refused token for every caller of the host's identity. The host's policy and
/// rate limit apply as to [`get_token`].
pub fn get_token_with_claims<S: AsRef<str>>(
    scopes: &[S],
    claims: &str,
) -> Result<AccessToken, Error> {
    let scopes: Vec<String> = scopes.iter().map(|s| s.as_ref().to_string()).collect();
    wit::get_token_with_claims(&scopes, claims)
        .map(Into::into)
        .map_err(Into::into)
}

/// The plugin's tokens as a [`TokenSource`], for [`crate::http::send_with_token`]:
///
/// ```ignore
/// let response = send_with_token(&tokens::PluginTokens, &[SCOPE], async |token| { .. }).await;
/// ```
///
/// A request's tenant and `force_refresh` are the host's to decide and are ignored.
#[derive(Debug, Clone, Copy, Default)]
pub struct PluginTokens;

impl TokenSource for PluginTokens {
    fn token(&self, request: &TokenRequest) -> Result<AccessToken, Error> {
        match &request.claims {
            Some(claims) => get_token_with_claims(&request.scopes, claims),
            None => get_token(&request.scopes),
        }
    }
}
