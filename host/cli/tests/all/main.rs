//! The `entra-identity` binary, run as a process: one test binary, a module per area.

use std::process::Command;

mod cli;
mod compose;
mod dev_endpoint;
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

/// Runs `command` with `input` on its standard input; its output once it exits.
fn with_stdin(mut command: Command, input: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}
