//! The component as an Azure SDK for Rust credential (feature `azure-core`).
//!
//! [`IdentityCredential`] implements `azure_core`'s [`TokenCredential`], so any Azure SDK client (Key Vault,
//! Storage, ...) or an `azure_core` pipeline with a `BearerTokenAuthorizationPolicy` gets its tokens from the
//! sandboxed component: the same source detection, retries, cache and outbound allowlist as
//! [`Identity::get_token`].
//!
//! ```no_run
//! # fn run() -> entra_identity_host::Result<()> {
//! use std::sync::Arc;
//! use entra_identity_host::{Identity, azure_core::IdentityCredential};
//!
//! let credential = Arc::new(IdentityCredential::new(Identity::from_env()?));
//! // e.g. azure_security_keyvault_secrets::SecretClient::new(vault_url, credential, None)
//! # let _ = credential; Ok(()) }
//! ```

use std::fmt;

use ::azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use ::azure_core::error::{Error as AzureError, ErrorKind};
use ::azure_core::time::OffsetDateTime;

use crate::{Error, Identity};

/// An [`Identity`] usable wherever the Azure SDK for Rust takes an `Arc<dyn TokenCredential>`.
///
/// Cheap to clone; clones share the identity's component instance and token cache. Caching happens in the
/// component, so several SDK clients built on clones of one credential share one token per scope.
#[derive(Clone)]
pub struct IdentityCredential {
    identity: Identity,
}

impl IdentityCredential {
    /// Wraps `identity`.
    pub fn new(identity: Identity) -> Self {
        Self { identity }
    }

    /// The identity underneath, for calls outside the SDK.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }
}

impl From<Identity> for IdentityCredential {
    fn from(identity: Identity) -> Self {
        Self::new(identity)
    }
}

/// Shows where tokens may come from, never a token: SDK clients print their credential in their own `Debug`.
impl fmt::Debug for IdentityCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityCredential")
            .field("allowed_authorities", &self.identity.allowed_authorities())
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl TokenCredential for IdentityCredential {
    /// Every failure is `ErrorKind::Credential`, as azure_identity's credentials report theirs, with this crate's
    /// [`Error`] as the source (`err.into_inner()` and downcast for the typed reason). Its text is already free of
    /// secrets: the component scrubs them before an error leaves it.
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> ::azure_core::Result<AccessToken> {
        let token = self
            .identity
            .get_token(scopes)
            .await
            .map_err(credential_error)?;
        // `expires_on` comes from a parsed token response, so it fits; a value that does not is still an error
        // rather than a token with a made-up expiry.
        let expires_on = i64::try_from(token.expires_on())
            .ok()
            .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
            .ok_or_else(|| {
                AzureError::with_message(
                    ErrorKind::Credential,
                    "IdentityCredential: the token's expiry is out of range",
                )
            })?;
        Ok(AccessToken::new(
            Secret::new(token.into_secret()),
            expires_on,
        ))
    }
}

fn credential_error(error: Error) -> AzureError {
    let message = format!("IdentityCredential: {error}");
    AzureError::with_error(ErrorKind::Credential, error, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use entra_identity_types::ServiceError;

    #[test]
    fn errors_are_credential_errors_that_keep_the_typed_reason() {
        let original = Error::Token(crate::TokenError::AuthenticationFailed(
            ServiceError::new(400).code("AADSTS700016"),
        ));
        let error = credential_error(original.clone());
        assert_eq!(error.kind(), &ErrorKind::Credential);
        assert!(error.to_string().contains("AADSTS700016"), "{error}");
        let inner = error.into_inner().expect("has a source");
        let typed = inner.downcast_ref::<Error>().expect("our error");
        assert_eq!(typed.to_string(), original.to_string());
    }
}
