//! The fault matrix: every endpoint kind against every way an endpoint (or the cache's
//! store, or the clock) can misbehave. For each cell the caller gets a usable token or
//! a typed error, never an expired token; the host keeps serving (the next call, with
//! the fault gone, gets a token). The matrix is printed as a table
//! (`cargo test -p entra-e2e --test all fault_matrix -- --nocapture`).

use crate::support::*;
use entra_emulator::{AppRegistration, Endpoint, Fault};
use entra_identity_host::{
    AppOptions, CacheKey, CredentialKind, Error, Identity, IdentityConfig, KeyValueConfig,
    RetryOptions, TokenError, WallClock,
};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const APP: &str = "fa017000-0000-4000-8000-00000000a99";
const SECRET: &str = "matrix-secret-value-1";

#[derive(Clone, Copy, Debug)]
enum Kind {
    Imds,
    AppService,
    Arc,
    CloudShell,
    AzureMl,
    ServiceFabric,
    TokenEndpoint,
}

const KINDS: [Kind; 7] = [
    Kind::Imds,
    Kind::AppService,
    Kind::Arc,
    Kind::CloudShell,
    Kind::AzureMl,
    Kind::ServiceFabric,
    Kind::TokenEndpoint,
];

impl Kind {
    fn endpoint(self) -> Endpoint {
        match self {
            Kind::Imds => Endpoint::Imds,
            Kind::AppService => Endpoint::AppService,
            Kind::Arc => Endpoint::Arc,
            Kind::CloudShell => Endpoint::CloudShell,
            Kind::AzureMl => Endpoint::AzureMl,
            Kind::ServiceFabric => Endpoint::ServiceFabric,
            Kind::TokenEndpoint => Endpoint::Token,
        }
    }
}

#[derive(Clone)]
enum Case {
    Refused,
    Timeout,
    StallBody,
    Status(u16),
    GoneBurst,
    TooManyWithRetryAfter,
    TooManyWithout,
    Malformed,
    WrongTypes,
    Oversized,
    Expired,
    YearsAhead,
    Skew(i64),
    StoreDown,
    StoreCorrupt,
}

fn cases() -> Vec<Case> {
    let mut all = vec![
        Case::Refused,
        Case::Timeout,
        Case::StallBody,
        Case::Status(404),
        Case::GoneBurst,
    ];
    all.extend([Case::TooManyWithRetryAfter, Case::TooManyWithout]);
    all.extend([500, 502, 503, 504].map(Case::Status));
    all.extend([
        Case::Malformed,
        Case::WrongTypes,
        Case::Oversized,
        Case::Expired,
        Case::YearsAhead,
        Case::Skew(600),
        Case::Skew(-600),
        Case::StoreDown,
        Case::StoreCorrupt,
    ]);
    all
}

impl Case {
    fn name(&self) -> String {
        match self {
            Case::Refused => "connection refused".into(),
            Case::Timeout => "no headers within the attempt timeout".into(),
            Case::StallBody => "body stalls halfway".into(),
            Case::Status(s) => format!("{s}"),
            Case::GoneBurst => "410, 410, 410, then 200".into(),
            Case::TooManyWithRetryAfter => "429 with Retry-After: 1".into(),
            Case::TooManyWithout => "429 without Retry-After".into(),
            Case::Malformed => "malformed JSON".into(),
            Case::WrongTypes => "JSON with wrong types".into(),
            Case::Oversized => "2 MiB body".into(),
            Case::Expired => "token already expired".into(),
            Case::YearsAhead => "expires_on years ahead".into(),
            Case::Skew(s) => format!("clock skewed {s:+} s"),
            Case::StoreDown => "key-value store down".into(),
            Case::StoreCorrupt => "key-value store file corrupt".into(),
        }
    }

