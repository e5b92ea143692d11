//! Shared set-up: an emulator and an identity that share one movable clock.

use entra_emulator::{Clock, Emulator, EmulatorConfig, ManualClock};
use entra_identity_host::{
    Identity, IdentityConfig, ManagedIdentityOptions, RetryPolicy, WallClock,
};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

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
        World { emulator, clock }
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
        IdentityConfig {
            env,
            managed_identity: ManagedIdentityOptions {
                retry: Some(fast_retries()),
                ..Default::default()
            },
            compile_cache_dir: Some(compile_cache()),
            wall_clock: Some(Arc::new(SharedClock(self.clock.clone()))),
            ..Default::default()
        }
    }

    pub fn identity(&self, source: Source) -> Identity {
        Identity::new(self.config(source)).expect("identity starts")
    }

    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
    }
}

/// The IMDS policy with millisecond delays, so retry schedules run in tests without
/// waiting seconds; the schedule itself is tested in the core with a fake clock.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        initial_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_elapsed: Duration::from_secs(5),
        attempt_timeout: Duration::from_secs(5),
        gone_retry: Duration::from_millis(50),
        ..RetryPolicy::imds()
    }
}

/// One compile cache for the whole test run: the component is compiled once.
pub fn compile_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compiled-components")
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
