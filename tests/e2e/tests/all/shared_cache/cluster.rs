//! The shared cache on a Redis Cluster (three primaries on loopback, made by the test):
//! one upstream request for a fleet of fresh instances, a token's slot migrated while
//! callers read it, a primary killed mid-load, and Entra authentication over TLS on
//! every shard. Phases are paced by counting finished calls, never by timers; the
//! deadlines only turn a hang into a failure.

use super::redis::{Minted, REDIS_AUDIENCE, auth_stats, eventually, through_redis};
use super::*;
use entra_emulator::MintedToken;
use entra_identity_host::keyvalue::{RedisAuth, RedisConfig};
use entra_test_support::RedisCluster;
use entra_test_support::redis::Reply;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

/// Scopes whose tokens land on slots of their own (their keys hash apart).
const SCOPES: [&str; 8] = [
    VAULT,
    STORAGE,
    "https://management.azure.com/.default",
    "https://graph.microsoft.com/.default",
    "https://database.windows.net/.default",
    "https://servicebus.azure.net/.default",
    "https://eventhubs.azure.net/.default",
    "https://cognitiveservices.azure.com/.default",
];

fn cluster_store(cluster: &RedisCluster) -> KeyValueConfig {
    KeyValueConfig::redis(cluster.url())
}

/// The cache's token entries on the cluster: node, and the full Redis key.
fn token_entries(cluster: &RedisCluster) -> BTreeSet<(usize, String)> {
    let prefix = RedisBackend::DEFAULT_PREFIX;
    cluster
        .keys(&format!("{prefix}*"))
        .into_iter()
        .filter(|(_, key)| {
            // `<prefix><bucket>:<storage key>`
            key.strip_prefix(prefix)
                .and_then(|rest| rest.split_once(':'))
                .is_some_and(|(_, storage_key)| is_token_entry(storage_key))
        })
        .collect()
}

/// Gets `scope` through `host` and returns the token entry it added to the cluster.
async fn warm(host: &Identity, cluster: &RedisCluster, scope: &'static str) -> (usize, String) {
    let before = token_entries(cluster);
    host.get_token(&[scope]).await.unwrap();
    let added: Vec<_> = token_entries(cluster)
        .difference(&before)
        .cloned()
        .collect();
    let [entry] = &added[..] else {
        panic!("one new token entry for {scope}: {added:?}")
    };
    entry.clone()
}

