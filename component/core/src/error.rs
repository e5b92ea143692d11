//! The one error type every credential returns, and how secrets are kept out of it.

pub use entra_identity_types::{Error, ServiceError};

/// Replaces every occurrence of each secret in the error's text with `<redacted>`,
/// raw, percent-encoded or in base64 (see `scrub`).
///
/// Error text can quote what a service or proxy sent back, and a misbehaving proxy
/// may echo request headers; scrubbing at the credential boundary keeps secrets
/// such as `IDENTITY_HEADER` out of every error whatever its origin.
pub fn scrub(error: Error, secrets: &[&str]) -> Error {
    let s = |text: String| crate::scrub::scrub(&text, secrets);
    match error {
        Error::Unavailable(m) => Error::Unavailable(s(m)),
        Error::AuthenticationFailed(e) => Error::AuthenticationFailed(scrub_service(e, secrets)),
        Error::InteractionRequired(e) => Error::InteractionRequired(scrub_service(e, secrets)),
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
        Error::Denied(m) => Error::Denied(s(m)),
        // A variant added to the types later is not scrubbed here yet: its text
        // must not leave unchecked.
        _ => Error::Unavailable("an error this version cannot check for secrets".into()),
    }
}

/// Every field of a refusal scrubbed; the claims challenge too (it must reach the
/// user's client intact, and a secret has no business in it).
fn scrub_service(e: ServiceError, secrets: &[&str]) -> ServiceError {
    let s = |text: String| crate::scrub::scrub(&text, secrets);
    let mut scrubbed = ServiceError::new(e.status)
        .code(s(e.code))
        .description(s(e.description))
        .context(s(e.context));
    scrubbed.correlation_id = e.correlation_id.map(s);
    scrubbed.claims = e.claims.map(s);
    scrubbed.suberror = e.suberror.map(s);
    scrubbed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_secrets_from_every_field() {
        let e = scrub(
            Error::AuthenticationFailed(
                ServiceError::new(400)
                    .code("x")
                    .description("proxy echoed X-IDENTITY-HEADER: s3cr3t-value")
                    .correlation_id("id s3cr3t-value")
                    .context("asked with s3cr3t-value"),
            ),
            &["s3cr3t-value"],
        );
        let text = format!("{e} {e:?}");
        assert!(!text.contains("s3cr3t-value"), "{text}");
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn interaction_required_keeps_its_claims_and_loses_its_secrets() {
        let claims = r#"{"access_token":{"polids":{"essential":true,"values":["p1"]}}}"#;
        let e = scrub(
            Error::InteractionRequired(
                ServiceError::new(400)
                    .code("AADSTS50079")
                    .description("saw s3cr3t-value")
                    .claims(claims)
                    .suberror("basic_action"),
            ),
            &["s3cr3t-value"],
        );
        assert_eq!(e.claims_challenge(), Some(claims));
        assert!(!format!("{e} {e:?}").contains("s3cr3t-value"), "{e}");
        let Error::InteractionRequired(inner) = e else {
            panic!("still interaction required")
        };
        assert_eq!(inner.suberror.as_deref(), Some("basic_action"));
    }

    #[test]
    fn short_secrets_are_not_scrubbed_so_text_stays_readable() {
        let e = scrub(Error::Transport("a b c".into()), &["", "a"]);
        assert_eq!(e, Error::Transport("a b c".into()));
    }
}
