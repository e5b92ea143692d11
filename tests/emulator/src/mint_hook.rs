//! A test's hook on every access token the emulator mints ([`Emulator::on_token_minted`]):
//! what lets a resource that checks tokens itself (a Redis ACL standing in for Azure
//! Cache for Redis) learn each one before its client gets it.
//!
//! [`Emulator::on_token_minted`]: crate::Emulator::on_token_minted

use std::sync::Arc;

/// An access token just minted, before it leaves the emulator.
#[derive(Clone, Copy)]
pub struct MintedToken<'a> {
    /// Its `aud`: the resource, as the request named it (`https://redis.azure.com` …).
    pub audience: &'a str,
    /// Its `oid`: the identity's or app's object id.
    pub object_id: &'a str,
    /// The token.
    pub access_token: &'a str,
}

impl std::fmt::Debug for MintedToken<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MintedToken")
            .field("audience", &self.audience)
            .field("object_id", &self.object_id)
            .field("access_token", &"<redacted>")
            .finish()
    }
}

/// Called synchronously on the minting request's task; keep it short.
pub(crate) type MintHook = Arc<dyn Fn(&MintedToken<'_>) + Send + Sync>;
