//! The v2.0 client-credentials token request, field by field in the order Entra's
//! SDKs send them.

use crate::error::Error;
use crate::http::{Method, Request};

/// `client_assertion_type` for a JWT assertion.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Space-joined scopes, each checked: one token request may name several scopes of one
/// resource.
pub fn scope_param(scopes: &[String]) -> Result<String, Error> {
    if scopes.is_empty() {
        return Err(Error::InvalidInput(
            "no scope requested; pass one such as https://vault.azure.net/.default".into(),
        ));
    }
    if let Some(bad) = scopes
        .iter()
        .find(|s| s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(Error::InvalidInput(format!(
            "scope {bad:?} is empty or contains whitespace"
        )));
    }
    Ok(scopes.join(" "))
}

/// `client_id, client_secret, grant_type, scope`.
pub fn secret_form(client_id: &str, secret: &str, scope: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", client_id.into()),
        ("client_secret", secret.into()),
        ("grant_type", "client_credentials".into()),
        ("scope", scope.into()),
    ]
}

/// `client_assertion, client_assertion_type, client_id, grant_type, scope`.
pub fn assertion_form(
    assertion: &str,
    client_id: &str,
    scope: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("client_assertion", assertion.into()),
        ("client_assertion_type", JWT_BEARER.into()),
        ("client_id", client_id.into()),
        ("grant_type", "client_credentials".into()),
        ("scope", scope.into()),
    ]
}

/// The POST of `fields` to `endpoint`, with `claims` (a CAE challenge) when given.
pub fn token_request(
    endpoint: &str,
    mut fields: Vec<(&'static str, String)>,
    claims: Option<&str>,
) -> Request {
    fields.extend(claims.map(|c| ("claims", c.to_string())));
    let mut body = form_urlencoded::Serializer::new(String::new());
    body.extend_pairs(fields);
    Request {
        method: Method::Post,
        url: endpoint.to_string(),
        headers: vec![(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: body.finish().into_bytes(),
    }
}