    /// Faults the endpoint suffers on its next requests.
    fn faults(&self) -> Vec<Fault> {
        match self {
            Case::Timeout => vec![Fault::Delay(Duration::from_secs(2)); 8],
            Case::StallBody => vec![Fault::StallBody; 8],
            Case::Status(s) => vec![Fault::Status(*s)],
            Case::GoneBurst => vec![Fault::Status(410); 3],
            Case::TooManyWithRetryAfter => vec![Fault::TooManyRequests {
                retry_after: Some("1".into()),
            }],
            Case::TooManyWithout => vec![Fault::TooManyRequests { retry_after: None }],
            Case::Malformed => vec![Fault::MalformedJson],
            Case::WrongTypes => vec![Fault::WrongTypes],
            Case::Oversized => vec![Fault::OversizedBody(2 << 20)],
            Case::Expired => vec![Fault::ExpiredToken],
            Case::YearsAhead => vec![Fault::ExpiresOn("\"99999999999\"".into())],
            _ => vec![],
        }
    }
}

/// The emulator's clock, `skew` seconds off, as the component sees it.
struct Skewed(SharedClock, i64);

impl WallClock for Skewed {
    fn now(&self) -> SystemTime {
        let now = self.0.now();
        if self.1 >= 0 {
            now + Duration::from_secs(self.1 as u64)
        } else {
            now - Duration::from_secs(self.1.unsigned_abs())
        }
    }
}

/// Short budgets, so that a cell that retries to the end takes a second, not ninety.
fn matrix_retries() -> RetryOptions {
    fast_retries()
        .attempt_timeout(Duration::from_millis(500))
        .max_elapsed(Duration::from_secs(2))
}

fn config(world: &World, kind: Kind) -> IdentityConfig {
    let e = &world.emulator;
    let env = |vars: &[(&str, String)]| {
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    };
    let mut config = world.config(Source::Imds);
    config.managed_identity.retry = Some(matrix_retries());
    match kind {
        Kind::Imds => {}
        Kind::AppService => {
            config = world
                .config(Source::AppService)
                .with_managed_identity(config.managed_identity.clone())
        }
        Kind::Arc => {
            config.env = env(&[
                ("IDENTITY_ENDPOINT", e.arc_endpoint()),
                ("IMDS_ENDPOINT", e.base_url()),
            ]);
            config.arc_token_dir = Some(e.arc_token_dir().to_path_buf());
        }
        Kind::CloudShell => config.env = env(&[("MSI_ENDPOINT", e.cloud_shell_endpoint())]),
        Kind::AzureMl => {
            config.env = env(&[
                ("MSI_ENDPOINT", e.azure_ml_endpoint()),
                ("MSI_SECRET", e.azure_ml_secret().to_string()),
                (
                    "DEFAULT_IDENTITY_CLIENT_ID",
                    e.system_assigned().client_id.clone(),
                ),
            ])
        }
        Kind::ServiceFabric => {
            config.env = env(&[
                ("IDENTITY_ENDPOINT", e.service_fabric_endpoint()),
                ("IDENTITY_HEADER", e.identity_header().to_string()),
                (
                    "IDENTITY_SERVER_THUMBPRINT",
                    e.service_fabric_thumbprint().to_string(),
                ),
            ])
        }
        Kind::TokenEndpoint => {
            e.register_app(AppRegistration::new(APP).with_secret(SECRET));
            config.env = Default::default();
            config.credential = CredentialKind::ClientSecret {
                app: AppOptions::new(e.tenant_id(), APP).authority_host(e.base_url()),
                secret: SECRET.into(),
            };
        }
    }
    config
}

/// `config` with every emulator address replaced by a port nobody listens on.
fn refused(world: &World, mut config: IdentityConfig) -> IdentityConfig {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = closed.local_addr().unwrap().to_string();
    drop(closed);
    let live = [
        world.emulator.addr().to_string(),
        url_authority(&world.emulator.service_fabric_endpoint()),
    ];
    let swap = |v: &str| {
        live.iter()
            .fold(v.to_string(), |v, a| v.replace(a.as_str(), &dead))
    };
    config.env = config
        .env
        .iter()
        .map(|(k, v)| (k.clone(), swap(v)))
        .collect();
    if let CredentialKind::ClientSecret { app, .. } = &mut config.credential {
        app.authority_host = app.authority_host.as_deref().map(swap);
    }
    config
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()
}

