//! Continuous access evaluation's revocation: which issued tokens Key Vault must refuse with a claims challenge.
//!
//! Tokens are told apart by their `uti`, not by `iat`: a token issued in the same second as a revocation, but after
//! it, must still be accepted, and seconds cannot say which came first.

use std::collections::HashSet;

/// Every token id issued since the last revocation, and every id a revocation caught.
#[derive(Default)]
pub(crate) struct Revocations {
    live: HashSet<String>,
    revoked: HashSet<String>,
    /// Unix seconds of the latest revocation: the `nbf` a claims challenge asks for.
    revoked_at: Option<u64>,
}

impl Revocations {
    /// Remembers a token as issued, so that the next revocation catches it.
    pub(crate) fn issued(&mut self, uti: &str) {
        self.live.insert(uti.to_owned());
    }

    /// Revokes every token issued so far, at `now`.
    pub(crate) fn revoke_all(&mut self, now: u64) {
        self.revoked.extend(self.live.drain());
        self.revoked_at = Some(now);
    }

    /// The revocation time, when the token with this id was issued before a revocation.
    pub(crate) fn revoked(&self, uti: &str) -> Option<u64> {
        self.revoked_at.filter(|_| self.revoked.contains(uti))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tokens_issued_before_the_revocation_are_revoked() {
        let mut revocations = Revocations::default();
        revocations.issued("old");
        assert_eq!(revocations.revoked("old"), None);
        revocations.revoke_all(100);
        revocations.issued("new");
        assert_eq!(revocations.revoked("old"), Some(100));
        assert_eq!(revocations.revoked("new"), None);
        revocations.revoke_all(200);
        assert_eq!(revocations.revoked("new"), Some(200));
        assert_eq!(revocations.revoked("unknown"), None);
    }
}
