//! Cost of a cached token through the wasm boundary (L1 hit in the instance), and of
//! a cold acquisition from the local emulator. Reported, never asserted.
//!
//! `cargo bench --manifest-path bench/Cargo.toml --bench token`

use entra_identity_host::{Identity, IdentityConfig};
use std::time::{Duration, Instant};

const HITS: u32 = 20_000;
const COLD: u32 = 200;

fn report(what: &str, elapsed: Duration, n: u32) {
    println!(
        "{what:<44} {:>9.2} µs/call  ({n} calls)",
        elapsed.as_secs_f64() * 1e6 / f64::from(n)
    );
}

#[tokio::main]
async fn main() {
    let emulator = entra_emulator::Emulator::start(Default::default())
        .await
        .unwrap();
    let config = IdentityConfig::default().with_env(
        [(
            "AZURE_POD_IDENTITY_AUTHORITY_HOST".to_string(),
            emulator.base_url(),
        )]
        .into(),
    );

    let started = Instant::now();
    let identity = Identity::new(config.clone()).unwrap();
    println!(
        "{:<44} {:>9.2} ms",
        "Identity::new (compile cache warm)",
        started.elapsed().as_secs_f64() * 1e3
    );

    identity
        .get_token(&["https://vault.azure.net/.default"])
        .await
        .unwrap();
    let started = Instant::now();
    for _ in 0..HITS {
        identity
            .get_token(&["https://vault.azure.net/.default"])
            .await
            .unwrap();
    }
    report(
        "cache hit (L1), component via host",
        started.elapsed(),
        HITS,
    );

    let started = Instant::now();
    for i in 0..COLD {
        identity
            .get_token(&[&format!("api://bench-{i}/.default")])
            .await
            .unwrap();
    }
    report(
        "cold acquisition from the emulator (IMDS)",
        started.elapsed(),
        COLD,
    );
    println!(
        "upstream requests: {}",
        emulator.count(entra_emulator::Endpoint::Imds)
    );
}
