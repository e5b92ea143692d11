//! The soak under faults for minutes (`entra_e2e::soak`): two served apps with a fresh
//! instance per request, many clients, while the managed-identity endpoint throttles,
//! fails and drops connections, Redis restarts and the signing key rotates. Prints the
//! report's tables (requests, outcomes by kind, upstream requests against their bound,
//! latency percentiles, resident memory over time) and exits non-zero if an invariant
//! broke. Reported, never asserted on time.
//!
//! `cargo bench --manifest-path bench/Cargo.toml --bench soak` (needs `redis-server`
//! on PATH). `SOAK_SECS` (default 300), `SOAK_PHASE_SECS` (10), `SOAK_CLIENTS` (64).

use entra_e2e::soak::{Apps, Soak, run};
use std::time::Duration;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let soak = Soak {
        duration: Duration::from_secs(setting("SOAK_SECS", 300)),
        phase: Duration::from_secs(setting("SOAK_PHASE_SECS", 10)),
        clients: setting("SOAK_CLIENTS", 64) as usize,
        refresh_in: Duration::from_secs(5),
    };
    eprintln!("soak: {soak:?}; building the apps");
    let apps = Apps::build();
    let report = run(&soak, &apps).await;
    println!("{}", report.table());
    println!("requests: {}", report.requests());
    let violations = report.violations();
    if !violations.is_empty() {
        eprintln!("invariants broken: {violations:#?}");
        std::process::exit(1);
    }
}
