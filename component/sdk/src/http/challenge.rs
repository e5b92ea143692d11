//! The answer to a refused caller: status, `WWW-Authenticate` challenge, JSON body.
//!
//! The challenge is the one Microsoft's own APIs send (Graph, Key Vault), which
//! MSAL's `WwwAuthenticateParameters` and the Azure SDKs parse to find the authority:
//!
//! ```text
//! WWW-Authenticate: Bearer realm="", authorization_uri="https://login.microsoftonline.com/{tenant}/oauth2/authorize",
//!                   error="invalid_token", error_description="the token expired at 1700000000"
//! ```

use super::www_authenticate::encode_claims;
use super::{BearerError, Rejection};
use crate::{Error, ValidationError};
use ::http::header::{CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use ::http::{Response, StatusCode};
use entra_identity_types::{DEFAULT_AUTHORITY, ValidatorOptions};

/// Builds the answers for one API: where callers get tokens, and for which client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    authorization_uri: String,
    client_id: Option<String>,
}

impl Challenge {
    /// Callers get tokens from `tenant` in Entra's global cloud.
    pub fn new(tenant: &str) -> Self {
        Self::with_authority(DEFAULT_AUTHORITY, tenant)
    }

    /// Callers get tokens from `tenant` at `authority` (another cloud).
    pub fn with_authority(authority: &str, tenant: &str) -> Self {
        Challenge {
            authorization_uri: format!(
                "{}/{}/oauth2/authorize",
                authority.trim_end_matches('/'),
                tenant
            ),
            client_id: None,
        }
    }

    /// The challenge for the API a [`ValidatorOptions`] describes.
    pub fn for_options(options: &ValidatorOptions) -> Self {
        Self::with_authority(options.authority_host(), &options.tenant)
    }

    /// Names the API's client id in the challenge, as Graph does, so a client can
    /// ask for a token for it without being configured.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Where callers get tokens: `{authority}/{tenant}/oauth2/authorize`.
    pub fn authorization_uri(&self) -> &str {
        &self.authorization_uri
    }

    /// The `WWW-Authenticate` value; `error` is `(code, description)`.
    pub fn header_value(&self, error: Option<(&str, &str)>) -> HeaderValue {
        let mut value = self.scheme_and_realm();
        if let Some((code, description)) = error {
            value.push_str(&format!(
                ", error=\"{}\", error_description=\"{}\"",
                quoted(code),
                quoted(description)
            ));
        }
        HeaderValue::from_str(&value).expect("quoted() leaves only visible ASCII and spaces")
    }

    /// `Bearer realm="", authorization_uri="…"[, client_id="…"]`.
    fn scheme_and_realm(&self) -> String {
        let mut value = format!(
            "Bearer realm=\"\", authorization_uri=\"{}\"",
            quoted(&self.authorization_uri)
        );
        if let Some(client_id) = &self.client_id {
            value.push_str(&format!(", client_id=\"{}\"", quoted(client_id)));
        }
        value
    }

    /// 401 for a request without a bearer token. Per RFC 6750 §3.1 the challenge
    /// carries no error code: the client simply has not authenticated yet.
    pub fn missing_token(&self) -> Response<String> {
        self.answer(
            StatusCode::UNAUTHORIZED,
            None,
            "unauthorized",
            "a bearer token from Microsoft Entra ID is required",
        )
    }

    /// The answer to any [`Rejection`].
    pub fn respond(&self, rejection: &Rejection) -> Response<String> {
        match rejection {
            Rejection::Bearer(BearerError::Missing) => self.missing_token(),
            Rejection::Bearer(e @ BearerError::Malformed(_)) => {
                let description = e.to_string();
                self.answer(
                    StatusCode::BAD_REQUEST,
                    Some(("invalid_request", &description)),
                    "invalid_request",
                    &description,
                )
            }
            Rejection::Token(e) => self.reject(e),
        }
    }

    /// 401 `invalid_token`, 403 `insufficient_scope`, or, when the API itself cannot
    /// validate, 503/500 without a challenge and without the internal reason (log it).
    pub fn reject(&self, error: &ValidationError) -> Response<String> {
        let status = error.status();
        match error.oauth_error() {
            Some(code) => {
                let description = error.to_string();
                self.answer(status, Some((code, &description)), code, &description)
            }
            None if status == StatusCode::SERVICE_UNAVAILABLE => self.answer(
                status,
                None,
                "temporarily_unavailable",
                "the API cannot validate tokens right now; retry later",
            ),
            None => self.answer(
                status,
                None,
                "server_error",
                "the API cannot validate tokens",
            ),
        }
    }

