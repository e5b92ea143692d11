//! An access token, and what to ask for.

use std::fmt;

/// A bearer token and the times that govern its use.
///
/// The token itself is reachable only through [`AccessToken::secret`], and `Debug`
/// prints `<redacted>` in its place, so logging a token by accident leaks nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    token: String,
    token_type: String,
    expires_on: u64,
    refresh_on: u64,
}

impl AccessToken {
    /// A `Bearer` token that expires at `expires_on` (Unix seconds), to be refreshed
    /// only then unless [`with_refresh_on`](Self::with_refresh_on) says otherwise.
    pub fn new(token: impl Into<String>, expires_on: u64) -> Self {
        AccessToken {
            token: token.into(),
            token_type: "Bearer".to_string(),
            expires_on,
            refresh_on: expires_on,
        }
    }

    /// Sets the token type (Entra answers `Bearer`).
    pub fn with_token_type(mut self, token_type: impl Into<String>) -> Self {
        self.token_type = token_type.into();
        self
    }

    /// Sets when the next request fetches a new token.
    pub fn with_refresh_on(mut self, refresh_on: u64) -> Self {
        self.refresh_on = refresh_on;
        self
    }

    /// The token. A secret: put it in an `Authorization` header and nowhere else.
    pub fn secret(&self) -> &str {
        &self.token
    }

    /// The token, consumed: for handing it on across a boundary.
    pub fn into_secret(self) -> String {
        self.token
    }

    /// Almost always `Bearer`.
    pub fn token_type(&self) -> &str {
        &self.token_type
    }

    /// Unix seconds after which the token is invalid.
    pub fn expires_on(&self) -> u64 {
        self.expires_on
    }

    /// Unix seconds after which the next request fetches a new token (while still
    /// handing out this one if that fails).
    pub fn refresh_on(&self) -> u64 {
        self.refresh_on
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_on", &self.expires_on)
            .field("refresh_on", &self.refresh_on)
            .finish()
    }
}

/// What a caller asks for: scopes, and optionally another tenant, a claims challenge
/// or a refresh.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct TokenRequest {
    /// Scopes, e.g. `["https://vault.azure.net/.default"]`. Managed identity accepts
    /// exactly one; `/.default` is optional.
    pub scopes: Vec<String>,
    /// Tenant to ask, for credentials that can cross tenants; part of the cache key.
    pub tenant_id: Option<String>,
    /// Claims challenge from a resource (CAE); bypasses the cache.
    pub claims: Option<String>,
    /// Ignore any cached token and ask the token service.
    pub force_refresh: bool,
}

impl TokenRequest {
    /// A request for `scopes`.
    pub fn new<S: AsRef<str>>(scopes: &[S]) -> Self {
        TokenRequest {
            scopes: scopes.iter().map(|s| s.as_ref().to_string()).collect(),
            ..Default::default()
        }
    }

    /// Asks `tenant_id` instead of the credential's own tenant.
    pub fn tenant(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant_id.into());
        self
    }

    /// Answers a resource's claims challenge.
    pub fn claims(mut self, claims: impl Into<String>) -> Self {
        self.claims = Some(claims.into());
        self
    }

    /// Skips the cache.
    pub fn force_refresh(mut self) -> Self {
        self.force_refresh = true;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let token = AccessToken::new("eyJ0eXAiOiJKV1Qi.secret-part.sig", 1_900_000_000)
            .with_refresh_on(1_899_990_000);
        let shown = format!("{token:?} {token:#?}");
        assert!(!shown.contains("secret-part"), "{shown}");
        assert!(shown.contains("<redacted>"));
        assert!(shown.contains("1900000000"));
        assert!(shown.contains("1899990000"));
    }

    #[test]
    fn a_new_token_is_refreshed_when_it_expires() {
        let token = AccessToken::new("t", 10);
        assert_eq!((token.refresh_on(), token.token_type()), (10, "Bearer"));
        assert_eq!(token.secret(), "t");
    }

    #[test]
    fn request_builder_sets_each_field() {
        let request = TokenRequest::new(&["s1"])
            .tenant("t")
            .claims("{}")
            .force_refresh();
        assert_eq!(request.scopes, ["s1"]);
        assert_eq!(request.tenant_id.as_deref(), Some("t"));
        assert_eq!(request.claims.as_deref(), Some("{}"));
        assert!(request.force_refresh);
    }
}
