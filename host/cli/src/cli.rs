//! The command line: `entra-identity token`, like `az account get-access-token`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use entra_identity_host::{
    AppOptions, CacheConfig, CertificateSource, CredentialKind, Identity, IdentityConfig,
    ManagedIdentityOptions, ManagedIdentitySource, TlsRoots, TokenError, TokenRequest,
    UserAssignedId, Validator, ValidatorConfig, ValidatorOptions, require_role, require_scope,
};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

mod compose;
mod dev_endpoint;
mod metrics;
#[cfg(feature = "otlp")]
mod otlp;
mod run;
mod serve;
mod telemetry;

#[derive(Parser)]
#[command(
    name = "entra-identity",
    version,
    about = "Microsoft Entra ID tokens from a WebAssembly sandbox"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Which certificate authorities outbound HTTPS trusts: `system` (this machine's
    /// store, or SSL_CERT_FILE/SSL_CERT_DIR when set) or `webpki` (only the web PKI
    /// roots built into this binary).
    #[arg(
        long,
        global = true,
        env = TlsRoots::ENV_VAR,
        default_value_t = TlsRoots::System,
        value_name = "system|webpki"
    )]
    tls_roots: TlsRoots,
}

#[derive(Subcommand)]
enum Command {
    /// Get an access token with managed identity and print it.
    #[command(after_help = CACHE_HELP)]
    Token(TokenArgs),
    /// Validate an Entra access token read from standard input; print its claims.
    Validate(ValidateArgs),
    /// Run a plugin component under its policy, with tokens from this identity.
    Run(run::RunArgs),
    /// Serve an HTTP handler component (a Spin app) with the identity component plugged in.
    Serve(serve::ServeArgs),
    /// Plug an app's entra:identity imports with the identity component (`wac plug`),
    /// or with --outbound put tokens on the app's own wasi:http requests.
    Compose(compose::ComposeArgs),
    /// Serve the developer's Azure CLI (or PowerShell, azd) tokens as a loopback App
    /// Service managed-identity endpoint; prints IDENTITY_ENDPOINT and IDENTITY_HEADER.
    DevEndpoint(dev_endpoint::DevEndpointArgs),
}

#[derive(Args)]
struct ValidateArgs {
    /// The API's tenant id, or organizations/common (then list --allowed-tenant).
    #[arg(long)]
    tenant: String,
    /// An accepted audience (app id URI or client id); repeat for several.
    #[arg(long = "audience", required = true)]
    audiences: Vec<String>,
    /// A further tenant whose tokens are accepted; `*` for any. Repeatable.
    #[arg(long = "allowed-tenant")]
    allowed_tenants: Vec<String>,
    /// The Entra authority host; else AZURE_AUTHORITY_HOST, else
    /// https://login.microsoftonline.com.
    #[arg(long)]
    authority: Option<String>,
    /// Tolerated clock skew on exp/nbf, in seconds.
    #[arg(long, default_value_t = 300)]
    leeway: u64,
    /// Require this app role.
    #[arg(long)]
    require_role: Option<String>,
    /// Require this delegated scope.
    #[arg(long)]
    require_scope: Option<String>,
}

const CACHE_STORE: &str = "ENTRA_IDENTITY_CACHE_STORE";
const CACHE_REDIS_AUTH: &str = "ENTRA_IDENTITY_CACHE_REDIS_AUTH";
const CACHE_REDIS_CA_FILE: &str = "ENTRA_IDENTITY_CACHE_REDIS_CA_FILE";
const CACHE_REDIS_CLUSTER: &str = "ENTRA_IDENTITY_CACHE_REDIS_CLUSTER";

