//! Cost per call of a token from the shared cache: a fresh instance per call (the Spin
//! model: `InstancePre`, with wasmtime's on-demand and pooling allocators) answered
//! from L2 in process memory, a redb file and Redis, against an L1 hit in a reused
//! instance. Reported, never asserted.
//!
//! `cargo bench --manifest-path bench/Cargo.toml --bench cache` (the Redis row needs
//! `redis-server` on PATH; without it the row says so).

use entra_identity_host::{
    CacheConfig, CacheKey, Identity, IdentityConfig, InstanceLimits, KeyValueConfig, PoolingConfig,
    Runtime, RuntimeConfig,
};
use entra_test_support::RedisServer;
use std::time::{Duration, Instant};

const SCOPE: &str = "https://vault.azure.net/.default";
const FRESH_CALLS: u32 = 2_000;
const HITS: u32 = 20_000;

fn row(what: &str, per_call: Option<Duration>, upstream: usize) {
    match per_call {
        Some(d) => println!(
            "| {what:<40} | {:>10.1} | {upstream:>8} |",
            d.as_secs_f64() * 1e6
        ),
        None => println!("| {what:<40} | {:>10} | {:>8} |", "n/a", "-"),
    }
}

async fn per_call(identity: &Identity, calls: u32) -> Duration {
    identity.get_token(&[SCOPE]).await.unwrap();
    let started = Instant::now();
    for _ in 0..calls {
        identity.get_token(&[SCOPE]).await.unwrap();
    }
    started.elapsed() / calls
}

/// The `{prefix}{bucket}:{key}` of the largest entry the Redis rows stored at `url`:
/// the token they read.
async fn stored_entry(url: &str) -> String {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("entra-identity:kv:bench-l2:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut largest = (0, None);
    for key in keys {
        let len: usize = redis::cmd("STRLEN")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        if len > largest.0 {
            largest = (len, Some(key));
        }
    }
    largest.1.expect("the Redis rows stored an entry")
}

/// The store's own round trip, as any host in this runtime pays it: one GET of a
/// cached entry through redis-rs's `ConnectionManager`, which the Redis backend's
/// writes use. With `between`, each GET follows a fresh instance of that identity
/// (untimed), so that Redis and the runtime's threads idle between GETs as they do in
/// the fresh-instance rows; without, the GETs go back to back.
async fn bare_get(url: &str, between: Option<&Identity>) -> (Duration, usize) {
    let client = redis::Client::open(url).unwrap();
    let conn = redis::aio::ConnectionManager::new(client).await.unwrap();
    let key = &stored_entry(url).await;
    let get = |mut conn: redis::aio::ConnectionManager| async move {
        let value: Vec<u8> = redis::cmd("GET")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        value.len()
    };
    let bytes = get(conn.clone()).await;
    let mut total = Duration::ZERO;
    for _ in 0..FRESH_CALLS {
        if let Some(identity) = between {
            identity.get_token(&[SCOPE]).await.unwrap();
        }
        let started = Instant::now();
        get(conn.clone()).await;
        total += started.elapsed();
    }
    (total / FRESH_CALLS, bytes)
}

/// The same GET through the host's Redis backend, as the component's `wasi:keyvalue`
/// call reaches it, back to back.
async fn backend_get(url: &str) -> Duration {
    let backend = KeyValueConfig::redis(url).open().unwrap();
    let name = stored_entry(url).await;
    let rest = name.strip_prefix("entra-identity:kv:").unwrap();
    let (bucket, key) = rest.split_once(':').unwrap();
    backend.get(bucket, key).await.unwrap().unwrap();
    let started = Instant::now();
    for _ in 0..FRESH_CALLS {
        backend.get(bucket, key).await.unwrap().unwrap();
    }
    started.elapsed() / FRESH_CALLS
}

#[tokio::main]
async fn main() {
    let emulator = entra_emulator::Emulator::start(Default::default())
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("entra-identity-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = CacheKey::random().unwrap();
    // The host's fast path stays off except in its own row: these rows measure the
    // component and its stores.
    let config = |store: KeyValueConfig, reuse: bool, bucket: &str| {
        IdentityConfig::default()
            .with_env(
                [(
                    "AZURE_POD_IDENTITY_AUTHORITY_HOST".to_string(),
                    emulator.base_url(),
                )]
                .into(),
            )
            .with_cache(CacheConfig {
                store,
                keys: vec![key.clone()],
                bucket: bucket.into(),
                ..Default::default()
            })
            .with_host_fast_path(false)
            .with_limits(InstanceLimits::default().with_reuse_instances(reuse))
    };
    let on_demand = Runtime::new(RuntimeConfig::default()).unwrap();
    let pooled =
        RuntimeConfig::default().with_pooling_allocator(Some(PoolingConfig::new(8, 64 << 20)));
    let pooled = Runtime::new(pooled).unwrap();
    let redis = RedisServer::try_start();

    println!("| {:<40} | {:>10} | {:>8} |", "per call", "µs", "upstream");
    println!("|{:-<42}|{:->12}|{:->10}|", "", "", "");
    let before = emulator.count(entra_emulator::Endpoint::Imds);
    let l1 = Identity::with_runtime(&on_demand, config(KeyValueConfig::Memory, true, "bench-l1"))
        .unwrap();
    let d = per_call(&l1, HITS).await;
    let upstream = emulator.count(entra_emulator::Endpoint::Imds) - before;
    row("L1 hit (reused instance)", Some(d), upstream);
    let before = emulator.count(entra_emulator::Endpoint::Imds);
    let host = config(KeyValueConfig::Memory, true, "bench-host").with_host_fast_path(true);
    let host = Identity::with_runtime(&on_demand, host).unwrap();
    let d = per_call(&host, HITS).await;
    let upstream = emulator.count(entra_emulator::Endpoint::Imds) - before;
    row("host fast path (no instance entered)", Some(d), upstream);

    let stores = [
        ("memory", Some(KeyValueConfig::Memory)),
        (
            "disk (redb)",
            Some(KeyValueConfig::Disk {
                path: dir.join("cache.redb"),
            }),
        ),
        (
            "Redis",
            redis
                .as_ref()
                .map(|redis| KeyValueConfig::redis(redis.url())),
        ),
    ];
    for (name, store) in stores {
        for (allocator, runtime) in [("on-demand", &on_demand), ("pooling", &pooled)] {
            let what = format!("fresh instance ({allocator}) + L2 hit, {name}");
            let Some(store) = store.clone() else {
                row(&format!("{what} (no redis-server)"), None, 0);
                continue;
            };
            let before = emulator.count(entra_emulator::Endpoint::Imds);
            let identity =
                Identity::with_runtime(runtime, config(store, false, "bench-l2")).unwrap();
            let d = per_call(&identity, FRESH_CALLS).await;
            let upstream = emulator.count(entra_emulator::Endpoint::Imds) - before;
            row(&what, Some(d), upstream);
        }
    }
    if let Some(redis) = &redis {
        let (d, bytes) = bare_get(&redis.url(), None).await;
        row(
            &format!("Redis GET alone ({bytes} B), redis-rs, back to back"),
            Some(d),
            0,
        );
        let d = backend_get(&redis.url()).await;
        row(
            "Redis GET alone, the host's backend, back to back",
            Some(d),
            0,
        );
        let paced =
            Identity::with_runtime(&pooled, config(KeyValueConfig::Memory, false, "bench-l2"))
                .unwrap();
        let (d, _) = bare_get(&redis.url(), Some(&paced)).await;
        row(
            "Redis GET alone, redis-rs, one per fresh instance",
            Some(d),
            0,
        );
    }
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
}
