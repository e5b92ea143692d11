//! Which tokens an API accepts.

use std::time::Duration;

/// Entra's global cloud; the other clouds are set through [`ValidatorOptions::authority`].
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";

/// Which tokens an API accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidatorOptions {
    /// The API's tenant id, its domain (resolved to the id through the authority's
    /// OpenID metadata), or `organizations`/`common` for a multi-tenant API.
    /// `consumers` is refused: pass the personal-accounts tenant id instead.
    pub tenant: String,
    /// Further tenants whose tokens are accepted; `*` accepts any.
    /// Required with `organizations`/`common`.
    pub allowed_tenants: Vec<String>,
    /// Accepted `aud` values: the app id URI and the client id.
    pub audiences: Vec<String>,
    /// Tolerated clock skew on `exp`/`nbf`; whole seconds count.
    pub leeway: Duration,
    /// The authority host; `None` is [`DEFAULT_AUTHORITY`].
    pub authority: Option<String>,
}

impl ValidatorOptions {
    /// Tokens from `tenant` for any of `audiences`, with 5 minutes of clock skew.
    pub fn new<S: AsRef<str>>(tenant: impl Into<String>, audiences: &[S]) -> Self {
        ValidatorOptions {
            tenant: tenant.into(),
            allowed_tenants: Vec::new(),
            audiences: audiences.iter().map(|a| a.as_ref().to_string()).collect(),
            leeway: Duration::from_secs(300),
            authority: None,
        }
    }

    /// Also accepts tokens from these tenants (`*` for any).
    pub fn allow_tenants<S: AsRef<str>>(mut self, tenants: &[S]) -> Self {
        self.allowed_tenants
            .extend(tenants.iter().map(|t| t.as_ref().to_string()));
        self
    }

    /// Uses another cloud's authority host (or an emulator's).
    pub fn authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = Some(authority.into());
        self
    }

    /// Tolerates `leeway` of clock skew.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The authority host in effect: the one set, else [`DEFAULT_AUTHORITY`].
    pub fn authority_host(&self) -> &str {
        self.authority.as_deref().unwrap_or(DEFAULT_AUTHORITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_sets_each_field() {
        let o = ValidatorOptions::new("organizations", &["api://a"])
            .allow_tenants(&["t1"])
            .allow_tenants(&["*"])
            .leeway(Duration::from_secs(5));
        assert_eq!(o.audiences, ["api://a"]);
        assert_eq!(o.allowed_tenants, ["t1", "*"]);
        assert_eq!(o.leeway, Duration::from_secs(5));
        assert_eq!(o.authority_host(), DEFAULT_AUTHORITY);
        let o = o.authority("https://login.microsoftonline.us");
        assert_eq!(o.authority_host(), "https://login.microsoftonline.us");
    }
}
