//! The one error type every credential returns; it mirrors the WIT `error` variant.

use std::fmt;

/// Why no token was returned.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// This credential cannot work in this environment; a chain moves on.
    Unavailable(String),
    /// The token service answered with a refusal.
    AuthenticationFailed(ServiceError),
    /// The service is throttling us.
    Throttled {
        /// Seconds to wait before asking again.
        retry_after: u64,
        /// What was throttled.
        message: String,
    },
    /// The request could not be sent or was not answered in time.
    Transport(String),
    /// The caller's input or configuration is wrong.
    InvalidInput(String),
    /// The service answered something that is not a usable token response.
    InvalidResponse(String),
}

/// A refusal from the token service, with what we asked for.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ServiceError {
    /// HTTP status.
    pub status: u16,
    /// The service's error code, or empty.
    pub code: String,
    /// The service's description (shortened), or empty.
    pub description: String,
    /// Correlation or trace id.
    pub correlation_id: Option<String>,
    /// What was asked for and what to check.
    pub context: String,
}

impl Error {
    /// Replaces every occurrence of each secret in the error's text with `<redacted>`,
    /// raw, percent-encoded or in base64 (see `scrub`).
    ///
    /// Error text can quote what a service or proxy sent back, and a misbehaving proxy
    /// may echo request headers; scrubbing at the credential boundary keeps secrets
    /// such as `IDENTITY_HEADER` out of every error whatever its origin.
    pub fn scrub(self, secrets: &[&str]) -> Self {
        let s = |text: String| scrub_text(text, secrets);
        match self {
            Error::Unavailable(m) => Error::Unavailable(s(m)),
            Error::AuthenticationFailed(e) => Error::AuthenticationFailed(ServiceError {
                status: e.status,
                code: s(e.code),
                description: s(e.description),
                correlation_id: e.correlation_id.map(s),
                context: s(e.context),
            }),
            Error::Throttled {
                retry_after,
                message,
            } => Error::Throttled {
                retry_after,
                message: s(message),
            },
            Error::Transport(m) => Error::Transport(s(m)),
            Error::InvalidInput(m) => Error::InvalidInput(s(m)),
            Error::InvalidResponse(m) => Error::InvalidResponse(s(m)),
        }
    }
}

fn scrub_text(text: String, secrets: &[&str]) -> String {
    crate::scrub::scrub(&text, secrets)
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
        if let Some(first) = self.context.chars().next() {
            // The context reads as its own sentence.
            let rest = &self.context[first.len_utf8()..];
            write!(f, ". {}{rest}", first.to_uppercase())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_secrets_from_every_field() {
        let e = Error::AuthenticationFailed(ServiceError {
            status: 400,
            code: "x".into(),
            description: "proxy echoed X-IDENTITY-HEADER: s3cr3t-value".into(),
            correlation_id: None,
            context: "asked with s3cr3t-value".into(),
        })
        .scrub(&["s3cr3t-value"]);
        let text = format!("{e} {e:?}");
        assert!(!text.contains("s3cr3t-value"), "{text}");
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn short_secrets_are_not_scrubbed_so_text_stays_readable() {
        let e = Error::Transport("a b c".into()).scrub(&["", "a"]);
        assert_eq!(e, Error::Transport("a b c".into()));
    }
}