fn url_authority(url: &str) -> String {
    url.split("://")
        .nth(1)
        .unwrap_or("")
        .split('/')
        .next()
        .unwrap_or("")
        .to_string()
}

struct Outcome {
    first: String,
    requests: usize,
    recovers: bool,
}

async fn run_cell(kind: Kind, case: &Case) -> Outcome {
    let world = World::start().await;
    let mut config = config(&world, kind);
    let healthy = config.clone();
    let dir = temp_dir();
    match case {
        Case::Refused => config = refused(&world, config),
        Case::Skew(s) => {
            config.wall_clock = Some(Arc::new(Skewed(SharedClock(world.clock.clone()), *s)))
        }
        Case::StoreDown => {
            let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("redis://{}", closed.local_addr().unwrap());
            drop(closed);
            config.cache.store = KeyValueConfig::redis(url);
            config.cache.keys = vec![CacheKey::from_bytes([7; 32])];
        }
        Case::StoreCorrupt => {
            let file = dir.path().join("cache.redb");
            std::fs::write(&file, b"this is not a redb database").unwrap();
            config.cache.store = KeyValueConfig::Disk { path: file };
            config.cache.keys = vec![CacheKey::from_bytes([7; 32])];
        }
        _ => {}
    }
    let endpoint = kind.endpoint();
    // Arc's first request is the challenge; the fault is for the token request after it.
    if matches!(kind, Kind::Arc) && !case.faults().is_empty() {
        world
            .emulator
            .push_faults(endpoint, [Fault::Delay(Duration::ZERO)]);
    }
    world.emulator.push_faults(endpoint, case.faults());
    let identity = Identity::new(config).expect("identity starts");
    let first = identity.get_token(&[VAULT]).await;
    let now = unix(entra_emulator::Clock::now(&world.clock));
    let first = match first {
        Ok(token) => {
            assert!(
                token.expires_on() > now,
                "{kind:?} / {}: an expired token was served",
                case.name()
            );
            "token".to_string()
        }
        Err(Error::Token(e)) => format!("{} error", kind_of(&e)),
        Err(other) => panic!(
            "{kind:?} / {}: not a typed token error: {other:?}",
            case.name()
        ),
    };
    let requests = world.emulator.count(endpoint);
    // The fault gone (and a remembered failure's few seconds past), the host serves again.
    world.emulator.clear_faults(endpoint);
    world.advance(Duration::from_secs(6));
    let recovered = match case {
        Case::Refused => Identity::new(healthy).unwrap().get_token(&[VAULT]).await,
        _ => identity.get_token(&[VAULT]).await,
    };
    Outcome {
        first,
        requests,
        recovers: recovered.is_ok(),
    }
}

fn kind_of(e: &TokenError) -> &'static str {
    match e {
        TokenError::Unavailable(_) => "unavailable",
        TokenError::AuthenticationFailed(_) => "authentication-failed",
        TokenError::Throttled { .. } => "throttled",
        TokenError::Transport(_) => "transport",
        TokenError::InvalidInput(_) => "invalid-input",
        TokenError::InvalidResponse(_) => "invalid-response",
        _ => "other",
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_endpoint_kind_against_every_fault() {
    let mut table = String::from(
        "| endpoint | fault | first call | requests | next call |\n|---|---|---|---|---|\n",
    );
    let mut failures = Vec::new();
    for kind in KINDS {
        for case in cases() {
            // The token endpoint's attempt timeout is 30 s and not configurable per app: its
            // timeouts are covered by the core's retry tests with a fake clock.
            if matches!(
                (kind, &case),
                (Kind::TokenEndpoint, Case::Timeout | Case::StallBody)
            ) {
                continue;
            }
            let o = run_cell(kind, &case).await;
            let next = if o.recovers { "token" } else { "FAILED" };
            writeln!(
                table,
                "| {kind:?} | {} | {} | {} | {next} |",
                case.name(),
                o.first,
                o.requests
            )
            .unwrap();
            if !o.recovers {
                failures.push(format!("{kind:?} / {}", case.name()));
            }
        }
    }
    println!("{table}");
    assert!(
        failures.is_empty(),
        "the host did not recover after: {failures:?}\n{table}"
    );
}
