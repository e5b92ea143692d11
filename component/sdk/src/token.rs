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
    refresh_on: Option<u64>,
}

impl AccessToken {
    /// A `Bearer` token that expires at `expires_on` (Unix seconds).
    pub fn new(token: impl Into<String>, expires_on: u64) -> Self {
        AccessToken {
            token: token.into(),
            token_type: "Bearer".to_string(),
            expires_on,
            refresh_on: None,
        }
    }

    /// Sets the token type (Entra answers `Bearer`).
    pub fn with_token_type(mut self, token_type: impl Into<String>) -> Self {
        self.token_type = token_type.into();
        self
    }

    /// Sets when the identity component will fetch a new token.
    pub fn with_refresh_on(mut self, refresh_on: u64) -> Self {
        self.refresh_on = Some(refresh_on);
        self
    }

    /// The token. A secret: put it in an `Authorization` header (see
    /// [`crate::http::set_bearer`]) and nowhere else.
    pub fn secret(&self) -> &str {
        &self.token
    }

    /// Almost always `Bearer`.
    pub fn token_type(&self) -> &str {
        &self.token_type
    }

    /// Unix seconds after which the token is invalid.
    pub fn expires_on(&self) -> u64 {
        self.expires_on
    }

    /// Unix seconds after which the identity component fetches a new token (while
    /// still handing out this one if that fails). `None` for a plugin's tokens,
    /// which its host refreshes.
    pub fn refresh_on(&self) -> Option<u64> {
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

/// A token request beyond plain scopes: another tenant, a claims challenge, a refresh.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenRequest {
    /// Scopes, e.g. `["https://vault.azure.net/.default"]`; managed identity takes one.
    pub scopes: Vec<String>,
    /// Tenant to ask, for credentials that can cross tenants.
    pub tenant_id: Option<String>,
    /// Claims challenge from a resource (CAE); bypasses the cache.
    pub claims: Option<String>,
    /// Ignore any cached token.
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
