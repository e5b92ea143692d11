//! A resource's claims challenge: the `WWW-Authenticate` header a Continuous Access
//! Evaluation (CAE) resource such as Key Vault or Graph sends with a 401 when it no
//! longer accepts a token (revoked session, moved network, policy change):
//!
//! ```text
//! WWW-Authenticate: Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize",
//!                   error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWUiOiIxNzAwMDAwMDAwIn19fQ=="
//! ```
//!
//! [`claims_challenge`] says which challenges are answered, and why so strictly.

use ::http::header::{HeaderMap, HeaderName, HeaderValue, WWW_AUTHENTICATE};
use ::http::{Response, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};

/// The claims JSON of the first valid claims challenge among `headers`'
/// `WWW-Authenticate` values: a challenge that
///
/// * has the scheme `Bearer` (any case),
/// * has `error="insufficient_claims"` (the value in any case), and
/// * has a non-empty `claims` parameter that decodes as base64 (standard or URL-safe
///   alphabet, padded or not) to UTF-8 text that parses as a JSON object.
///
/// Header values are parsed as RFC 7235 challenges: auth-params as tokens or quoted
/// strings (commas and `\`-escapes inside quotes), several challenges in one header
/// or in several headers, scheme and parameter names case-insensitive. A parameter
/// named twice in one challenge makes it ambiguous, so it is not answered; a header
/// value that does not parse contributes nothing. Anything else is not a claims
/// challenge, and the 401 stands.
///
/// This is the strictest of the rules in use: the Azure SDK for .NET and for Java and
/// MSAL.NET's `WwwAuthenticateParameters.GetClaimChallengeFromResponseHeaders` require
/// `error="insufficient_claims"`; the Python ARM policy answers any single challenge
/// carrying `claims`. Strictest is safest because answering a challenge costs a token
/// request that skips every cache and replaces the cached token for all callers: a
/// resource (or anything in the path able to set a header) that is not asking for
/// CAE must not be able to trigger that, and a malformed claims value would only be
/// refused by the token service after the round trip.
pub fn claims_challenge(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| parse(value).ok())
        .flatten()
        .find_map(|challenge| challenge.claims())
}

/// The claims to ask for when `response` is a 401 carrying a valid claims challenge:
/// the answer that is worth exactly one retry with a new token. `None` for anything
/// else, including a 401 whose challenge is missing or malformed.
pub fn claims_to_retry<B>(response: &Response<B>) -> Option<String> {
    if response.status() != StatusCode::UNAUTHORIZED {
        return None;
    }
    claims_challenge(response.headers())
}

/// [`claims_to_retry`] for a response as `wasi:http` hands it over: its status, and
/// its headers as `(name, value)` pairs (`fields.entries()`). A header `http` cannot
/// represent is no challenge this crate would answer.
pub fn claims_to_retry_in_fields(status: u16, headers: &[(String, Vec<u8>)]) -> Option<String> {
    if status != StatusCode::UNAUTHORIZED.as_u16() {
        return None;
    }
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            map.append(name, value);
        }
    }
    claims_challenge(&map)
}

/// One challenge: its scheme, and its auth-params (names lowercased) or token68.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthChallenge {
    pub(crate) scheme: String,
    pub(crate) token68: Option<String>,
    pub(crate) params: Vec<(String, String)>,
}

impl AuthChallenge {
    /// The value of the parameter `name` (lowercase), if it is named exactly once.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        let mut found = self.params.iter().filter(|(n, _)| n == name);
        let (_, value) = found.next()?;
        found.next().is_none().then_some(value.as_str())
    }

    fn claims(&self) -> Option<String> {
        if !self.scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        if !self
            .param("error")?
            .eq_ignore_ascii_case("insufficient_claims")
        {
            return None;
        }
        decode_claims(self.param("claims")?)
    }
}

/// Base64 (either alphabet, padding optional) of UTF-8 text that is a JSON object.
fn decode_claims(encoded: &str) -> Option<String> {
    const LENIENT: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);
    if encoded.is_empty() {
        return None;
    }
    let bytes = STANDARD
        .decode(encoded)
        .or_else(|_| URL_SAFE.decode(encoded))
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.is_object().then_some(text)
}

/// Standard base64 with padding: what Microsoft's resources send, and what
/// `Convert.FromBase64String` (Azure.Core .NET) and MSAL.NET decode.
pub(crate) fn encode_claims(claims: &str) -> String {
    general_purpose::STANDARD.encode(claims)
}