/// Finished calls of a load, and whether it should stop.
#[derive(Clone, Default)]
struct Load {
    done: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Load {
    /// `callers` tasks calling `host` for `scope` until stopped; each returns its tokens.
    fn start(
        &self,
        host: &Identity,
        scope: &'static str,
        callers: usize,
    ) -> Vec<tokio::task::JoinHandle<Vec<String>>> {
        (0..callers)
            .map(|_| {
                let (host, load) = (host.clone(), self.clone());
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    while !load.stop.load(Ordering::Acquire) {
                        let token = host.get_token(&[scope]).await.expect("no caller fails");
                        seen.push(token.into_secret());
                        load.done.fetch_add(1, Ordering::AcqRel);
                    }
                    seen
                })
            })
            .collect()
    }

    /// Returns once `n` more calls have finished.
    async fn calls(&self, n: usize) {
        let target = self.done.load(Ordering::Acquire) + n;
        let deadline = Instant::now() + HANG_GUARD;
        while self.done.load(Ordering::Acquire) < target {
            assert!(Instant::now() < deadline, "the load stalled");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    async fn finish(&self, callers: Vec<tokio::task::JoinHandle<Vec<String>>>) -> Vec<String> {
        self.stop.store(true, Ordering::Release);
        let mut all = Vec::new();
        for caller in callers {
            all.extend(caller.await.expect("no caller panics"));
        }
        all
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fleet_of_fresh_instances_on_a_redis_cluster_makes_one_request() {
    let world = World::start().await;
    let cluster = RedisCluster::start();
    let key = CacheKey::random().unwrap();
    let config = through_redis(&world, cluster_store(&cluster), &key);
    // Four hosts, cold, 16 callers each, all let in while the first request is held.
    let hold = Hold::new();
    world
        .emulator
        .push_faults(Endpoint::Imds, [Fault::Hold(hold.clone())]);
    let hosts: Vec<Identity> = (0..4).map(|_| identity(config.clone())).collect();
    let mut calls = Vec::new();
    for host in &hosts {
        for _ in 0..16 {
            let host = host.clone();
            calls.push(tokio::spawn(async move {
                host.get_token(&[VAULT]).await.map(|t| t.into_secret())
            }));
        }
    }
    hold.arrived().await;
    hold.release();
    let mut tokens = Vec::new();
    for call in calls {
        tokens.push(call.await.unwrap().unwrap());
    }
    // And then a fresh instance per call, 200 times.
    for _ in 0..200 {
        tokens.push(hosts[0].get_token(&[VAULT]).await.unwrap().into_secret());
    }
    assert!(tokens.iter().all(|t| t == &tokens[0]));
    is_for_vault(&tokens[0]);
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);
    // The token's entry is on the primary that owns its slot, and its lease's key
    // hashes to that slot too.
    let entries: Vec<_> = token_entries(&cluster).into_iter().collect();
    let [(node, entry)] = &entries[..] else {
        panic!("one token entry: {entries:?}")
    };
    let slot = cluster.slot_of(entry);
    assert_eq!(cluster.owner_of(slot), *node);
    assert_eq!(cluster.slot_of(&entry.replace("}/t", "}/l")), slot);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tokens_slot_migrated_under_load_serves_the_same_token_throughout() {
    let world = World::start().await;
    let cluster = RedisCluster::start();
    let key = CacheKey::random().unwrap();
    let host = identity(through_redis(&world, cluster_store(&cluster), &key));
    let (from, entry) = warm(&host, &cluster, VAULT).await;
    let first = host.get_token(&[VAULT]).await.unwrap().into_secret();
    let slot = cluster.slot_of(&entry);
    let to = (from + 1) % 3;

    let load = Load::default();
    let callers = load.start(&host, VAULT, 4);
    load.calls(20).await;
    // Importing on `to`, migrating on `from`: the keys are still on `from`.
    cluster.begin_migration(slot, from, to);
    load.calls(20).await;
    // The keys move: `from` answers ASK, `to` serves them to clients that say ASKING.
    let moved = cluster.move_keys(slot, from, to);
    assert!(moved >= 1, "the token's entry moved");
    load.calls(20).await;
    // `to` owns the slot: `from` answers MOVED.
    cluster.end_migration(slot, to);
    load.calls(20).await;
    let tokens = load.finish(callers).await;

    assert!(tokens.len() >= 80);
    assert!(
        tokens.iter().all(|t| *t == first),
        "every caller got the one token, from the cluster"
    );
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        1,
        "no request upstream"
    );
    assert_eq!(cluster.owner_of(slot), to);
    assert!(
        token_entries(&cluster).contains(&(to, entry.clone())),
        "the entry lives on its new primary"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_primary_killed_mid_load_costs_requests_not_wrong_tokens_and_says_so() {
    let (logs, _guard) = Logs::capture();
    let world = World::start().await;
    let mut cluster = RedisCluster::start();
    let key = CacheKey::random().unwrap();
    // Pooled instances, each with its L1, and a host with a fresh instance per call.
    let mut pooled = with_store(world.config(Source::Imds), cluster_store(&cluster), &[&key]);
    pooled.host_fast_path = false;
    let pooled = identity(pooled);
    let fresh = identity(through_redis(&world, cluster_store(&cluster), &key));
    let (victim, _) = warm(&pooled, &cluster, VAULT).await;
    let vault = pooled.get_token(&[VAULT]).await.unwrap().into_secret();
    // A scope whose token lives on another primary.
    let mut survivor = None;
    for scope in &SCOPES[1..] {
        let (node, _) = warm(&pooled, &cluster, scope).await;
        if node != victim {
            survivor = Some(*scope);
            break;
        }
    }
    let survivor = survivor.expect("a token on another primary");
    let survivor_token = fresh.get_token(&[survivor]).await.unwrap().into_secret();

    let load = Load::default();
    let callers = load.start(&pooled, VAULT, 4);
    load.calls(20).await;
    cluster.kill(victim);
    load.calls(20).await;
    let imds = world.emulator.count(Endpoint::Imds);
    // Fresh instances: the dead primary's token costs a request each, from the token
    // service; the other primary's still comes from the cluster.
    for _ in 0..3 {
        let token = fresh
            .get_token(&[VAULT])
            .await
            .expect("served without Redis");
        is_for_vault(token.secret());
        let again = fresh.get_token(&[survivor]).await.unwrap();
        assert_eq!(again.secret(), survivor_token, "from the live primary");
    }
    let after = world.emulator.count(Endpoint::Imds);
    assert!(after > imds && after <= imds + 3, "{imds} → {after}");
    load.calls(20).await;
    let tokens = load.finish(callers).await;
    assert!(
        tokens.iter().all(|t| *t == vault),
        "the pooled instances kept serving their L1 token"
    );
    let text = logs.text();
    assert!(
        text.contains("shared cache: the key-value store failed"),
        "{text}"
    );
    assert!(!text.contains(&vault) && !text.contains(&survivor_token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_authentication_over_tls_reaches_and_renews_on_every_shard() {
    let world = World::start().await;
    // Short-lived tokens: the refresh comes at 40–50 % of a token's life.
    world.emulator.set_token_lifetime(Duration::from_secs(6));
    let cluster = Arc::new(RedisCluster::start_tls());
    let minted = Minted::default();
    let (nodes, record) = (cluster.clone(), minted.clone());
    world.emulator.on_token_minted(move |t: &MintedToken<'_>| {
        if !t.audience.starts_with(REDIS_AUDIENCE) {
            return;
        }
        // Azure's access policy assignment reaches every shard; here, every node's ACL.
        let password = format!(">{}", t.access_token);
        for (_, node) in nodes.live_nodes() {
            let args = [
                "ACL",
                "SETUSER",
                t.object_id,
                "on",
                password.as_str(),
                "~*",
                "&*",
                "+@all",
            ];
            assert_eq!(node.admin(&args), Reply::Status("OK".into()));
        }
        (record.0.lock().unwrap()).push((t.access_token.to_string(), Instant::now()));
    });
    let oid = world.emulator.system_assigned().object_id.clone();
    let key = CacheKey::random().unwrap();
    let store = KeyValueConfig::Redis(
        RedisConfig::new(cluster.tls_url())
            .with_ca_file(Some(cluster.ca_file()))
            .with_auth(RedisAuth::Entra),
    );
    let host = identity(through_redis(&world, store, &key));
    // Tokens until every primary holds one. A token's slot is a hash of its cache
    // name, which holds this run's random keys, so eight resources missed a primary
    // in about one run in nine (CI saw it); 64 miss one in about 10^11.
    let mut nodes_used = BTreeSet::new();
    for i in 0..64 {
        host.get_token(&[format!("api://cluster-shard-{i}/.default")])
            .await
            .unwrap();
        nodes_used = token_entries(&cluster)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        if nodes_used.len() == 3 {
            break;
        }
    }
    assert_eq!(nodes_used.len(), 3, "entries on every primary");
    // Each node: the identity's connection, authenticated as its object id, and the
    // last command it sent. (Counting AUTH in `INFO commandstats` would count the
    // test's own admin connections, which authenticate too.)
    let entra_clients = |i: usize| -> Vec<String> {
        let clients = cluster.node(i).admin(&["CLIENT", "LIST"]);
        let clients = clients.text().unwrap_or_default().to_string();
        clients
            .lines()
            .filter(|l| l.contains(&format!(" user={oid} ")))
            .map(str::to_string)
            .collect()
    };
    for i in 0..3 {
        assert!(
            !entra_clients(i).is_empty(),
            "node {i}: no Entra-authenticated client"
        );
    }
    // The next token, re-sent as AUTH on each shard's live connection: its last command.
    eventually("AUTH re-sent on every shard", || {
        (0..3).all(|i| entra_clients(i).iter().any(|c| c.contains(" cmd=auth ")))
    })
    .await;
    assert!(minted.count() >= 2, "a second Redis token");
    for i in 0..3 {
        assert_eq!(
            auth_stats(cluster.node(i)).1,
            0,
            "node {i}: every AUTH accepted"
        );
    }
    // The renewed connections serve.
    is_for_vault(host.get_token(&[VAULT]).await.unwrap().secret());
}
