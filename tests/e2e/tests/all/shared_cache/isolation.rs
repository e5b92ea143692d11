//! A token, a remembered failure or a lease is only ever used by the credential that
//! earned it: cache keys bind what proves the credential, a memory store is private to
//! its identity unless shared on purpose, and a claims answer replaces the token the
//! resource refused, in every instance.

use crate::support::*;
use entra_emulator::{AppRegistration, Endpoint, Fault, Hold};
use entra_identity_host::{
    AppOptions, CacheConfig, CacheKey, CredentialKind, Error, Identity, IdentityConfig,
    KeyValueConfig, TokenError, TokenRequest,
};

const APP: &str = "22222222-aaaa-4000-8000-00000000b1d0";
const RIGHT: &str = "right-secret-value-1";
const WRONG: &str = "wrong-secret-value-2";
const STORAGE: &str = "https://storage.azure.com/.default";

fn with_secret(world: &World, secret: &str) -> IdentityConfig {
    world
        .config(Source::Imds)
        .with_credential(CredentialKind::ClientSecret {
            app: AppOptions::new(world.emulator.tenant_id(), APP)
                .authority_host(world.emulator.base_url()),
            secret: secret.into(),
        })
        .with_env(Default::default())
}

fn secret_world_app(world: &World) {
    world
        .emulator
        .register_app(AppRegistration::new(APP).with_secret(RIGHT));
}

