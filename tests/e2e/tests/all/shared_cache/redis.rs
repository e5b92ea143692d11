//! The shared cache in a Redis that plays Azure Cache for Redis: TLS only (a test CA),
//! Entra authentication (an ACL user named after the identity's object id, whose
//! password is a token the emulator minted for `https://redis.azure.com`). The emulator
//! tells the server of each Redis token as it mints it, as Azure accepts any valid
//! token of its user. Nothing here waits on a timer to make an outcome happen: events
//! are awaited with a deadline that only turns a hang into a failure.

use super::*;
use entra_emulator::MintedToken;
use entra_identity_host::keyvalue::{RedisAuth, RedisConfig};
use entra_test_support::redis::Reply;
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub(super) const REDIS_AUDIENCE: &str = "https://redis.azure.com";

/// Redis tokens minted so far, and when.
#[derive(Clone, Default)]
pub(super) struct Minted(pub(super) Arc<Mutex<Vec<(String, Instant)>>>);

impl Minted {
    pub(super) fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    pub(super) fn last(&self) -> String {
        self.0
            .lock()
            .unwrap()
            .last()
            .expect("a Redis token")
            .0
            .clone()
    }
    fn first_at(&self) -> Instant {
        self.0.lock().unwrap().first().expect("a Redis token").1
    }
}

/// A TLS Redis whose ACL learns each Redis token the emulator mints: `keep_old`: added
/// to the user's passwords; else it replaces them (`resetpass`), as a rotation does.
fn azure_like_redis(world: &World, keep_old: bool) -> (Arc<RedisServer>, Minted) {
    let redis = Arc::new(RedisServer::start_tls());
    let minted = Minted::default();
    let (server, record) = (redis.clone(), minted.clone());
    world.emulator.on_token_minted(move |t: &MintedToken<'_>| {
        if !t.audience.starts_with(REDIS_AUDIENCE) {
            return;
        }
        let password = format!(">{}", t.access_token);
        let mut args = vec!["ACL", "SETUSER", t.object_id, "on"];
        if !keep_old {
            args.push("resetpass");
        }
        args.extend([password.as_str(), "~*", "&*", "+@all"]);
        assert_eq!(server.admin(&args), Reply::Status("OK".into()));
        record
            .0
            .lock()
            .unwrap()
            .push((t.access_token.to_string(), Instant::now()));
    });
    (redis, minted)
}

fn entra_store(redis: &RedisServer, ca_file: std::path::PathBuf) -> KeyValueConfig {
    KeyValueConfig::Redis(
        RedisConfig::new(redis.tls_url())
            .with_ca_file(Some(ca_file))
            .with_auth(RedisAuth::Entra),
    )
}

/// Every call reaches an instance, and every instance the cache in Redis.
pub(super) fn through_redis(
    world: &World,
    store: KeyValueConfig,
    key: &CacheKey,
) -> IdentityConfig {
    let mut config = with_store(world.config(Source::Imds), store, &[key]);
    config.host_fast_path = false;
    config.limits = config.limits.clone().with_reuse_instances(false);
    config
}

/// The values under the cache's prefix, as the admin reads them.
fn stored_values(redis: &RedisServer) -> Vec<String> {
    let Reply::Array(keys) = redis.admin(&["KEYS", "entra-identity:kv:*"]) else {
        panic!("KEYS answers an array")
    };
    keys.iter()
        .filter_map(|k| k.text())
        .filter_map(|k| redis.admin(&["GET", k]).text().map(str::to_string))
        .collect()
}

/// `(calls, failed_calls)` of `AUTH` on the server.
pub(super) fn auth_stats(redis: &RedisServer) -> (u64, u64) {
    let info = redis.admin(&["INFO", "commandstats"]);
    let line = info
        .text()
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("cmdstat_auth:"))
        .map(str::to_string)
        .unwrap_or_default();
    let field = |name: &str| {
        line.split([':', ','])
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("calls"), field("failed_calls"))
}

