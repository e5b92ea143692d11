//! `entra-identity compose APP.wasm -o OUT.wasm [--standalone]`: `wac plug` with the
//! identity component built in, through the same library (`wac-graph`) and the same code
//! `serve` uses; `--standalone` also plugs the built-in adapter for hosts without
//! `wasi:keyvalue` and `wasi:config` (such as `wasmtime serve`); `--inbound` puts the
//! inbound gate in front of the app's HTTP handler (`compose/inbound.rs`).

mod inbound;

use clap::Args;
use entra_identity_host::COMPONENT_WASM;
use entra_identity_host::serve::{STANDALONE_WASM, compose, compose_standalone};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub(super) struct ComposeArgs {
    /// The app component, importing entra:identity/credentials, validation or tokens
    /// (with --inbound, any wasi:http/incoming-handler@0.2 component).
    app: PathBuf,
    /// Where to write the composed component.
    #[arg(short, long)]
    output: PathBuf,
    /// Also satisfy wasi:keyvalue (draft2) with a store inside the instance and
    /// wasi:config from environment variables, for hosts that provide neither (e.g.
    /// `wasmtime serve`): the result imports only wasi:http, cli, clocks, random,
    /// filesystem and io.
    #[arg(long)]
    standalone: bool,
    #[command(flatten)]
    inbound: inbound::InboundArgs,
}

pub(super) fn run(args: ComposeArgs) -> ExitCode {
    let composed = std::fs::read(&args.app)
        .map_err(|e| format!("cannot read {}: {e}", args.app.display()))
        .and_then(|app| {
            if let Some(composed) = args.inbound.compose(&app, args.standalone) {
                return composed;
            }
            if args.standalone {
                compose_standalone(&app, COMPONENT_WASM, STANDALONE_WASM)
            } else {
                compose(&app, COMPONENT_WASM)
            }
            .map_err(|e| e.to_string())
        })
        .and_then(|bytes| {
            std::fs::write(&args.output, &bytes)
                .map(|()| bytes.len())
                .map_err(|e| format!("cannot write {}: {e}", args.output.display()))
        });
    match composed {
        Ok(len) => {
            eprintln!(
                "entra-identity: wrote {} ({} KiB)",
                args.output.display(),
                len / 1024
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("entra-identity: {e}");
            ExitCode::FAILURE
        }
    }
}
