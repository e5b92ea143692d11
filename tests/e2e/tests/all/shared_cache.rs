//! The shared token cache (L2, `wasi:keyvalue`) with the real component in the real
//! host: one upstream request across instances, identities and restarts; encrypted at
//! rest; a damaged entry or a dead store costs a request, never a wrong token or a panic.
//! Orderings are forced with the emulator's `Fault::Hold`, never with sleeps.

use crate::examples::example;
use crate::serve::get;
use crate::support::*;
use entra_emulator::{Endpoint, Fault, Hold};
use entra_identity_host::keyvalue::{Backend, RedisBackend};
use entra_identity_host::serve::{ServeOptions, serve};
use entra_identity_host::{CacheKey, Error, Identity, IdentityConfig, KeyValueConfig};
use std::time::Duration;

mod cluster;
mod isolation;
mod redis;

const STORAGE: &str = "https://storage.azure.com/.default";
/// Only turns a would-be deadlock into a failure; no outcome depends on it.
const HANG_GUARD: Duration = Duration::from_secs(60);

fn with_store(
    mut config: IdentityConfig,
    store: KeyValueConfig,
    keys: &[&CacheKey],
) -> IdentityConfig {
    config.cache.store = store;
    config.cache.keys = keys.iter().map(|k| (*k).clone()).collect();
    config
}

fn identity(config: IdentityConfig) -> Identity {
    Identity::new(config).expect("identity starts")
}

/// Every entry of `bucket` in `backend`, key and value.
async fn entries(backend: &dyn Backend, bucket: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = backend.list_keys(bucket, cursor.as_deref()).await.unwrap();
        for key in page.keys {
            if let Some(value) = backend.get(bucket, &key).await.unwrap() {
                out.push((key, value));
            }
        }
        cursor = page.cursor;
        if cursor.is_none() {
            return out;
        }
    }
}

/// The token, and each of its three parts, are nowhere in `bytes`.
fn assert_not_in_clear(bytes: &[u8], token: &str, what: &str) {
    assert!(!bytes.is_empty(), "{what}: nothing stored");
    for needle in std::iter::once(token).chain(token.split('.')) {
        let found = bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(!found, "{what} holds the token (or part of it) in clear");
    }
}

