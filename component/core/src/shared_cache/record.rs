//! What entries hold, as JSON inside the sealed payload.

use crate::error::{Error, ServiceError};
use crate::token::AccessToken;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct TokenRecord {
    token: String,
    token_type: String,
    expires_on: u64,
    refresh_on: u64,
}

pub(crate) fn token_payload(token: &AccessToken) -> Vec<u8> {
    serde_json::to_vec(&TokenRecord {
        token: token.secret().to_string(),
        token_type: token.token_type().to_string(),
        expires_on: token.expires_on(),
        refresh_on: token.refresh_on(),
    })
    .unwrap_or_default()
}

/// `None` if the payload is not a token record, or its times disagree with the
/// entry's authenticated expiry (a record is only trusted as a whole).
pub(crate) fn token_from(payload: &[u8], expiry: u64) -> Option<AccessToken> {
    let r: TokenRecord = serde_json::from_slice(payload).ok()?;
    (r.expires_on == expiry && r.refresh_on <= r.expires_on).then(|| {
        AccessToken::new(r.token, r.expires_on)
            .with_token_type(r.token_type)
            .with_refresh_on(r.refresh_on)
    })
}

/// A failure another instance (or this one) met, kept so that callers until `until`
/// get it without asking the token service again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remembered {
    /// The error as it was returned then.
    pub error: Error,
    /// When it was met (Unix seconds).
    pub at: u64,
    /// Until when it stands (Unix seconds).
    pub until: u64,
}

impl Remembered {
    /// The error to hand a caller at `now`: a throttle counts down to `until`, and
    /// every message says the failure was remembered, so nobody hunts for a request
    /// that was never sent.
    pub fn error_at(&self, now: u64) -> Error {
        let note = format!(
            " (remembered from an attempt {} s ago; the token service is not asked again for {} s)",
            now.saturating_sub(self.at),
            self.until.saturating_sub(now)
        );
        match self.error.clone() {
            Error::Throttled { message, .. } => Error::Throttled {
                retry_after: self.until.saturating_sub(now).max(1),
                message: message + &note,
            },
            Error::AuthenticationFailed(mut e) => {
                e.context += &note;
                Error::AuthenticationFailed(e)
            }
            Error::InteractionRequired(mut e) => {
                e.context += &note;
                Error::InteractionRequired(e)
            }
            Error::Unavailable(m) => Error::Unavailable(m + &note),
            Error::Transport(m) => Error::Transport(m + &note),
            Error::InvalidInput(m) => Error::InvalidInput(m + &note),
            Error::InvalidResponse(m) => Error::InvalidResponse(m + &note),
            Error::Denied(m) => Error::Denied(m + &note),
            other => other,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct FailureRecord {
    kind: String,
    message: String,
    #[serde(default)]
    service: Option<ServiceRecord>,
    retry_after: u64,
    at: u64,
}

#[derive(Serialize, Deserialize)]
struct ServiceRecord {
    status: u16,
    code: String,
    description: String,
    correlation_id: Option<String>,
    context: String,
    /// A claims challenge (interaction required): what the user's client must ask for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claims: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    suberror: Option<String>,
}

impl ServiceRecord {
    fn of(e: &ServiceError) -> Self {
        ServiceRecord {
            status: e.status,
            code: e.code.clone(),
            description: e.description.clone(),
            correlation_id: e.correlation_id.clone(),
            context: e.context.clone(),
            claims: e.claims.clone(),
            suberror: e.suberror.clone(),
        }
    }

    fn error(self) -> ServiceError {
        let mut e = ServiceError::new(self.status)
            .code(self.code)
            .description(self.description)
            .context(self.context);
        e.correlation_id = self.correlation_id;
        e.claims = self.claims;
        e.suberror = self.suberror;
        e
    }
}

pub(crate) fn failure_payload(r: &Remembered) -> Vec<u8> {
    let (kind, message, service, retry_after) = match &r.error {
        Error::Unavailable(m) => ("unavailable", m.clone(), None, 0),
        Error::AuthenticationFailed(e) => (
            "authentication-failed",
            String::new(),
            Some(ServiceRecord::of(e)),
            0,
        ),
        Error::InteractionRequired(e) => (
            "interaction-required",
            String::new(),
            Some(ServiceRecord::of(e)),
            0,
        ),
        Error::Throttled {
            retry_after,
            message,
        } => ("throttled", message.clone(), None, *retry_after),
        Error::Transport(m) => ("transport", m.clone(), None, 0),
        Error::InvalidInput(m) => ("invalid-input", m.clone(), None, 0),
        Error::InvalidResponse(m) => ("invalid-response", m.clone(), None, 0),
        Error::Denied(m) => ("denied", m.clone(), None, 0),
        // A kind this version does not know is remembered by its text alone.
        other => ("unavailable", other.to_string(), None, 0),
    };
    serde_json::to_vec(&FailureRecord {
        kind: kind.into(),
        message,
        service,
        retry_after,
        at: r.at,
    })
    .unwrap_or_default()
}

pub(crate) fn failure_from(payload: &[u8], until: u64) -> Option<Remembered> {
    let r: FailureRecord = serde_json::from_slice(payload).ok()?;
    let error = match (r.kind.as_str(), r.service) {
        ("unavailable", _) => Error::Unavailable(r.message),
        ("authentication-failed", Some(s)) => Error::AuthenticationFailed(s.error()),
        ("interaction-required", Some(s)) => Error::InteractionRequired(s.error()),
        ("throttled", _) => Error::Throttled {
            retry_after: r.retry_after,
            message: r.message,
        },
        ("transport", _) => Error::Transport(r.message),
        ("invalid-input", _) => Error::InvalidInput(r.message),
        ("invalid-response", _) => Error::InvalidResponse(r.message),
        ("denied", _) => Error::Denied(r.message),
        _ => return None,
    };
    Some(Remembered {
        error,
        at: r.at,
        until,
    })
}
