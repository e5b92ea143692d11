//! The herd at refresh time: every cached token has entered its refresh window (still
//! valid, five minutes or less left) when 1,000 callers arrive at once.
//!
//! A second emulator runs on a manual clock that both it and our component read;
//! azure_identity reads the real clock. Warm-up happens with that clock 3,400 s in
//! the past, so the tokens it issues expire 200 s from the real now: due for refresh
//! on both sides. The herd then runs at the real now.

use crate::{Stats, stats};
use entra_emulator::{Emulator, EmulatorConfig, Endpoint, ManualClock};
use entra_identity_host::{Identity, WallClock};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

const SCOPE: &str = "https://refresh.example/.default";
const CALLERS: usize = 1000;
const IDENTITIES: usize = 16;

struct Shared(ManualClock);

impl WallClock for Shared {
    fn now(&self) -> SystemTime {
        entra_emulator::Clock::now(&self.0)
    }
}

/// Upstream requests and latency for ours, then for azure_identity.
pub async fn herd_at_refresh() -> ((usize, Stats), (usize, Stats)) {
    let clock = ManualClock::new(SystemTime::now() - Duration::from_secs(3400));
    let emulator = Emulator::start(EmulatorConfig {
        clock: Arc::new(clock.clone()),
        // An hour, as Entra's token endpoint gives: refresh is due 5 minutes before
        // expiry on both sides (longer managed-identity tokens refresh at half-life).
        token_lifetime: Duration::from_secs(3600),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();

    let store = entra_identity_host::SharedStore::memory().unwrap();
    let identities: Vec<Identity> = (0..IDENTITIES)
        .map(|_| {
            let mut config = crate::shared_config(&emulator, "herd-refresh", &store);
            config.wall_clock = Some(Arc::new(Shared(clock.clone())));
            Identity::new(config).unwrap()
        })
        .collect();
    let natives: Vec<_> = (0..IDENTITIES).map(|_| crate::native(&emulator)).collect();
    for (identity, native) in identities.iter().zip(&natives) {
        identity.get_token(&[SCOPE]).await.unwrap();
        assert!(crate::native_token(native, SCOPE).await);
    }
    clock.set(SystemTime::now());

    emulator.reset_counters();
    let calls = (0..CALLERS).map(|i| {
        let identity = identities[i % IDENTITIES].clone();
        tokio::spawn(async move {
            let t = Instant::now();
            identity.get_token(&[SCOPE]).await.unwrap();
            t.elapsed()
        })
    });
    let ours = collect(calls).await;
    let ours_count = emulator.count(Endpoint::AppService);

    emulator.reset_counters();
    let calls = (0..CALLERS).map(|i| {
        let native = natives[i % IDENTITIES].clone();
        tokio::spawn(async move {
            let t = Instant::now();
            assert!(crate::native_token(&native, SCOPE).await);
            t.elapsed()
        })
    });
    let theirs = collect(calls).await;
    let theirs_count = emulator.count(Endpoint::AppService);
    ((ours_count, ours), (theirs_count, theirs))
}

async fn collect(calls: impl Iterator<Item = tokio::task::JoinHandle<Duration>>) -> Stats {
    let samples = futures::future::join_all(calls).await;
    stats(samples.into_iter().map(Result::unwrap).collect())
}
