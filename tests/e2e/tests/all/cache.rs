//! The cache across calls, with the emulator's clock moved instead of sleeping.

use crate::support::*;
use entra_emulator::{Endpoint, Fault};
use entra_identity_host::TokenRequest;
use std::time::Duration;

#[tokio::test]
async fn a_cached_token_is_served_without_asking_again() {
    let world = World::start().await;
    let identity = world.identity(Source::Imds);
    let first = identity.get_token(&[VAULT]).await.unwrap();
    world.advance(HOUR);
    let second = identity.get_token(&[VAULT]).await.unwrap();
    assert_eq!(first.secret(), second.secret());
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);
}

#[tokio::test]
async fn no_token_is_served_within_five_minutes_of_expiry() {
    let world = World::start().await;
    world.emulator.set_token_lifetime(Duration::from_secs(600));
    let identity = world.identity(Source::Imds);
    let first = identity.get_token(&[VAULT]).await.unwrap();
    world.advance(Duration::from_secs(290));
    assert_eq!(
        identity.get_token(&[VAULT]).await.unwrap().secret(),
        first.secret()
    );
    world.advance(Duration::from_secs(20)); // 310 s in: 290 s left
    let second = identity.get_token(&[VAULT]).await.unwrap();
    assert_ne!(second.secret(), first.secret());
    assert_eq!(world.emulator.count(Endpoint::Imds), 2);
}

#[tokio::test]
async fn a_day_long_token_is_refreshed_after_half_its_life() {
    let world = World::start().await;
    let identity = world.identity(Source::Imds);
    let first = identity.get_token(&[VAULT]).await.unwrap();
    assert!(
        first.refresh_on() < first.expires_on() - 6 * 3600,
        "{first:?}"
    );
    world.advance(11 * HOUR);
    identity.get_token(&[VAULT]).await.unwrap();
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);
    world.advance(HOUR + Duration::from_secs(301)); // past 12 h ± 5 min
    let second = identity.get_token(&[VAULT]).await.unwrap();
    assert_ne!(second.secret(), first.secret());
    assert_eq!(world.emulator.count(Endpoint::Imds), 2);
}

#[tokio::test]
async fn refresh_in_from_the_endpoint_is_honoured() {
    let world = World::start().await;
    world.emulator.set_refresh_in(Some(600));
    let identity = world.identity(Source::Imds);
    let first = identity.get_token(&[VAULT]).await.unwrap();
    world.advance(Duration::from_secs(601));
    let second = identity.get_token(&[VAULT]).await.unwrap();
    assert_ne!(first.secret(), second.secret());
}

#[tokio::test]
async fn a_failed_refresh_serves_the_old_token() {
    let world = World::start().await;
    let identity = world.identity(Source::Imds);
    let old = identity.get_token(&[VAULT]).await.unwrap();
    world.advance(13 * HOUR);
    world
        .emulator
        .set_persistent_fault(Endpoint::Imds, Some(Fault::Status(500)));
    let served = identity.get_token(&[VAULT]).await.unwrap();
    assert_eq!(served.secret(), old.secret());
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        2,
        "one refresh attempt, no retries while a token is in hand"
    );
    // Expired for real: now the failure surfaces instead of a dead token.
    world.advance(11 * HOUR + Duration::from_secs(1));
    assert!(identity.get_token(&[VAULT]).await.is_err());
}

#[tokio::test]
async fn force_refresh_bypasses_the_cache() {
    let world = World::start().await;
    let identity = world.identity(Source::Imds);
    let first = identity.get_token(&[VAULT]).await.unwrap();
    let forced = identity
        .get_token_for(&TokenRequest::new(&[VAULT]).force_refresh())
        .await
        .unwrap();
    assert_ne!(first.secret(), forced.secret());
    assert_eq!(world.emulator.count(Endpoint::Imds), 2);
}
