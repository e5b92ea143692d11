//! On-behalf-of: an API exchanges the access token its caller sent (the user
//! assertion) for a token to a downstream API, as that user.
//!
//! It is the confidential client's request with another grant
//! (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`, `assertion`,
//! `requested_token_use=on_behalf_of`), so it reuses [`ConfidentialClient`]. Tokens
//! are cached per user: the cache identity and the proof carry the base64url SHA-256
//! of the assertion (MSAL.NET's `user_assertion_hash`), never the assertion itself.

use super::client::{ClientCredential, Grant};
use super::mi_fic::{ManagedIdentityAssertion, exchange_audience};
use super::{AppOptions, ClientAuthentication, authority, certificate_credential};
use crate::credential::{Credential, Flow};
use crate::error::Error;
use crate::managed_identity::ManagedIdentityOptions;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// The caller's access token, checked, with its hash. A secret: only the hash may be
/// used to name it.
pub(super) struct UserAssertion {
    token: String,
    hash: String,
}

impl UserAssertion {
    /// Takes the token as the API received it, with or without its `Bearer ` prefix.
    /// Messages never quote it.
    pub(super) fn new(raw: String) -> Result<Self, Error> {
        let invalid = |why: &str| Error::InvalidInput(format!("the user assertion {why}; pass the access token the API received (without the Authorization header's other text)"));
        let token = match raw.get(..7) {
            Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => raw.get(7..).unwrap_or(""),
            _ => raw.as_str(),
        };
        if token.is_empty() {
            return Err(invalid("is empty"));
        }
        if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("contains whitespace"));
        }
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
            return Err(invalid("is not a JWT (three dot-separated parts)"));
        }
        Ok(UserAssertion {
            hash: URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())),
            token: token.to_string(),
        })
    }

    /// The token: a secret, for the request's `assertion` field only.
    pub(super) fn token(&self) -> &str {
        &self.token
    }

    /// Base64url (no padding) SHA-256 of the token: names the user in cache keys.
    pub(super) fn hash(&self) -> &str {
        &self.hash
    }
}

/// The on-behalf-of flow for `app`, which proves itself with `credential`, exchanging
/// `user_assertion` (the access token the API received). Client and tenant id come
/// from `app`, or from `AZURE_CLIENT_ID`/`AZURE_TENANT_ID` unless the app proves itself
/// with a managed identity (whose environment names the identity, not the app).
pub fn on_behalf_of(
    app: AppOptions,
    credential: ClientCredential,
    user_assertion: String,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn Flow>, Error> {
    let user = UserAssertion::new(user_assertion)?;
    if let ClientCredential::Secret(secret) = &credential
        && secret.is_empty()
    {
        return Err(Error::InvalidInput("the client secret is empty".into()));
    }
    let ids_from_env = !matches!(credential, ClientCredential::Assertion(_));
    let app = super::resolve(app, "an on-behalf-of credential", ids_from_env, env)?;
    Ok(Box::new(
        app.client("on-behalf-of", credential)
            .with_grant(Grant::OnBehalfOf(user)),
    ))
}

/// How an app proves itself, from the options a caller gives: a secret, a
/// certificate (as [`super::client_certificate`] takes it), or a managed identity's
/// token for the token-exchange audience of `app`'s cloud. `managed_identity` makes
/// the credential for the managed identity (the caller's transport and caches).
pub fn client_credential(
    authentication: ClientAuthentication,
    app: &AppOptions,
    managed_identity: &dyn Fn(ManagedIdentityOptions) -> Result<Credential, Error>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ClientCredential, Error> {
    match authentication {
        ClientAuthentication::Secret(secret) if secret.is_empty() => {
            Err(Error::InvalidInput("the client secret is empty".into()))
        }
        ClientAuthentication::Secret(secret) => Ok(ClientCredential::Secret(secret)),
        ClientAuthentication::Certificate(certificate) => certificate_credential(certificate, env),
        ClientAuthentication::ManagedIdentity(options) => {
            let host = authority::authority_host(app.authority_host.clone(), env)?;
            let assertion = ManagedIdentityAssertion::new(
                managed_identity(options)?,
                exchange_audience(&host),
            );
            Ok(ClientCredential::Assertion(Box::new(assertion)))
        }
        _ => Err(Error::InvalidInput(
            "this kind of client authentication is not supported by this version".into(),
        )),
    }
}

