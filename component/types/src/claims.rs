//! The claims of a validated token, and the authorisation checks on them.

use crate::ValidationError;

/// The claims of a valid token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Claims {
    /// Object id of the caller (user or service principal).
    pub oid: Option<String>,
    /// Tenant of the caller.
    pub tid: String,
    /// Subject.
    pub sub: Option<String>,
    /// The calling app: `appid` (v1) or `azp` (v2).
    pub app_id: Option<String>,
    /// App roles (`roles`): how app-only callers are authorised.
    pub roles: Vec<String>,
    /// Delegated scopes (`scp`, space-separated in the token): how a signed-in user's
    /// app is authorised.
    pub scopes: Vec<String>,
    /// `exp`: Unix seconds at which the token expires.
    pub expires_on: u64,
    /// `iat`: Unix seconds at which the token was issued.
    pub issued_at: Option<u64>,
    /// `ver`: `1.0` or `2.0`.
    pub version: String,
    /// Every claim, as JSON.
    pub raw: String,
}

impl Claims {
    /// The claims of a token from tenant `tid`, everything else empty; set the rest
    /// field by field.
    pub fn new(tid: impl Into<String>) -> Self {
        Claims {
            tid: tid.into(),
            ..Default::default()
        }
    }

    /// Requires an app role (`roles`): how an app-only caller, such as a managed
    /// identity, is authorised. An exact, case-sensitive match.
    pub fn require_role(&self, role: &str) -> Result<(), ValidationError> {
        if self.has_role(role) {
            Ok(())
        } else {
            Err(ValidationError::MissingRole(role.to_string()))
        }
    }

    /// Requires a delegated scope (`scp`): how a signed-in user's app is authorised.
    /// An exact, case-sensitive match.
    pub fn require_scope(&self, scope: &str) -> Result<(), ValidationError> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(ValidationError::MissingScope(scope.to_string()))
        }
    }

    /// Whether the token carries the app role `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Whether the token carries the delegated scope `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            roles: vec!["Secrets.Read".into()],
            scopes: vec!["user_impersonation".into()],
            ..Claims::new("t")
        }
    }

    #[test]
    fn roles_and_scopes_match_exactly() {
        let c = claims();
        assert_eq!(c.require_role("Secrets.Read"), Ok(()));
        assert_eq!(
            c.require_role("secrets.read"),
            Err(ValidationError::MissingRole("secrets.read".into()))
        );
        assert_eq!(c.require_scope("user_impersonation"), Ok(()));
        assert_eq!(
            c.require_scope("Secrets.Read"),
            Err(ValidationError::MissingScope("Secrets.Read".into()))
        );
        assert!(c.has_role("Secrets.Read") && !c.has_scope("Secrets.Read"));
    }
}