/// Why a header value is not a list of challenges; the value is never echoed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// The challenges of one `WWW-Authenticate` value (RFC 7235 §4.1):
/// `1#( auth-scheme [ 1*SP ( token68 / #auth-param ) ] )`.
pub(crate) fn parse(value: &str) -> Result<Vec<AuthChallenge>, Malformed> {
    let mut cursor = Cursor {
        bytes: value.as_bytes(),
        at: 0,
    };
    let mut challenges: Vec<AuthChallenge> = Vec::new();
    loop {
        cursor.skip_list_separators();
        if cursor.done() {
            break;
        }
        // A param of the current challenge, or the scheme of a new one.
        if let Some(current) = challenges.last_mut()
            && current.token68.is_none()
            && let Some((name, value)) = cursor.try_auth_param()?
        {
            current.params.push((name, value));
            continue;
        }
        let scheme = cursor.token().ok_or(Malformed)?;
        let mut challenge = AuthChallenge {
            scheme: scheme.to_string(),
            token68: None,
            params: Vec::new(),
        };
        if cursor.skip_spaces() > 0 && !cursor.done() && cursor.peek() != Some(b',') {
            match cursor.try_auth_param()? {
                Some(param) => challenge.params.push(param),
                None => challenge.token68 = Some(cursor.token68().ok_or(Malformed)?),
            }
        }
        challenges.push(challenge);
        // What follows a challenge's first item is a list separator or the end.
        cursor.skip_spaces();
        if !cursor.done() && cursor.peek() != Some(b',') {
            return Err(Malformed);
        }
    }
    if challenges.is_empty() {
        return Err(Malformed);
    }
    Ok(challenges)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

impl<'a> Cursor<'a> {
    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_spaces(&mut self) -> usize {
        let start = self.at;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
        self.at - start
    }

    fn skip_list_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.at += 1;
        }
    }

    fn token(&mut self) -> Option<&'a str> {
        let start = self.at;
        while self.peek().is_some_and(is_tchar) {
            self.at += 1;
        }
        if self.at == start {
            return None;
        }
        std::str::from_utf8(&self.bytes[start..self.at]).ok()
    }

    /// `token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
    fn token68(&mut self) -> Option<String> {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
        {
            self.at += 1;
        }
        if self.at == start {
            return None;
        }
        while self.peek() == Some(b'=') {
            self.at += 1;
        }
        std::str::from_utf8(&self.bytes[start..self.at])
            .ok()
            .map(str::to_string)
    }

    /// `token BWS "=" BWS ( token / quoted-string )`, followed by a separator or the
    /// end; otherwise the cursor stays put and the answer is `None`. A quoted string
    /// that never closes is malformed.
    fn try_auth_param(&mut self) -> Result<Option<(String, String)>, Malformed> {
        let start = self.at;
        let param = self.auth_param();
        match param {
            Ok(Some(_)) => {
                let end = self.at;
                self.skip_spaces();
                if self.done() || self.peek() == Some(b',') {
                    self.at = end;
                    return param;
                }
                self.at = start;
                Ok(None)
            }
            Ok(None) => {
                self.at = start;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn auth_param(&mut self) -> Result<Option<(String, String)>, Malformed> {
        let Some(name) = self.token() else {
            return Ok(None);
        };
        self.skip_spaces();
        if self.peek() != Some(b'=') {
            return Ok(None);
        }
        self.at += 1;
        self.skip_spaces();
        let value = if self.peek() == Some(b'"') {
            self.quoted_string()?
        } else {
            match self.token() {
                Some(token) => token.to_string(),
                None => return Ok(None),
            }
        };
        Ok(Some((name.to_ascii_lowercase(), value)))
    }

    /// `DQUOTE *( qdtext / quoted-pair ) DQUOTE`, unescaped.
    fn quoted_string(&mut self) -> Result<String, Malformed> {
        self.at += 1; // the opening quote
        let mut value = Vec::new();
        loop {
            match self.peek() {
                None => return Err(Malformed),
                Some(b'"') => {
                    self.at += 1;
                    return String::from_utf8(value).map_err(|_| Malformed);
                }
                Some(b'\\') => {
                    let escaped = self.bytes.get(self.at + 1).copied().ok_or(Malformed)?;
                    value.push(escaped);
                    self.at += 2;
                }
                Some(b) => {
                    value.push(b);
                    self.at += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
