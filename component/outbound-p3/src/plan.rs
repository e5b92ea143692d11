//! What happens to one request the app sends, what a refusal says, and which answer
//! is worth a retry.

use entra_identity_core::attach::{MAX_REPLAYED_BODY, Rules};
use http::header::{HeaderMap, HeaderName, HeaderValue};

/// The scope of the token a request gets, or `None` to send it as the app built it:
/// the app set its own `authorization`, no rule names the destination, or the request
/// has no scheme or authority (the host fills those in, so where it goes is unknown).
pub(crate) fn scope_for<'r>(
    rules: &'r Rules,
    has_authorization: bool,
    scheme: Option<&str>,
    authority: Option<&str>,
) -> Option<&'r str> {
    if has_authorization {
        return None;
    }
    rules.scope_for(scheme?, authority?)
}

/// The `internal-error` text for a request that needed a token for `scope` and did
/// not get one: where it was going, for which scope, and why (the identity
/// component's message, which never carries a secret). The app sees it as its
/// request's error.
pub(crate) fn no_token(authority: &str, scope: &str, why: &dyn std::fmt::Display) -> String {
    format!(
        "entra-identity outbound: no token for the request to {authority} (scope {scope}): {why}"
    )
}

/// Whether a body of `len` bytes that has ended is kept for a retry.
pub(crate) fn is_replayable(len: usize) -> bool {
    len <= MAX_REPLAYED_BODY
}

/// The claims to ask for when a response with `status` and `headers` is a 401
/// carrying a valid claims challenge (`entra_identity_sdk::http::claims_challenge`).
pub(crate) fn claims_to_retry(status: u16, headers: &[(String, Vec<u8>)]) -> Option<String> {
    if status != 401 {
        return None;
    }
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        // A header http cannot represent is not a challenge the SDK would answer.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            map.append(name, value);
        }
    }
    entra_identity_sdk::http::claims_challenge(&map)
}

#[cfg(test)]
mod tests;
