//! Side-by-side numbers on one emulator: our core natively, our component through the
//! host, and native `azure_identity` 1.0 (its App Service managed identity pointed at
//! the emulator). Prints Markdown tables for BENCHMARKS.md.
//!
//! `cargo run --release --manifest-path bench/Cargo.toml`

use entra_emulator::{Emulator, EmulatorConfig, Endpoint, Fault};
use entra_identity_host::{
    CacheConfig, Identity, IdentityConfig, KeyValueConfig, Runtime, RuntimeConfig, SharedStore,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod cold;
mod core_native;
mod footprint;
mod refresh;
mod validation;

const VAULT: &str = "https://vault.azure.net/.default";

#[derive(Clone, Copy)]
struct Stats {
    p50: Duration,
    p99: Duration,
    mean: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let n = samples.len();
    Stats {
        p50: samples[n / 2],
        p99: samples[(n * 99 / 100).min(n - 1)],
        mean: samples.iter().sum::<Duration>() / n as u32,
    }
}

fn us(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn config(emulator: &Emulator, bucket: &str) -> IdentityConfig {
    IdentityConfig::default()
        .with_env(BTreeMap::from([
            ("IDENTITY_ENDPOINT".into(), emulator.app_service_endpoint()),
            ("IDENTITY_HEADER".into(), emulator.identity_header().into()),
        ]))
        .with_cache(CacheConfig {
            bucket: bucket.into(),
            ..Default::default()
        })
}

/// [`config`] over `store`, which the identities given it share on purpose: a memory
/// store is otherwise private to its `Identity` (an isolation rule), and the herd rows
/// measure identities that share one.
fn shared_config(emulator: &Emulator, bucket: &str, store: &SharedStore) -> IdentityConfig {
    let mut config = config(emulator, bucket);
    config.cache.store = KeyValueConfig::Shared(store.clone());
    config
}

fn native(emulator: &Emulator) -> Arc<azure_identity::ManagedIdentityCredential> {
    // azure_identity reads the process environment when the credential is made.
    unsafe {
        std::env::set_var("IDENTITY_ENDPOINT", emulator.app_service_endpoint());
        std::env::set_var("IDENTITY_HEADER", emulator.identity_header());
    }
    azure_identity::ManagedIdentityCredential::new(None).expect("native credential")
}

async fn native_token(c: &azure_identity::ManagedIdentityCredential, scope: &str) -> bool {
    use azure_core::credentials::TokenCredential;
    c.get_token(&[scope], None).await.is_ok()
}

/// Latency over every caller, and how many failed.
fn outcomes(joined: Vec<Result<(Duration, bool), tokio::task::JoinError>>) -> (Stats, usize) {
    let (samples, oks): (Vec<Duration>, Vec<bool>) = joined.into_iter().map(Result::unwrap).unzip();
    let failed = oks.iter().filter(|ok| !**ok).count();
    (stats(samples), failed)
}

/// The host trusts the system's roots, which `SSL_CERT_FILE` replaces: pointed at the
/// emulator's certificate, the component reaches its HTTPS listener as a host behind a
/// private CA would (section 3's token-endpoint rows). Before any HTTPS request: the
/// host reads its roots once per process.
fn trust_the_emulator(emulator: &Emulator) {
    let ca = std::env::temp_dir().join(format!("entra-bench-ca-{}.pem", std::process::id()));
    std::fs::write(&ca, emulator.service_fabric_certificate_pem()).expect("the emulator's CA");
    // SAFETY: nothing has read the environment on another thread yet; the bench sets
    // azure_identity's variables the same way.
    unsafe { std::env::set_var("SSL_CERT_FILE", &ca) };
}

async fn hits(identity: &Identity, n: usize) -> Stats {
    identity.get_token(&[VAULT]).await.unwrap();
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        identity.get_token(&[VAULT]).await.unwrap();
        samples.push(t.elapsed());
    }
    stats(samples)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    trust_the_emulator(&emulator);
    println!(
        "machine: {} cores; {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::env::consts::ARCH
    );

    // 1. Cache hit.
    let n = 20_000;
    let core = core_native::warm_credential();
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        core.get_token(&entra_identity_core::TokenRequest::new(&[VAULT]))
            .unwrap();
        samples.push(t.elapsed());
    }
    let core_hit = stats(samples);
    let identity = Identity::new(config(&emulator, "hit").with_host_fast_path(false)).unwrap();
    let component_hit = hits(&identity, n).await;
    let fast = Identity::new(config(&emulator, "hit-fast")).unwrap();
    let fast_hit = hits(&fast, n).await;
    let azure = native(&emulator);
    assert!(native_token(&azure, VAULT).await);
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        assert!(native_token(&azure, VAULT).await);
        samples.push(t.elapsed());
    }
    let native_hit = stats(samples);
    println!("\n### 1. Cache hit ({n} sequential calls)\n");
    println!("| | mean µs | p50 µs | p99 µs |\n|---|---|---|---|");
    for (name, s) in [
        ("our core, natively", &core_hit),
        (
            "our component through the host (L1 in the instance)",
            &component_hit,
        ),
        ("the host's fast path (default)", &fast_hit),
        ("azure_identity 1.0 ManagedIdentityCredential", &native_hit),
    ] {
        println!(
            "| {name} | {} | {} | {} |",
            us(s.mean),
            us(s.p50),
            us(s.p99)
        );
    }
    println!(
        "\nthrough the component / native azure_identity: **{:.1}×** (p50); host fast path / native: **{:.1}×**",
        component_hit.p50.as_secs_f64() / native_hit.p50.as_secs_f64(),
        fast_hit.p50.as_secs_f64() / native_hit.p50.as_secs_f64()
    );

    // Validating incoming tokens: see validation.rs. `BENCH_ONLY=validate` runs
    // sections 1 and this one only.
    let only = std::env::var("BENCH_ONLY").ok();
    if only.as_deref().is_none_or(|s| s == "validate") {
        validation::validation(&emulator, 2_000, 500).await;
    }
    if only.as_deref() == Some("validate") {
        return;
    }

    // 3. Cold acquisition, every credential: see cold.rs. `BENCH_ONLY=cold` runs
    // sections 1 and 3 only.
    if only.as_deref().is_none_or(|s| s == "cold") {
        cold::cold_acquisition(&emulator, 300).await;
    }
    if only.as_deref() == Some("cold") {
        return;
    }

    // 4. Herd: 1,000 concurrent callers over 16 instances/credentials.
    println!("\n### 4. Herd: 1,000 concurrent callers over 16 identities\n");
    println!(
        "| endpoint answers | component: upstream requests | p50 ms | p99 ms | failed | azure_identity: upstream requests | p50 ms | p99 ms | failed |\n|---|---|---|---|---|---|---|---|---|"
    );
    for (round, (label, fault)) in [
        ("200 (cold)", None),
        ("400", Some(Fault::Status(400))),
        (
            "429, Retry-After: 1",
            Some(Fault::TooManyRequests {
                retry_after: Some("1".into()),
            }),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let scope = format!("https://herd-{round}.example/.default");
        emulator.set_persistent_fault(Endpoint::AppService, fault.clone());
        emulator.reset_counters();
        let bucket = format!("herd-{round}");
        let store = SharedStore::memory().unwrap();
        let identities: Vec<Identity> = (0..16)
            .map(|_| Identity::new(shared_config(&emulator, &bucket, &store)).unwrap())
            .collect();
        let calls = (0..1000).map(|i| {
            let identity = identities[i % 16].clone();
            let scope = scope.clone();
            tokio::spawn(async move {
                let t = Instant::now();
                let ok = identity.get_token(&[&scope]).await.is_ok();
                (t.elapsed(), ok)
            })
        });
        let (ours, ours_failed) = outcomes(futures::future::join_all(calls).await);
        let ours_count = emulator.count(Endpoint::AppService);
        emulator.reset_counters();
        let creds: Vec<_> = (0..16).map(|_| native(&emulator)).collect();
        let calls = (0..1000).map(|i| {
            let c = creds[i % 16].clone();
            let scope = format!("{scope}-native");
            tokio::spawn(async move {
                let t = Instant::now();
                // azure_identity keeps retrying a 429 for minutes; the row counts what
                // it sends in the first 10 s.
                let ok = tokio::time::timeout(Duration::from_secs(10), native_token(&c, &scope))
                    .await
                    .unwrap_or(false);
                (t.elapsed(), ok)
            })
        });
        let (theirs, theirs_failed) = outcomes(futures::future::join_all(calls).await);
        let theirs_count = emulator.count(Endpoint::AppService);
        println!(
            "| {label} | {ours_count} | {} | {} | {ours_failed} | {theirs_count} | {} | {} | {theirs_failed} |",
            ms(ours.p50),
            ms(ours.p99),
            ms(theirs.p50),
            ms(theirs.p99)
        );
    }
    emulator.set_persistent_fault(Endpoint::AppService, None);
    let ((ours_count, ours), (theirs_count, theirs)) = refresh::herd_at_refresh().await;
    println!(
        "| 200, every cached token due for refresh | {ours_count} | {} | {} | 0 | {theirs_count} | {} | {} | 0 |",
        ms(ours.p50),
        ms(ours.p99),
        ms(theirs.p50),
        ms(theirs.p99)
    );

    // 5. Isolation: a hit for B while a fetch for A takes 300 ms.
    // The fast path off: this measures the pool, not the host's map.
    let rounds = 10;
    let identity =
        Identity::new(config(&emulator, "isolation").with_host_fast_path(false)).unwrap();
    identity
        .get_token(&["https://b.example/.default"])
        .await
        .unwrap();
    let azure = native(&emulator);
    assert!(native_token(&azure, "https://b.example/.default").await);
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for round in 0..rounds {
        emulator.push_faults(
            Endpoint::AppService,
            [Fault::Delay(Duration::from_millis(300))],
        );
        let slow = {
            let identity = identity.clone();
            let a = format!("https://a{round}.example/.default");
            tokio::spawn(async move { identity.get_token(&[&a]).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let t = Instant::now();
        identity
            .get_token(&["https://b.example/.default"])
            .await
            .unwrap();
        ours.push(t.elapsed());
        slow.await.unwrap().unwrap();

        emulator.push_faults(
            Endpoint::AppService,
            [Fault::Delay(Duration::from_millis(300))],
        );
        let slow = {
            let azure = azure.clone();
            let a = format!("https://na{round}.example/.default");
            tokio::spawn(async move { native_token(&azure, &a).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let t = Instant::now();
        assert!(native_token(&azure, "https://b.example/.default").await);
        theirs.push(t.elapsed());
        slow.await.unwrap();
    }
    let (ours, theirs) = (stats(ours), stats(theirs));
    println!(
        "\n### 5. Isolation: cache hit for scope B while scope A's fetch takes 300 ms ({rounds} rounds)\n"
    );
    println!("| | p50 ms | max-ish (p99) ms |\n|---|---|---|");
    println!(
        "| component (pooled instances) | {} | {} |",
        ms(ours.p50),
        ms(ours.p99)
    );
    println!(
        "| azure_identity | {} | {} |",
        ms(theirs.p50),
        ms(theirs.p99)
    );

    // 7. Load: as many get-token calls as the machine sustains, for a minute.
    let seconds: u64 = std::env::var("LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    load(&emulator, seconds).await;

    // 6. Footprint.
    let dir = std::env::temp_dir().join(format!("entra-bench-cache-{}", std::process::id()));
    let cold_config = config(&emulator, "footprint");
    // A host start is a new runtime: the second one finds the first one's compilation.
    let runtime = || {
        let config = RuntimeConfig::default().with_compile_cache_dir(Some(dir.clone()));
        Runtime::new(config).unwrap()
    };
    let t = Instant::now();
    let first = Identity::with_runtime(&runtime(), cold_config.clone()).unwrap();
    first.get_token(&[VAULT]).await.unwrap();
    let cold_start = t.elapsed();
    let t = Instant::now();
    let second = Identity::with_runtime(&runtime(), cold_config).unwrap();
    second.get_token(&[VAULT]).await.unwrap();
    let warm_start = t.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    println!("\n### 6. Footprint\n");
    println!("| | |\n|---|---|");
    println!(
        "| component size | {} KiB |",
        entra_identity_host::COMPONENT_WASM.len() / 1024
    );
    println!(
        "| host start + first token, compiling the component | {} ms |",
        ms(cold_start)
    );
    println!(
        "| host start + first token, serialized component cached | {} ms |",
        ms(warm_start)
    );
    for (allocator, pooling) in [("on-demand", false), ("pooling", true)] {
        let per = footprint::memory_per_instance(&emulator, pooling).await;
        println!(
            "| per instance ({allocator} allocator): linear memory / resident memory added | {} KiB / {} KiB |",
            per.linear_kib, per.rss_kib
        );
    }
}

fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4
}

/// 32 tasks calling `get_token` in a loop for `seconds`; RSS sampled every second.
async fn load(emulator: &Emulator, seconds: u64) {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
    emulator.reset_counters();
    let identity = Identity::new(config(emulator, "load")).unwrap();
    identity.get_token(&[VAULT]).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (calls, errors) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let workers: Vec<_> = (0..32)
        .map(|_| {
            let (identity, stop, calls, errors) = (
                identity.clone(),
                stop.clone(),
                calls.clone(),
                errors.clone(),
            );
            tokio::spawn(async move {
                while !stop.load(Relaxed) {
                    if identity.get_token(&[VAULT]).await.is_err() {
                        errors.fetch_add(1, Relaxed);
                    }
                    calls.fetch_add(1, Relaxed);
                }
            })
        })
        .collect();
    let mut rss = Vec::new();
    let started = Instant::now();
    for _ in 0..seconds {
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss.push(rss_kib());
    }
    stop.store(true, Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total = calls.load(Relaxed);
    println!("\n### 7. Load: 32 callers on one Identity for {seconds} s\n");
    println!(
        "| calls | calls/s | errors | upstream requests | RSS first s | RSS last s | RSS max |\n|---|---|---|---|---|---|---|"
    );
    println!(
        "| {total} | {:.0} | {} | {} | {} MiB | {} MiB | {} MiB |",
        total as f64 / elapsed,
        errors.load(Relaxed),
        emulator.count(Endpoint::AppService),
        rss.first().copied().unwrap_or(0) / 1024,
        rss.last().copied().unwrap_or(0) / 1024,
        rss.iter().max().copied().unwrap_or(0) / 1024,
    );
}
