//! Calling a resource with a token, and answering its claims challenge once: what the
//! Azure SDKs' bearer-token policies do for Continuous Access Evaluation (CAE).

use super::www_authenticate::claims_to_retry;
use crate::{AccessToken, Error, TokenRequest};
use ::http::Response;
use std::fmt;

/// Where [`send_with_token`] gets its tokens.
///
/// Implemented (on `wasm32`) by `Credential` and, for a plugin, by
/// `tokens::PluginTokens`; and by any
/// `Fn(&TokenRequest) -> Result<AccessToken, Error>` (a test, or a credential with a
/// tenant of its own).
pub trait TokenSource {
    /// A token for `request`; a request with [`TokenRequest::claims`] must skip any
    /// cached token and replace it.
    fn token(&self, request: &TokenRequest) -> Result<AccessToken, Error>;
}

impl<F> TokenSource for F
where
    F: Fn(&TokenRequest) -> Result<AccessToken, Error>,
{
    fn token(&self, request: &TokenRequest) -> Result<AccessToken, Error> {
        self(request)
    }
}

/// Why [`send_with_token`] has no response to return.
#[derive(Debug)]
pub enum SendError<E> {
    /// No token: the first one, or the one the claims challenge asked for.
    Token(Error),
    /// `send` failed.
    Send(E),
}

impl<E: fmt::Display> fmt::Display for SendError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Token(e) => write!(f, "no token: {e}"),
            SendError::Send(e) => write!(f, "request failed: {e}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for SendError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SendError::Token(e) => Some(e),
            SendError::Send(e) => Some(e),
        }
    }
}

/// Calls `send` with a token for `scopes`, and answers a claims challenge once.
///
/// 1. A token for `scopes` from `source` (usually the cached one), and `send(&token)`.
/// 2. When that answer is a 401 carrying a valid claims challenge
///    ([`claims_to_retry`](super::claims_to_retry): `Bearer`,
///    `error="insufficient_claims"`, base64 of a JSON object), a new token for
///    `TokenRequest::new(scopes).claims(decoded)`, which replaces the refused one in
///    the identity component's cache for every later request, and `send(&new_token)`
///    exactly once more; that second answer is returned whatever it is.
/// 3. Any other answer, a 401 without a challenge or with a malformed one included,
///    is returned as it is.
///
/// `send` builds the whole request each time (the body of the first may be spent);
/// put the token on it with [`set_bearer`](super::set_bearer). It works with any
/// client that speaks `http` 1.x types: spin-sdk 7, `wstd`, or a test.
///
/// ```ignore
/// use entra_identity_sdk::Credential;
/// use entra_identity_sdk::http::{send_with_token, set_bearer, SendError};
///
/// let credential = Credential::from_environment()?;
/// let response = send_with_token(&credential, &["https://vault.azure.net/.default"], async |token| {
///     let mut request = spin_sdk::http::Request::get(&url).body(spin_sdk::http::EmptyBody::new())?;
///     set_bearer(&mut request, token)?;
///     spin_sdk::http::send(request).await
/// })
/// .await;
/// match response {
///     Ok(response) => { /* 2xx, or the resource's refusal after one answered challenge */ }
///     Err(SendError::Token(e)) => { /* the identity component's reason; no secrets */ }
///     Err(SendError::Send(e)) => { /* transport */ }
/// }
/// ```
pub async fn send_with_token<T, S, F, B, E>(
    source: &T,
    scopes: &[S],
    mut send: F,
) -> Result<Response<B>, SendError<E>>
where
    T: TokenSource + ?Sized,
    S: AsRef<str>,
    F: AsyncFnMut(&AccessToken) -> Result<Response<B>, E>,
{
    let request = TokenRequest::new(scopes);
    let token = source.token(&request).map_err(SendError::Token)?;
    let response = send(&token).await.map_err(SendError::Send)?;
    let Some(claims) = claims_to_retry(&response) else {
        return Ok(response);
    };
    // The first answer is dropped here; its body is of no use to the caller.
    drop(response);
    let token = source
        .token(&request.claims(claims))
        .map_err(SendError::Token)?;
    send(&token).await.map_err(SendError::Send)
}

#[cfg(test)]
mod tests;