    /// The 401 an API returns to its caller when a token it needs *as that caller*
    /// (on-behalf-of) requires the user to act: [`Error::InteractionRequired`].
    ///
    /// With the token service's claims (MFA, a Conditional Access policy):
    ///
    /// ```text
    /// WWW-Authenticate: Bearer realm="", authorization_uri="…", [client_id="…",]
    ///                   error="insufficient_claims", claims="<standard base64 of the claims JSON>"
    /// {"error":"insufficient_claims","error_description":"…"}
    /// ```
    ///
    /// which MSAL's `WwwAuthenticateParameters.GetClaimChallengeFromResponseHeaders`
    /// (and [`claims_challenge`](super::claims_challenge)) parse: the client signs the
    /// user in again asking for those claims, and calls again with the new token.
    /// Without claims (consent missing, say), a 401 `error="interaction_required"`.
    ///
    /// Any other error is `None`: the user cannot fix it, and the API answers as it
    /// sees fit (usually 502, without the details, which are for its log).
    pub fn interaction_required(&self, error: &Error) -> Option<Response<String>> {
        let Error::InteractionRequired(refusal) = error else {
            return None;
        };
        // Only fixed text: the service's description may name the resource or policy.
        let Some(claims) = refusal.claims.as_deref().filter(|c| !c.is_empty()) else {
            const WHY: &str = "the user must sign in again interactively (consent, a policy) \
                               before this API can call on their behalf";
            let code = "interaction_required";
            return Some(self.answer(StatusCode::UNAUTHORIZED, Some((code, WHY)), code, WHY));
        };
        const WHY: &str = "the user must satisfy a claims challenge (multi-factor authentication, \
                           a Conditional Access policy): sign in again asking for the claims in \
                           WWW-Authenticate, then retry";
        let mut response = self.answer(StatusCode::UNAUTHORIZED, None, "insufficient_claims", WHY);
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, self.claims_header_value(claims));
        Some(response)
    }

    /// `Bearer realm="", authorization_uri=…, error="insufficient_claims", claims="<base64>"`.
    /// Base64 needs no quoting and is never cut, however long the claims.
    fn claims_header_value(&self, claims: &str) -> HeaderValue {
        let value = format!(
            "{}, error=\"insufficient_claims\", claims=\"{}\"",
            self.scheme_and_realm(),
            encode_claims(claims)
        );
        HeaderValue::from_str(&value).expect("quoted() and base64 leave only visible ASCII")
    }

    fn answer(
        &self,
        status: StatusCode,
        challenge: Option<(&str, &str)>,
        code: &str,
        description: &str,
    ) -> Response<String> {
        let body = serde_json::json!({ "error": code, "error_description": description });
        let mut response = Response::new(body.to_string());
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if status == StatusCode::UNAUTHORIZED || challenge.is_some() {
            headers.insert(WWW_AUTHENTICATE, self.header_value(challenge));
        }
        response
    }
}

