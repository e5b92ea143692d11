//! A plugin host: `wasmtime-plugin-host POLICY.toml PLUGIN.wasm [ARGS...]` runs the plugin
//! as `reporter` under the policy, with tokens from this machine's identity.

use entra_identity_host::Identity;
use entra_identity_host::plugin::{PluginHost, PluginPolicy};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [policy, wasm, plugin_args @ ..] = &args[..] else {
        return Err("usage: wasmtime-plugin-host POLICY.toml PLUGIN.wasm [ARGS...]".into());
    };
    let policy = PluginPolicy::from_file(policy.as_ref())?;
    let host = PluginHost::new(Identity::from_env()?, policy)?;
    let outcome = host
        .load_file("reporter", wasm.as_ref())?
        .run(plugin_args)
        .await?;
    Ok(ExitCode::from(u8::try_from(outcome.code).unwrap_or(1)))
}
