//! The soak under faults (`entra_e2e::soak`) for 30 seconds: two served apps, a fresh
//! instance per request, 16 clients, while the managed-identity endpoint throttles,
//! fails and drops connections, Redis restarts and the signing key rotates. Only the
//! invariants are asserted, never timings; `bench/benches/soak.rs` runs it for minutes
//! and reports latency and memory.

use crate::examples::example;
use entra_e2e::soak::{Apps, Outcome, Soak, run};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn soak_under_faults_serves_no_wrong_token_and_bounds_upstream_requests() {
    let [call_azure, protected_api] = Apps::NAMES.map(example);
    let soak = Soak {
        duration: Duration::from_secs(30),
        phase: Duration::from_secs(5),
        clients: 16,
        refresh_in: Duration::from_secs(2),
    };
    let report = run(&soak, &Apps::new(call_azure, protected_api)).await;
    println!("{}", report.table());

    let violations = report.violations();
    assert!(violations.is_empty(), "{violations:#?}\n{}", report.table());
    // The run did what it says: every phase was played with requests on every route,
    // and each route was answered correctly, not just without violations.
    assert_eq!(report.phases.len(), 6);
    assert!(
        report.phases.iter().all(|p| p.requests > 0),
        "{}",
        report.table()
    );
    for route in [
        entra_e2e::soak::Route::KeyVault,
        entra_e2e::soak::Route::ValidCaller,
    ] {
        let ok = report.totals.outcomes.get(&(route, Outcome::Ok)).copied();
        assert!(
            ok.unwrap_or(0) > 0,
            "no {route:?} answered: {}",
            report.table()
        );
    }
    let refused = (report.totals.outcomes)
        .get(&(entra_e2e::soak::Route::ForgedCaller, Outcome::Refused))
        .copied();
    assert!(refused.unwrap_or(0) > 0, "{}", report.table());
    // The faults reached the token endpoint: tokens were refreshed while it failed.
    let under_faults: usize = report.phases[1..4].iter().map(|p| p.token_requests).sum();
    assert!(under_faults > 0, "{}", report.table());
}
