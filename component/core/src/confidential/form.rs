//! The v2.0 token request (client credentials or on-behalf-of), field by field in the order Entra's
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

/// `grant_type` of an on-behalf-of exchange.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How the app proves itself in the form.
#[derive(Clone, Copy)]
pub enum ClientAuth<'a> {
    /// `client_secret`.
    Secret(&'a str),
    /// `client_assertion` with `client_assertion_type`.
    Assertion(&'a str),
}

/// What the app asks for.
#[derive(Clone, Copy)]
pub enum Grant<'a> {
    /// A token for the app itself.
    ClientCredentials,
    /// A token for the user whose token (`assertion`) called the app.
    OnBehalfOf {
        /// The user's access token.
        assertion: &'a str,
    },
}

/// The form fields in alphabetical order, as Entra's SDKs send them: `assertion`,
/// `client_assertion`, `client_assertion_type`, `client_id`, `client_secret`,
/// `grant_type`, `requested_token_use`, `scope` (those that apply).
pub fn token_form(
    client_id: &str,
    auth: ClientAuth<'_>,
    grant: Grant<'_>,
    scope: &str,
) -> Vec<(&'static str, String)> {
    let mut fields = Vec::new();
    if let Grant::OnBehalfOf { assertion } = grant {
        fields.push(("assertion", assertion.to_string()));
    }
    if let ClientAuth::Assertion(assertion) = auth {
        fields.push(("client_assertion", assertion.to_string()));
        fields.push(("client_assertion_type", JWT_BEARER.to_string()));
    }
    fields.push(("client_id", client_id.to_string()));
    if let ClientAuth::Secret(secret) = auth {
        fields.push(("client_secret", secret.to_string()));
    }
    match grant {
        Grant::ClientCredentials => fields.push(("grant_type", "client_credentials".into())),
        Grant::OnBehalfOf { .. } => {
            fields.push(("grant_type", JWT_BEARER_GRANT.into()));
            fields.push(("requested_token_use", "on_behalf_of".into()));
        }
    }
    fields.push(("scope", scope.to_string()));
    fields
}

/// The POST of `fields` to `endpoint`, with `claims` (capabilities and a CAE
/// challenge, see [`crate::claims`]) when given.
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
