//! `entra-identity compose APP.wasm -o OUT.wasm [--standalone]`: `wac plug` with the
//! identity component built in, through the same library (`wac-graph`) and the same code
//! `serve` uses; `--standalone` also plugs the built-in adapter for hosts without
//! `wasi:keyvalue` and `wasi:config` (such as `wasmtime serve`). `--outbound [--rule
//! HOST=SCOPE]...` puts the outbound component in front of the app's `wasi:http`
//! client, so an app without identity code gets tokens on its requests; `--inbound`
//! puts the inbound gate in front of its HTTP handler (`compose/inbound.rs`); both
//! together, the gate in front of the app over one virtual `wasi:http` that is also
//! its outbound part.

mod inbound;

use clap::Args;
use entra_identity_host::COMPONENT_WASM;
use entra_identity_host::serve::{
    Inbound, OUTBOUND_WASM, OutboundOptions, STANDALONE_WASM, compose, compose_outbound,
    compose_outbound_inbound, compose_standalone,
};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub(super) struct ComposeArgs {
    /// The app component, importing entra:identity/credentials, validation or tokens
    /// (with --inbound, any HTTP handler: wasi:http/incoming-handler@0.2 or
    /// wasi:http/handler@0.3).
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
    #[command(flatten)]
    outbound: OutboundArgs,
}

/// `--outbound [--rule HOST=SCOPE]...`, for `compose` and `serve`.
#[derive(Args)]
pub(super) struct OutboundArgs {
    /// Attach tokens to the app's outgoing requests (wasi:http/outgoing-handler) whose
    /// destination a rule names: Azure's resources built in, plus each --rule. The app
    /// needs no entra:identity import and never sees a token.
    #[arg(long)]
    outbound: bool,
    /// A destination rule baked into the result, ahead of the built-in ones:
    /// `api.contoso.com=api://contoso/.default`, `*.contoso.com=SCOPE`,
    /// `https://api.contoso.com:8443=SCOPE` (repeatable; needs --outbound).
    #[arg(long = "rule", value_name = "HOST=SCOPE", requires = "outbound")]
    rules: Vec<String>,
}

impl OutboundArgs {
    /// The outbound composition, when asked for; with `inbound`, the gate in front.
    pub(super) fn compose(
        &self,
        app: &[u8],
        standalone: bool,
        inbound: Option<&Inbound>,
    ) -> Option<entra_identity_host::Result<Vec<u8>>> {
        let options = OutboundOptions {
            rules: self.rules.clone(),
            standalone,
        };
        (self.outbound).then(|| match inbound {
            None => compose_outbound(app, COMPONENT_WASM, OUTBOUND_WASM, &options),
            Some(inbound) => {
                compose_outbound_inbound(app, COMPONENT_WASM, OUTBOUND_WASM, &options, inbound)
            }
        })
    }
}

pub(super) fn run(args: ComposeArgs) -> ExitCode {
    let composed = std::fs::read(&args.app)
        .map_err(|e| format!("cannot read {}: {e}", args.app.display()))
        .and_then(|app| {
            let inbound = args.inbound.inbound();
            if let Some(composed) = args
                .outbound
                .compose(&app, args.standalone, inbound.as_ref())
            {
                return composed.map_err(|e| e.to_string());
            }
            if let Some(composed) = args.inbound.compose(&app, args.standalone) {
                return composed;
            }
            let app = &app;
            if args.standalone {
                compose_standalone(app, COMPONENT_WASM, STANDALONE_WASM)
            } else {
                compose(app, COMPONENT_WASM)
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
