//! The Redis backend on a real three-primary cluster (`RedisCluster`, loopback).

use super::*;
use crate::keyvalue::{Backend, RedisBackend, RedisConfig, RedisMode};
use entra_test_support::RedisCluster;
use std::collections::BTreeSet;

const PREFIX: &str = "kv:";

/// Keys `k0`..`k29` of bucket `b`: spread over every primary's slots.
fn keys() -> Vec<String> {
    (0..30).map(|i| format!("k{i}")).collect()
}

fn full(key: &str) -> String {
    format!("{PREFIX}b:{key}")
}

fn backend(cluster: &RedisCluster, mode: RedisMode) -> RedisBackend {
    let config = RedisConfig::new(cluster.url())
        .with_prefix(Some(PREFIX.into()))
        .with_mode(mode);
    RedisBackend::from_config(&config).expect("a backend")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detected_cluster_serves_every_operation_on_every_primary() {
    let cluster = RedisCluster::start();
    let kv = backend(&cluster, RedisMode::Detect);
    for key in keys() {
        kv.set("b", &key, key.as_bytes(), None).await.unwrap();
        assert_eq!(
            kv.get("b", &key).await.unwrap().as_deref(),
            Some(key.as_bytes())
        );
        assert!(kv.exists("b", &key).await.unwrap());
        // The compare-and-swap script runs where the key lives.
        assert!(
            !kv.compare_and_swap("b", &key, None, b"x", None)
                .await
                .unwrap()
        );
        let swapped = kv
            .compare_and_swap("b", &key, Some(key.as_bytes()), b"swapped", None)
            .await
            .unwrap();
        assert!(swapped, "{key}");
        let counter = format!("{key}-n");
        assert_eq!(kv.increment("b", &counter, 2).await.unwrap(), 2);
        kv.delete("b", &counter).await.unwrap();
    }
    let owners: BTreeSet<usize> = keys()
        .iter()
        .map(|k| cluster.owner_of(cluster.slot_of(&full(k))))
        .collect();
    assert_eq!(owners.len(), 3, "the keys span every primary");
    let stored: Vec<(usize, String)> = cluster.keys(&format!("{PREFIX}*"));
    assert_eq!(stored.len(), keys().len(), "{stored:?}");
    for (node, key) in &stored {
        assert_eq!(*node, cluster.owner_of(cluster.slot_of(key)), "{key}");
    }
    // Listing walks every primary.
    let mut listed = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = kv.list_keys("b", cursor.as_deref()).await.unwrap();
        listed.extend(page.keys);
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(listed, keys().into_iter().collect::<BTreeSet<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_cluster_is_not_asked_whether_it_is_one() {
    let cluster = RedisCluster::start();
    let info_calls = || -> u64 {
        (0..3)
            .map(|i| cluster.node(i).command_calls("cluster|info"))
            .sum()
    };
    let before = info_calls();
    let kv = backend(&cluster, RedisMode::Cluster);
    for key in keys() {
        kv.set("b", &key, b"v", None).await.unwrap();
        assert_eq!(kv.get("b", &key).await.unwrap().as_deref(), Some(&b"v"[..]));
    }
    assert_eq!(info_calls(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_configured_as_one_endpoint_fails_with_what_to_set() {
    let cluster = RedisCluster::start();
    let kv = backend(&cluster, RedisMode::Standalone);
    // A key the node in the URL does not own.
    let key = keys()
        .into_iter()
        .find(|k| cluster.owner_of(cluster.slot_of(&full(k))) != 0)
        .unwrap();
    let e = kv.set("b", &key, b"v", None).await.unwrap_err();
    let text = e.to_string();
    assert!(text.to_lowercase().contains("moved"), "{text}");
    assert!(
        text.contains("ENTRA_IDENTITY_CACHE_REDIS_CLUSTER=yes"),
        "{text}"
    );
}

#[test]
fn a_prefix_with_braces_is_refused_as_it_would_be_the_hash_tag() {
    let e = check_prefix("app{1}:").unwrap_err();
    assert!(
        e.to_string().contains("choose a prefix without braces"),
        "{e}"
    );
    check_prefix(RedisBackend::DEFAULT_PREFIX).unwrap();
}
