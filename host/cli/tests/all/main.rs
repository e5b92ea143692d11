//! The `entra-identity` binary, run as a process: one test binary, a module per area.

use std::process::Command;

mod cli;
mod env_fallback;
#[cfg(feature = "otlp")]
mod otlp;
mod run;
mod shared_cache;

/// The binary under test, with the run's compile cache and no identity source picked
/// from this process's environment.
fn entra_identity() -> Command {
    entra_test_support::command(
        env!("CARGO_BIN_EXE_entra-identity"),
        entra_identity_host::IDENTITY_ENV_VARS,
    )
}
