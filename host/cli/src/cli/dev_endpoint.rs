//! `entra-identity dev-endpoint`: the developer's Azure sign-in as a loopback App
//! Service managed-identity endpoint, so that `spin up`, `entra-identity serve` and
//! `run` take their production path on a laptop.

use clap::Args;
use entra_identity_host::dev_tools::{DevEndpoint, DevToolsOptions, DeveloperTool};
use std::process::ExitCode;

#[derive(Args)]
pub(super) struct DevEndpointArgs {
    /// A tool to ask (az, pwsh, azd, or its credential's name); repeat for several, in
    /// order. Default: az, pwsh, azd, as the Azure SDKs' developer chains ask them.
    #[arg(long = "tool", value_name = "TOOL")]
    tools: Vec<DeveloperTool>,
    /// The port on 127.0.0.1; 0 takes a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// A tenant other than the tools' default.
    #[arg(long)]
    tenant: Option<String>,
}

pub(super) async fn run(args: DevEndpointArgs) -> ExitCode {
    let mut options = DevToolsOptions::default();
    if !args.tools.is_empty() {
        options = options.tools(args.tools);
    }
    if let Some(tenant) = args.tenant {
        options = options.tenant(tenant);
    }
    let endpoint = match DevEndpoint::start(options, args.port) {
        Ok(endpoint) => endpoint,
        Err(e) => {
            eprintln!("entra-identity: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The only place the secret is shown: the developer hands it to their app.
    for (name, value) in endpoint.env() {
        println!("export {name}={value}");
    }
    eprintln!(
        "entra-identity: serving the developer's tokens at {}; stop with Ctrl-C",
        endpoint.url()
    );
    match tokio::signal::ctrl_c().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("entra-identity: {e}");
            ExitCode::FAILURE
        }
    }
}
