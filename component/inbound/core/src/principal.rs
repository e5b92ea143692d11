//! The caller as App Service Easy Auth hands it to an app: `X-MS-CLIENT-PRINCIPAL-ID`,
//! `-NAME`, `-IDP` and `X-MS-CLIENT-PRINCIPAL`, the base64 of
//! `{"auth_typ":"aad","claims":[{"typ":…,"val":…}],"name_typ":…,"role_typ":…}`.
//!
//! Claim types are the token's own claim names (an array claim gives one entry per
//! element), `name_typ` is the claim the name came from and `role_typ` is `roles`, so
//! an app finds the name and the roles in `claims` by those types, as with Easy Auth.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use entra_identity_sdk::Claims;
use serde_json::{Map, Value, json};

/// Every header whose name starts with this (any case) is the gate's to set: the
/// caller's are removed, so an app can trust what it finds.
pub const PREFIX: &str = "x-ms-client-principal";

/// The claims Easy Auth takes the name from, first present wins.
const NAME_CLAIMS: [&str; 6] = [
    "preferred_username",
    "upn",
    "unique_name",
    "name",
    "appid",
    "azp",
];

use crate::Headers;

/// `headers` without the caller's principal headers, with the principal of `claims`.
pub fn request_headers(headers: Headers, claims: &Claims) -> Headers {
    let mut headers: Headers = (headers.into_iter())
        .filter(|(name, _)| !is_principal_header(name))
        .collect();
    headers.extend(principal_headers(claims));
    headers
}

/// The principal headers of `claims`: `-ID` (the `oid`, else `sub`), `-NAME` (when a
/// name claim is there), `-IDP` and the base64 JSON of every claim.
pub fn principal_headers(claims: &Claims) -> Headers {
    let mut headers = Headers::new();
    let raw: Map<String, Value> = serde_json::from_str(&claims.raw).unwrap_or_default();
    let name = NAME_CLAIMS
        .iter()
        .find_map(|typ| raw.get(*typ).and_then(Value::as_str).map(|val| (*typ, val)));
    let id = claims.oid.as_deref().or(claims.sub.as_deref());
    let mut add = |name: &str, value: &str| headers.push((name.into(), value.as_bytes().to_vec()));
    if let Some(id) = id {
        add("x-ms-client-principal-id", id);
    }
    if let Some((_, val)) = name {
        add("x-ms-client-principal-name", val);
    }
    add("x-ms-client-principal-idp", "aad");
    let principal = json!({
        "auth_typ": "aad",
        "claims": claim_list(&raw),
        "name_typ": name.map_or("name", |(typ, _)| typ),
        "role_typ": "roles",
    });
    add(
        "x-ms-client-principal",
        &STANDARD.encode(principal.to_string()),
    );
    headers
}

/// Whether `name` is one of the principal headers only the gate may set.
pub fn is_principal_header(name: &str) -> bool {
    name.len() >= PREFIX.len()
        && name.as_bytes()[..PREFIX.len()].eq_ignore_ascii_case(PREFIX.as_bytes())
}

/// `{"typ","val"}` per claim, per element of an array claim; values as text.
fn claim_list(raw: &Map<String, Value>) -> Vec<Value> {
    let text = |value: &Value| match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut claims = Vec::new();
    for (typ, value) in raw {
        match value {
            Value::Array(values) => {
                claims.extend(values.iter().map(|v| json!({"typ": typ, "val": text(v)})))
            }
            value => claims.push(json!({"typ": typ, "val": text(value)})),
        }
    }
    claims
}

#[cfg(test)]
mod tests;