fn is_invalid_client(result: entra_identity_host::Result<entra_identity_host::AccessToken>) {
    match result {
        Err(Error::Token(TokenError::AuthenticationFailed(e))) => {
            assert!(e.code.contains("7000215"), "{e:?}")
        }
        other => panic!("expected the emulator's refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_secret_is_refused_upstream_not_answered_from_a_shared_cache() {
    let world = World::start().await;
    secret_world_app(&world);
    let a = Identity::new(with_secret(&world, RIGHT)).unwrap();
    let token = a.get_token(&[VAULT]).await.unwrap();
    assert_eq!(jwt_claims(token.secret())["appid"], APP);
    // B: same app id and tenant, same shared store and key, wrong secret.
    let b = Identity::new(with_secret(&world, WRONG)).unwrap();
    is_invalid_client(b.get_token(&[VAULT]).await);
    let sent = world.emulator.requests(Endpoint::Token);
    assert_eq!(sent.len(), 2, "the emulator saw B's request");
    assert_eq!(sent[1].form_param("client_secret").as_deref(), Some(WRONG));
    // A is still answered from the cache.
    let again = Identity::new(with_secret(&world, RIGHT)).unwrap();
    assert_eq!(
        again.get_token(&[VAULT]).await.unwrap().secret(),
        token.secret()
    );
    assert_eq!(world.emulator.count(Endpoint::Token), 2);
}

#[tokio::test]
async fn a_wrong_secrets_refusal_is_never_served_to_the_right_secret() {
    let world = World::start().await;
    secret_world_app(&world);
    let b = Identity::new(with_secret(&world, WRONG)).unwrap();
    is_invalid_client(b.get_token(&[VAULT]).await);
    // Remembered for B: another B is refused without a request.
    let b2 = Identity::new(with_secret(&world, WRONG)).unwrap();
    is_invalid_client(b2.get_token(&[VAULT]).await);
    assert_eq!(world.emulator.count(Endpoint::Token), 1);
    // Never for A, which asks at once and gets its token.
    let a = Identity::new(with_secret(&world, RIGHT)).unwrap();
    let token = a.get_token(&[VAULT]).await.unwrap();
    assert_eq!(jwt_claims(token.secret())["appid"], APP);
    assert_eq!(world.emulator.count(Endpoint::Token), 2);
}

#[tokio::test]
async fn the_memory_store_is_private_to_an_identity_unless_shared_on_purpose() {
    let world = World::start().await;
    let private = || {
        let mut config = world.config(Source::Imds);
        config.cache = CacheConfig {
            bucket: world.bucket.clone(),
            ..Default::default()
        };
        Identity::new(config).unwrap()
    };
    private().get_token(&[VAULT]).await.unwrap();
    private().get_token(&[VAULT]).await.unwrap();
    assert_eq!(world.emulator.count(Endpoint::Imds), 2, "nothing shared");
    world
        .identity(Source::Imds)
        .get_token(&[VAULT])
        .await
        .unwrap();
    world
        .identity(Source::Imds)
        .get_token(&[VAULT])
        .await
        .unwrap();
    assert_eq!(world.emulator.count(Endpoint::Imds), 3, "one shared store");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_identities_on_different_endpoints_sharing_redis_never_share_tokens() {
    let (real, rogue) = (World::start().await, World::start().await);
    let redis = RedisServer::start();
    let key = CacheKey::random().unwrap();
    let on = |world: &World| {
        let mut config = world.config(Source::Imds);
        config.cache = CacheConfig {
            store: KeyValueConfig::redis(redis.url()),
            keys: vec![key.clone()],
            bucket: "shared-by-both".into(),
            ..Default::default()
        };
        Identity::new(config).unwrap()
    };
    let from_rogue = on(&rogue).get_token(&[VAULT]).await.unwrap();
    let from_real = on(&real).get_token(&[VAULT]).await.unwrap();
    assert_ne!(
        from_real.secret(),
        from_rogue.secret(),
        "the rogue's token was not planted"
    );
    assert_eq!(real.emulator.count(Endpoint::Imds), 1);
    // Each is still answered from Redis for its own endpoint only.
    assert_eq!(
        on(&real).get_token(&[VAULT]).await.unwrap().secret(),
        from_real.secret()
    );
    assert_eq!(
        on(&rogue).get_token(&[VAULT]).await.unwrap().secret(),
        from_rogue.secret()
    );
    assert_eq!(
        (
            real.emulator.count(Endpoint::Imds),
            rogue.emulator.count(Endpoint::Imds)
        ),
        (1, 1)
    );
}

/// After a claims request, a plain request gets the new token, whichever instance
/// answers it, and the token endpoint sees one request for the challenge.
async fn a_claims_answer_replaces_the_refused_token(fast_path: bool, reuse: bool) {
    let world = World::start().await;
    secret_world_app(&world);
    let mut config = with_secret(&world, RIGHT);
    config.host_fast_path = fast_path;
    config.limits.reuse_instances = reuse;
    config.limits.max_instances = 2;
    let identity = Identity::new(config).unwrap();
    let revoked = identity.get_token(&[VAULT]).await.unwrap();
    // An instance that holds the revoked token in its own cache is busy elsewhere
    // while the challenge is answered, and comes back afterwards.
    let hold = Hold::new();
    world
        .emulator
        .push_faults(Endpoint::Token, [Fault::Hold(hold.clone())]);
    let busy = tokio::spawn({
        let identity = identity.clone();
        async move { identity.get_token(&[STORAGE]).await }
    });
    hold.arrived().await;
    let challenged = identity
        .get_token_for(
            &TokenRequest::new(&[VAULT])
                .claims(r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#),
        )
        .await
        .unwrap();
    assert_ne!(challenged.secret(), revoked.secret());
    hold.release();
    busy.await.unwrap().unwrap();
    for _ in 0..4 {
        let plain = identity.get_token(&[VAULT]).await.unwrap();
        assert_eq!(
            plain.secret(),
            challenged.secret(),
            "fast path {fast_path}, reuse {reuse}"
        );
    }
    assert_eq!(
        world.emulator.count(Endpoint::Token),
        3,
        "vault, storage, the challenge"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claims_answer_replaces_the_refused_token_with_the_fast_path() {
    a_claims_answer_replaces_the_refused_token(true, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claims_answer_replaces_the_refused_token_in_pooled_instances() {
    a_claims_answer_replaces_the_refused_token(false, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claims_answer_replaces_the_refused_token_in_fresh_instances() {
    a_claims_answer_replaces_the_refused_token(false, false).await;
}
