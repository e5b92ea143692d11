//! Many callers at once through the host library: one upstream request per key.

use crate::support::*;
use entra_emulator::{Endpoint, Fault};
use entra_identity_host::{Error, Identity, UserAssignedId};
use std::time::Duration;

const CALLERS: usize = 64;

async fn call_concurrently(
    identity: &entra_identity_host::Identity,
) -> Vec<entra_identity_host::Result<String>> {
    let calls = (0..CALLERS).map(|_| {
        let identity = identity.clone();
        tokio::spawn(async move { identity.get_token(&[VAULT]).await.map(|t| t.into_secret()) })
    });
    futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_cause_one_upstream_request() {
    let world = World::start().await;
    // A slow endpoint, so that every caller arrives while the first request is out.
    world
        .emulator
        .push_faults(Endpoint::Imds, [Fault::Delay(Duration::from_millis(500))]);
    let identity = world.identity(Source::Imds);
    let tokens = call_concurrently(&identity).await;
    let first = tokens[0].as_ref().unwrap();
    assert!(tokens.iter().all(|t| t.as_ref().unwrap() == first));
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_share_one_failure() {
    let world = World::start().await;
    world
        .emulator
        .push_faults(Endpoint::Imds, [Fault::Delay(Duration::from_millis(500))]);
    let mut config = world.config(Source::Imds);
    config.managed_identity.user_assigned = Some(UserAssignedId::ClientId("not-assigned".into()));
    let identity = entra_identity_host::Identity::new(config).unwrap();
    let results = call_concurrently(&identity).await;
    assert!(
        results.iter().all(|r| matches!(r, Err(Error::Token(_)))),
        "{results:?}"
    );
    // Native azure_identity sends one request per caller here.
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn different_scopes_are_different_flights() {
    let world = World::start().await;
    let identity = world.identity(Source::Imds);
    let (a, b) = tokio::join!(
        identity.get_token(&[VAULT]),
        identity.get_token(&["https://storage.azure.com/.default"])
    );
    assert_ne!(a.unwrap().secret(), b.unwrap().secret());
    assert_eq!(world.emulator.count(Endpoint::Imds), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_more_than_five_requests_reach_imds_at_once() {
    let world = World::start().await;
    // Slow answers, so that requests from 16 separate identities would overlap.
    world.emulator.set_persistent_fault(
        Endpoint::Imds,
        Some(Fault::Delay(Duration::from_millis(200))),
    );
    // Each identity with a store of its own, so that all 16 go upstream.
    let calls = (0..16).map(|i| {
        let mut config = world.config(Source::Imds);
        config.cache.bucket = format!("{}-{i}", world.bucket);
        let identity = Identity::new(config).unwrap();
        tokio::spawn(async move { identity.get_token(&[VAULT]).await.map(|_| ()) })
    });
    for result in futures::future::join_all(calls).await {
        result.unwrap().unwrap();
    }
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        16,
        "identities with separate stores share nothing"
    );
    let max = world.emulator.max_in_flight(Endpoint::Imds);
    assert!(
        (1..=entra_identity_host::IMDS_MAX_CONCURRENT).contains(&max),
        "{max} at once"
    );
}
