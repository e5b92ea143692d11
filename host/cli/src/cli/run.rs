//! `entra-identity run PLUGIN.wasm`: one plugin, under its policy, with tokens from
//! the identity this process's environment configures (as for `token`).

use clap::Args;
use entra_identity_host::plugin::{PluginError, PluginHost, PluginPolicy};
use entra_identity_host::{Identity, IdentityConfig};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// With `--emulator`, this text in the plugin's arguments and policy is the emulator's URL.
#[cfg(feature = "emulator")]
const EMULATOR_PLACEHOLDER: &str = "{emulator}";

#[derive(Args)]
pub(super) struct RunArgs {
    /// The plugin: a WASI 0.2 command component (exports wasi:cli/run).
    plugin: PathBuf,
    /// Its name, which picks its [plugins.NAME] section of the policy; default: the
    /// file name without `.wasm`.
    #[arg(long)]
    name: Option<String>,
    /// The policy file (TOML). Without one, or without a section for the plugin, it
    /// gets the defaults: no scopes, no outbound hosts, no directories.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Run the local Entra emulator in-process and get tokens from it. Its Key Vault
    /// holds the secret `demo`, and `{emulator}` in the plugin's arguments and in the
    /// policy stands for its URL.
    #[cfg(feature = "emulator")]
    #[arg(long)]
    emulator: bool,
    /// Print a summary of the host's metrics (token requests by layer and outcome,
    /// plugin denials, upstream latency) to stderr at exit.
    #[arg(long)]
    metrics: bool,
    /// The plugin's arguments, after `--`.
    #[arg(last = true, value_name = "ARGS")]
    args: Vec<String>,
}

/// Runs the plugin; its exit code is the process's (1 if it could not run to its end).
pub(super) async fn run(args: RunArgs, roots: entra_identity_host::TlsRoots) -> ExitCode {
    let name = args.name.clone().unwrap_or_else(|| {
        let stem = args.plugin.file_stem().map(|s| s.to_string_lossy());
        stem.map_or_else(|| "plugin".into(), |s| s.into_owned())
    });
    let mut config = match IdentityConfig::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("entra-identity: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The flag, else the variable it reads.
    config.tls_roots = roots;
    let sink = match super::telemetry::Sink::start(args.metrics, &mut config) {
        Ok(sink) => sink,
        Err(e) => {
            eprintln!("entra-identity: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = run_with(&args, &name, config).await;
    sink.finish();
    code
}

async fn run_with(args: &RunArgs, name: &str, config: IdentityConfig) -> ExitCode {
    let policy_text = match &args.policy {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!(
                    "entra-identity: cannot read policy file {}: {e}",
                    path.display()
                );
                return ExitCode::FAILURE;
            }
        },
        None => String::new(),
    };
    let setup = Setup {
        config,
        policy_text,
        args: args.args.clone(),
    };
    #[cfg(feature = "emulator")]
    let (setup, _emulator) = match emulate(setup, args.emulator).await {
        Ok(emulated) => emulated,
        Err(e) => {
            eprintln!("entra-identity: could not start the emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    let policy = match PluginPolicy::from_toml(&setup.policy_text) {
        Ok(policy) => policy,
        Err(e) => {
            let path = args.policy.as_deref().unwrap_or(Path::new("policy"));
            eprintln!("entra-identity: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    match run_plugin(setup.config, policy, name, &args.plugin, &setup.args).await {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!("entra-identity: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What the run is made of, before the emulator (if any) is filled in.
struct Setup {
    config: IdentityConfig,
    policy_text: String,
    args: Vec<String>,
}

/// With `--emulator`: the identity pointed at a fresh emulator whose Key Vault holds
/// `demo`, and its URL in place of `{emulator}`.
#[cfg(feature = "emulator")]
async fn emulate(
    mut setup: Setup,
    enabled: bool,
) -> std::io::Result<(Setup, Option<entra_emulator::Emulator>)> {
    if !enabled {
        return Ok((setup, None));
    }
    let emulator = super::emulated(&mut setup.config, super::Source::Imds).await?;
    emulator.set_secret("demo", "hello from the emulator's Key Vault");
    let url = emulator.key_vault_url();
    for arg in &mut setup.args {
        *arg = arg.replace(EMULATOR_PLACEHOLDER, &url);
    }
    setup.policy_text = setup.policy_text.replace(EMULATOR_PLACEHOLDER, &url);
    Ok((setup, Some(emulator)))
}

async fn run_plugin(
    config: IdentityConfig,
    policy: PluginPolicy,
    name: &str,
    path: &Path,
    args: &[String],
) -> Result<i32, String> {
    let identity = Identity::new(config)
        .map_err(|e| format!("could not start the identity component: {e}"))?;
    let host = PluginHost::new(identity, policy).map_err(|e| e.to_string())?;
    let plugin = host.load_file(name, path).map_err(|e| e.to_string())?;
    let outcome = plugin
        .run(args)
        .await
        .map_err(|e: PluginError| e.to_string())?;
    Ok(outcome.code)
}
