//! Delegated (user) access tokens: the one a signed-in user's client app gets for an API, which that API then
//! exchanges on the user's behalf, and the ones on-behalf-of issues. Both are v2.0 tokens, as Entra issues for
//! APIs registered with `accessTokenAcceptedVersion: 2`.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

/// The client app a [`UserToken`] was issued to (`azp`): a public client, such as a SPA, the user signed in with.
pub(crate) const CLIENT_APP_ID: &str = "7e57e000-0000-4000-8000-00000000c11e";

/// A signed-in user's access token to an API, as Entra issues it to the client app the user signed in with; sign
/// it with [`crate::Emulator::mint_user_token`].
///
/// Defaults: the emulator's tenant, `scp` = `access_as_user`, `amr` = `["pwd"]` (a password, no MFA), the
/// emulator's token lifetime from its clock's now, the v2.0 issuer, and `azp` = a fixed client app id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserToken {
    pub(crate) oid: String,
    pub(crate) audience: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) amr: Vec<String>,
    pub(crate) tenant: Option<String>,
    pub(crate) lifetime: Option<Duration>,
}

impl UserToken {
    /// A token for the user with object id `oid` to call the API `audience` (its client id or an identifier URI
    /// such as `api://spin-protected-api`, which becomes `aud` as is).
    pub fn new(oid: &str, audience: &str) -> Self {
        Self {
            oid: oid.to_owned(),
            audience: audience.to_owned(),
            scopes: vec!["access_as_user".to_owned()],
            amr: vec!["pwd".to_owned()],
            tenant: None,
            lifetime: None,
        }
    }

    /// The delegated permissions granted (`scp`, space-separated in the token).
    pub fn scopes(mut self, scopes: &[&str]) -> Self {
        self.scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// How the user authenticated (`amr`): include `"mfa"` to satisfy [`crate::Emulator::require_mfa_for`].
    pub fn amr(mut self, methods: &[&str]) -> Self {
        self.amr = methods.iter().map(|m| (*m).to_owned()).collect();
        self
    }

    /// Another tenant (`tid`, and the issuer that goes with it), for tokens an API must refuse.
    pub fn tenant(mut self, tenant: &str) -> Self {
        self.tenant = Some(tenant.to_owned());
        self
    }

    /// How long the token lives from the emulator clock's now, instead of the emulator's token lifetime.
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = Some(lifetime);
        self
    }
}

/// The claims of a v2.0 delegated access token.
#[derive(Serialize)]
pub(crate) struct UserClaims<'a> {
    pub(crate) aud: &'a str,
    pub(crate) iss: String,
    pub(crate) iat: u64,
    pub(crate) nbf: u64,
    pub(crate) exp: u64,
    pub(crate) amr: &'a [String],
    /// The client app the token was issued to.
    pub(crate) azp: &'a str,
    /// How that client authenticated: "0" public client, "1" secret, "2" certificate or assertion.
    pub(crate) azpacr: &'a str,
    pub(crate) oid: &'a str,
    pub(crate) scp: String,
    pub(crate) sub: &'a str,
    pub(crate) tid: &'a str,
    pub(crate) uti: &'a str,
    pub(crate) ver: &'static str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub(crate) xms_cc: &'a [String],
}

/// The user's `sub`: Entra's is an opaque 43-character base64url string, stable for a user. Derived from the object
/// id so that the same user always gets the same one.
pub(crate) fn subject_of(oid: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(format!("sub:{}", oid.to_ascii_lowercase())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_stable_and_entra_sized() {
        let sub = subject_of("ABC");
        assert_eq!(sub, subject_of("abc"));
        assert_eq!(sub.len(), 43);
        assert_ne!(sub, subject_of("abd"));
    }
}
