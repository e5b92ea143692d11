//! Instances as an embedder sees them: the pooling allocator's slots handed out and
//! given back, and `Identity::instance_stats` counting what the live instances hold.
//! Orderings are forced with the emulator's `Fault::Hold`, never with sleeps.

use crate::support::*;
use entra_emulator::Endpoint;
use entra_identity_host::{Error, Identity, InstanceStats, PoolingConfig, Runtime, RuntimeConfig};
use std::time::Duration;

const STORAGE: &str = "https://storage.azure.com/.default";
const HANG_GUARD: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_host_serves_a_fresh_token_without_an_instance() {
    let world = World::start().await;
    let mut config = world.config(Source::Imds);
    config.limits.max_instances = 1;
    let identity = Identity::new(config).unwrap();
    let b = identity.get_token(&[STORAGE]).await.unwrap().into_secret();
    // The only instance is held upstream fetching A ...
    let (hold, held) = held_fetch(&world, &identity, VAULT).await;
    // ... and B is still answered: the host had it.
    let again = tokio::time::timeout(HANG_GUARD, identity.get_token(&[STORAGE]))
        .await
        .expect("the hit for B waited for the instance")
        .unwrap();
    assert_eq!(again.secret(), b);
    hold.release();
    held.await.unwrap().unwrap();
    // Past the component's refresh_on, the host no longer answers: the component does.
    let refresh_on = again.refresh_on();
    let now = jwt_claims(&b)["iat"].as_u64().unwrap();
    world.advance(Duration::from_secs(refresh_on - now + 1));
    let refreshed = identity.get_token(&[STORAGE]).await.unwrap();
    assert_ne!(refreshed.secret(), b);
    assert_eq!(world.emulator.count(Endpoint::Imds), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pooled_fresh_instances_serve_every_call_and_give_their_slots_back() {
    let world = World::start().await;
    let mut config = world.config(Source::Imds);
    config.limits.reuse_instances = false;
    config.host_fast_path = false;
    // Two slots: a slot that was not given back would fail the third instantiation.
    config.limits.max_instances = 2;
    let pool = PoolingConfig::new(2, config.limits.memory_limit);
    let runtime =
        Runtime::new(RuntimeConfig::default().with_pooling_allocator(Some(pool))).unwrap();
    let identity = Identity::with_runtime(&runtime, config).unwrap();
    let first = identity.get_token(&[VAULT]).await.unwrap().into_secret();
    for _ in 0..200 {
        assert_eq!(identity.get_token(&[VAULT]).await.unwrap().secret(), first);
    }
    let scopes: Vec<String> = (0..4)
        .map(|i| format!("https://api{i}.example/.default"))
        .collect();
    let calls = (0..32).map(|i| {
        let (identity, scope) = (identity.clone(), scopes[i % 4].clone());
        tokio::spawn(async move { identity.get_token(&[&scope]).await })
    });
    for result in futures::future::join_all(calls).await {
        result.unwrap().unwrap();
    }
    assert_eq!(world.emulator.count(Endpoint::Imds), 5, "one per scope");
    assert_eq!(identity.instance_stats(), InstanceStats::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pool_slot_too_small_for_the_component_is_refused_at_start() {
    let world = World::start().await;
    let config = world.config(Source::Imds);
    let pool = PoolingConfig::new(2, 64 * 1024);
    let runtime =
        Runtime::new(RuntimeConfig::default().with_pooling_allocator(Some(pool))).unwrap();
    // Checked when the component is loaded, before any call.
    let err = Identity::with_runtime(&runtime, config)
        .err()
        .expect("the slot is too small");
    assert!(matches!(err, Error::Component(_)), "{err:?}");
    assert!(err.to_string().contains("minimum byte size"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instance_stats_count_live_instances_and_their_linear_memory() {
    let world = World::start().await;
    let mut config = world.config(Source::Imds);
    // Every call must reach an instance.
    config.host_fast_path = false;
    let limit = config.limits.memory_limit;
    let identity = Identity::new(config).unwrap();
    assert_eq!(identity.instance_stats(), InstanceStats::default());
    identity.get_token(&[STORAGE]).await.unwrap();
    let one = identity.instance_stats();
    assert_eq!(one.instances, 1, "the idle instance");
    assert!(
        one.linear_memory > 0 && one.linear_memory <= limit,
        "{one:?}"
    );

    // While one instance is held upstream, the next caller gets a second.
    let (hold, held) = held_fetch(&world, &identity, VAULT).await;
    identity.get_token(&[STORAGE]).await.unwrap();
    let two = identity.instance_stats();
    assert_eq!(two.instances, 2);
    assert!(
        two.linear_memory > one.linear_memory,
        "{two:?} after {one:?}"
    );
    hold.release();
    held.await.unwrap().unwrap();
    assert_eq!(
        identity.instance_stats().instances,
        2,
        "both back in the pool"
    );
}
