//! Which of the app's requests get a token, what a refusal says, and which answer is
//! worth a retry: plain Rust over the core's rules and the SDK's challenge parser,
//! as `component/outbound-p3` decides them.

use entra_identity_core::attach::Rules;

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

/// The claims to ask for when a response with `status` and `headers` (as
/// `fields.entries()` lists them) is a 401 carrying a valid claims challenge.
pub(crate) fn claims_to_retry(status: u16, headers: &[(String, Vec<u8>)]) -> Option<String> {
    entra_identity_sdk::http::claims_to_retry_in_fields(status, headers)
}

#[cfg(test)]
mod tests;
