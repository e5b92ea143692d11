//! `entra:identity/tokens` for plugins: the plugin's policy and rate limit, then its
//! [`Identity`] (the host's, or the named one its policy picks; plugins with the same
//! identity share its token cache).

use super::policy::PluginRules;
use super::rate::{TokenBucket, retry_after_secs};
use crate::bindings::plugin::tokens::{self, AccessToken, Error as WitError};
use crate::{Error, Identity, TokenError, TokenRequest};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What answers one plugin's token requests; one per store, sharing the plugin's bucket.
#[derive(Clone)]
pub(crate) struct TokenGate {
    pub(crate) plugin: Arc<str>,
    pub(crate) rules: Arc<PluginRules>,
    pub(crate) bucket: Arc<Mutex<TokenBucket>>,
    pub(crate) identity: Identity,
}

impl TokenGate {
    /// The policy's answer before any token is fetched: the rate limit first, so a
    /// plugin that keeps asking for what it may not have floods neither the identity
    /// nor the operator's log.
    fn admit(&self, scopes: &[String]) -> Result<(), WitError> {
        self.take_from_bucket()?;
        self.allow_scopes(scopes)
    }

    fn take_from_bucket(&self) -> Result<(), WitError> {
        let taken = self
            .bucket
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take(Instant::now());
        if let Err(wait) = taken {
            let secs = retry_after_secs(wait);
            tracing::debug!(plugin = %self.plugin, retry_after = secs, "plugin token request rate-limited");
            self.identity
                .telemetry()
                .denial(&self.plugin, "rate_limited");
            return Err(WitError::RateLimited(secs));
        }
        Ok(())
    }

    fn allow_scopes(&self, scopes: &[String]) -> Result<(), WitError> {
        if let Some(scope) = scopes.iter().find(|s| !self.rules.allows_scope(s)) {
            self.identity.telemetry().denial(&self.plugin, "scope");
            tracing::warn!(
                plugin = %self.plugin,
                %scope,
                "denied a plugin's token request: the scope is not in its policy"
            );
            return Err(WitError::Denied(format!(
                "scope {scope} is not allowed for plugin {}",
                self.plugin
            )));
        }
        Ok(())
    }
}

impl tokens::Host for TokenGate {
    async fn get_token(&mut self, scopes: Vec<String>) -> Result<AccessToken, WitError> {
        self.answer(TokenRequest::new(&scopes)).await
    }

    async fn get_token_with_claims(
        &mut self,
        scopes: Vec<String>,
        claims: String,
    ) -> Result<AccessToken, WitError> {
        self.answer(TokenRequest::new(&scopes).claims(claims)).await
    }
}

impl TokenGate {
    /// A token for one of the plugin's requests ([`super::attach`]), by its policy's
    /// scopes. A plain token does not count against the rate limit: the host asks for
    /// it, once per request, and its fast path answers. A claims answer skips every
    /// cache, so it counts, as a plugin's own would.
    pub(crate) async fn attached(
        &self,
        scope: &str,
        claims: Option<String>,
    ) -> Result<AccessToken, WitError> {
        let request = TokenRequest::new(&[scope]);
        match claims {
            None => self.fetch(request, Admission::ScopesOnly).await,
            Some(claims) => self.fetch(request.claims(claims), Admission::Full).await,
        }
    }

    /// The same policy and rate limit for a plain request and a claims challenge: a
    /// challenge is one more request, never a way around either.
    async fn answer(&self, request: TokenRequest) -> Result<AccessToken, WitError> {
        self.fetch(request, Admission::Full).await
    }

    async fn fetch(
        &self,
        request: TokenRequest,
        admission: Admission,
    ) -> Result<AccessToken, WitError> {
        let scopes = &request.scopes;
        match admission {
            Admission::Full => self.admit(scopes)?,
            Admission::ScopesOnly => self.allow_scopes(scopes)?,
        }
        match self.identity.get_token_for(&request).await {
            Ok(token) => {
                tracing::debug!(plugin = %self.plugin, ?scopes, expires_on = token.expires_on(), "token handed to a plugin");
                Ok(token.into())
            }
            // The token service's own throttling: the plugin should wait as long.
            Err(Error::Token(TokenError::Throttled { retry_after, .. })) => {
                Err(WitError::RateLimited(retry_after.max(1)))
            }
            // The host's errors are free of secrets (scrubbed at the credential boundary).
            Err(e) => {
                tracing::warn!(plugin = %self.plugin, ?scopes, error = %e, "no token for a plugin");
                Err(WitError::Unavailable(e.to_string()))
            }
        }
    }
}

/// Which of the policy's checks a token request passes before it is fetched.
enum Admission {
    /// The rate limit, then the scopes.
    Full,
    /// The scopes only.
    ScopesOnly,
}
