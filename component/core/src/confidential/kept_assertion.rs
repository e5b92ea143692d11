//! A signed client assertion kept for reuse, as MSAL does, so that a certificate
//! credential signs (an RSA-2048 private-key operation, milliseconds in wasm) once per
//! [`ASSERTION_REUSE`] rather than once per token request.
//!
//! Each credential keeps its own (it lives in the flow, never in a shared cache) and
//! hands it back only for the same certificate, client id and audience (the token
//! endpoint, which names the tenant), and only while it has at least half of its
//! [`ASSERTION_LIFETIME`] left, so clock skew between us and Entra cannot make a
//! reused assertion arrive expired.

use super::assertion::ASSERTION_LIFETIME;
use std::cell::RefCell;

/// How long a signed assertion is reused: half its lifetime.
pub const ASSERTION_REUSE: u64 = ASSERTION_LIFETIME / 2;

/// What an assertion was signed for.
#[derive(PartialEq, Eq)]
pub(super) struct SignedFor<'a> {
    /// SHA-256 of the certificate whose key signed it.
    pub(super) thumbprint: [u8; 32],
    pub(super) client_id: &'a str,
    pub(super) audience: &'a str,
}

struct Kept {
    thumbprint: [u8; 32],
    client_id: String,
    audience: String,
    signed_at: u64,
    assertion: String,
    /// Whether it has been handed out again since it was signed.
    reused: bool,
}

/// At most one assertion, the last one signed. No `Debug`: it holds a secret.
#[derive(Default)]
pub(super) struct KeptAssertion(RefCell<Option<Kept>>);

impl KeptAssertion {
    /// The kept assertion, if it was signed for `wanted` less than
    /// [`ASSERTION_REUSE`] ago. A clock that went back past its signing time
    /// does not get it either.
    pub(super) fn get(&self, wanted: &SignedFor<'_>, now: u64) -> Option<String> {
        let mut kept = self.0.borrow_mut();
        let kept = kept.as_mut()?;
        let same = SignedFor {
            thumbprint: kept.thumbprint,
            client_id: &kept.client_id,
            audience: &kept.audience,
        } == *wanted;
        let young = now >= kept.signed_at && now < kept.signed_at + ASSERTION_REUSE;
        if !(same && young) {
            return None;
        }
        kept.reused = true;
        Some(kept.assertion.clone())
    }

    pub(super) fn keep(&self, signed: &SignedFor<'_>, signed_at: u64, assertion: &str) {
        *self.0.borrow_mut() = Some(Kept {
            thumbprint: signed.thumbprint,
            client_id: signed.client_id.to_string(),
            audience: signed.audience.to_string(),
            signed_at,
            assertion: assertion.to_string(),
            reused: false,
        });
    }

    /// Drops the kept assertion if it is `assertion`; says whether it had been
    /// reused, that is whether signing a new one could help.
    pub(super) fn forget(&self, assertion: &str) -> bool {
        let mut kept = self.0.borrow_mut();
        let reused = match kept.as_ref() {
            Some(k) if k.assertion == assertion => k.reused,
            _ => return false,
        };
        *kept = None;
        reused
    }
}
