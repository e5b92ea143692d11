//! Tokens and token requests, as plain values.

pub use entra_identity_types::{AccessToken, TokenRequest};

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
}
