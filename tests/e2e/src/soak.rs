//! A soak under faults: two served apps, a fresh instance per request, many clients,
//! for as long as asked, while the managed-identity endpoint answers 429 and 5xx
//! bursts and drops connections, Redis (the shared cache) restarts, and the signing
//! keys rotate.
//!
//! * `spin-call-azure` reads a Key Vault secret with a token from the identity
//!   component: every `200` must carry the secret, and every token Key Vault received
//!   must be the system-assigned identity's, for Key Vault.
//! * `spin-protected-api` validates its callers: a valid token must be accepted and a
//!   tampered one refused.
//!
//! [`run`] plays [`PHASES`] in a cycle, checks the invariants at each phase's end and
//! returns a [`Report`]: requests, outcomes by kind, upstream requests per phase
//! against the bound the retry policy allows, latency percentiles and resident memory
//! over time. The e2e suite runs it for 30 seconds and asserts only the invariants
//! (`tests/all/soak.rs`); `bench/benches/soak.rs` runs it for minutes and prints the
//! report for BENCHMARKS.md.

mod client;
mod phase;
mod report;

pub use phase::{PHASES, Phase};
pub use report::{Outcome, PhaseReport, Report};

use client::Clients;
pub use client::{Route, Tally};
use entra_emulator::{Emulator, EmulatorConfig, Endpoint};
use entra_identity_host::serve::{ServeOptions, Server, serve};
use entra_identity_host::{CacheConfig, CacheKey, IdentityConfig, KeyValueConfig, RetryOptions};
use entra_test_support::RedisServer;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The API `spin-protected-api` guards, and the role its callers need.
const API: &str = "api://spin-protected-api";
const ROLE: &str = "Secrets.Read";
const SECRET_NAME: &str = "soak-secret";

/// How long, how hard.
#[derive(Clone, Debug)]
pub struct Soak {
    /// Total time; whole phases are played, at least one.
    pub duration: Duration,
    /// Length of one phase of [`PHASES`].
    pub phase: Duration,
    /// Client tasks sending requests back to back.
    pub clients: usize,
    /// `refresh_in` the emulator sends with each token, so that tokens are refreshed
    /// (and refreshes meet the faults) many times in a short run.
    pub refresh_in: Duration,
}

impl Soak {
    /// Phases played: whole ones, at least one.
    fn phases(&self) -> usize {
        (self.duration.as_millis() / self.phase.as_millis().max(1)).max(1) as usize
    }
}

/// The identity's managed-identity retries, as the app's credential uses them (the
/// SDK's defaults): the bound on upstream requests per fetch follows from it.
fn retry_policy() -> RetryOptions {
    RetryOptions::default()
}

/// Plays the soak and reports. Panics only when the set-up fails (no redis-server, the
/// apps do not build); broken invariants are in [`Report::violations`].
pub async fn run(soak: &Soak, apps: &Apps) -> Report {
    let emulator = Emulator::start(EmulatorConfig::default())
        .await
        .expect("the emulator starts");
    emulator.set_refresh_in(Some(soak.refresh_in.as_secs().max(1)));
    let secret = format!("soak-{}", uuid::Uuid::new_v4().simple());
    emulator.set_secret(SECRET_NAME, &secret);
    // As Entra does, the key signing after the rotation is listed from the start.
    emulator.announce_next_signing_key();
    let mut redis = RedisServer::start();
    let identity = identity_config(&emulator, &redis);
    let call_azure = start(
        &apps.call_azure,
        &identity,
        [("vault_url", emulator.key_vault_url())],
    )
    .await;
    let protected_api = start(
        &apps.protected_api,
        &identity,
        [
            ("tenant_id", emulator.tenant_id().to_string()),
            ("audience", API.to_string()),
            ("required_role", ROLE.to_string()),
            ("authority", emulator.base_url()),
        ],
    )
    .await;

    let expected = report::Expected {
        secret,
        object_id: emulator.system_assigned().object_id.clone(),
    };
    let clients = Clients::start(
        soak.clients,
        call_azure.local_addr(),
        protected_api.local_addr(),
        SECRET_NAME,
        emulator.mint_api_token(API, &[ROLE]),
        &expected,
    );
    let rss = report::RssSampler::start(soak.phase / 5);
    let started = Instant::now();
    let mut phases = Vec::new();
    let mut rotated = false;
    for index in 0..soak.phases() {
        let phase = PHASES[index % PHASES.len()];
        let before = clients.snapshot();
        let applied = phase.begin(&emulator, &mut redis, &mut rotated);
        if applied.rotated {
            // Callers from now on carry tokens signed with the new key.
            clients.set_api_token(emulator.mint_api_token(API, &[ROLE]));
        }
        // The soak's own timeline: nothing is asserted about how long anything took.
        tokio::time::sleep(soak.phase / 2).await;
        phase.halfway(&mut redis);
        tokio::time::sleep(soak.phase - soak.phase / 2).await;
        emulator.clear_faults(Endpoint::Imds);
        emulator.clear_faults(Endpoint::Jwks);
        let during = clients.snapshot().since(&before);
        phases.push(PhaseReport::close(
            applied.name,
            started.elapsed(),
            during,
            &emulator,
            &expected,
            |during| Bound::of(applied.store_down, soak, during),
        ));
        // Keeps the emulator's recordings to one phase: memory stays flat.
        emulator.reset_counters();
    }
    let totals = clients.stop().await;
    let after = client::health_check(call_azure.local_addr(), SECRET_NAME, &expected).await;
    drop((call_azure, protected_api));
    emulator.shutdown().await;
    Report::new(phases, totals, after, rss.stop().await)
}

