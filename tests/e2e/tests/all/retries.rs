//! Retries across the wasm boundary: 410 bursts, 429 with Retry-After, timeouts.

use crate::support::*;
use entra_emulator::{Endpoint, Fault};
use entra_identity_host::{Error, TokenError};
use std::time::Duration;

#[tokio::test]
async fn a_410_410_200_sequence_succeeds() {
    let world = World::start().await;
    world
        .emulator
        .push_faults(Endpoint::Imds, [Fault::Status(410), Fault::Status(410)]);
    let token = world
        .identity(Source::Imds)
        .get_token(&[VAULT])
        .await
        .unwrap();
    assert!(!token.secret().is_empty());
    assert_eq!(world.emulator.count(Endpoint::Imds), 3);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let world = World::start().await;
    world.emulator.push_faults(
        Endpoint::Imds,
        [Fault::TooManyRequests {
            retry_after: Some("1".into()),
        }],
    );
    let started = std::time::Instant::now();
    world
        .identity(Source::Imds)
        .get_token(&[VAULT])
        .await
        .unwrap();
    assert_eq!(world.emulator.count(Endpoint::Imds), 2);
    // The component waited as told (not the 5 ms its backoff would have used).
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn a_retry_after_beyond_the_budget_is_reported_as_throttled_at_once() {
    let world = World::start().await;
    world.emulator.set_persistent_fault(
        Endpoint::Imds,
        Some(Fault::TooManyRequests {
            retry_after: Some("600".into()),
        }),
    );
    let err = world
        .identity(Source::Imds)
        .get_token(&[VAULT])
        .await
        .unwrap_err();
    match err {
        Error::Token(TokenError::Throttled { retry_after, .. }) => assert_eq!(retry_after, 600),
        other => panic!("{other:?}"),
    }
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);
}

#[tokio::test]
async fn persistent_server_errors_give_up_within_the_budget() {
    let world = World::start().await;
    world
        .emulator
        .set_persistent_fault(Endpoint::Imds, Some(Fault::Status(503)));
    let err = world
        .identity(Source::Imds)
        .get_token(&[VAULT])
        .await
        .unwrap_err();
    match err {
        Error::Token(TokenError::AuthenticationFailed(e)) => {
            assert_eq!(e.status, 503);
            assert!(e.context.contains("gave up after 6 attempts"), "{e:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        6,
        "first attempt + 5 retries"
    );
}

#[tokio::test]
async fn a_stalled_body_times_out_and_the_host_keeps_serving() {
    let world = World::start().await;
    let mut config = world.config(Source::Imds);
    let retry = config.managed_identity.retry.as_mut().unwrap();
    retry.attempt_timeout = Duration::from_millis(300);
    retry.max_retries = 0;
    let identity = entra_identity_host::Identity::new(config).unwrap();
    world
        .emulator
        .push_faults(Endpoint::Imds, [Fault::StallBody]);
    let err = identity.get_token(&[VAULT]).await.unwrap_err();
    assert!(
        matches!(err, Error::Token(TokenError::Transport(_))),
        "{err:?}"
    );
    // Remembered for every instance for a few seconds, so not asked again at once.
    let again = identity.get_token(&[VAULT]).await.unwrap_err();
    assert!(format!("{again}").contains("remembered"), "{again}");
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);
    world.advance(Duration::from_secs(
        entra_identity_core::credential::FAILURE_MEMORY,
    ));
    identity.get_token(&[VAULT]).await.unwrap();
}
