//! `entra-identity serve APP.wasm`: an HTTP handler component with the identity
//! component plugged in, as Spin would run it with `[component.<app>.dependencies]`.

use clap::Args;
use entra_identity_host::IdentityConfig;
use entra_identity_host::serve::{ServeLimits, ServeOptions, serve};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

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
    #[command(flatten)]
    outbound: super::compose::OutboundArgs,
    /// Requests inside the app at once; one more is answered 503 with Retry-After.
    #[arg(long, value_name = "N", default_value_t = ServeLimits::default().max_concurrent_requests, value_parser = count)]
    max_concurrent_requests: usize,
    /// Open connections; at the cap new ones wait in the listen backlog.
    #[arg(long, value_name = "N", default_value_t = ServeLimits::default().max_connections, value_parser = count)]
    max_connections: usize,
    /// Time a client may take to send a request head from its first byte (e.g. 10s,
    /// 500ms, 2m; a bare number is seconds); then the connection is closed.
    #[arg(long, value_name = "TIME", default_value = "10s", value_parser = timeout)]
    header_timeout: Duration,
    /// Time a connection may go without a request (before its first, between
    /// keep-alive requests); then it is closed.
    #[arg(long, value_name = "TIME", default_value = "75s", value_parser = timeout)]
    idle_timeout: Duration,
    /// Time a response may wait on a client that takes none of its bytes; then the
    /// connection is closed and its request slot freed. Any byte taken restarts it.
    #[arg(long, value_name = "TIME", default_value = "60s", value_parser = timeout)]
    send_timeout: Duration,
    /// The largest request body (e.g. 1048576, 512KiB, 16MiB); a longer one gets 413.
    #[arg(long, value_name = "BYTES", default_value = "16MiB", value_parser = bytes)]
    max_body_bytes: u64,
    /// A fresh instance for every request, WASIp3 apps too (a WASIp2 app always gets
    /// one); by default a WASIp3 instance takes up to 16 requests at once, 128 in all.
    #[arg(long)]
    fresh_instances: bool,
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

fn count(text: &str) -> Result<usize, String> {
    let n: usize = text
        .parse()
        .map_err(|_| format!("expected a whole number, got {text:?}"))?;
    if (1..=ServeLimits::MAX_COUNT).contains(&n) {
        Ok(n)
    } else {
        Err(format!("must be from 1 to {}", ServeLimits::MAX_COUNT))
    }
}

fn timeout(text: &str) -> Result<Duration, String> {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("expected a time such as 10s, 500ms or 2m, got {text:?}"))?;
    let time = match &text[digits.len()..] {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        unit => return Err(format!("unknown unit {unit:?}; use ms, s or m")),
    };
    if time.is_zero() || time > ServeLimits::MAX_TIMEOUT {
        return Err(format!(
            "must be more than 0 and at most {}s",
            ServeLimits::MAX_TIMEOUT.as_secs()
        ));
    }
    Ok(time)
}

fn bytes(text: &str) -> Result<u64, String> {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("expected a size such as 1048576, 512KiB or 16MiB, got {text:?}"))?;
    let scale: u64 = match &text[digits.len()..] {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        unit => return Err(format!("unknown unit {unit:?}; use B, KiB, MiB or GiB")),
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("{text:?} does not fit in 64 bits"))
}

fn pair(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))
}

pub(super) async fn run(args: ServeArgs, roots: entra_identity_host::TlsRoots) -> ExitCode {
    let app = match std::fs::read(&args.app) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("entra-identity: cannot read {}: {e}", args.app.display());
            return ExitCode::FAILURE;
        }
    };
    // `--outbound`: composed on load, as `compose --outbound` would.
    let app = match args.outbound.compose(&app, false, None) {
        None => app,
        Some(Ok(composed)) => composed,
        Some(Err(e)) => {
            eprintln!("entra-identity: {e}");
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
    // The flag, else the variable it reads.
    config.tls_roots = roots;
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
    options.fresh_instances = args.fresh_instances;
    let mut limits = ServeLimits::default();
    limits.max_concurrent_requests = args.max_concurrent_requests;
    limits.max_connections = args.max_connections;
    limits.header_timeout = args.header_timeout;
    limits.idle_timeout = args.idle_timeout;
    limits.send_timeout = args.send_timeout;
    limits.max_body_bytes = args.max_body_bytes;
    options.limits = limits;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_take_ms_s_and_m_and_refuse_zero_and_typos() {
        assert_eq!(timeout("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(timeout("10"), Ok(Duration::from_secs(10)));
        assert_eq!(timeout("2m"), Ok(Duration::from_secs(120)));
        for bad in ["0", "0ms", "10h", "s", "-1s", "99999999999m", "1.5s"] {
            assert!(timeout(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_take_binary_units_and_refuse_overflow() {
        assert_eq!(bytes("0"), Ok(0));
        assert_eq!(bytes("512KiB"), Ok(512 << 10));
        assert_eq!(bytes("16MiB"), Ok(16 << 20));
        for bad in ["16MB", "x", "-1", "99999999999GiB"] {
            assert!(bytes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn counts_refuse_zero_and_absurd_values() {
        assert_eq!(count("1"), Ok(1));
        for bad in ["0", "-3", "1e3", "99999999"] {
            assert!(count(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_flag_defaults_are_the_library_defaults() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            serve: ServeArgs,
        }
        let args = Cli::try_parse_from(["serve", "app.wasm"]).unwrap().serve;
        let defaults = ServeLimits::default();
        assert_eq!(
            args.max_concurrent_requests,
            defaults.max_concurrent_requests
        );
        assert_eq!(args.max_connections, defaults.max_connections);
        assert_eq!(args.header_timeout, defaults.header_timeout);
        assert_eq!(args.idle_timeout, defaults.idle_timeout);
        assert_eq!(args.send_timeout, defaults.send_timeout);
        assert_eq!(args.max_body_bytes, defaults.max_body_bytes);
    }

    #[test]
    fn a_bad_limit_is_a_usage_error_naming_the_flag() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            serve: ServeArgs,
        }
        let err = Cli::try_parse_from(["serve", "app.wasm", "--header-timeout", "0"])
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains("--header-timeout"), "{err}");
    }
}
