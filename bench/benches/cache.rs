//! Cost per call of a token from the shared cache: a fresh instance per call (the Spin
//! model: `InstancePre`, with wasmtime's on-demand and pooling allocators) answered
//! from L2 in process memory, a redb file and Redis, against an L1 hit in a reused
//! instance. Reported, never asserted.
//!
//! Fresh-instance rows give the mean and median per call, the mean time spent in the
//! store's `get` during those same calls (timed around the backend: the store's own
//! round trip), the difference, which is the runtime's and the component's, and the
//! process's CPU time per call. Their calls are made from a task on the runtime's
//! workers, as a server's handler makes them.
//!
//! `cargo bench --manifest-path bench/Cargo.toml --bench cache` (the Redis row needs
//! `redis-server` on PATH; without it the row says so). To profile one kind of row:
//! `BENCH_ROWS=<part of a row's name>` runs only the rows whose name contains it (e.g.
//! `on-demand) + L2 hit, memory`), `BENCH_CALLS=<n>` makes n fresh-instance calls per
//! row instead of 2,000.

use entra_identity_host::keyvalue::{Backend, KeyPage, StoreResult};
use entra_identity_host::{
    CacheConfig, CacheKey, Identity, IdentityConfig, InstanceLimits, KeyValueConfig, PoolingConfig,
    Runtime, RuntimeConfig, SharedStore,
};
use entra_test_support::RedisServer;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const SCOPE: &str = "https://vault.azure.net/.default";
const FRESH_CALLS: u32 = 2_000;
const HITS: u32 = 20_000;

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn row(what: &str, per_call: Option<Duration>, upstream: usize) {
    match per_call {
        Some(d) => println!(
            "| {what:<52} | {:>8.1} | {:>8} | {:>8} | {:>8} | {:>8} | {upstream:>8} |",
            us(d),
            "",
            "",
            "",
            ""
        ),
        None => println!(
            "| {what:<52} | {:>8} | {:>8} | {:>8} | {:>8} | {:>8} | {:>8} |",
            "n/a", "", "", "", "", "-"
        ),
    }
}

/// A fresh-instance row: the mean and median per call, the mean time the call spent
/// in the store's `get` (its own round trip, timed around the backend), the rest,
/// which is ours, and the CPU time the whole process spent per call (every thread:
/// work moved off the caller's path still counts there).
fn fresh_row(what: &str, calls: &Calls, upstream: usize) {
    println!(
        "| {what:<52} | {:>8.1} | {:>8.1} | {:>8.1} | {:>8.1} | {:>8.1} | {upstream:>8} |",
        us(calls.mean),
        us(calls.p50),
        us(calls.in_store),
        us(calls.mean.saturating_sub(calls.in_store)),
        us(calls.cpu),
    );
}

struct Calls {
    mean: Duration,
    p50: Duration,
    in_store: Duration,
    cpu: Duration,
}

/// CPU time of every thread of this process so far (Redis's server is another
/// process and is not in it).
fn process_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to write.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "CLOCK_PROCESS_CPUTIME_ID");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Whether `BENCH_ROWS` (if set) asks for the row named `what`.
fn wanted(what: &str) -> bool {
    std::env::var("BENCH_ROWS").map_or(true, |only| what.contains(&only))
}

/// `BENCH_CALLS`, else [`FRESH_CALLS`].
fn fresh_call_count() -> u32 {
    std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(FRESH_CALLS)
}

async fn per_call(identity: &Identity, calls: u32) -> Duration {
    identity.get_token(&[SCOPE]).await.unwrap();
    let started = Instant::now();
    for _ in 0..calls {
        identity.get_token(&[SCOPE]).await.unwrap();
    }
    started.elapsed() / calls
}

async fn fresh_calls(identity: &Identity, store: &Timed, calls: u32) -> Calls {
    identity.get_token(&[SCOPE]).await.unwrap();
    let in_store_before = store.get_nanos.load(Ordering::Relaxed);
    let mut each = Vec::with_capacity(calls as usize);
    let cpu = process_cpu();
    let started = Instant::now();
    for _ in 0..calls {
        let call = Instant::now();
        identity.get_token(&[SCOPE]).await.unwrap();
        each.push(call.elapsed());
    }
    let mean = started.elapsed() / calls;
    let cpu = (process_cpu() - cpu) / calls;
    let in_store = store.get_nanos.load(Ordering::Relaxed) - in_store_before;
    each.sort();
    Calls {
        mean,
        p50: each[each.len() / 2],
        in_store: Duration::from_nanos(in_store / u64::from(calls)),
        cpu,
    }
}

