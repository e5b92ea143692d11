//! Tokens and IDENTITY_HEADER never appear in logs, Debug output or errors.

use crate::support::*;
use entra_emulator::{Endpoint, Fault};
use entra_identity_host::TokenRequest;

// Current-thread runtime: the thread-local subscriber sees every task of the test.
#[tokio::test(flavor = "current_thread")]
async fn no_secret_in_logs_debug_output_or_errors() {
    let (logs, _guard) = Logs::capture_filtered("trace");

    let world = World::start().await;
    let header = world.emulator.identity_header().to_string();
    let config = world.config(Source::AppService);
    let config_debug = format!("{config:?}");
    let identity = entra_identity_host::Identity::new(config).unwrap();
    let token = identity.get_token(&[VAULT]).await.unwrap();
    tracing::info!(?token, "a caller logging the token it got");

    // A proxy that echoes the request, secret header included, in its error page.
    world.emulator.push_faults(
        Endpoint::AppService,
        [Fault::StatusWithBody {
            status: 401,
            body: format!("{{\"statusCode\":401,\"message\":\"bad x-identity-header: {header}\"}}"),
            content_type: "application/json".into(),
        }],
    );
    let error = identity
        .get_token_for(&TokenRequest::new(&[VAULT]).force_refresh())
        .await
        .unwrap_err();
    tracing::warn!(%error, ?error, "a caller logging the error it got");

    let described = identity.describe().await.unwrap();
    let captured = logs.text();
    let everything =
        format!("{captured}\n{token:?}\n{error}\n{error:?}\n{config_debug}\n{described}");
    // Logs were captured, wasmtime's own trace events of the wasi:http calls included.
    assert!(everything.contains("a caller logging"));
    assert!(everything.contains("outgoing-handler"));
    assert!(
        !everything.contains(&header),
        "IDENTITY_HEADER leaked:\n{everything}"
    );
    assert!(
        !everything.contains(token.secret()),
        "the token leaked:\n{everything}"
    );
    // Neither the token's signature nor its payload, in case something logged a part.
    for part in token.secret().split('.').skip(1) {
        assert!(!everything.contains(part), "part of the token leaked");
    }
}
