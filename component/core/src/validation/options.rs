//! What a validator accepts.

use super::ValidationError;
use crate::http::UrlParts;

/// The tenant of personal Microsoft accounts: the `tid` of their tokens.
const CONSUMERS_TENANT_ID: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// Which tokens an API accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorOptions {
    /// The API's tenant id, its domain (resolved to the id through the authority's
    /// metadata), or `organizations`/`common` for a multi-tenant API. `consumers` is
    /// refused: pass the personal-accounts tenant id instead.
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

    /// Whether [`tenant`](Self::tenant) is a domain (`contoso.onmicrosoft.com`).
    /// Tokens carry tenant ids, never domains, so the validator takes the id from
    /// the issuer in the domain's OpenID metadata.
    pub fn names_domain(&self) -> bool {
        self.tenant.contains('.')
    }

    /// Whether tokens of tenant `tid` are accepted, [`tenant`](Self::tenant) being
    /// taken as a tenant id (see [`names_domain`](Self::names_domain)).
    pub fn allows_tenant(&self, tid: &str) -> bool {
        self.allows_tenant_of(tid, &self.tenant)
    }

    /// Whether tokens of tenant `tid` are accepted by an API of tenant `home`.
    pub(super) fn allows_tenant_of(&self, tid: &str, home: &str) -> bool {
        let listed = |t: &String| t == "*" || t.eq_ignore_ascii_case(tid);
        (!self.multi_tenant() && home.eq_ignore_ascii_case(tid))
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
        if self.tenant.eq_ignore_ascii_case("consumers") {
            return bad(format!(
                "tenant consumers is the tenant of personal Microsoft accounts under a name tokens do not carry; pass its tenant id {CONSUMERS_TENANT_ID}"
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
