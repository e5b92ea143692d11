//! What each request costs inside the component, checked end to end: the component's
//! size, a certificate credential's reuse of its signed assertion, and the validator's
//! memory of accepted tokens (which must never outlive a token's `exp`).

use crate::support::*;
use entra_emulator::{AppRegistration, Endpoint};
use entra_identity_host::{
    AppOptions, CertificateSource, CredentialKind, Error, Identity, ValidationError, Validator,
    ValidatorConfig, ValidatorOptions,
};
use std::time::Duration;

const APP: &str = "11111111-aaaa-4000-8000-00000000c057";
/// The component's budget: every credential, the validator and the shared cache.
const MAX_COMPONENT_BYTES: usize = 1024 * 1024;
/// How long the component reuses a signed assertion (half its 10-minute lifetime).
const ASSERTION_REUSE: Duration = Duration::from_secs(300);

#[test]
fn the_component_stays_within_one_mebibyte() {
    let size = entra_identity_host::COMPONENT_WASM.len();
    assert!(
        size <= MAX_COMPONENT_BYTES,
        "the component is {size} bytes, over its {MAX_COMPONENT_BYTES}-byte budget"
    );
}

fn certificate_identity(world: &World) -> Identity {
    world
        .emulator
        .register_app(AppRegistration::new(APP).with_certificate(keys::CLIENT_CERT));
    let config = world
        .config(Source::Imds)
        .with_credential(CredentialKind::ClientCertificate {
            app: AppOptions::new(world.emulator.tenant_id(), APP)
                .authority_host(world.emulator.base_url()),
            certificate: CertificateSource::Pem(format!(
                "{}\n{}",
                keys::CLIENT_CERT,
                keys::CLIENT_CERT_KEY
            )),
            send_certificate_chain: Some(false),
            rs256: false,
        })
        .with_env(Default::default());
    Identity::new(config).unwrap()
}

/// A token for a scope not asked for before: a token request, sent with the
/// assertion it returns. (A forced refresh would do, but the host then retires its
/// instances, and the kept assertion lives in an instance's credential.)
async fn new_scope_assertion(world: &World, identity: &Identity, scope: &str) -> String {
    identity.get_token(&[scope]).await.unwrap();
    let sent = world.emulator.requests(Endpoint::Token).pop().unwrap();
    sent.form_param("client_assertion").unwrap()
}

#[tokio::test]
async fn a_certificate_assertion_is_reused_for_five_minutes_then_signed_again() {
    let world = World::start().await;
    let identity = certificate_identity(&world);
    let first = new_scope_assertion(&world, &identity, VAULT).await;
    world.advance(ASSERTION_REUSE - Duration::from_secs(1));
    assert_eq!(
        new_scope_assertion(&world, &identity, "https://storage.azure.com/.default").await,
        first,
        "the emulator accepted the reused assertion"
    );
    world.advance(Duration::from_secs(1));
    let second =
        new_scope_assertion(&world, &identity, "https://graph.microsoft.com/.default").await;
    assert_ne!(second, first);
    let (first, second) = (jwt_claims(&first), jwt_claims(&second));
    assert_eq!(
        second["nbf"].as_u64().unwrap() - first["nbf"].as_u64().unwrap(),
        ASSERTION_REUSE.as_secs()
    );
    assert_eq!(world.emulator.count(Endpoint::Token), 3);
}

#[tokio::test]
async fn a_validated_token_is_not_accepted_past_its_expiry() {
    let world = World::start().await;
    let token = world
        .identity(Source::Imds)
        .get_token(&["api://protected-api/.default"])
        .await
        .unwrap()
        .into_secret();
    let exp = jwt_claims(&token)["exp"].as_u64().unwrap();
    let identity = world.config(Source::Imds);
    let validator = Validator::new(
        ValidatorOptions::new(world.emulator.tenant_id(), &["api://protected-api"])
            .authority(world.emulator.base_url()),
        ValidatorConfig::default()
            .with_wall_clock(identity.wall_clock)
            .with_cache(identity.cache),
    )
    .unwrap();
    for _ in 0..3 {
        validator.validate(&token).await.unwrap();
    }
    assert_eq!(world.emulator.count(Endpoint::Jwks), 1);
    let now = entra_emulator::Clock::now(&world.clock)
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Past exp and the validator's 5-minute leeway.
    world.advance(Duration::from_secs(exp - now + 301));
    match validator.validate(&token).await {
        Err(Error::Rejected(ValidationError::Expired { exp: e, .. })) => assert_eq!(e, exp),
        other => panic!("expected Expired, got {other:?}"),
    }
}
