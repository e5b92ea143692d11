//! One semantic suite run against all three backends, plus what only some have:
//! persistence (disk), a server dying mid-run (Redis), and the WIT glue.

use super::*;
#[cfg(feature = "redis")]
use entra_test_support::RedisServer;
use std::collections::BTreeSet;
use std::time::Duration;

mod glue;

type Dyn = Arc<dyn Backend>;

async fn all_keys(b: &Dyn, bucket: &str) -> BTreeSet<String> {
    let (mut keys, mut cursor) = (BTreeSet::new(), None::<String>);
    loop {
        let page = b.list_keys(bucket, cursor.as_deref()).await.unwrap();
        keys.extend(page.keys);
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return keys,
        }
    }
}

fn set_of(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

/// The shared contract. `bucket` is unique per run so suites never see each other.
async fn suite(b: Dyn, bucket: &str) {
    let other = &format!("{bucket}-other");
    assert_eq!(b.get(bucket, "k").await.unwrap(), None);
    assert!(!b.exists(bucket, "k").await.unwrap());
    b.set(bucket, "k", b"v1", None).await.unwrap();
    b.set(bucket, "k", b"v2", None).await.unwrap();
    assert_eq!(
        b.get(bucket, "k").await.unwrap().as_deref(),
        Some(&b"v2"[..])
    );
    assert!(b.exists(bucket, "k").await.unwrap());
    // Buckets are separate namespaces; values are bytes, empty included.
    assert_eq!(b.get(other, "k").await.unwrap(), None);
    b.set(other, "k", b"", None).await.unwrap();
    assert_eq!(b.get(other, "k").await.unwrap().as_deref(), Some(&b""[..]));
    b.set(bucket, "bin", &[0, 255, 0, 10], None).await.unwrap();
    let bin = b.get(bucket, "bin").await.unwrap();
    assert_eq!(bin.as_deref(), Some(&[0, 255, 0, 10][..]));
    assert_eq!(all_keys(&b, bucket).await, set_of(&["bin", "k"]));
    b.delete(bucket, "k").await.unwrap();
    b.delete(bucket, "never-there").await.unwrap();
    assert_eq!(b.get(bucket, "k").await.unwrap(), None);
    assert_eq!(b.get(other, "k").await.unwrap().as_deref(), Some(&b""[..]));

    // Compare-and-swap: absent → set once; then only with the current value.
    assert!(
        b.compare_and_swap(bucket, "c", None, b"1", None)
            .await
            .unwrap()
    );
    assert!(
        !b.compare_and_swap(bucket, "c", None, b"x", None)
            .await
            .unwrap()
    );
    assert!(
        !b.compare_and_swap(bucket, "c", Some(b"0"), b"x", None)
            .await
            .unwrap()
    );
    assert!(
        b.compare_and_swap(bucket, "c", Some(b"1"), b"2", None)
            .await
            .unwrap()
    );
    assert_eq!(
        b.get(bucket, "c").await.unwrap().as_deref(),
        Some(&b"2"[..])
    );

    // Increment: decimal ASCII, absent counts as 0, non-numbers are errors.
    assert_eq!(b.increment(bucket, "n", 5).await.unwrap(), 5);
    assert_eq!(b.increment(bucket, "n", -7).await.unwrap(), -2);
    assert_eq!(
        b.get(bucket, "n").await.unwrap().as_deref(),
        Some(&b"-2"[..])
    );
    let e = b.increment(bucket, "bin", 1).await.unwrap_err();
    assert_eq!(e.backend, b.kind());

    // Host-side TTL: gone after it, for every read path and for CAS.
    b.set(bucket, "t", b"soon", Some(Duration::from_millis(300)))
        .await
        .unwrap();
    assert!(b.exists(bucket, "t").await.unwrap());
    let ttl = Some(Duration::from_millis(300));
    assert!(
        b.compare_and_swap(bucket, "lease", None, b"me", ttl)
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(b.get(bucket, "t").await.unwrap(), None);
    assert!(!b.exists(bucket, "t").await.unwrap());
    assert_eq!(all_keys(&b, bucket).await, set_of(&["bin", "c", "n"]));
    assert!(
        b.compare_and_swap(bucket, "lease", None, b"you", None)
            .await
            .unwrap()
    );
}

/// Two swappers that read the same value race; exactly one may win. Then eight
/// tasks add 1 twenty times each through CAS retry loops: no update may be lost.
async fn contention(b: Dyn, bucket: &str) {
    for round in 0..10 {
        let key = format!("race{round}");
        let (b1, b2) = (b.clone(), b.clone());
        let (k1, k2) = (key.clone(), key.clone());
        let bucket1 = bucket.to_owned();
        let bucket2 = bucket.to_owned();
        let one =
            tokio::spawn(
                async move { b1.compare_and_swap(&bucket1, &k1, None, b"one", None).await },
            );
        let two =
            tokio::spawn(
                async move { b2.compare_and_swap(&bucket2, &k2, None, b"two", None).await },
            );
        let (one, two) = (one.await.unwrap().unwrap(), two.await.unwrap().unwrap());
        assert!(
            one ^ two,
            "round {round}: exactly one swapper wins ({one}, {two})"
        );
        let winner = if one { &b"one"[..] } else { &b"two"[..] };
        assert_eq!(b.get(bucket, &key).await.unwrap().as_deref(), Some(winner));
    }
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (b, bucket) = (b.clone(), bucket.to_owned());
            tokio::spawn(async move {
                for _ in 0..20 {
                    loop {
                        let cur = b.get(&bucket, "sum").await.unwrap();
                        let n: u32 = cur
                            .as_deref()
                            .map_or(0, |v| std::str::from_utf8(v).unwrap().parse().unwrap());
                        let next = (n + 1).to_string();
                        let cas = b.compare_and_swap(
                            &bucket,
                            "sum",
                            cur.as_deref(),
                            next.as_bytes(),
                            None,
                        );
                        if cas.await.unwrap() {
                            break;
                        }
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        b.get(bucket, "sum").await.unwrap().as_deref(),
        Some(&b"160"[..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_backend() {
    // A private store: the process-wide one is shared with other tests.
    suite(Arc::new(MemoryBackend::new()), "suite").await;
    contention(Arc::new(MemoryBackend::new()), "race").await;
}

#[tokio::test]
async fn memory_pages_resume_after_cursor() {
    let b: Dyn = Arc::new(MemoryBackend::new());
    for i in 0..(PAGE_SIZE + 5) {
        b.set("p", &format!("{i:05}"), b"", None).await.unwrap();
    }
    let first = b.list_keys("p", None).await.unwrap();
    assert_eq!(first.keys.len(), PAGE_SIZE);
    let second = b.list_keys("p", first.cursor.as_deref()).await.unwrap();
    assert_eq!((second.keys.len(), second.cursor), (5, None));
}

#[test]
fn memory_is_private_to_each_opening_unless_shared_on_purpose() {
    let a = KeyValueConfig::Memory.open().unwrap();
    let b = KeyValueConfig::Memory.open().unwrap();
    assert!(!std::ptr::addr_eq(Arc::as_ptr(&a), Arc::as_ptr(&b)));
    let shared = KeyValueConfig::Shared(crate::keyvalue::SharedStore::memory().unwrap());
    let (c, d) = (shared.open().unwrap(), shared.clone().open().unwrap());
    assert!(std::ptr::addr_eq(Arc::as_ptr(&c), Arc::as_ptr(&d)));
}

#[cfg(feature = "disk")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn disk_backend() {
    let dir = tempfile::tempdir().unwrap();
    let b = DiskBackend::open(dir.path().join("kv.redb")).unwrap();
    suite(b.clone(), "suite").await;
    contention(b, "race").await;
}

#[cfg(feature = "disk")]
#[tokio::test]
async fn disk_survives_reopen_and_shares_open_paths() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/kv.redb");
    let b = DiskBackend::open(&path).unwrap();
    // A second open of the same file in this process shares the first (redb would
    // refuse a second `Database`).
    let again = DiskBackend::open(dir.path().join("sub/../sub/kv.redb")).unwrap();
    assert!(Arc::ptr_eq(&b, &again));
    b.set("tokens", "a", b"kept", None).await.unwrap();
    let long = Some(Duration::from_secs(3600));
    b.set("tokens", "b", b"kept too", long).await.unwrap();
    b.set("tokens", "c", b"gone", Some(Duration::from_millis(1)))
        .await
        .unwrap();
    drop((b, again));

    let b = DiskBackend::open(&path).unwrap();
    assert_eq!(
        b.get("tokens", "a").await.unwrap().as_deref(),
        Some(&b"kept"[..])
    );
    assert_eq!(
        b.get("tokens", "b").await.unwrap().as_deref(),
        Some(&b"kept too"[..])
    );
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(b.get("tokens", "c").await.unwrap(), None);
}

#[cfg(feature = "disk")]
#[test]
fn disk_open_failure_is_an_error_and_config_falls_back_to_memory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let path = file.join("kv.redb");
    let e = DiskBackend::open(&path)
        .err()
        .expect("a file is not a directory");
    assert_eq!(e.backend, "disk");
    let ctx = KeyValueCtx::from_config(&KeyValueConfig::Disk { path });
    assert_eq!(ctx.backend().kind(), "memory");
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_backend() {
    let server = RedisServer::start();
    let b: Dyn =
        KeyValueConfig::Redis(RedisConfig::new(server.url()).with_prefix(Some("test:".into())))
            .open()
            .unwrap();
    suite(b.clone(), "suite").await;
    contention(b.clone(), "race").await;
    // Glob characters in the prefix match literally when listing.
    let odd: Dyn = Arc::new(RedisBackend::new(&server.url(), "te*t:").unwrap());
    odd.set("b", "x", b"1", None).await.unwrap();
    assert_eq!(all_keys(&odd, "b").await, set_of(&["x"]));
    assert_eq!(all_keys(&b, "b").await, set_of(&[]));
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_killed_mid_run_is_an_error_not_a_panic() {
    let mut server = RedisServer::start();
    let b = RedisBackend::new(&server.url(), "test:").unwrap();
    b.set("t", "k", b"v", None).await.unwrap();
    server.kill();
    let started = std::time::Instant::now();
    for _ in 0..3 {
        let e = b.get("t", "k").await.unwrap_err();
        assert_eq!(e.backend, "redis");
        let e = b
            .compare_and_swap("t", "k", None, b"v", None)
            .await
            .unwrap_err();
        assert_eq!(e.backend, "redis");
    }
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "bounded: {:?}",
        started.elapsed()
    );
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_down_at_start_does_not_stop_the_host() {
    // Nothing listens on port 1: opening succeeds (lazy), operations fail.
    let config = KeyValueConfig::redis("redis://127.0.0.1:1/");
    let ctx = KeyValueCtx::from_config(&config);
    assert_eq!(ctx.backend().kind(), "redis");
    assert!(ctx.backend().get("b", "k").await.is_err());
}
