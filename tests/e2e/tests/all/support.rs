//! Shared set-up: an emulator and an identity that share one movable clock.

use entra_emulator::{Clock, Emulator, EmulatorConfig, ManualClock};
use entra_identity_core::shared_cache::StoredKind;
use entra_identity_host::{
    CacheConfig, Identity, IdentityConfig, KeyValueConfig, ManagedIdentityOptions, RetryOptions,
    SharedStore, WallClock,
};
use std::sync::Arc;

pub use entra_test_support::{Logs, RedisServer, keys, temp_dir};
use std::time::{Duration, SystemTime};

/// A key of the shared cache that holds a token.
pub fn is_token_entry(key: &str) -> bool {
    StoredKind::of_key(key) == Some(StoredKind::Token)
}

pub const VAULT: &str = "https://vault.azure.net/.default";

/// The emulator's clock, seen by the component as its wall clock.
#[derive(Clone)]
pub struct SharedClock(pub ManualClock);

impl WallClock for SharedClock {
    fn now(&self) -> SystemTime {
        Clock::now(&self.0)
    }
}

pub struct World {
    pub emulator: Emulator,
    pub clock: ManualClock,
    /// This world's `wasi:keyvalue` bucket.
    pub bucket: String,
    /// One memory store that this world's identities share on purpose, as instances
    /// of one deployment would (a memory store is otherwise private to an identity).
    pub store: SharedStore,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Imds,
    AppService,
}

impl World {
    pub async fn start() -> World {
        let clock = ManualClock::new(SystemTime::now());
        let emulator = Emulator::start(EmulatorConfig {
            clock: Arc::new(clock.clone()),
            ..EmulatorConfig::default()
        })
        .await
        .expect("emulator starts");
        let bucket = format!("e2e-{}", uuid::Uuid::new_v4().simple());
        World {
            emulator,
            clock,
            bucket,
            store: SharedStore::memory().expect("a memory store"),
        }
    }

    /// A host configuration pointing the component at the emulator as `source`.
    pub fn config(&self, source: Source) -> IdentityConfig {
        let mut env = std::collections::BTreeMap::new();
        match source {
            Source::Imds => {
                env.insert(
                    "AZURE_POD_IDENTITY_AUTHORITY_HOST".to_string(),
                    self.emulator.base_url(),
                );
            }
            Source::AppService => {
                env.insert(
                    "IDENTITY_ENDPOINT".to_string(),
                    self.emulator.app_service_endpoint(),
                );
                env.insert(
                    "IDENTITY_HEADER".to_string(),
                    self.emulator.identity_header().to_string(),
                );
            }
        }
        IdentityConfig::default()
            .with_env(env)
            .with_managed_identity(ManagedIdentityOptions::default().retry(fast_retries()))
            .with_wall_clock(Some(Arc::new(SharedClock(self.clock.clone()))))
            .with_cache(CacheConfig {
                bucket: self.bucket.clone(),
                store: KeyValueConfig::Shared(self.store.clone()),
                ..Default::default()
            })
    }

    pub fn identity(&self, source: Source) -> Identity {
        Identity::new(self.config(source)).expect("identity starts")
    }

    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
    }
}

/// A fetch of `scope` through `identity`, held at the emulator's IMDS until the
/// returned `Hold` is released; returns once the request has arrived there.
pub async fn held_fetch(
    world: &World,
    identity: &entra_identity_host::Identity,
    scope: &'static str,
) -> (
    entra_emulator::Hold,
    tokio::task::JoinHandle<entra_identity_host::Result<entra_identity_host::AccessToken>>,
) {
    let hold = entra_emulator::Hold::new();
    (world.emulator).push_faults(
        entra_emulator::Endpoint::Imds,
        [entra_emulator::Fault::Hold(hold.clone())],
    );
    let held = tokio::spawn({
        let identity = identity.clone();
        async move { identity.get_token(&[scope]).await }
    });
    hold.arrived().await;
    (hold, held)
}

/// The IMDS policy with millisecond delays, so retry schedules run in tests without
/// waiting seconds; the schedule itself is tested in the core with a fake clock.
pub fn fast_retries() -> RetryOptions {
    RetryOptions::default()
        .initial_delay(Duration::from_millis(5))
        .max_delay(Duration::from_millis(20))
        .max_elapsed(Duration::from_secs(5))
        .attempt_timeout(Duration::from_secs(5))
        .gone_retry(Duration::from_millis(50))
}

/// The payload of a JWT, decoded (signature not checked here).
pub fn jwt_claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

pub const HOUR: Duration = Duration::from_secs(3600);

/// The `oid` of the bearer token on every Key Vault request since `from`, in order:
/// who the vault saw calling.
pub fn vault_oids(emulator: &entra_emulator::Emulator, from: usize) -> Vec<String> {
    emulator.requests(entra_emulator::Endpoint::KeyVault)[from..]
        .iter()
        .map(|r| {
            let bearer = r.header("authorization").expect("a bearer token");
            let token = bearer.strip_prefix("Bearer ").expect("a bearer token");
            jwt_claims(token)["oid"]
                .as_str()
                .expect("an oid")
                .to_string()
        })
        .collect()
}
