//! Where tokens come from: the authority host per cloud, the tenant, and which
//! tenants a request may switch to.

use crate::error::Error;
use crate::http::UrlParts;

/// A national cloud.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cloud {
    /// Azure public cloud.
    Public,
    /// Azure US Government.
    UsGovernment,
    /// Azure China (21Vianet).
    China,
}

impl Cloud {
    /// The cloud's Entra authority host.
    pub fn authority_host(self) -> &'static str {
        match self {
            Cloud::Public => "https://login.microsoftonline.com",
            Cloud::UsGovernment => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }

    /// The audience a federated credential's assertion must have in this cloud: a
    /// commercial audience in a sovereign tenant fails at exchange time.
    pub fn token_exchange_audience(self) -> &'static str {
        match self {
            Cloud::Public => "api://AzureADTokenExchange",
            Cloud::UsGovernment => "api://AzureADTokenExchangeUSGov",
            Cloud::China => "api://AzureADTokenExchangeChina",
        }
    }

    /// The cloud an authority host belongs to, if it is one of the known ones.
    pub fn from_authority_host(host: &str) -> Option<Cloud> {
        let host = host.trim_end_matches('/');
        [Cloud::Public, Cloud::UsGovernment, Cloud::China]
            .into_iter()
            .find(|c| c.authority_host().eq_ignore_ascii_case(host))
    }
}

/// The authority host to use: `explicit`, else `AZURE_AUTHORITY_HOST`, else the public
/// cloud; validated by [`validate_authority_host`].
pub fn authority_host(
    explicit: Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Error> {
    match explicit.or_else(|| env("AZURE_AUTHORITY_HOST")) {
        Some(host) => validate_authority_host(&host),
        None => Ok(Cloud::Public.authority_host().to_string()),
    }
}

/// An authority host without trailing `/`: `https`, or `http` to a loopback address
/// (emulators and tests), since the host receives client secrets and assertions.
pub fn validate_authority_host(host: &str) -> Result<String, Error> {
    let host = host.trim().trim_end_matches('/');
    let parts = UrlParts::parse(host)?;
    if parts.path_and_query.contains('?') {
        return Err(Error::InvalidInput(format!(
            "authority host {host:?} must not have a query"
        )));
    }
    let https = parts.scheme.eq_ignore_ascii_case("https");
    if !https && !is_loopback(parts.authority) {
        return Err(Error::InvalidInput(format!(
            "authority host {host:?} must use https (http is allowed only to localhost)"
        )));
    }
    Ok(host.to_string())
}

fn is_loopback(authority: &str) -> bool {
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Checks a tenant id before it becomes part of a URL path: letters, digits, `.` and
/// `-` only (GUIDs, `contoso.onmicrosoft.com`, `organizations`).
pub fn validate_tenant_id(tenant: &str) -> Result<(), Error> {
    let ok = !tenant.is_empty()
        && tenant.len() <= 256
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "tenant id {tenant:?} is not valid: use the directory (tenant) id GUID or a domain such as contoso.onmicrosoft.com (letters, digits, '.' and '-' only)"
        )))
    }
}

/// Tenants a token request may name besides the credential's own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedTenants(Vec<String>);

impl AllowedTenants {
    /// `explicit`, else `AZURE_ADDITIONALLY_ALLOWED_TENANTS` (`;`-separated); `*` allows all.
    pub fn new(explicit: Option<Vec<String>>, env: &dyn Fn(&str) -> Option<String>) -> Self {
        let list = explicit.unwrap_or_else(|| {
            env("AZURE_ADDITIONALLY_ALLOWED_TENANTS")
                .map(|v| v.split(';').map(str::to_string).collect())
                .unwrap_or_default()
        });
        AllowedTenants(
            list.into_iter()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
        )
    }

    fn allows(&self, tenant: &str) -> bool {
        self.0
            .iter()
            .any(|t| t == "*" || t.eq_ignore_ascii_case(tenant))
    }
}

/// The tenant to ask: the request's when it names one the credential may use, else
/// the credential's own.
pub fn resolve_tenant(
    configured: &str,
    requested: Option<&str>,
    allowed: &AllowedTenants,
) -> Result<String, Error> {
    let Some(requested) = requested.filter(|t| !t.is_empty()) else {
        return Ok(configured.to_string());
    };
    validate_tenant_id(requested)?;
    if requested.eq_ignore_ascii_case(configured) || allowed.allows(requested) {
        Ok(requested.to_string())
    } else {
        Err(Error::InvalidInput(format!(
            "the request names tenant {requested}, but this credential is for tenant {configured}; add {requested} to AZURE_ADDITIONALLY_ALLOWED_TENANTS (or the additionally-allowed-tenants option), or '*' to allow any"
        )))
    }
}

/// The v2.0 token endpoint of `tenant` at `host`.
pub fn token_endpoint(host: &str, tenant: &str) -> String {
    format!("{host}/{tenant}/oauth2/v2.0/token")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::env;

    #[test]
    fn hosts_per_cloud_and_from_the_environment() {
        assert_eq!(
            authority_host(None, &env(&[])).unwrap(),
            "https://login.microsoftonline.com"
        );
        let us = env(&[("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us/")]);
        assert_eq!(
            authority_host(None, &us).unwrap(),
            "https://login.microsoftonline.us"
        );
        assert_eq!(
            authority_host(Some("https://login.chinacloudapi.cn".into()), &us).unwrap(),
            "https://login.chinacloudapi.cn"
        );
        assert_eq!(
            Cloud::from_authority_host("https://login.microsoftonline.us/"),
            Some(Cloud::UsGovernment)
        );
        assert_eq!(
            Cloud::China.token_exchange_audience(),
            "api://AzureADTokenExchangeChina"
        );
    }

    #[test]
    fn only_https_or_loopback_http() {
        for ok in [
            "http://localhost:8080",
            "http://127.0.0.1:1",
            "http://[::1]:9",
            "https://login.example",
        ] {
            assert!(validate_authority_host(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://login.microsoftonline.com",
            "http://127.0.0.1.evil.example",
            "login.microsoftonline.com",
            "https://h/?x=1",
            "ftp://h",
        ] {
            assert!(
                matches!(validate_authority_host(bad), Err(Error::InvalidInput(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn tenant_ids_cannot_change_the_url() {
        for ok in [
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "contoso.onmicrosoft.com",
            "organizations",
        ] {
            assert!(validate_tenant_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a/b", "t?x=1", "t#f", "t%2F", "t b", "../x", "t\n"] {
            assert!(
                matches!(validate_tenant_id(bad), Err(Error::InvalidInput(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn per_request_tenants_need_allowing() {
        let none = AllowedTenants::new(None, &env(&[]));
        assert_eq!(resolve_tenant("home", None, &none).unwrap(), "home");
        assert_eq!(resolve_tenant("home", Some("HOME"), &none).unwrap(), "HOME");
        let e = resolve_tenant("home", Some("other"), &none).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidInput(m) if m.contains("AZURE_ADDITIONALLY_ALLOWED_TENANTS"))
        );
        let some = AllowedTenants::new(
            None,
            &env(&[("AZURE_ADDITIONALLY_ALLOWED_TENANTS", "a; other ;b")]),
        );
        assert_eq!(
            resolve_tenant("home", Some("Other"), &some).unwrap(),
            "Other"
        );
        let all = AllowedTenants::new(Some(vec!["*".into()]), &env(&[]));
        assert_eq!(resolve_tenant("home", Some("x"), &all).unwrap(), "x");
        assert!(resolve_tenant("home", Some("x/y"), &all).is_err());
    }
}
