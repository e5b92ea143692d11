//! Client capabilities and the `claims` a token request sends.
//!
//! A client that declares the capability `cp1` says it can handle claims challenges,
//! so Entra may give it long-lived CAE tokens that a resource revokes by answering
//! `401` with a challenge. Capabilities travel in the `claims` field as
//! `{"access_token":{"xms_cc":{"values":["cp1"]}}}`, on every token request, merged
//! with the challenge's claims when a request answers one.
//!
//! The merge rule ([`request_claims`]) is the safest of the libraries':
//!
//! * JSON objects merge recursively; a key only one side has is kept.
//! * Arrays under the same key are unioned, capabilities first, duplicates dropped:
//!   `xms_cc.values` from a challenge and from the options combine, where Python lets
//!   the capabilities overwrite the challenge's and Go refuses the request.
//! * Any other clash: the challenge's value wins (as in .NET): the new token must
//!   satisfy what the resource demands.
//! * A challenge value of `null` keeps the capability's.
//!
//! Capabilities come from the credential's declaration only: claims that name
//! `xms_cc` for a credential that declares none are refused before anything is sent
//! (MSAL merges capabilities into claims only when they are declared). Sent on, they
//! would earn a CAE token that the claims answer then caches as this credential's
//! plain one, for callers that cannot answer the challenges that revoke it.
//!
//! Claims that are not a JSON object are refused before anything is sent: a
//! `WWW-Authenticate` challenge carries them base64-encoded, and sending that on would
//! only earn an opaque refusal from Entra. Messages never quote the claims (they can
//! be long, and are the caller's data).

use crate::error::Error;
use serde_json::{Map, Value};

/// What a caller passing claims that are not a JSON object is told.
const NOT_AN_OBJECT: &str = "claims must be a JSON object such as {\"access_token\":{...}}; a WWW-Authenticate challenge's claims parameter is base64: decode it first";

/// What a caller passing `xms_cc` for a credential without capabilities is told.
const UNDECLARED: &str = "claims name client capabilities (xms_cc) but this credential declares none; declare them in the credential's options (client_capabilities, e.g. cp1) instead of in claims";

/// Validated client capabilities (`cp1`), in the order given, without duplicates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities(Vec<String>);

impl Capabilities {
    /// Checks each capability: non-empty, and no whitespace, control characters,
    /// quotes, backslashes or commas (Service Fabric takes them comma-joined in a query).
    pub fn new(values: &[String]) -> Result<Self, Error> {
        let mut out: Vec<String> = Vec::new();
        for value in values {
            let bad = value.is_empty()
                || value.chars().any(|c| {
                    c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '\\' | ',')
                });
            if bad {
                return Err(Error::InvalidInput(format!(
                    "client capability {value:?} is empty or contains whitespace, a quote or a comma; declare capabilities such as cp1"
                )));
            }
            if !out.contains(value) {
                out.push(value.clone());
            }
        }
        Ok(Capabilities(out))
    }

    /// Whether none are declared.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The capabilities, comma-joined (Service Fabric's `xms_cc`); `None` when empty.
    pub fn joined(&self) -> Option<String> {
        (!self.is_empty()).then(|| self.0.join(","))
    }

    /// What to append to a flow's cache identity: a token issued to a client that
    /// declared `cp1` may be a long-lived CAE token, which must not be served to a
    /// client that cannot answer challenges, nor the other way round. Sorted, so the
    /// order they were declared in does not split the cache.
    pub fn identity_suffix(&self) -> String {
        if self.is_empty() {
            return String::new();
        }
        let mut sorted = self.0.clone();
        sorted.sort();
        format!("|cc={}", sorted.join(","))
    }

    /// `{"access_token":{"xms_cc":{"values":[...]}}}`.
    fn json(&self) -> Value {
        let values = Value::Array(self.0.iter().cloned().map(Value::String).collect());
        let xms_cc = Value::Object(Map::from_iter([("values".to_string(), values)]));
        let access = Value::Object(Map::from_iter([("xms_cc".to_string(), xms_cc)]));
        Value::Object(Map::from_iter([("access_token".to_string(), access)]))
    }
}

/// Checks that `claims` is a JSON object, and returns it parsed.
pub fn parse_claims(claims: &str) -> Result<Map<String, Value>, Error> {
    match serde_json::from_str::<Value>(claims) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Error::InvalidInput(NOT_AN_OBJECT.to_string())),
    }
}

/// The `claims` field of a token request: the capabilities merged with the
/// `challenge`'s claims by the rule in the module docs; the challenge verbatim (once
/// checked, and refused if it names capabilities) without capabilities; `None` when
/// there is neither.
pub fn request_claims(
    capabilities: &Capabilities,
    challenge: Option<&str>,
) -> Result<Option<String>, Error> {
    let challenge = challenge.map(|c| parse_claims(c).map(|map| (c, map))).transpose()?;
    Ok(match (capabilities.is_empty(), challenge) {
        (true, None) => None,
        (true, Some((_, map))) if names_capabilities(&map) => {
            return Err(Error::InvalidInput(UNDECLARED.to_string()));
        }
        (true, Some((verbatim, _))) => Some(verbatim.to_string()),
        (false, None) => Some(capabilities.json().to_string()),
        (false, Some((_, map))) => Some(merge(capabilities.json(), Value::Object(map)).to_string()),
    })
}

/// Whether any of the claims' token objects (`access_token`, `id_token`, ...) carries
/// `xms_cc`.
fn names_capabilities(claims: &Map<String, Value>) -> bool {
    (claims.values()).any(|token| token.as_object().is_some_and(|t| t.contains_key("xms_cc")))
}

/// `challenge` merged over `base`. Recursion is bounded by the nesting `serde_json`
/// accepts when parsing (128 levels).
pub fn merge(base: Value, challenge: Value) -> Value {
    match (base, challenge) {
        (Value::Object(mut base), Value::Object(challenge)) => {
            for (key, theirs) in challenge {
                let merged = match base.remove(&key) {
                    Some(ours) => merge(ours, theirs),
                    None => theirs,
                };
                base.insert(key, merged);
            }
            Value::Object(base)
        }
        (Value::Array(mut base), Value::Array(challenge)) => {
            for item in challenge {
                if !base.contains(&item) {
                    base.push(item);
                }
            }
            Value::Array(base)
        }
        (base, Value::Null) => base,
        (_, challenge) => challenge,
    }
}

#[cfg(test)]
mod tests;
