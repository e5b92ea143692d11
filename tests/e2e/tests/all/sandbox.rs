//! The host's sandbox rules: outbound allowlist, call deadline, memory limit, and the
//! component's world.

use crate::support::*;
use entra_emulator::{Endpoint, Fault};
use entra_identity_host::{COMPONENT_WASM, Error, Identity, TokenError};
use std::time::Duration;

#[tokio::test]
async fn a_host_not_on_the_allowlist_is_denied_before_any_connection() {
    let world = World::start().await;
    let mut config = world.config(Source::Imds);
    config.allowed_urls = Some(vec!["http://127.0.0.1:1".into()]);
    let err = Identity::new(config)
        .unwrap()
        .get_token(&[VAULT])
        .await
        .unwrap_err();
    match err {
        Error::Token(TokenError::Transport(m)) => assert!(m.contains("denied"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        0,
        "no request reached the emulator"
    );
}

#[tokio::test]
async fn the_derived_allowlist_holds_only_the_configured_endpoint() {
    let world = World::start().await;
    let identity = world.identity(Source::AppService);
    let port = world.emulator.addr().port();
    assert_eq!(
        identity.allowed_authorities(),
        [format!("127.0.0.1:{port}")]
    );
}

#[tokio::test]
async fn a_call_past_its_deadline_is_stopped_and_the_next_call_gets_a_fresh_instance() {
    let world = World::start().await;
    let mut config = world.config(Source::Imds);
    config.limits.call_timeout = Duration::from_millis(500);
    // The stopped instance dies holding its fetch lease, which other instances then
    // honour for the lease's whole length; that is the shared cache's business
    // (tests/e2e/tests/all/shared_cache.rs), not this test's.
    config.cache.enabled = false;
    let identity = Identity::new(config).unwrap();
    world
        .emulator
        .push_faults(Endpoint::Imds, [Fault::Delay(Duration::from_secs(3))]);
    let err = identity.get_token(&[VAULT]).await.unwrap_err();
    assert!(matches!(err, Error::Component(_)), "{err:?}");
    identity.get_token(&[VAULT]).await.unwrap();
}

#[tokio::test]
async fn a_memory_limit_too_small_for_the_component_is_a_clear_error() {
    let world = World::start().await;
    let mut config = world.config(Source::Imds);
    config.limits.memory_limit = 64 * 1024;
    let err = Identity::new(config)
        .unwrap()
        .get_token(&[VAULT])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Component(_)), "{err:?}");
}

#[test]
fn the_component_exports_its_interfaces_and_imports_nothing_of_its_own_package() {
    let engine = wasmtime::Engine::default();
    let component = wasmtime::component::Component::new(&engine, COMPONENT_WASM).unwrap();
    let ty = component.component_type();
    let imports: Vec<String> = ty
        .imports(&engine)
        .map(|(name, _)| name.to_string())
        .collect();
    let exports: Vec<String> = ty
        .exports(&engine)
        .map(|(name, _)| name.to_string())
        .collect();
    assert_eq!(
        exports,
        [
            "entra:identity/credentials@0.1.0",
            "entra:identity/validation@0.1.0",
            "entra:identity/tokens@0.1.0"
        ]
    );
    assert!(
        !imports.iter().any(|i| i.starts_with("entra:")),
        "{imports:?}"
    );
    assert!(
        imports
            .iter()
            .any(|i| i.starts_with("wasi:http/outgoing-handler@0.2")),
        "{imports:?}"
    );
    // No sockets: the component reaches out only through wasi:http. Files only
    // through preopens, which the host limits to the directories the credential needs.
    assert!(
        !imports.iter().any(|i| i.starts_with("wasi:sockets")),
        "{imports:?}"
    );
}

#[test]
fn a_second_start_loads_the_compiled_component_from_the_cache() {
    let dir =
        std::env::temp_dir().join(format!("entra-identity-cache-test-{}", std::process::id()));
    // A start is a new runtime: one runtime compiles (or loads) the component only once.
    let start = || {
        let runtime =
            entra_identity_host::RuntimeConfig::default().with_compile_cache_dir(Some(dir.clone()));
        let runtime = entra_identity_host::Runtime::new(runtime).unwrap();
        Identity::with_runtime(&runtime, entra_identity_host::IdentityConfig::default()).unwrap();
    };
    start();
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let written = std::fs::metadata(&files[0]).unwrap().modified().unwrap();
    start();
    assert_eq!(
        std::fs::metadata(&files[0]).unwrap().modified().unwrap(),
        written,
        "not recompiled"
    );
    // A corrupt artifact is ignored and replaced.
    std::fs::write(&files[0], b"not a compiled component").unwrap();
    start();
    assert!(std::fs::metadata(&files[0]).unwrap().len() > 1000);
    std::fs::remove_dir_all(&dir).unwrap();
}