/// A store that times its `get`s: the round trip each fresh instance's L2 read pays,
/// measured in the same calls as the row it belongs to.
struct Timed {
    inner: Arc<dyn Backend>,
    get_nanos: AtomicU64,
}

#[async_trait::async_trait]
impl Backend for Timed {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    async fn get(&self, bucket: &str, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let started = Instant::now();
        let value = self.inner.get(bucket, key).await;
        let nanos = started.elapsed().as_nanos() as u64;
        self.get_nanos.fetch_add(nanos, Ordering::Relaxed);
        value
    }
    async fn set(
        &self,
        bucket: &str,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> StoreResult<()> {
        self.inner.set(bucket, key, value, ttl).await
    }
    async fn delete(&self, bucket: &str, key: &str) -> StoreResult<()> {
        self.inner.delete(bucket, key).await
    }
    async fn list_keys(&self, bucket: &str, cursor: Option<&str>) -> StoreResult<KeyPage> {
        self.inner.list_keys(bucket, cursor).await
    }
    async fn compare_and_swap(
        &self,
        bucket: &str,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> StoreResult<bool> {
        self.inner
            .compare_and_swap(bucket, key, expected, value, ttl)
            .await
    }
    async fn increment(&self, bucket: &str, key: &str, delta: i64) -> StoreResult<i64> {
        self.inner.increment(bucket, key, delta).await
    }
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

    println!(
        "| {:<52} | {:>8} | {:>8} | {:>8} | {:>8} | {:>8} | {:>8} |",
        "per call (µs)", "mean", "p50", "in store", "ours", "CPU", "upstream"
    );
    println!(
        "|{:-<54}|{:->10}|{:->10}|{:->10}|{:->10}|{:->10}|{:->10}|",
        "", "", "", "", "", "", ""
    );
    if wanted("L1 hit (reused instance)") {
        let before = emulator.count(entra_emulator::Endpoint::Imds);
        let l1 = config(KeyValueConfig::Memory, true, "bench-l1");
        let l1 = Identity::with_runtime(&on_demand, l1).unwrap();
        let d = per_call(&l1, HITS).await;
        let upstream = emulator.count(entra_emulator::Endpoint::Imds) - before;
        row("L1 hit (reused instance)", Some(d), upstream);
    }
    if wanted("host fast path (no instance entered)") {
        let before = emulator.count(entra_emulator::Endpoint::Imds);
        let host = config(KeyValueConfig::Memory, true, "bench-host").with_host_fast_path(true);
        let host = Identity::with_runtime(&on_demand, host).unwrap();
        let d = per_call(&host, HITS).await;
        let upstream = emulator.count(entra_emulator::Endpoint::Imds) - before;
        row("host fast path (no instance entered)", Some(d), upstream);
    }

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
    // Each store is opened once and timed; its two rows share it.
    let stores = stores.map(|(name, config)| {
        let timed = config.map(|config| {
            Arc::new(Timed {
                inner: config.open().unwrap(),
                get_nanos: AtomicU64::new(0),
            })
        });
        (name, timed)
    });
    for (name, store) in stores {
        for (allocator, runtime) in [("on-demand", &on_demand), ("pooling", &pooled)] {
            let what = format!("fresh instance ({allocator}) + L2 hit, {name}");
            if !wanted(&what) {
                continue;
            }
            let Some(timed) = &store else {
                row(&format!("{what} (no redis-server)"), None, 0);
                continue;
            };
            let shared =
                KeyValueConfig::Shared(SharedStore::new(timed.clone() as Arc<dyn Backend>));
            let before = emulator.count(entra_emulator::Endpoint::Imds);
            let identity =
                Identity::with_runtime(runtime, config(shared, false, "bench-l2")).unwrap();
            // From a task on the runtime's workers, as a server's handler calls: a
            // worker with nothing else to do waits on the I/O driver itself, so the
            // store's answer wakes the thread that is waiting for it.
            let (timed, n) = (timed.clone(), fresh_call_count());
            let calls = tokio::spawn(async move { fresh_calls(&identity, &timed, n).await })
                .await
                .unwrap();
            let upstream = emulator.count(entra_emulator::Endpoint::Imds) - before;
            fresh_row(&what, &calls, upstream);
        }
    }
    // These read the entry the Redis rows stored.
    let redis_rows_ran = ["on-demand", "pooling"]
        .iter()
        .any(|a| wanted(&format!("fresh instance ({a}) + L2 hit, Redis")));
    if let Some(redis) = redis
        .as_ref()
        .filter(|_| wanted("Redis GET alone") && redis_rows_ran)
    {
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
