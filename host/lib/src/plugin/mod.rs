//! The plugin host: run WASI 0.2 command components that import
//! `entra:identity/tokens`, each under its own policy, answered by the host's
//! [`Identity`] or by the identity its policy names ([`PluginIdentity`]).
//!
//! A [`PluginPolicy`] (per plugin: [`PluginRules`]) says what each plugin may do; a
//! [`PluginHost`] loads plugins on its identity's runtime; [`Plugin::run`] runs one in a
//! fresh store ([`RunOutcome`]). What each file holds is in ARCHITECTURE.md.
//!
//! What a plugin gets: its arguments, the environment its policy lists (never the
//! host's or the identity's), stdout/stderr (inherited or captured), `wasi:http` to
//! the hosts its policy lists, read-only directories its policy lists, clocks and
//! randomness, and tokens for its policy's scopes — asked for through
//! `entra:identity/tokens`, or attached by the host to its requests (`attach_tokens`)
//! so it needs no identity import at all. No sockets, no other files.
//!
//! Denied scopes are a `denied` error to the plugin and a `tracing` warning for the
//! operator (plugin and scope, never a token); too many requests are `rate-limited`;
//! a denied outbound request is refused before connecting, with a warning (a listed
//! name that resolves to IMDS, loopback or another restricted address is refused as
//! `destination-ip-prohibited` unless `allow_addresses` names it); a run past its
//! deadline is stopped ([`PluginError::Deadline`]) without affecting other runs; its
//! `memory_mib` covers all its memories, tables and host resources together
//! ([`PluginError::Memory`]).
//!
//! [`Identity`]: crate::Identity

mod attach;
mod error;
mod host;
mod identities;
mod outbound;
mod policy;
mod rate;
mod run;
mod state;
mod tokens;

pub use error::PluginError;
pub use host::PluginHost;
pub use identities::PluginIdentity;
pub use policy::{PluginPolicy, PluginRules, TokenRate};
pub use run::{CAPTURE_LIMIT, Plugin, RunOutcome};
