//! What a validator accepts: the checks on [`ValidatorOptions`] and what follows from
//! them. The options themselves are plain values in `entra-identity-types`.

use super::ValidationError;
use crate::http::UrlParts;

pub use entra_identity_types::ValidatorOptions;

/// The tenant of personal Microsoft accounts: the `tid` of their tokens.
const CONSUMERS_TENANT_ID: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

fn multi_tenant(options: &ValidatorOptions) -> bool {
    matches!(
        options.tenant.to_ascii_lowercase().as_str(),
        "common" | "organizations"
    )
}

/// Whether the options' tenant is a domain (`contoso.onmicrosoft.com`). Tokens carry
/// tenant ids, never domains, so the validator takes the id from the issuer in the
/// domain's OpenID metadata.
pub fn names_domain(options: &ValidatorOptions) -> bool {
    options.tenant.contains('.')
}

/// Whether tokens of tenant `tid` are accepted, the options' tenant being taken as a
/// tenant id (see [`names_domain`]).
pub fn allows_tenant(options: &ValidatorOptions, tid: &str) -> bool {
    allows_tenant_of(options, tid, &options.tenant)
}

/// Whether tokens of tenant `tid` are accepted by an API of tenant `home`.
pub(super) fn allows_tenant_of(options: &ValidatorOptions, tid: &str, home: &str) -> bool {
    let listed = |t: &String| t == "*" || t.eq_ignore_ascii_case(tid);
    (!multi_tenant(options) && home.eq_ignore_ascii_case(tid))
        || options.allowed_tenants.iter().any(listed)
}

/// Where the OpenID metadata lives.
pub fn metadata_url(options: &ValidatorOptions) -> String {
    format!(
        "{}/{}/v2.0/.well-known/openid-configuration",
        options.authority_host().trim_end_matches('/'),
        options.tenant
    )
}

/// Refuses options that can never validate a token, saying what to fix.
pub(super) fn check(options: &ValidatorOptions) -> Result<(), ValidationError> {
    let bad = |why: String| Err(ValidationError::InvalidConfiguration(why));
    let valid_tenant = |t: &str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    };
    if !valid_tenant(&options.tenant) {
        return bad(format!(
            "tenant {:?} must be a tenant id, a domain, organizations or common",
            options.tenant
        ));
    }
    if options.tenant.eq_ignore_ascii_case("consumers") {
        return bad(format!(
            "tenant consumers is the tenant of personal Microsoft accounts under a name tokens do not carry; pass its tenant id {CONSUMERS_TENANT_ID}"
        ));
    }
    if multi_tenant(options) && options.allowed_tenants.is_empty() {
        return bad(format!(
            "tenant {} accepts tokens from any tenant; list the tenants to allow (or \"*\")",
            options.tenant
        ));
    }
    if options.audiences.is_empty() || options.audiences.iter().any(|a| a.trim().is_empty()) {
        return bad("list the accepted audiences: the app id URI and the client id".into());
    }
    let url = UrlParts::parse(options.authority_host())
        .map_err(|e| ValidationError::InvalidConfiguration(e.to_string()))?;
    let host = url.authority.split(':').next().unwrap_or("");
    let loopback = host == "localhost" || host == "127.0.0.1" || host == "[::1]";
    if !url.scheme.eq_ignore_ascii_case("https") && !loopback {
        return bad(format!(
            "authority {} must use https",
            options.authority_host()
        ));
    }
    Ok(())
}