/// RFC 6750 allows only %x20-21 / %x23-5B / %x5D-7E inside these quoted strings:
/// no quote, no backslash, nothing outside printable ASCII. Long texts are cut.
fn quoted(text: &str) -> String {
    text.chars()
        .take(256)
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServiceError;
    use base64::Engine;

    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    fn www_authenticate(response: &Response<String>) -> &str {
        response.headers()[WWW_AUTHENTICATE].to_str().unwrap()
    }

    #[test]
    fn missing_token_is_a_401_challenge_without_error_code() {
        let response = Challenge::new(TENANT).missing_token();
        assert_eq!(response.status(), 401);
        assert_eq!(
            www_authenticate(&response),
            format!(
                "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/{TENANT}/oauth2/authorize\""
            )
        );
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    }

    #[test]
    fn invalid_token_is_a_401_with_error_and_description() {
        let response = Challenge::new(TENANT).reject(&ValidationError::Expired {
            exp: 1_700_000_000,
            now: 1_700_000_100,
        });
        assert_eq!(response.status(), 401);
        assert_eq!(
            www_authenticate(&response),
            format!(
                "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/{TENANT}/oauth2/authorize\", \
                 error=\"invalid_token\", error_description=\"token expired at 1700000000 (now 1700000100)\""
            )
        );
        let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
        assert_eq!(body["error"], "invalid_token");
    }

    #[test]
    fn missing_role_is_a_403_insufficient_scope() {
        let response = Challenge::new(TENANT)
            .client_id("api-client-id")
            .reject(&ValidationError::MissingRole("Secrets.Read".into()));
        assert_eq!(response.status(), 403);
        let header = www_authenticate(&response);
        assert!(header.contains(", client_id=\"api-client-id\""), "{header}");
        assert!(
            header.ends_with(
                "error=\"insufficient_scope\", error_description=\"the caller lacks the app role 'Secrets.Read'\""
            ),
            "{header}"
        );
    }

    #[test]
    fn server_side_failures_are_5xx_without_challenge_or_detail() {
        let c = Challenge::new(TENANT);
        let unavailable = c.reject(&ValidationError::KeysUnavailable("10.0.0.1 refused".into()));
        assert_eq!(unavailable.status(), 503);
        assert!(!unavailable.headers().contains_key(WWW_AUTHENTICATE));
        assert!(!unavailable.body().contains("10.0.0.1"));
        let broken = c.reject(&ValidationError::InvalidConfiguration("no audience".into()));
        assert_eq!(broken.status(), 500);
        assert!(!broken.body().contains("audience"));
    }

    #[test]
    fn malformed_header_is_a_400_invalid_request() {
        let response = Challenge::new(TENANT).respond(&Rejection::Bearer(BearerError::Malformed(
            "empty bearer token",
        )));
        assert_eq!(response.status(), 400);
        assert!(www_authenticate(&response).contains("error=\"invalid_request\""));
        let missing = Challenge::new(TENANT).respond(&BearerError::Missing.into());
        assert_eq!(missing.status(), 401);
    }

    #[test]
    fn descriptions_cannot_break_out_of_the_quoted_string() {
        let response = Challenge::new(TENANT).reject(&ValidationError::WrongAudience(
            "x\", error=\"none\\\n€".into(),
        ));
        let header = www_authenticate(&response);
        assert!(
            header.ends_with("error_description=\"audience x', error='none/?? is not accepted\""),
            "{header}"
        );
    }

    /// Conditional Access's claims, as the OBO error carries them (JSON, not base64).
    const CA_CLAIMS: &str = r#"{"access_token":{"polids":{"essential":true,"values":["9ab03e19-ed42-4168-b6b7-7001fb3e933a"]}}}"#;

    fn interaction_required(claims: Option<&str>) -> Error {
        let mut refusal = ServiceError::new(400)
            .code("interaction_required")
            .description("AADSTS50079: the user must enroll in MFA to access 'secret-resource'");
        refusal.claims = claims.map(str::to_string);
        Error::InteractionRequired(refusal)
    }

    #[test]
    fn interaction_required_with_claims_is_a_claims_challenge_that_round_trips() {
        let response = Challenge::new(TENANT)
            .client_id("api-client-id")
            .interaction_required(&interaction_required(Some(CA_CLAIMS)))
            .unwrap();
        assert_eq!(response.status(), 401);
        let header = www_authenticate(&response);
        let encoded = base64::engine::general_purpose::STANDARD.encode(CA_CLAIMS);
        assert_eq!(
            header,
            format!(
                "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/{TENANT}/oauth2/authorize\", \
                 client_id=\"api-client-id\", error=\"insufficient_claims\", claims=\"{encoded}\""
            )
        );
        // What a client's parser (ours, MSAL's) takes out of it is what Entra sent.
        assert_eq!(
            crate::http::claims_challenge(response.headers()).as_deref(),
            Some(CA_CLAIMS)
        );
        let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
        assert_eq!(body["error"], "insufficient_claims");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("claims")
        );
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        // The service's own description stays in the API's log.
        assert!(!response.body().contains("secret-resource"));
    }

    #[test]
    fn long_claims_are_never_cut() {
        let values: Vec<String> = (0..40).map(|i| format!("policy-{i:04}")).collect();
        let claims =
            serde_json::json!({"access_token": {"polids": {"essential": true, "values": values}}})
                .to_string();
        assert!(claims.len() > 600);
        let response = Challenge::new(TENANT)
            .interaction_required(&interaction_required(Some(&claims)))
            .unwrap();
        assert_eq!(
            crate::http::claims_challenge(response.headers()).as_deref(),
            Some(claims.as_str())
        );
    }

    #[test]
    fn interaction_required_without_claims_is_a_plain_401() {
        for claims in [None, Some("")] {
            let response = Challenge::new(TENANT)
                .interaction_required(&interaction_required(claims))
                .unwrap();
            assert_eq!(response.status(), 401);
            let header = www_authenticate(&response);
            assert!(
                header.contains("error=\"interaction_required\""),
                "{header}"
            );
            assert!(!header.contains("claims="), "{header}");
            assert_eq!(crate::http::claims_challenge(response.headers()), None);
            let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
            assert_eq!(body["error"], "interaction_required");
        }
    }

    #[test]
    fn other_token_errors_are_the_apis_to_answer() {
        let c = Challenge::new(TENANT);
        for e in [
            Error::Unavailable("no endpoint".into()),
            Error::AuthenticationFailed(ServiceError::new(401).claims(CA_CLAIMS)),
            Error::Transport("refused".into()),
        ] {
            assert!(c.interaction_required(&e).is_none(), "{e}");
        }
    }

    #[test]
    fn other_clouds_and_options() {
        let options = ValidatorOptions::new("contoso.onmicrosoft.us", &["api://a"])
            .authority("https://login.microsoftonline.us/");
        assert_eq!(
            Challenge::for_options(&options).authorization_uri(),
            "https://login.microsoftonline.us/contoso.onmicrosoft.us/oauth2/authorize"
        );
    }
}
