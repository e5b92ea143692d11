//! The checks on one token, in the order RFC 8725 asks for: shape and size first,
//! then the algorithm the key dictates, the signature, and only then the claims.

use super::keys::{SigningKey, TENANT_PLACEHOLDER};
use super::options::allows_tenant_of;
use super::{ValidationError, ValidatorOptions};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// Tokens larger than this are rejected before any parsing. Entra access tokens are
/// 1–4 KiB even with many groups.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

pub use entra_identity_types::Claims;

pub(super) struct Header {
    pub(super) kid: String,
}

/// A token whose shape and header have been checked; its signature has not.
pub(super) struct Parsed<'a> {
    pub(super) header: Header,
    message: &'a str,
    payload: &'a str,
    signature: &'a str,
}

fn malformed(why: &str) -> ValidationError {
    ValidationError::Malformed(why.to_string())
}

fn decode_json(part: &str, what: &str) -> Result<Map<String, Value>, ValidationError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| malformed(&format!("the {what} is not base64url")))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(malformed(&format!("the {what} is not a JSON object"))),
    }
}

/// Refuses a token over [`MAX_TOKEN_BYTES`] before anything reads all of it.
pub(super) fn check_size(token: &str) -> Result<(), ValidationError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(ValidationError::TooLarge {
            size: token.len(),
            limit: MAX_TOKEN_BYTES,
        });
    }
    Ok(())
}

pub(super) fn parse(token: &str) -> Result<Parsed<'_>, ValidationError> {
    check_size(token)?;
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("not three dot-separated parts"));
    };
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(malformed(
            "an empty part (unsigned tokens are not accepted)",
        ));
    }
    // The signed message is everything before the last dot.
    let message = token
        .rsplit_once('.')
        .map(|(message, _)| message)
        .ok_or_else(|| malformed("not three dot-separated parts"))?;
    let fields = decode_json(header, "header")?;
    // The key decides the algorithm; the header only has to agree with it.
    match fields.get("alg").and_then(Value::as_str) {
        Some("RS256") => {}
        Some(other) => {
            return Err(ValidationError::UnsupportedAlgorithm(
                other.chars().take(20).collect(),
            ));
        }
        None => return Err(malformed("the header has no alg")),
    }
    // Extensions we do not understand must not be ignored (RFC 7515 §4.1.11).
    if fields.contains_key("crit") {
        return Err(malformed("the header has critical extensions"));
    }
    // jku, x5u and jwk are ignored: keys come only from the configured authority.
    let kid = match fields.get("kid").and_then(Value::as_str) {
        Some(kid) if !kid.is_empty() && kid.len() <= 128 => kid.to_string(),
        _ => return Err(malformed("the header has no usable kid")),
    };
    Ok(Parsed {
        header: Header { kid },
        message,
        payload,
        signature,
    })
}

/// Claims only OpenID Connect puts in ID tokens.
const ID_TOKEN_CLAIMS: [&str; 3] = ["nonce", "at_hash", "c_hash"];

/// Refuses ID tokens. Every Entra access token names the client that asked for it
/// (`appid` in v1, `azp` in v2) and no ID token does; ID tokens alone carry the
/// OpenID claims `nonce`, `at_hash` and `c_hash`. `roles`, `aud` and `ver` cannot
/// tell them apart: an ID token for the API's own client id can carry app roles.
fn access_token_only(claims: &Map<String, Value>) -> Result<(), ValidationError> {
    if let Some(claim) = ID_TOKEN_CLAIMS.iter().find(|c| claims.contains_key(**c)) {
        return Err(ValidationError::NotAnAccessToken(format!(
            "it has the ID-token claim {claim}"
        )));
    }
    let names_client = ["appid", "azp"].iter().any(|c| {
        claims
            .get(*c)
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty())
    });
    if !names_client {
        return Err(ValidationError::NotAnAccessToken(
            "it names no client application (appid or azp), as ID tokens do not".into(),
        ));
    }
    Ok(())
}

/// The signature and claims of `parsed`; also its `nbf`, which [`Claims`] does not
/// carry, so that a token answered from memory later meets the same time checks.
pub(super) fn check(
    parsed: &Parsed<'_>,
    key: &SigningKey,
    options: &ValidatorOptions,
    issuer_template: &str,
    home_tenant: &str,
    now: u64,
) -> Result<(Claims, Option<u64>), ValidationError> {
    if key.alg.as_deref().is_some_and(|alg| alg != "RS256") {
        return Err(ValidationError::UnsupportedAlgorithm(
            key.alg.clone().unwrap_or_default(),
        ));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(parsed.signature)
        .map_err(|_| ValidationError::BadSignature)?;
    if !key.key.verify(parsed.message.as_bytes(), &signature) {
        return Err(ValidationError::BadSignature);
    }
    let claims = decode_json(parsed.payload, "payload")?;
    let text = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_string);
    let number = |k: &str| claims.get(k).and_then(Value::as_u64);

    let exp = number("exp").ok_or_else(|| malformed("no numeric exp"))?;
    if now > exp.saturating_add(options.leeway.as_secs()) {
        return Err(ValidationError::Expired { exp, now });
    }
    let nbf = number("nbf");
    if let Some(nbf) = nbf
        && nbf > now.saturating_add(options.leeway.as_secs())
    {
        return Err(ValidationError::NotYetValid { nbf, now });
    }
    let tid = text("tid").ok_or_else(|| malformed("no tid"))?;
    let iss = text("iss").unwrap_or_default();
    let v1 = format!("https://sts.windows.net/{tid}/");
    let v2 = issuer_template.replace(TENANT_PLACEHOLDER, &tid);
    if iss != v1 && iss != v2 {
        return Err(ValidationError::WrongIssuer(iss));
    }
    if !allows_tenant_of(options, &tid, home_tenant) {
        return Err(ValidationError::TenantNotAllowed(tid));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !audiences
        .iter()
        .any(|a| options.audiences.iter().any(|accepted| accepted == a))
    {
        return Err(ValidationError::WrongAudience(audiences.join(", ")));
    }
    access_token_only(&claims)?;
    let strings = |k: &str| -> Vec<String> {
        match claims.get(k) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
            _ => vec![],
        }
    };
    let mut valid = Claims::new(tid);
    valid.oid = text("oid");
    valid.sub = text("sub");
    valid.app_id = text("appid").or_else(|| text("azp"));
    valid.roles = strings("roles");
    valid.scopes = strings("scp");
    valid.expires_on = exp;
    valid.issued_at = number("iat");
    valid.version = text("ver").unwrap_or_else(|| "1.0".into());
    valid.raw = Value::Object(claims).to_string();
    Ok((valid, nbf))
}
