//! The host library's own features against the emulator: they need the emulator,
//! which the host's dev-dependencies must not pull in (axum, rcgen).

mod azure_core;
mod pinned_tls;
mod plugin;
mod plugin_attach;
mod plugin_identities;
mod plugin_limits;
mod telemetry;
mod tls_roots;
