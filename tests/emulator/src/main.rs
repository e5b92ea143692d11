//! `entra-emulator`: runs the emulator until Ctrl-C and prints what a client needs to use it.

use std::io::IsTerminal as _;
use std::time::Duration;

use clap::Parser;
use entra_emulator::{AppRegistration, Emulator, EmulatorConfig};
use tracing_subscriber::EnvFilter;

/// Local emulator of IMDS, App Service, Azure Arc, Cloud Shell, Azure ML and Service Fabric managed identity,
/// Entra's token endpoint and JWKS, and a Kubernetes-style OIDC issuer.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// TCP port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Lifetime of issued tokens, in seconds (default 24 h).
    #[arg(long)]
    token_lifetime_secs: Option<u64>,
    /// The App Service secret clients must send in X-IDENTITY-HEADER (default: random).
    #[arg(long)]
    identity_header: Option<String>,
    /// The tenant to serve.
    #[arg(long)]
    tenant_id: Option<String>,
    /// Registers an app for the token endpoint, `CLIENT_ID=SECRET`; repeatable. Unregistered clients get
    /// AADSTS700016.
    #[arg(long = "app", value_name = "CLIENT_ID=SECRET")]
    apps: Vec<String>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let args = Args::parse();
    let mut config = EmulatorConfig {
        port: args.port,
        ..EmulatorConfig::default()
    };
    if let Some(secs) = args.token_lifetime_secs {
        config.token_lifetime = Duration::from_secs(secs);
    }
    if let Some(header) = args.identity_header {
        config.identity_header = header;
    }
    if let Some(tenant) = args.tenant_id {
        config.tenant_id = tenant;
    }
    for app in &args.apps {
        let Some((client_id, secret)) = app.split_once('=') else {
            return Err(std::io::Error::other(format!(
                "--app {app}: expected CLIENT_ID=SECRET"
            )));
        };
        config
            .apps
            .push(AppRegistration::new(client_id).with_secret(secret));
    }
    let emulator = Emulator::start(config).await?;
    // The identity header is a test value, printed so that the lines below can be exported as they are.
    println!("listening on {}", emulator.base_url());
    println!("AZURE_POD_IDENTITY_AUTHORITY_HOST={}", emulator.base_url());
    println!("IDENTITY_ENDPOINT={}", emulator.app_service_endpoint());
    println!("IDENTITY_HEADER={}", emulator.identity_header());
    println!("AZURE_TENANT_ID={}", emulator.tenant_id());
    println!(
        "# Azure Arc:      IDENTITY_ENDPOINT={} IMDS_ENDPOINT={} (key files in {})",
        emulator.arc_endpoint(),
        emulator.base_url(),
        emulator.arc_token_dir().display()
    );
    println!(
        "# Cloud Shell:    MSI_ENDPOINT={}",
        emulator.cloud_shell_endpoint()
    );
    println!(
        "# Azure ML:       MSI_ENDPOINT={} MSI_SECRET={} DEFAULT_IDENTITY_CLIENT_ID={}",
        emulator.azure_ml_endpoint(),
        emulator.azure_ml_secret(),
        emulator.system_assigned().client_id
    );
    println!(
        "# Service Fabric: IDENTITY_ENDPOINT={} IDENTITY_HEADER={} IDENTITY_SERVER_THUMBPRINT={}",
        emulator.service_fabric_endpoint(),
        emulator.identity_header(),
        emulator.service_fabric_thumbprint()
    );
    println!(
        "# OIDC issuer:    {} (JWKS {}/openid/v1/jwks)",
        emulator.oidc_issuer(),
        emulator.oidc_issuer()
    );
    println!("# IMDS:           GET  {}", emulator.imds_endpoint());
    println!("# token endpoint: POST {}", emulator.token_endpoint());
    println!(
        "# JWKS:           GET  {}/{}/discovery/v2.0/keys",
        emulator.base_url(),
        emulator.tenant_id()
    );
    println!(
        "# system-assigned client id: {}",
        emulator.system_assigned().client_id
    );
    for uami in emulator.user_assigned() {
        println!(
            "# user-assigned client id:   {} ({})",
            uami.client_id, uami.resource_id
        );
    }
    tokio::signal::ctrl_c().await?;
    emulator.shutdown().await;
    Ok(())
}
