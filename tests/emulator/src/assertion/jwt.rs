//! A client assertion taken apart before anything about it is trusted.

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Header};
use serde_json::{Map, Value};

use crate::aadsts::AadError;

/// The header and claims of a compact JWS, plus what its signature covers.
pub(crate) struct UnverifiedJwt {
    pub(crate) header: Header,
    claims: Map<String, Value>,
    signing_input: String,
    signature: String,
}

impl UnverifiedJwt {
    /// Splits and decodes a compact JWS; anything else is AADSTS50027, Entra's "malformed JWT".
    pub(crate) fn parse(token: &str) -> Result<Self, AadError> {
        let malformed = || malformed("JWT token is invalid or malformed.");
        let (signing_input, signature) = token.rsplit_once('.').ok_or_else(malformed)?;
        let (_, payload) = signing_input.split_once('.').ok_or_else(malformed)?;
        let header = jsonwebtoken::decode_header(token).map_err(|_| malformed())?;
        let claims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Map<String, Value>>(&bytes).ok())
            .ok_or_else(malformed)?;
        Ok(Self {
            header,
            claims,
            signing_input: signing_input.to_owned(),
            signature: signature.to_owned(),
        })
    }

    pub(crate) fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }

    pub(crate) fn string_claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A NumericDate claim. MSAL.NET sends `nbf` and `exp` as JSON strings, which Entra accepts, so both are read.
    pub(crate) fn time_claim(&self, name: &str) -> Option<u64> {
        match self.claims.get(name)? {
            Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// `aud`, which RFC 7519 allows as one string or an array of them.
    pub(crate) fn audiences(&self) -> Vec<&str> {
        match self.claims.get("aud") {
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// Whether `key` made the signature with the header's algorithm, which must be one of `allowed`.
    pub(crate) fn signed_by(&self, key: &DecodingKey, allowed: &[Algorithm]) -> bool {
        allowed.contains(&self.header.alg)
            && jsonwebtoken::crypto::verify(
                &self.signature,
                self.signing_input.as_bytes(),
                key,
                self.header.alg,
            )
            .unwrap_or(false)
    }
}

/// AADSTS50027 with a reason, for assertions that are JWTs but lack something every assertion needs.
pub(crate) fn malformed(reason: &str) -> AadError {
    AadError::new(StatusCode::BAD_REQUEST, "invalid_request", 50027, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_string_and_number_times_and_both_audience_shapes() {
        let claims = URL_SAFE_NO_PAD.encode(r#"{"nbf":"10","exp":20,"aud":["a","b"]}"#);
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"PS256","typ":"JWT"}"#);
        let jwt = UnverifiedJwt::parse(&format!("{header}.{claims}.c2ln")).unwrap();
        assert_eq!(jwt.time_claim("nbf"), Some(10));
        assert_eq!(jwt.time_claim("exp"), Some(20));
        assert_eq!(jwt.audiences(), ["a", "b"]);
        assert_eq!(jwt.header.alg, Algorithm::PS256);
    }

    #[test]
    fn garbage_is_aadsts50027() {
        for token in ["", "a.b", "eyJhbGciOiJSUzI1NiJ9.e30.sig", "x.y.z"] {
            let parsed = UnverifiedJwt::parse(token);
            if token == "eyJhbGciOiJSUzI1NiJ9.e30.sig" {
                assert!(parsed.is_ok());
            } else {
                assert_eq!(parsed.err().unwrap().code(), 50027, "{token}");
            }
        }
    }
}
