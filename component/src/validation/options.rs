//! What a validator accepts.

use super::ValidationError;
use crate::http::UrlParts;

/// Which tokens an API accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorOptions {
    /// The API's tenant id, or `organizations`/`common` for a multi-tenant API.
    pub tenant: String,
    /// Further tenants whose tokens are accepted; `*` accepts any tenant.
    /// Required for `organizations`/`common`.
    pub allowed_tenants: Vec<String>,
    /// Accepted `aud` values: the app id URI and the client id.
    pub audiences: Vec<String>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway: u64,
    /// The Entra authority host, e.g. `https://login.microsoftonline.com`.
    pub authority: String,
}

impl ValidatorOptions {
    /// Options for a single-tenant API.
    pub fn new(tenant: impl Into<String>, audiences: Vec<String>) -> Self {
        ValidatorOptions {
            tenant: tenant.into(),
            allowed_tenants: Vec::new(),
            audiences,
            leeway: 300,
            authority: "https://login.microsoftonline.com".into(),
        }
    }

    fn multi_tenant(&self) -> bool {
        matches!(
            self.tenant.to_ascii_lowercase().as_str(),
            "common" | "organizations"
        )
    }

    /// Whether tokens of tenant `tid` are accepted.
    pub fn allows_tenant(&self, tid: &str) -> bool {
        let listed = |t: &String| t == "*" || t.eq_ignore_ascii_case(tid);
        (!self.multi_tenant() && self.tenant.eq_ignore_ascii_case(tid))
            || self.allowed_tenants.iter().any(listed)
    }

    /// Where the OpenID metadata lives.
    pub fn metadata_url(&self) -> String {
        format!(
            "{}/{}/v2.0/.well-known/openid-configuration",
            self.authority.trim_end_matches('/'),
            self.tenant
        )
    }

    pub(super) fn check(&self) -> Result<(), ValidationError> {
        let bad = |why: String| Err(ValidationError::InvalidConfiguration(why));
        let valid_tenant = |t: &str| {
            !t.is_empty()
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        };
        if !valid_tenant(&self.tenant) {
            return bad(format!(
                "tenant {:?} must be a tenant id, a domain, organizations or common",
                self.tenant
            ));
        }
        if self.multi_tenant() && self.allowed_tenants.is_empty() {
            return bad(format!(
                "tenant {} accepts tokens from any tenant; list the tenants to allow (or \"*\")",
                self.tenant
            ));
        }
        if self.audiences.is_empty() || self.audiences.iter().any(|a| a.trim().is_empty()) {
            return bad("list the accepted audiences: the app id URI and the client id".into());
        }
        let url = UrlParts::parse(&self.authority)
            .map_err(|e| ValidationError::InvalidConfiguration(e.to_string()))?;
        let host = url.authority.split(':').next().unwrap_or("");
        let loopback = host == "localhost" || host == "127.0.0.1" || host == "[::1]";
        if !url.scheme.eq_ignore_ascii_case("https") && !loopback {
            return bad(format!("authority {} must use https", self.authority));
        }
        Ok(())
    }
}
