//! Why no token came back. The identity component scrubs secrets from every message.

use std::fmt;

/// Why a token could not be obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// This credential cannot work here (no endpoint, source not supported); a
    /// chain of credentials moves on.
    Unavailable(String),
    /// The token service refused: wrong identity, missing assignment, bad assertion.
    AuthenticationFailed(ServiceError),
    /// The token service, or the plugin host's rate limit, asked to slow down.
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
    /// The service answered something that is not a usable token.
    InvalidResponse(String),
    /// The plugin host's policy does not let this plugin ask for these scopes.
    Denied(String),
}

/// The token service answered, and the answer was no.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    /// HTTP status of the answer.
    pub status: u16,
    /// The service's error code (`invalid_request`, `AADSTS700024`, ...), or empty.
    pub code: String,
    /// The service's own description, shortened, or empty.
    pub description: String,
    /// Correlation or trace id to quote to Microsoft support.
    pub correlation_id: Option<String>,
    /// What was asked for and what to check.
    pub context: String,
}

impl Error {
    /// Seconds to wait before asking again, when the answer was to slow down.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::Throttled { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unavailable(why) => write!(f, "credential unavailable: {why}"),
            Error::AuthenticationFailed(e) => write!(f, "{e}"),
            Error::Throttled {
                retry_after,
                message,
            } => write!(f, "throttled, retry after {retry_after} s: {message}"),
            Error::Transport(why) => write!(f, "token request failed: {why}"),
            Error::InvalidInput(why) => write!(f, "invalid input: {why}"),
            Error::InvalidResponse(why) => write!(f, "invalid token response: {why}"),
            Error::Denied(why) => write!(f, "token request denied by the host: {why}"),
        }
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "authentication failed (HTTP {}", self.status)?;
        if !self.code.is_empty() {
            write!(f, ", {}", self.code)?;
        }
        f.write_str(")")?;
        if !self.description.is_empty() {
            write!(f, ": {}", self.description)?;
        }
        if let Some(id) = &self.correlation_id {
            write!(f, " [correlation id {id}]")?;
        }
        if !self.context.is_empty() {
            write!(f, "; {}", self.context)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
impl std::error::Error for ServiceError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_error_reads_as_one_line() {
        let e = Error::AuthenticationFailed(ServiceError {
            status: 400,
            code: "AADSTS700024".into(),
            description: "Client assertion is not within its valid time range.".into(),
            correlation_id: Some("c0ffee".into()),
            context: "workload identity; check the token file".into(),
        });
        assert_eq!(
            e.to_string(),
            "authentication failed (HTTP 400, AADSTS700024): Client assertion is not within \
             its valid time range. [correlation id c0ffee]; workload identity; check the token file"
        );
    }

    #[test]
    fn only_throttling_has_a_retry_after() {
        let throttled = Error::Throttled {
            retry_after: 30,
            message: "IMDS".into(),
        };
        assert_eq!(throttled.retry_after(), Some(30));
        assert_eq!(Error::Transport("refused".into()).retry_after(), None);
    }
}
