//! `entra-identity serve APP.wasm`: an HTTP handler component with the identity
//! component plugged in, as Spin would run it with `[component.<app>.dependencies]`.

use clap::Args;
use entra_identity_host::IdentityConfig;
use entra_identity_host::serve::{ServeOptions, serve};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub(super) struct ServeArgs {
    /// The app: a component exporting wasi:http/handler@0.3 (spin-sdk 7) or
    /// wasi:http/incoming-handler@0.2. Its entra:identity imports are plugged with the
    /// identity component.
    app: PathBuf,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// A variable the app reads through wasi:config (Spin's application variables).
    /// Repeatable.
    #[arg(long = "var", value_name = "KEY=VALUE", value_parser = pair)]
    variables: Vec<(String, String)>,
    /// A URL the app may call (Key Vault, your APIs); the identity's endpoints are
    /// always allowed. Repeatable.
    #[arg(long = "allow-outbound", value_name = "URL")]
    allowed_outbound: Vec<String>,
    /// Run the local Entra emulator in-process: the identity gets its tokens there, its
    /// Key Vault holds the secrets given with --secret (default `demo`), and the
    /// variables the examples read default to it (vault_url, tenant_id, authority,
    /// audience = api://spin-protected-api, required_role = Secrets.Read).
    #[cfg(feature = "emulator")]
    #[arg(long)]
    emulator: bool,
    /// A secret for the emulator's Key Vault. Repeatable.
    #[cfg(feature = "emulator")]
    #[arg(long = "secret", value_name = "NAME=VALUE", value_parser = pair, requires = "emulator")]
    secrets: Vec<(String, String)>,
}

fn pair(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))
}

pub(super) async fn run(args: ServeArgs) -> ExitCode {
    let app = match std::fs::read(&args.app) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("entra-identity: cannot read {}: {e}", args.app.display());
            return ExitCode::FAILURE;
        }
    };
    let mut config = match IdentityConfig::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("entra-identity: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut variables: BTreeMap<String, String> = args.variables.into_iter().collect();
    #[cfg(feature = "emulator")]
    let _emulator = if args.emulator {
        match super::emulated(&mut config, super::Source::Imds).await {
            Ok(emulator) => {
                seed(&emulator, &mut variables, &args.secrets);
                Some(emulator)
            }
            Err(e) => {
                eprintln!("entra-identity: could not start the emulator: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let mut options = ServeOptions::new(app, args.listen, config);
    options.variables = variables;
    options.allowed_outbound = args.allowed_outbound;
    match serve(options).await {
        Ok(server) => {
            eprintln!("entra-identity: serving http://{}/", server.local_addr());
            match server.run_until_ctrl_c().await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("entra-identity: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            eprintln!("entra-identity: cannot serve {}: {e}", args.app.display());
            ExitCode::FAILURE
        }
    }
}

/// The emulator's Key Vault secrets and the examples' variables, unless given.
#[cfg(feature = "emulator")]
fn seed(
    emulator: &entra_emulator::Emulator,
    variables: &mut BTreeMap<String, String>,
    secrets: &[(String, String)],
) {
    const API: &str = "api://spin-protected-api";
    const ROLE: &str = "Secrets.Read";
    let demo = [(
        "demo".to_string(),
        "hello from the emulator's Key Vault".to_string(),
    )];
    let secrets = if secrets.is_empty() {
        &demo[..]
    } else {
        secrets
    };
    for (name, value) in secrets {
        emulator.set_secret(name, value);
    }
    let defaults = [
        ("vault_url", emulator.key_vault_url()),
        ("tenant_id", emulator.tenant_id().to_string()),
        ("authority", emulator.base_url()),
        ("audience", API.to_string()),
        ("required_role", ROLE.to_string()),
    ];
    for (key, value) in defaults {
        variables.entry(key.to_string()).or_insert(value);
    }
    // A caller's token for the protected-API example: minted by the emulator, valid
    // for its token lifetime, useless anywhere else.
    let caller = emulator.mint_api_token(API, &[ROLE]);
    eprintln!(
        "entra-identity: emulator Key Vault secrets: {}; a caller token for {API} with role {ROLE}:\n{caller}",
        secrets
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
}
