//! Bad input from the endpoint: a typed error, nothing cached, the host keeps serving.

use crate::support::*;
use entra_emulator::{Endpoint, Fault};
use entra_identity_core::credential::FAILURE_MEMORY;
use entra_identity_host::{Error, TokenError};
use std::time::Duration;

#[tokio::test]
async fn each_bad_body_is_an_invalid_response_and_the_next_call_recovers() {
    let world = World::start().await;
    let identity = world.identity(Source::Imds);
    let cases = [
        ("garbage JSON", Fault::MalformedJson),
        ("wrong types", Fault::WrongTypes),
        ("oversized body", Fault::OversizedBody(2 << 20)),
        ("already expired", Fault::ExpiredToken),
        (
            "expiry years ahead",
            Fault::ExpiresOn("\"99999999999\"".into()),
        ),
        ("non-numeric expiry", Fault::ExpiresOn("\"soon\"".into())),
    ];
    for (what, fault) in cases.clone() {
        world.emulator.push_faults(Endpoint::Imds, [fault]);
        let err = match identity.get_token(&[VAULT]).await {
            Err(e) => e,
            Ok(token) => panic!("{what}: accepted {token:?}"),
        };
        assert!(
            matches!(err, Error::Token(TokenError::InvalidResponse(_))),
            "{what}: {err:?}"
        );
        assert!(
            !format!("{err}").contains("eyJ"),
            "{what}: the error must not quote the token: {err}"
        );
        // The failure is remembered briefly in the shared cache, then asked again.
        world.advance(Duration::from_secs(FAILURE_MEMORY));
    }
    // Nothing bad was cached and the instance is fine.
    identity.get_token(&[VAULT]).await.unwrap();
    assert_eq!(world.emulator.count(Endpoint::Imds), cases.len() + 1);
}

#[tokio::test]
async fn a_null_expires_on_falls_back_to_expires_in() {
    let world = World::start().await;
    world
        .emulator
        .push_faults(Endpoint::Imds, [Fault::ExpiresOn("null".into())]);
    let token = world
        .identity(Source::Imds)
        .get_token(&[VAULT])
        .await
        .unwrap();
    let claims = jwt_claims(token.secret());
    assert_eq!(token.expires_on(), claims["exp"].as_u64().unwrap());
}

#[tokio::test]
async fn an_html_error_page_is_an_authentication_failure_with_its_text() {
    let world = World::start().await;
    world.emulator.push_faults(
        Endpoint::AppService,
        [Fault::StatusWithBody {
            status: 403,
            body: "<html><body>Forbidden by proxy</body></html>".into(),
            content_type: "text/html".into(),
        }],
    );
    let err = world
        .identity(Source::AppService)
        .get_token(&[VAULT])
        .await
        .unwrap_err();
    match err {
        Error::Token(TokenError::AuthenticationFailed(e)) => {
            assert_eq!(e.status, 403);
            assert!(e.description.contains("Forbidden by proxy"));
            assert!(e.context.contains("IDENTITY_HEADER"), "{e:?}");
        }
        other => panic!("{other:?}"),
    }
}
