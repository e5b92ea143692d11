//! What happens to one request the app sends, and what a refusal says.

use crate::attach::Rules;

/// What the handler does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision<'r> {
    /// Out as the app built it: the app set its own `authorization`, or no rule names
    /// the destination (never a token to a destination nobody named).
    Forward,
    /// A new request with a token for `scope`.
    Attach { scope: &'r str },
}

/// The request's destination as the app gave it. A request without a scheme or an
/// authority leaves the host to fill them in, so this component cannot know where it
/// goes: it gets no token.
pub(crate) fn decide<'r>(
    rules: &'r Rules,
    has_authorization: bool,
    scheme: Option<&str>,
    authority: Option<&str>,
) -> Decision<'r> {
    if has_authorization {
        return Decision::Forward;
    }
    match (scheme, authority) {
        (Some(scheme), Some(authority)) => rules
            .scope_for(scheme, authority)
            .map_or(Decision::Forward, |scope| Decision::Attach { scope }),
        _ => Decision::Forward,
    }
}

/// The `internal-error` text for a request that needed a token for `scope` and did
/// not get one: where it was going, for which scope, and the identity component's
/// message (which never carries a secret). The app sees it as its request's error.
pub(crate) fn no_token(authority: &str, scope: &str, why: &str) -> String {
    format!(
        "entra-identity outbound: no token for the request to {authority} (scope {scope}): {why}"
    )
}

/// The `internal-error` text for a request with a body that needed a token.
pub(crate) fn body_not_carried(authority: &str, scope: &str) -> String {
    format!(
        "entra-identity outbound: the request to {authority} needs a token (scope {scope}) \
         but has a body, which a wasi:http 0.2 component cannot copy into the new request \
         that carries the token; send it without a body, or get the token in the app"
    )
}

#[cfg(test)]
mod tests;
