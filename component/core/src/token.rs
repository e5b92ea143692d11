//! Tokens and token requests, as plain values.

use std::fmt;

/// An access token and the times that govern its use.
///
/// `Debug` never shows the token itself.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The bearer token. A secret.
    pub token: String,
    /// Almost always `Bearer`.
    pub token_type: String,
    /// Unix seconds after which the token is invalid.
    pub expires_on: u64,
    /// Unix seconds after which the next request fetches a new token.
    pub refresh_on: u64,
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

/// What a caller asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TokenRequest {
    /// Scopes, e.g. `https://vault.azure.net/.default`.
    pub scopes: Vec<String>,
    /// Tenant to ask; part of the cache key.
    pub tenant_id: Option<String>,
    /// Claims challenge; bypasses the cache.
    pub claims: Option<String>,
    /// Ignore the cache.
    pub force_refresh: bool,
}

impl TokenRequest {
    /// A request for one scope.
    pub fn scope(scope: impl Into<String>) -> Self {
        TokenRequest {
            scopes: vec![scope.into()],
            ..Default::default()
        }
    }
}

/// Turns a single scope into the `resource` that managed-identity endpoints take.
///
/// Managed identity issues tokens for one resource at a time; `/.default` is the v2
/// spelling of "all of that resource's permissions", which v1 endpoints express by
/// naming the resource alone.
pub fn scope_to_resource(scopes: &[String]) -> Result<String, crate::Error> {
    use crate::Error::InvalidInput;
    let [scope] = scopes else {
        return Err(InvalidInput(format!(
            "managed identity takes exactly one scope, got {}; request one token per resource",
            scopes.len()
        )));
    };
    if scope.is_empty() || scope.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(InvalidInput(format!(
            "scope {scope:?} is empty or contains whitespace; pass one scope such as https://vault.azure.net/.default"
        )));
    }
    let resource = scope.strip_suffix("/.default").unwrap_or(scope);
    if resource.is_empty() {
        return Err(InvalidInput(format!("scope {scope:?} names no resource")));
    }
    Ok(resource.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_suffix_is_stripped_and_bare_resources_pass() {
        let r = |s: &str| scope_to_resource(&[s.to_string()]);
        assert_eq!(
            r("https://vault.azure.net/.default").unwrap(),
            "https://vault.azure.net"
        );
        assert_eq!(
            r("https://management.azure.com/").unwrap(),
            "https://management.azure.com/"
        );
        assert_eq!(
            r("api://AzureADTokenExchange/.default").unwrap(),
            "api://AzureADTokenExchange"
        );
    }

    #[test]
    fn bad_scopes_are_invalid_input() {
        let bad: [&[&str]; 5] = [
            &[],
            &["a", "b"],
            &[""],
            &["https://x/ .default"],
            &["/.default"],
        ];
        for scopes in bad {
            let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
            assert!(
                matches!(
                    scope_to_resource(&scopes),
                    Err(crate::Error::InvalidInput(_))
                ),
                "{scopes:?}"
            );
        }
    }

    #[test]
    fn debug_hides_the_token() {
        let t = AccessToken {
            token: "eyJ.secret.sig".into(),
            token_type: "Bearer".into(),
            expires_on: 2,
            refresh_on: 1,
        };
        assert!(!format!("{t:?}").contains("secret"));
    }
}