/// Waits for `what` to hold, polling; the deadline only turns a hang into a failure.
pub(super) async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + HANG_GUARD;
    while !check() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_authenticated_tls_redis_serves_the_fleet_ciphertext_only() {
    let logs = Logs::everywhere("debug");
    let world = World::start().await;
    let (redis, minted) = azure_like_redis(&world, true);
    let oid = world.emulator.system_assigned().object_id.clone();
    let key = CacheKey::random().unwrap();
    let config = through_redis(&world, entra_store(&redis, redis.ca_file()), &key);
    let first = identity(config.clone());
    let token = first.get_token(&[VAULT]).await.unwrap();
    // A second host of the fleet: its token comes from Redis, not from IMDS (the one
    // other IMDS request is its own Redis credential).
    let second = identity(config);
    assert_eq!(
        second.get_token(&[VAULT]).await.unwrap().secret(),
        token.secret()
    );
    let vault_requests = world
        .emulator
        .requests(Endpoint::Imds)
        .iter()
        .filter(|r| r.query_param("resource") == Some("https://vault.azure.net"))
        .count();
    assert_eq!(vault_requests, 1, "one vault token for the fleet");
    assert_eq!(minted.count(), 2, "one Redis credential per host");
    // Authenticated as the identity's object id, over TLS.
    let Reply::Bulk(Some(clients)) = redis.admin(&["CLIENT", "LIST"]) else {
        panic!("CLIENT LIST")
    };
    assert!(clients.contains(&format!("user={oid}")), "{clients}");
    let (_, failed) = auth_stats(&redis);
    assert_eq!(failed, 0);
    // Ciphertext only, and the Redis credential is nowhere in the cache or the logs.
    let values = stored_values(&redis);
    assert!(!values.is_empty());
    for v in &values {
        assert!(!v.contains(token.secret()) && !v.contains(&minted.last()));
    }
    let text = logs.text();
    assert!(!text.contains(&minted.last()) && !text.contains(token.secret()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_password_and_killed_connections_cost_no_caller_anything() {
    // The tokens checked for are this test's own, so other tests' lines do no harm.
    let logs = Logs::everywhere("debug");
    let world = World::start().await;
    let (redis, minted) = azure_like_redis(&world, false);
    let oid = world.emulator.system_assigned().object_id.clone();
    let key = CacheKey::random().unwrap();
    let host = identity(through_redis(
        &world,
        entra_store(&redis, redis.ca_file()),
        &key,
    ));
    host.get_token(&[VAULT]).await.unwrap();
    assert_eq!(minted.count(), 1);
    let before = minted.last();
    let calls = |n: usize| {
        let host = host.clone();
        (0..n)
            .map(|_| {
                let host = host.clone();
                tokio::spawn(async move { host.get_token(&[VAULT]).await })
            })
            .collect::<Vec<_>>()
    };
    let during = calls(16);
    // The password rotates to a token the host does not have, and the server drops
    // the host's connections.
    world.emulator.mint_api_token(REDIS_AUDIENCE, &[]);
    assert_eq!(minted.count(), 2);
    assert!(matches!(
        redis.admin(&["CLIENT", "KILL", "USER", &oid]),
        Reply::Int(_)
    ));
    let after = calls(16);
    for call in during.into_iter().chain(after) {
        let got = call.await.unwrap().expect("no caller fails");
        is_for_vault(got.secret());
    }
    // The host got itself a new token, authenticated with it, and Redis serves again.
    eventually("the host re-authenticates with a new token", || {
        minted.count() >= 3
    })
    .await;
    // (Callers that missed Redis during the outage fetched and stored tokens of their
    // own: the answer is the last stored, from Redis, without a request.)
    let imds_before = world.emulator.count(Endpoint::Imds);
    let again = host.get_token(&[VAULT]).await.unwrap();
    is_for_vault(again.secret());
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        imds_before,
        "from Redis"
    );
    assert_ne!(minted.last(), before);
    let Reply::Bulk(Some(clients)) = redis.admin(&["CLIENT", "LIST"]) else {
        panic!("CLIENT LIST")
    };
    assert!(clients.contains(&format!("user={oid}")), "{clients}");
    let text = logs.text();
    for (t, _) in minted.0.lock().unwrap().iter() {
        assert!(!text.contains(t.as_str()), "a Redis token in the logs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_connections_re_authenticate_before_the_token_expires() {
    let world = World::start().await;
    // Short-lived tokens: the refresh comes at 40–50 % of a token's life (Entra's live
    // an hour or more: there it is 4–5 minutes before expiry, tested on a paused
    // clock in the host library).
    let lifetime = Duration::from_secs(6);
    world.emulator.set_token_lifetime(lifetime);
    let (redis, minted) = azure_like_redis(&world, true);
    let key = CacheKey::random().unwrap();
    let host = identity(through_redis(
        &world,
        entra_store(&redis, redis.ca_file()),
        &key,
    ));
    host.get_token(&[VAULT]).await.unwrap();
    let (auths, _) = auth_stats(&redis);
    assert_eq!(minted.count(), 1);
    eventually("a second Redis token", || minted.count() >= 2).await;
    eventually("AUTH re-sent on the live connection", || {
        auth_stats(&redis).0 > auths
    })
    .await;
    let elapsed = minted.first_at().elapsed();
    assert!(
        elapsed < lifetime,
        "re-AUTH {elapsed:?} after the first token"
    );
    let (_, failed) = auth_stats(&redis);
    assert_eq!(failed, 0, "every AUTH accepted");
    // The connection kept its place: no reconnect was needed.
    host.get_token(&[VAULT]).await.unwrap();
    assert_eq!(auth_stats(&redis).1, 0);
}

#[tokio::test(flavor = "current_thread")]
async fn the_wrong_ca_is_a_clear_store_error_while_l1_keeps_serving() {
    let (logs, _guard) = Logs::capture();
    let world = World::start().await;
    let (redis, _minted) = azure_like_redis(&world, true);
    let other = entra_test_support::tls::TestPki::new(&["127.0.0.1"]);
    let wrong_ca = redis.dir().join("other-ca.pem");
    std::fs::write(&wrong_ca, other.ca_pem).unwrap();
    let key = CacheKey::random().unwrap();
    let config = with_store(
        world.config(Source::Imds),
        entra_store(&redis, wrong_ca),
        &[&key],
    );
    let host = identity(config);
    let token = host.get_token(&[VAULT]).await.unwrap();
    let imds = world.emulator.count(Endpoint::Imds);
    for _ in 0..3 {
        let again = host.get_token(&[VAULT]).await.unwrap();
        assert_eq!(again.secret(), token.secret(), "the still-valid L1 token");
    }
    assert_eq!(world.emulator.count(Endpoint::Imds), imds);
    let text = logs.text();
    assert!(
        text.contains("key-value store failed") && text.contains("certificate"),
        "{text}"
    );
    assert!(stored_values(&redis).is_empty(), "nothing reached Redis");
}

/// The clients connected to `redis` besides the one asking, from `CLIENT LIST`.
fn other_clients(redis: &RedisServer) -> Vec<String> {
    let list = redis.admin(&["CLIENT", "LIST"]);
    let text = list.text().expect("CLIENT LIST is text").to_string();
    text.lines()
        .filter(|l| !l.contains("cmd=client|list"))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gets_over_tls_go_through_one_connection_of_their_own() {
    let redis = RedisServer::start_tls();
    let user = [
        "ACL",
        "SETUSER",
        "reader",
        "on",
        ">reader-pw",
        "~*",
        "+@all",
    ];
    assert_eq!(redis.admin(&user), Reply::Status("OK".into()));
    let url = format!("rediss://reader:reader-pw@127.0.0.1:{}/", redis.tls_port());
    let config = RedisConfig::new(url)
        .with_ca_file(Some(redis.ca_file()))
        .with_prefix(Some("p:".into()));
    let backend = KeyValueConfig::Redis(config).open().unwrap();
    assert_eq!(
        redis.admin(&["SET", "p:b:k", "v"]),
        Reply::Status("OK".into())
    );
    for _ in 0..10 {
        let value = backend.get("b", "k").await.unwrap();
        assert_eq!(value.as_deref(), Some(&b"v"[..]));
    }
    // One TLS connection, authenticated as the URL's user, last seen sending a GET:
    // the shared connection (lazy) was never needed.
    let clients = other_clients(&redis);
    assert_eq!(clients.len(), 1, "{clients:?}");
    assert!(clients[0].contains("user=reader"), "{}", clients[0]);
    assert!(clients[0].contains("cmd=get"), "{}", clients[0]);
    assert_eq!(redis.command_calls("get"), 10);
}