/// The shared cache's settings that are secrets or rarely changed: environment only.
const CACHE_HELP: &str = "\
Shared token cache (environment):
  ENTRA_IDENTITY_CACHE_STORE      memory (default) | disk:/path/cache.redb | redis://host:port
                                  | rediss://host:port (TLS; Azure: 6380, Managed Redis 10000)
  ENTRA_IDENTITY_CACHE_REDIS_AUTH password (default: the URL's) | entra (the host's own token,
                                  user = its object id; Azure Cache for Redis, Managed Redis)
  ENTRA_IDENTITY_CACHE_REDIS_CA_FILE  PEM CA certificates for rediss:// instead of the web PKI's
  ENTRA_IDENTITY_CACHE_REDIS_CLUSTER  auto (default: ask the server) | yes (Redis Cluster: Managed
                                  Redis's OSS cluster policy, Premium clustering) | no
  ENTRA_IDENTITY_CACHE_KEY        base64 of 32 random bytes (openssl rand -base64 32); comma-separate
                                  several to rotate: the first encrypts, all decrypt. Needed for
                                  disk and Redis; the memory store makes one per process.
  ENTRA_IDENTITY_CACHE_PLAINTEXT  true: no encryption (memory store only)
  ENTRA_IDENTITY_CACHE_BUCKET     the wasi:keyvalue bucket (default: default)
  ENTRA_IDENTITY_CACHE            off: cache in the instance only";

#[derive(Args)]
struct TokenArgs {
    /// The scope, e.g. https://vault.azure.net/.default.
    #[arg(long)]
    scope: String,
    /// Print a summary of the host's metrics (requests by layer and outcome, upstream
    /// latency, retries, throttles) to stderr at exit.
    #[arg(long)]
    metrics: bool,
    /// Which credential to use.
    #[arg(long, value_enum, default_value = "managed-identity")]
    credential: CredentialArg,
    /// The app registration's client id (client-secret, client-certificate,
    /// workload-identity, managed-identity-fic); else AZURE_CLIENT_ID.
    #[arg(long)]
    app_id: Option<String>,
    /// The app's tenant; else AZURE_TENANT_ID.
    #[arg(long)]
    tenant_id: Option<String>,
    /// The authority host (https://login.microsoftonline.us, ...); else AZURE_AUTHORITY_HOST.
    #[arg(long)]
    authority_host: Option<String>,
    /// PEM file with the certificate and its private key (client-certificate);
    /// else AZURE_CLIENT_CERTIFICATE_PATH.
    #[arg(long)]
    certificate: Option<String>,
    /// The federated token file (workload-identity); else AZURE_FEDERATED_TOKEN_FILE.
    #[arg(long)]
    token_file: Option<String>,
    /// AKS identity binding (workload-identity): send the token request to
    /// AZURE_KUBERNETES_TOKEN_PROXY, trusting AZURE_KUBERNETES_CA_FILE/_CA_DATA with
    /// AZURE_KUBERNETES_SNI_NAME. Off: those variables are ignored.
    #[arg(long)]
    enable_azure_proxy: bool,
    /// A user-assigned identity by client id.
    #[arg(long, group = "uami")]
    client_id: Option<String>,
    /// A user-assigned identity by object (principal) id.
    #[arg(long, group = "uami")]
    object_id: Option<String>,
    /// A user-assigned identity by Azure resource id.
    #[arg(long, group = "uami")]
    resource_id: Option<String>,
    /// Use this source instead of detecting one from the environment.
    #[arg(long, value_enum)]
    source: Option<Source>,
    /// The IMDS base URL or identity endpoint URL, instead of the environment's.
    #[arg(long)]
    endpoint: Option<String>,
    /// Declare a client capability; repeatable. `cp1` says this client handles claims
    /// challenges (Continuous Access Evaluation), so Entra may issue long-lived tokens
    /// that a resource revokes with a 401 claims challenge. Sent on the token request
    /// as {"access_token":{"xms_cc":{"values":["cp1"]}}}; app registrations send it,
    /// of the managed-identity sources only Service Fabric (IMDS ignores it).
    #[arg(long = "client-capability", value_name = "CAPABILITY")]
    client_capabilities: Vec<String>,
    /// Ask for a token satisfying a resource's claims challenge: the JSON of its
    /// `claims` parameter, base64-decoded. Skips the cached token and replaces it.
    #[arg(long, value_name = "JSON")]
    claims: Option<String>,
    /// Print JSON with expires_on, refresh_on and token_type.
    #[arg(long)]
    json: bool,
    /// Where the shared token cache lives: `memory` (this process), `disk:/path/cache.redb`
    /// (survives restarts) or `redis://host:port` (shared by hosts; needs a key).
    #[arg(long, env = CACHE_STORE, hide_env_values = true, value_name = "STORE")]
    cache_store: Option<String>,
    /// How the host authenticates to a Redis store: `password` (what the URL carries)
    /// or `entra` (a token of this same identity for https://redis.azure.com, user = its
    /// object id; needs rediss://).
    #[arg(long, env = CACHE_REDIS_AUTH, value_name = "password|entra")]
    redis_auth: Option<String>,
    /// PEM CA certificates a rediss:// server must chain to, instead of the web PKI roots.
    #[arg(long, env = CACHE_REDIS_CA_FILE, value_name = "PEM")]
    redis_ca_file: Option<String>,
    /// Whether the Redis store is a Redis Cluster: `auto` (ask the server), `yes` or `no`.
    #[arg(long, env = CACHE_REDIS_CLUSTER, value_name = "auto|yes|no")]
    redis_cluster: Option<String>,
    /// Run the local Entra emulator in-process and get the token from it.
    #[cfg(feature = "emulator")]
    #[arg(long)]
    emulator: bool,
    /// Which endpoint the emulator plays.
    #[cfg(feature = "emulator")]
    #[arg(long, value_enum, default_value = "imds", requires = "emulator")]
    emulator_source: Source,
}

/// Credentials by name; client secrets come only from AZURE_CLIENT_SECRET, never
/// from the command line, where any user of the machine can read them.
#[derive(Clone, Copy, ValueEnum)]
enum CredentialArg {
    Default,
    ManagedIdentity,
    WorkloadIdentity,
    ClientSecret,
    ClientCertificate,
    ManagedIdentityFic,
}

#[derive(Clone, Copy, ValueEnum)]
enum Source {
    Imds,
    AppService,
}

impl From<Source> for ManagedIdentitySource {
    fn from(s: Source) -> Self {
        match s {
            Source::Imds => ManagedIdentitySource::Imds,
            Source::AppService => ManagedIdentitySource::AppService,
        }
    }
}

pub(crate) async fn run(cli: Cli) -> ExitCode {
    let roots = cli.tls_roots;
    match cli.command {
        Command::Token(args) => token(args, roots).await,
        Command::Validate(args) => validate(args, roots).await,
        Command::Run(args) => run::run(args, roots).await,
        Command::Serve(args) => serve::run(args, roots).await,
        Command::Compose(args) => compose::run(args),
        Command::DevEndpoint(args) => dev_endpoint::run(args).await,
    }
}

async fn validate(args: ValidateArgs, roots: TlsRoots) -> ExitCode {
    let mut bearer = String::new();
    // Read at most a little over the validator's limit, so a huge input is rejected as
    // too large rather than read whole.
    let limit = (entra_identity_host::MAX_TOKEN_BYTES + 1024) as u64;
    if let Err(e) = std::io::Read::read_to_string(
        &mut std::io::Read::take(std::io::stdin(), limit),
        &mut bearer,
    ) {
        eprintln!("entra-identity: could not read the token from standard input: {e}");
        return ExitCode::FAILURE;
    }
    // The same fallback `token` has (sovereign clouds set it once for both).
    let authority = args
        .authority
        .or_else(|| non_empty_var(&IdentityConfig::env_from_process(), "AZURE_AUTHORITY_HOST"));
    let mut options = ValidatorOptions::new(args.tenant, &args.audiences)
        .allow_tenants(&args.allowed_tenants)
        .leeway(Duration::from_secs(args.leeway));
    options.authority = authority;
    let result = async {
        let config = ValidatorConfig::default()
            .with_cache(CacheConfig::from_process_env()?)
            .with_tls_roots(roots);
        let claims = Validator::new(options, config)?.validate(&bearer).await?;
        if let Some(role) = &args.require_role {
            require_role(&claims, role)?;
        }
        if let Some(scope) = &args.require_scope {
            require_scope(&claims, scope)?;
        }
        Ok::<_, entra_identity_host::Error>(claims)
    }
    .await;
    match result {
        Ok(claims) => {
            let raw: serde_json::Value = serde_json::from_str(&claims.raw).unwrap_or_default();
            println!("{raw:#}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("entra-identity: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn token(args: TokenArgs, roots: TlsRoots) -> ExitCode {
    let user_assigned = match (&args.client_id, &args.object_id, &args.resource_id) {
        (Some(id), _, _) => Some(UserAssignedId::ClientId(id.clone())),
        (_, Some(id), _) => Some(UserAssignedId::ObjectId(id.clone())),
        (_, _, Some(id)) => Some(UserAssignedId::ResourceId(id.clone())),
        _ => None,
    };
    let env = IdentityConfig::env_from_process();
    let credential = match credential_kind(&args, &env) {
        Ok(kind) => kind,
        Err(why) => {
            eprintln!("entra-identity: {why}");
            return ExitCode::FAILURE;
        }
    };
    // The flag (or its variable) picks the store; the rest comes from the environment.
    let cache = CacheConfig::from_env(|k| match k {
        CACHE_STORE => args.cache_store.clone(),
        CACHE_REDIS_AUTH => args.redis_auth.clone(),
        CACHE_REDIS_CA_FILE => args.redis_ca_file.clone(),
        CACHE_REDIS_CLUSTER => args.redis_cluster.clone(),
        _ => std::env::var(k).ok(),
    });
    let cache = match cache {
        Ok(cache) => cache,
        Err(e) => {
            eprintln!("entra-identity: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut config = IdentityConfig::new(credential)
        .with_env(env)
        .with_cache(cache)
        .with_managed_identity({
            let mut mi = ManagedIdentityOptions::default();
            mi.user_assigned = user_assigned;
            mi.source = args.source.map(Into::into);
            mi.endpoint = args.endpoint.clone();
            mi
        })
        .with_client_capabilities(&args.client_capabilities)
        .with_tls_roots(roots);
    let sink = match telemetry::Sink::start(args.metrics, &mut config) {
        Ok(sink) => sink,
        Err(e) => {
            eprintln!("entra-identity: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = token_with(&args, config).await;
    sink.finish();
    code
}

async fn token_with(args: &TokenArgs, config: IdentityConfig) -> ExitCode {
    #[cfg_attr(not(feature = "emulator"), allow(unused_mut))]
    let mut config = config;
    #[cfg(feature = "emulator")]
    let _emulator = if args.emulator {
        match emulated(&mut config, args.emulator_source).await {
            Ok(emulator) => Some(emulator),
            Err(e) => {
                eprintln!("entra-identity: could not start the emulator: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };

    let identity = match Identity::new(config) {
        Ok(identity) => identity,
        Err(e) => {
            eprintln!("entra-identity: could not start the identity component: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut request = TokenRequest::new(&[args.scope.as_str()]);
    if let Some(claims) = &args.claims {
        request = request.claims(claims);
    }
    match identity.get_token_for(&request).await {
        Ok(token) if args.json => {
            let json = serde_json::json!({
                "access_token": token.secret(),
                "token_type": token.token_type(),
                "expires_on": token.expires_on(),
                "refresh_on": token.refresh_on(),
            });
            println!("{json:#}");
            ExitCode::SUCCESS
        }
        Ok(token) => {
            println!("{}", token.secret());
            ExitCode::SUCCESS
        }
        Err(e) => {
            let source = identity
                .describe()
                .await
                .unwrap_or_else(|_| "the configured credential (it could not be created)".into());
            eprintln!("{}", explain(&args.scope, &source, &e));
            ExitCode::FAILURE
        }
    }
}

fn credential_kind(
    args: &TokenArgs,
    env: &BTreeMap<String, String>,
) -> Result<CredentialKind, String> {
    // Each flag falls back to its variable here, for every credential, as its help
    // says: the component itself reads them only for some credentials (managed identity
    // as a federated credential does not, because there AZURE_CLIENT_ID could name the
    // managed identity; on this command line the flags say which id is which).
    let or_var =
        |flag: &Option<String>, var: &str| flag.clone().or_else(|| non_empty_var(env, var));
    let mut app = AppOptions::default();
    app.client_id = or_var(&args.app_id, "AZURE_CLIENT_ID");
    app.tenant_id = or_var(&args.tenant_id, "AZURE_TENANT_ID");
    app.authority_host = or_var(&args.authority_host, "AZURE_AUTHORITY_HOST");
    Ok(match args.credential {
        CredentialArg::Default => CredentialKind::DefaultChain,
        CredentialArg::ManagedIdentity => CredentialKind::ManagedIdentity,
        CredentialArg::WorkloadIdentity => CredentialKind::WorkloadIdentity {
            app,
            token_file: or_var(&args.token_file, "AZURE_FEDERATED_TOKEN_FILE"),
            enable_azure_proxy: args.enable_azure_proxy,
        },
        CredentialArg::ClientSecret => CredentialKind::ClientSecret {
            app,
            secret: env
                .get("AZURE_CLIENT_SECRET")
                .cloned()
                .ok_or("--credential client-secret reads the secret from AZURE_CLIENT_SECRET, which is not set")?,
        },
        CredentialArg::ClientCertificate => CredentialKind::ClientCertificate {
            app,
            certificate: CertificateSource::Path(
                or_var(&args.certificate, "AZURE_CLIENT_CERTIFICATE_PATH")
                    .ok_or("--credential client-certificate needs --certificate or AZURE_CLIENT_CERTIFICATE_PATH")?,
            ),
            send_certificate_chain: None,
            rs256: false,
        },
        CredentialArg::ManagedIdentityFic => CredentialKind::ManagedIdentityAsFederated { app },
    })
}

/// `var` from `env`, unless it is unset or blank (as the Azure SDKs treat blank).
fn non_empty_var(env: &BTreeMap<String, String>, var: &str) -> Option<String> {
    env.get(var).filter(|v| !v.trim().is_empty()).cloned()
}

/// One paragraph: what was tried, what it answered, what to check.
fn explain(scope: &str, source: &str, error: &entra_identity_host::Error) -> String {
    let hint = match error {
        entra_identity_host::Error::Token(TokenError::Unavailable(_)) => {
            "Check that this runs on Azure with a managed identity enabled, or try it offline with --emulator."
        }
        entra_identity_host::Error::Token(TokenError::Transport(_)) => {
            "Check that the endpoint is reachable from here and allowed by the host."
        }
        entra_identity_host::Error::Token(TokenError::Throttled { .. }) => {
            "Wait for the time given before asking again; cache tokens instead of asking per request."
        }
        entra_identity_host::Error::Token(TokenError::InvalidInput(_)) => {
            "Fix the input named above."
        }
        _ => "The message above says what the endpoint answered.",
    };
    format!("entra-identity: no token for {scope} from {source}.\n{error}\n{hint}")
}

#[cfg(feature = "emulator")]
async fn emulated(
    config: &mut IdentityConfig,
    source: Source,
) -> std::io::Result<entra_emulator::Emulator> {
    let emulator =
        entra_emulator::Emulator::start(entra_emulator::EmulatorConfig::default()).await?;
    config.env.clear();
    match source {
        Source::Imds => {
            config.env.insert(
                "AZURE_POD_IDENTITY_AUTHORITY_HOST".into(),
                emulator.base_url(),
            );
        }
        Source::AppService => {
            config
                .env
                .insert("IDENTITY_ENDPOINT".into(), emulator.app_service_endpoint());
            config.env.insert(
                "IDENTITY_HEADER".into(),
                emulator.identity_header().to_string(),
            );
        }
    }
    eprintln!(
        "entra-identity: using the local emulator at {}",
        emulator.base_url()
    );
    Ok(emulator)
}