fn is_for_vault(token: &str) {
    assert_eq!(jwt_claims(token)["aud"], "https://vault.azure.net");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_identities_with_64_callers_each_cold_make_one_request() {
    let world = World::start().await;
    // The first request waits until every caller has been started.
    let hold = Hold::new();
    world
        .emulator
        .push_faults(Endpoint::Imds, [Fault::Hold(hold.clone())]);
    let identities: Vec<Identity> = (0..16).map(|_| world.identity(Source::Imds)).collect();
    let mut calls = Vec::new();
    for identity in &identities {
        for _ in 0..64 {
            let identity = identity.clone();
            calls.push(tokio::spawn(async move {
                identity.get_token(&[VAULT]).await.map(|t| t.into_secret())
            }));
        }
    }
    hold.arrived().await;
    hold.release();
    let tokens: Vec<String> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert!(tokens.iter().all(|t| t == &tokens[0]));
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fresh_instance_per_call_makes_one_request_in_1000_calls() {
    let world = World::start().await;
    let mut config = world.config(Source::Imds);
    config.limits.reuse_instances = false;
    config.host_fast_path = false;
    let identity = identity(config);
    let first = identity.get_token(&[VAULT]).await.unwrap().into_secret();
    for _ in 1..1000 {
        assert_eq!(identity.get_token(&[VAULT]).await.unwrap().secret(), first);
    }
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hit_for_b_is_answered_while_a_is_held_upstream() {
    let world = World::start().await;
    let mut config = world.config(Source::Imds);
    // The pool answers B from a second instance, not the host's fast path.
    config.host_fast_path = false;
    let identity = identity(config);
    let b = identity.get_token(&[STORAGE]).await.unwrap().into_secret();
    let (hold, a) = held_fetch(&world, &identity, VAULT).await;
    let b_again = tokio::time::timeout(HANG_GUARD, identity.get_token(&[STORAGE]))
        .await
        .expect("the hit for B waited behind the held fetch for A")
        .unwrap();
    assert_eq!(b_again.secret(), b);
    assert!(!a.is_finished(), "A is still held when B is answered");
    hold.release();
    is_for_vault(a.await.unwrap().unwrap().secret());
    assert_eq!(world.emulator.count(Endpoint::Imds), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_callers_on_16_identities_share_one_400() {
    let world = World::start().await;
    world
        .emulator
        .set_persistent_fault(Endpoint::Imds, Some(Fault::Status(400)));
    // A 400 is not retried, so the retry budget only sets the lease's length (budget +
    // 5 s): long enough here that a saturated machine's first instantiations cannot
    // outlast it and send a waiter upstream as if the holder had stalled (that rule has
    // its own tests in the core, on a fake clock).
    let patient = fast_retries().max_elapsed(Duration::from_secs(60));
    let identities: Vec<Identity> = (0..16)
        .map(|_| {
            let config = world.config(Source::Imds).with_managed_identity(
                entra_identity_host::ManagedIdentityOptions::default().retry(patient),
            );
            Identity::new(config).expect("identity starts")
        })
        .collect();
    let calls = (0..1000).map(|i| {
        let identity = identities[i % 16].clone();
        tokio::spawn(async move { identity.get_token(&[VAULT]).await })
    });
    for result in futures::future::join_all(calls).await {
        let result = result.unwrap();
        assert!(matches!(result, Err(Error::Token(_))), "{result:?}");
    }
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_host_finds_valid_tokens_on_disk_encrypted() {
    let world = World::start().await;
    let dir = temp_dir();
    let path = dir.path().join("cache.redb");
    let key = CacheKey::random().unwrap();
    let config = with_store(
        world.config(Source::Imds),
        KeyValueConfig::Disk { path: path.clone() },
        &[&key],
    );
    let first = identity(config.clone()).get_token(&[VAULT]).await.unwrap();
    // The first host is gone (its identity dropped above); a new one starts.
    world.advance(HOUR);
    let second = identity(config).get_token(&[VAULT]).await.unwrap();
    assert_eq!(second.secret(), first.secret());
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);
    assert_not_in_clear(
        &std::fs::read(&path).unwrap(),
        first.secret(),
        "the redb file",
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_memory_store_holds_only_ciphertext_by_default() {
    let world = World::start().await;
    let token = world
        .identity(Source::Imds)
        .get_token(&[VAULT])
        .await
        .unwrap();
    let stored = entries(&*world.store.backend(), &world.bucket).await;
    assert!(stored.iter().any(|(k, _)| is_token_entry(k)), "{stored:?}");
    let all: Vec<u8> = stored.into_iter().flat_map(|(_, v)| v).collect();
    assert_not_in_clear(&all, token.secret(), "the memory store");
}

/// Gets a token into L2, damages every stored token entry with `damage`, and checks
/// that a new identity ignores the damaged entry, fetches once, says so, and replaces it.
async fn a_damaged_entry_is_ignored_and_replaced(damage: fn(&mut Vec<u8>)) {
    let (logs, _guard) = Logs::capture();
    let world = World::start().await;
    let backend = world.store.backend();
    world
        .identity(Source::Imds)
        .get_token(&[VAULT])
        .await
        .unwrap();
    let stored = entries(&*backend, &world.bucket).await;
    let tokens: Vec<_> = stored
        .into_iter()
        .filter(|(k, _)| is_token_entry(k))
        .collect();
    assert!(!tokens.is_empty());
    for (key, mut value) in tokens {
        damage(&mut value);
        backend
            .set(&world.bucket, &key, &value, None)
            .await
            .unwrap();
    }
    let token = world
        .identity(Source::Imds)
        .get_token(&[VAULT])
        .await
        .unwrap();
    is_for_vault(token.secret());
    assert_eq!(world.emulator.count(Endpoint::Imds), 2);
    // Replaced: a third identity is answered from the store.
    let again = world
        .identity(Source::Imds)
        .get_token(&[VAULT])
        .await
        .unwrap();
    assert_eq!(again.secret(), token.secret());
    assert_eq!(world.emulator.count(Endpoint::Imds), 2);
    let text = logs.text();
    assert!(
        text.contains("entra_identity_core::component") && text.contains("ignored a cached token"),
        "{text}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn tampered_ciphertext_is_ignored_and_replaced() {
    a_damaged_entry_is_ignored_and_replaced(|v| {
        let last = v.len() - 1;
        v[last] ^= 0x01;
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_truncated_entry_is_ignored_and_replaced() {
    a_damaged_entry_is_ignored_and_replaced(|v| v.truncate(v.len() / 2)).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_lengthened_expiry_in_the_clear_header_is_caught() {
    a_damaged_entry_is_ignored_and_replaced(|v| v[4..12].copy_from_slice(&u64::MAX.to_be_bytes()))
        .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_wrong_key_refetches_and_a_rotated_key_still_reads_old_entries() {
    let (logs, _guard) = Logs::capture();
    let world = World::start().await;
    let (old, new, stranger) = (
        CacheKey::random().unwrap(),
        CacheKey::random().unwrap(),
        CacheKey::random().unwrap(),
    );
    let keyed = |keys: &[&CacheKey]| {
        identity(with_store(
            world.config(Source::Imds),
            KeyValueConfig::Shared(world.store.clone()),
            keys,
        ))
    };
    let first = keyed(&[&old]).get_token(&[VAULT]).await.unwrap();
    // Rotation: the new key encrypts, the old one (listed second) still decrypts.
    let rotated = keyed(&[&new, &old]).get_token(&[VAULT]).await.unwrap();
    assert_eq!(rotated.secret(), first.secret());
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);
    // A key that never wrote the entry cannot find it: cache keys carry a fingerprint
    // keyed by the cache key, so its entry lives elsewhere. One more request.
    let foreign = keyed(&[&stranger]).get_token(&[VAULT]).await.unwrap();
    is_for_vault(foreign.secret());
    assert_eq!(world.emulator.count(Endpoint::Imds), 2);
    let tokens = entries(&*world.store.backend(), &world.bucket)
        .await
        .into_iter()
        .filter(|(k, _)| is_token_entry(k))
        .count();
    assert_eq!(
        tokens, 3,
        "the old key's, the copy under the new one's, the stranger's"
    );
    let text = logs.text();
    assert!(!text.contains(first.secret()) && !text.contains(foreign.secret()));
}

#[tokio::test(flavor = "current_thread")]
async fn a_dead_redis_costs_requests_not_tokens_and_says_so() {
    let (logs, _guard) = Logs::capture();
    let world = World::start().await;
    let mut redis = RedisServer::start();
    let key = CacheKey::random().unwrap();
    let store = KeyValueConfig::redis(redis.url());
    let config = with_store(world.config(Source::Imds), store, &[&key]);
    let before = identity(config.clone());
    let token = before.get_token(&[VAULT]).await.unwrap();
    // Another host, sharing Redis: no request of its own.
    let other = identity(config.clone());
    assert_eq!(
        other.get_token(&[VAULT]).await.unwrap().secret(),
        token.secret()
    );
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);
    // Redis holds ciphertext only.
    let reader = RedisBackend::new(&redis.url(), RedisBackend::DEFAULT_PREFIX).unwrap();
    let stored = entries(&reader, &world.bucket).await;
    let all: Vec<u8> = stored.into_iter().flat_map(|(_, v)| v).collect();
    assert_not_in_clear(&all, token.secret(), "Redis");

    redis.kill();
    // A host started after Redis died still gets tokens: from the token service.
    let after = identity(config);
    let fetched = after.get_token(&[VAULT]).await.unwrap();
    is_for_vault(fetched.secret());
    assert_eq!(world.emulator.count(Endpoint::Imds), 2);
    // And one that was running keeps serving what it holds.
    assert_eq!(
        before.get_token(&[VAULT]).await.unwrap().secret(),
        token.secret()
    );
    let text = logs.text();
    assert!(text.contains("key-value store failed"), "{text}");
    assert!(
        text.contains("shared cache: the key-value store failed"),
        "{text}"
    );
    assert!(!text.contains(token.secret()) && !text.contains(fetched.secret()));
}

#[tokio::test(flavor = "current_thread")]
async fn without_a_key_disk_runs_alone_and_says_why_once() {
    let (logs, _guard) = Logs::capture();
    let world = World::start().await;
    let dir = temp_dir();
    let store = KeyValueConfig::Disk {
        path: dir.path().join("cache.redb"),
    };
    let mut config = with_store(world.config(Source::Imds), store, &[]);
    config.limits.reuse_instances = false;
    config.host_fast_path = false;
    let identity = identity(config);
    for _ in 0..3 {
        identity.get_token(&[VAULT]).await.unwrap();
    }
    let text = logs.text();
    let said = text.matches("ENTRA_IDENTITY_CACHE_KEY is not set").count();
    // Once from the host, once from the component: not once per instance.
    assert_eq!(said, 2, "{text}");
    let component_lines = text
        .lines()
        .filter(|l| l.contains("entra_identity_core::component"))
        .count();
    assert_eq!(component_lines, 1, "{text}");
    // Each fresh instance caches alone, so each call asks again.
    assert_eq!(world.emulator.count(Endpoint::Imds), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_served_app_cannot_make_a_disk_store_without_a_key_hold_plaintext_tokens() {
    let (logs, _guard) = Logs::capture();
    let world = World::start().await;
    world.emulator.set_secret("db-password", "s3cr3t-value");
    let dir = temp_dir();
    let path = dir.path().join("cache.redb");
    let store = KeyValueConfig::Disk { path: path.clone() };
    let config = with_store(world.config(Source::Imds), store, &[]);
    let mut options = ServeOptions::new(
        example("spin-call-azure"),
        "127.0.0.1:0".parse().unwrap(),
        config,
    );
    // `serve --var entra_identity_cache_plaintext=true`: the app's variables.
    options.variables = [
        ("vault_url".to_string(), world.emulator.key_vault_url()),
        (
            "entra_identity_cache_plaintext".to_string(),
            "true".to_string(),
        ),
    ]
    .into();
    let server = serve(options).await.unwrap();
    let answer = get(server.local_addr(), "/secrets/db-password", None).await;
    assert_eq!(answer.status, 200, "{} {}", answer.head, answer.body);
    drop(server);
    assert!(
        logs.text().contains("shared token cache off"),
        "{}",
        logs.text()
    );

    let sent = world.emulator.requests(Endpoint::KeyVault);
    let bearer = sent[0].header("authorization").expect("a bearer token");
    let token = bearer.strip_prefix("Bearer ").unwrap();
    let file = std::fs::read(&path).unwrap_or_default();
    for needle in std::iter::once(token).chain(token.split('.')) {
        let found = file.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(
            !found,
            "the redb file holds the token (or part of it) in clear"
        );
    }
}
