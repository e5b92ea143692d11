//! The `wasmtime` CLI's `run` and `serve`, built from wasmtime-cli 48.0.8's library.
//!
//! The tests need the real CLI: the e2e tests serve our compositions under
//! `wasmtime serve`, and the core's tests run as wasm under `wasmtime run` (cargo's
//! runner). Installing wasmtime-cli is a release build of its own (15–25 minutes on
//! 2 cores); these two commands, from the same crate at the same version, build in a
//! few minutes with cargo. The parsing mirrors `src/bin/wasmtime.rs` of that crate:
//! `wasmtime file.wasm args` means `wasmtime run file.wasm args`.

use clap::Parser;
use wasmtime_cli::commands::{RunCommand, ServeCommand};

#[derive(Parser)]
#[command(
    name = "wasmtime",
    version = env!("WASMTIME_CLI_VERSION"),
    args_conflicts_with_subcommands = true
)]
struct Wasmtime {
    #[command(subcommand)]
    subcommand: Option<Subcommand>,
    #[command(flatten)]
    run: RunCommand,
}

#[derive(Parser)]
enum Subcommand {
    Run(RunCommand),
    Serve(ServeCommand),
}

fn main() -> wasmtime::Result<()> {
    let cli = Wasmtime::parse();
    match cli.subcommand.unwrap_or(Subcommand::Run(cli.run)) {
        Subcommand::Run(c) => c.execute(),
        Subcommand::Serve(c) => c.execute(),
    }
}

#[test]
fn the_command_line_is_well_formed() {
    use clap::CommandFactory;
    Wasmtime::command().debug_assert()
}
