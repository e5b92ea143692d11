//! Which tokens an API accepts.

/// Entra's global cloud; the other clouds are set through [`ValidatorOptions::authority`].
pub(crate) const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";

/// Which tokens an API accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorOptions {
    /// The API's tenant id, or `organizations`/`common` for a multi-tenant API.
    pub tenant: String,
    /// Further tenants whose tokens are accepted; `*` accepts any.
    /// Required with `organizations`/`common`.
    pub allowed_tenants: Vec<String>,
    /// Accepted `aud` values: the app id URI and the client id.
    pub audiences: Vec<String>,
    /// Tolerated clock skew on `exp`/`nbf`, in seconds.
    pub leeway_seconds: u32,
    /// The authority host; `None` is `https://login.microsoftonline.com`.
    pub authority: Option<String>,
}

impl ValidatorOptions {
    /// Tokens from `tenant` for any of `audiences`, with 5 minutes of clock skew
    /// (the identity component's own default).
    pub fn new<S: AsRef<str>>(tenant: impl Into<String>, audiences: &[S]) -> Self {
        ValidatorOptions {
            tenant: tenant.into(),
            allowed_tenants: Vec::new(),
            audiences: audiences.iter().map(|a| a.as_ref().to_string()).collect(),
            leeway_seconds: 300,
            authority: None,
        }
    }

    /// Also accepts tokens from these tenants (`*` for any).
    pub fn allow_tenants<S: AsRef<str>>(mut self, tenants: &[S]) -> Self {
        self.allowed_tenants
            .extend(tenants.iter().map(|t| t.as_ref().to_string()));
        self
    }

    /// Uses another cloud's authority host.
    pub fn authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = Some(authority.into());
        self
    }

    /// Tolerates `seconds` of clock skew.
    pub fn leeway(mut self, seconds: u32) -> Self {
        self.leeway_seconds = seconds;
        self
    }

    pub(crate) fn authority_host(&self) -> &str {
        self.authority.as_deref().unwrap_or(DEFAULT_AUTHORITY)
    }
}
