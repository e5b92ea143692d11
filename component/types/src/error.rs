//! Why no token came back. The identity component scrubs secrets from every message
//! before it leaves a credential.

use std::fmt;

/// Why a token could not be obtained; mirrors the WIT `error` variants of
/// `entra:identity/credentials` and `entra:identity/tokens`.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// This credential cannot work in this environment (no endpoint, source not
    /// supported, endpoint not reachable); a chain of credentials moves on.
    Unavailable(String),
    /// The token service refused: wrong identity, missing assignment, bad assertion.
    AuthenticationFailed(ServiceError),
    /// The token service, or a plugin host's rate limit, asked to slow down; nothing
    /// was fetched.
    Throttled {
        /// Seconds to wait before asking again.
        retry_after: u64,
        /// What was throttled and by whom.
        message: String,
    },
    /// The request could not be sent or answered: refused, denied by the host, timed out.
    Transport(String),
    /// The caller's input or configuration is wrong; the message says what to fix.
    InvalidInput(String),
    /// The service answered something that is not a usable token response.
    InvalidResponse(String),
    /// A plugin host's policy does not let this plugin ask for these scopes.
    Denied(String),
    /// Entra needs the signed-in user to do something (consent, multi-factor
    /// authentication, a Conditional Access policy) before it issues this token: an
    /// on-behalf-of exchange answered `interaction_required`, `consent_required` or
    /// `invalid_grant`. Only the user's client can act on it: an API passes
    /// [`ServiceError::claims`] back to its caller as a 401 claims challenge.
    InteractionRequired(ServiceError),
}

impl Error {
    /// Seconds to wait before asking again, when the answer was to slow down.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::Throttled { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The claims challenge a caller must satisfy, when the answer was that the user
    /// has to act ([`Error::InteractionRequired`]) and the service said what to ask for.
    pub fn claims_challenge(&self) -> Option<&str> {
        match self {
            Error::InteractionRequired(e) => e.claims.as_deref(),
            _ => None,
        }
    }
}

/// The token service answered, and the answer was no.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceError {
    /// HTTP status of the answer.
    pub status: u16,
    /// The service's error code (`invalid_request`, `AADSTS700024`, ...), or empty.
    pub code: String,
    /// The service's own description, shortened, or empty.
    pub description: String,
    /// Correlation or trace id to quote to Microsoft support.
    pub correlation_id: Option<String>,
    /// What was asked for (source, identity, resource) and what to check.
    pub context: String,
    /// The claims challenge that came with the refusal (JSON, as the token service
    /// sent it): what a new token request must ask for to succeed.
    pub claims: Option<String>,
    /// Entra's `suberror` (`basic_action`, `consent_required`, `client_mismatch`, ...),
    /// which refines `invalid_grant`: whether the user can fix it, or the app must.
    pub suberror: Option<String>,
}

impl ServiceError {
    /// A refusal with HTTP status `status` and nothing else known yet.
    pub fn new(status: u16) -> Self {
        ServiceError {
            status,
            ..Default::default()
        }
    }

    /// Sets the service's error code.
    pub fn code(mut self, code: impl Into<String>) -> Self {
        self.code = code.into();
        self
    }

    /// Sets the service's description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Sets the correlation or trace id.
    pub fn correlation_id(mut self, correlation_id: impl Into<String>) -> Self {
        self.correlation_id = Some(correlation_id.into());
        self
    }

    /// Sets what was asked for and what to check.
    pub fn context(mut self, context: impl Into<String>) -> Self {
        self.context = context.into();
        self
    }

    /// Sets the claims challenge that came with the refusal.
    pub fn claims(mut self, claims: impl Into<String>) -> Self {
        self.claims = Some(claims.into());
        self
    }

    /// Sets the service's `suberror`.
    pub fn suberror(mut self, suberror: impl Into<String>) -> Self {
        self.suberror = Some(suberror.into());
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unavailable(m) => write!(f, "credential unavailable: {m}"),
            Error::AuthenticationFailed(e) => write!(f, "authentication failed: {e}"),
            Error::Throttled {
                retry_after,
                message,
            } => write!(f, "throttled: {message} (retry after {retry_after} s)"),
            Error::Transport(m) => write!(f, "transport error: {m}"),
            Error::InvalidInput(m) => write!(f, "invalid input: {m}"),
            Error::InvalidResponse(m) => write!(f, "invalid response: {m}"),
            Error::Denied(m) => write!(f, "token request denied by the host: {m}"),
            Error::InteractionRequired(e) => write!(f, "user interaction required: {e}"),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Debug prints the same safe text as Display: no field ever holds a secret.
        write!(f, "Error({self})")
    }
}

impl std::error::Error for Error {}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if !self.code.is_empty() {
            write!(f, " {}", self.code)?;
        }
        if !self.description.is_empty() {
            write!(f, ": {}", self.description)?;
        }
        if let Some(id) = &self.correlation_id {
            write!(f, " (correlation id {id})")?;
        }
        if self.claims.is_some() {
            write!(f, " (with a claims challenge)")?;
        }
        let mut context = self.context.chars();
        if let Some(first) = context.next() {
            // The context reads as its own sentence.
            write!(f, ". {}{}", first.to_uppercase(), context.as_str())?;
        }
        Ok(())
    }
}

impl std::error::Error for ServiceError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_error_reads_as_one_line() {
        let e = Error::AuthenticationFailed(
            ServiceError::new(400)
                .code("AADSTS700024")
                .description("Client assertion is not within its valid time range.")
                .correlation_id("c0ffee")
                .context("workload identity; check the token file"),
        );
        assert_eq!(
            e.to_string(),
            "authentication failed: HTTP 400 AADSTS700024: Client assertion is not within \
             its valid time range. (correlation id c0ffee). Workload identity; check the token file"
        );
        assert_eq!(format!("{e:?}"), format!("Error({e})"));
    }

    #[test]
    fn only_throttling_has_a_retry_after() {
        let throttled = Error::Throttled {
            retry_after: 30,
            message: "IMDS".into(),
        };
        assert_eq!(throttled.retry_after(), Some(30));
        assert_eq!(Error::Transport("refused".into()).retry_after(), None);
        assert_eq!(Error::Denied("scope".into()).retry_after(), None);
    }
}
