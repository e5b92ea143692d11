//! The certificate rows: a new signature per token, and the signed assertion reused.
//!
//! A credential keeps its signed assertion for `ASSERTION_REUSE` (5 minutes), in
//! the instance. For the first row the component's wall clock alternates between now
//! and now minus the window plus a minute before each sample, so the kept assertion
//! is always too old or from the future and every sample signs anew (both clocks give
//! assertions the emulator accepts: its clock is the real one, an assertion lives 10
//! minutes). The second row asks for a scope not asked for before in each sample, so
//! each is a token request with the kept assertion; a forced refresh would not show
//! reuse, because the host retires its instances after one.

use super::{Expect, SCOPE};
use crate::{Stats, stats};
use entra_identity_core::confidential::ASSERTION_REUSE;
use entra_identity_host::{Identity, IdentityConfig, WallClock};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

struct Alternating(Arc<AtomicBool>);

impl WallClock for Alternating {
    fn now(&self) -> SystemTime {
        let now = SystemTime::now();
        if self.0.load(Ordering::Relaxed) {
            now - Duration::from_secs(ASSERTION_REUSE + 60)
        } else {
            now
        }
    }
}

/// `n` forced refreshes, each signing a new assertion.
pub(super) async fn fresh_signatures(
    expect: Expect<'_>,
    config: IdentityConfig,
    n: usize,
) -> Stats {
    let behind = Arc::new(AtomicBool::new(false));
    let config = config.with_wall_clock(Some(Arc::new(Alternating(behind.clone()))));
    super::component_each(expect, config, n, || {
        behind.fetch_xor(true, Ordering::Relaxed);
    })
    .await
}

/// `n` first tokens for new scopes through one `Identity`: the assertion reused.
pub(super) async fn reused_assertion(
    expect: Expect<'_>,
    config: IdentityConfig,
    n: usize,
) -> Stats {
    expect.start();
    let identity = Identity::new(config).expect("identity starts");
    identity.get_token(&[SCOPE]).await.expect("warm-up token");
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let scope = format!("https://cold-{i}.example/.default");
        let t = Instant::now();
        identity
            .get_token(&[&scope])
            .await
            .expect("component token");
        samples.push(t.elapsed());
    }
    expect.check(n + 1);
    stats(samples)
}