/// The app components, built once.
pub struct Apps {
    call_azure: Vec<u8>,
    protected_api: Vec<u8>,
}

impl Apps {
    /// The examples the soak serves, in the order [`Apps::new`] takes them.
    pub const NAMES: [&str; 2] = ["spin-call-azure", "spin-protected-api"];

    /// The two apps, built: `spin-call-azure` and `spin-protected-api`.
    pub fn new(call_azure: Vec<u8>, protected_api: Vec<u8>) -> Apps {
        Apps {
            call_azure,
            protected_api,
        }
    }

    /// Builds the two example apps (cargo, `wasm32-wasip2`), or reads them if built.
    pub fn build() -> Apps {
        let dir = examples_imports_check::build(&Self::NAMES);
        let read = |name| {
            let file = examples_imports_check::component_path(&dir, name);
            std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        };
        Apps::new(read(Self::NAMES[0]), read(Self::NAMES[1]))
    }
}

/// The most upstream requests a phase may cost: per fetch, the retry policy's
/// attempts; fetches, one per second of the phase (the shortest failure memory the
/// phases cause: `Retry-After: 1`) plus one on each side; and while the store is
/// down, when every fresh instance must ask for itself, one per request.
#[derive(Clone, Copy, Debug)]
pub struct Bound {
    /// Managed-identity token requests.
    pub tokens: usize,
    /// Signing-key fetches (discovery documents and key sets).
    pub keys: usize,
}

impl Bound {
    fn of(store_down: bool, soak: &Soak, during: &client::Tally) -> Bound {
        let attempts = retry_policy().max_retries as usize + 1;
        let fetches = soak.phase.as_secs() as usize + 2;
        let per_request = |route| {
            if store_down {
                during.requests(route) as usize
            } else {
                0
            }
        };
        let callers = per_request(Route::ValidCaller) + per_request(Route::ForgedCaller);
        Bound {
            tokens: attempts * (fetches + per_request(Route::KeyVault)),
            // A discovery document and a key set per fetch.
            keys: 2 * attempts * (fetches + callers),
        }
    }
}

fn identity_config(emulator: &Emulator, redis: &RedisServer) -> IdentityConfig {
    let env = BTreeMap::from([(
        // IMDS at the emulator.
        "AZURE_POD_IDENTITY_AUTHORITY_HOST".to_string(),
        emulator.base_url(),
    )]);
    IdentityConfig::default()
        .with_env(env)
        .with_cache(CacheConfig {
            store: KeyValueConfig::redis(redis.url()),
            keys: vec![CacheKey::random().expect("random bytes")],
            bucket: "soak".to_string(),
            ..CacheConfig::default()
        })
}

async fn start<const N: usize>(
    app: &[u8],
    identity: &IdentityConfig,
    variables: [(&str, String); N],
) -> Server {
    let mut options = ServeOptions::new(
        app.to_vec(),
        "127.0.0.1:0".parse().expect("an address"),
        identity.clone(),
    );
    options.variables = variables
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    options.fresh_instances = true;
    serve(options).await.expect("the app is served")
}

/// Shared by the client tasks and the phase that reads their counts.
type Shared<T> = Arc<std::sync::Mutex<T>>;

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
