//! Claims challenges (CAE) and client capabilities, through the real component in the
//! real host: what reaches each token endpoint, and that a claims answer replaces the
//! token a resource refused.

use crate::serve::{get, start};
use crate::support::*;
use entra_emulator::{AppRegistration, Endpoint};
use entra_identity_host::{
    AppOptions, CredentialKind, Error, Identity, IdentityConfig, ManagedIdentityOptions,
    TokenError, TokenRequest,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const APP: &str = "22222222-aaaa-4000-8000-0000000ca3e1";
const SECRET: &str = "cae-s3cret-value-123";

/// What Key Vault's CAE challenge asks for, decoded.
const NBF_CHALLENGE: &str = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;

fn sha256_hex(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Declares `cp1`: this client answers claims challenges.
fn with_capabilities(config: IdentityConfig) -> IdentityConfig {
    config.with_managed_identity(
        ManagedIdentityOptions::default()
            .retry(fast_retries())
            .client_capabilities(&["cp1"]),
    )
}

fn service_fabric(world: &World) -> IdentityConfig {
    let env = [
        (
            "IDENTITY_ENDPOINT",
            world.emulator.service_fabric_endpoint(),
        ),
        (
            "IDENTITY_HEADER",
            world.emulator.identity_header().to_string(),
        ),
        (
            "IDENTITY_SERVER_THUMBPRINT",
            world.emulator.service_fabric_thumbprint().to_string(),
        ),
    ];
    with_capabilities(
        world.config(Source::Imds).with_env(
            env.iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        ),
    )
}

#[tokio::test]
async fn service_fabric_is_told_which_token_was_revoked_and_its_answer_replaces_it() {
    let world = World::start().await;
    let identity = Identity::new(service_fabric(&world)).unwrap();
    let first = identity.get_token(&[VAULT]).await.unwrap();
    // The endpoint keeps answering with the token it cached unless it is told which
    // one the resource refused: without the hash, the "new" token is the revoked one.
    let plain = world.emulator.requests(Endpoint::ServiceFabric);
    assert_eq!(plain.len(), 1);
    assert_eq!(plain[0].query_param("xms_cc"), Some("cp1"));
    assert_eq!(plain[0].query_param("token_sha256_to_refresh"), None);

    let renewed = identity
        .get_token_for(&TokenRequest::new(&[VAULT]).claims(NBF_CHALLENGE))
        .await
        .unwrap();
    let sent = world.emulator.requests(Endpoint::ServiceFabric);
    assert_eq!(sent.len(), 2, "one request answers the challenge");
    assert_eq!(sent[1].query_param("xms_cc"), Some("cp1"));
    assert_eq!(
        sent[1].query_param("token_sha256_to_refresh"),
        Some(sha256_hex(first.secret()).as_str()),
        "the SHA-256 of the refused token, lower-case hex"
    );
    assert_ne!(
        renewed.secret(),
        first.secret(),
        "a new token, not the cached one"
    );

    let later = identity.get_token(&[VAULT]).await.unwrap();
    assert_eq!(
        later.secret(),
        renewed.secret(),
        "the new token replaced the old"
    );
    assert_eq!(world.emulator.count(Endpoint::ServiceFabric), 2);
    let describe = identity.describe().await.unwrap();
    assert!(describe.contains("Service Fabric"), "{describe}");
}

#[tokio::test]
async fn imds_cannot_pass_claims_yet_a_claims_request_still_replaces_the_token() {
    let world = World::start().await;
    let identity = Identity::new(with_capabilities(world.config(Source::Imds))).unwrap();
    let first = identity.get_token(&[VAULT]).await.unwrap();
    let renewed = identity
        .get_token_for(&TokenRequest::new(&[VAULT]).claims(NBF_CHALLENGE))
        .await
        .unwrap();
    assert_ne!(renewed.secret(), first.secret());
    for sent in world.emulator.requests(Endpoint::Imds) {
        for name in ["xms_cc", "token_sha256_to_refresh", "claims"] {
            assert_eq!(sent.query_param(name), None, "IMDS takes no {name}");
        }
    }
    assert_eq!(
        identity.get_token(&[VAULT]).await.unwrap().secret(),
        renewed.secret()
    );
    assert_eq!(world.emulator.count(Endpoint::Imds), 2);
    let describe = identity.describe().await.unwrap();
    assert!(describe.contains("cannot pass claims"), "{describe}");
}

fn client_secret(world: &World, capabilities: &[&str]) -> Identity {
    world
        .emulator
        .register_app(AppRegistration::new(APP).with_secret(SECRET));
    let app = AppOptions::new(world.emulator.tenant_id(), APP)
        .authority_host(world.emulator.base_url())
        .client_capabilities(capabilities);
    let config = world
        .config(Source::Imds)
        .with_credential(CredentialKind::ClientSecret {
            app,
            secret: SECRET.into(),
        })
        .with_env(Default::default());
    Identity::new(config).unwrap()
}

fn sent_claims(world: &World) -> Vec<Option<Value>> {
    world
        .emulator
        .requests(Endpoint::Token)
        .iter()
        .map(|r| {
            r.form_param("claims")
                .map(|c| serde_json::from_str(&c).unwrap())
        })
        .collect()
}

#[tokio::test]
async fn capabilities_reach_entra_on_every_request_merged_with_a_challenge() {
    let world = World::start().await;
    let identity = client_secret(&world, &["cp1"]);
    let token = identity.get_token(&[VAULT]).await.unwrap();
    assert_eq!(jwt_claims(token.secret())["xms_cc"], json!(["cp1"]));
    identity
        .get_token_for(&TokenRequest::new(&[VAULT]).claims(NBF_CHALLENGE))
        .await
        .unwrap();
    assert_eq!(
        sent_claims(&world),
        [
            Some(json!({"access_token": {"xms_cc": {"values": ["cp1"]}}})),
            Some(json!({"access_token": {
                "xms_cc": {"values": ["cp1"]},
                "nbf": {"essential": true, "value": "1700000000"}
            }})),
        ]
    );
}

#[tokio::test]
async fn without_capabilities_only_a_challenge_sends_claims() {
    let world = World::start().await;
    let identity = client_secret(&world, &[]);
    let token = identity.get_token(&[VAULT]).await.unwrap();
    assert_eq!(jwt_claims(token.secret()).get("xms_cc"), None);
    identity
        .get_token_for(&TokenRequest::new(&[VAULT]).claims(NBF_CHALLENGE))
        .await
        .unwrap();
    assert_eq!(
        sent_claims(&world),
        [None, Some(serde_json::from_str(NBF_CHALLENGE).unwrap())]
    );
}

#[tokio::test]
async fn claims_naming_capabilities_cannot_plant_a_cae_token_under_a_credential_without_them() {
    let world = World::start().await;
    let identity = client_secret(&world, &[]);
    let plain = identity.get_token(&[VAULT]).await.unwrap();
    let planting = r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#;
    let err = identity
        .get_token_for(&TokenRequest::new(&[VAULT]).claims(planting))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Token(TokenError::InvalidInput(ref m)) if m.contains("xms_cc")),
        "{err:?}"
    );
    assert_eq!(world.emulator.count(Endpoint::Token), 1, "nothing was sent");
    let later = identity.get_token(&[VAULT]).await.unwrap();
    assert!(
        later.secret() == plain.secret(),
        "the plain token is still served"
    );
    assert_eq!(jwt_claims(later.secret()).get("xms_cc"), None);
}

#[tokio::test]
async fn a_claims_answer_replaces_the_refused_token_for_the_same_scopes_in_any_order() {
    let world = World::start().await;
    let identity = client_secret(&world, &["cp1"]);
    let (ab, ba) = ([VAULT, "offline_access"], ["offline_access", VAULT]);
    let refused = identity.get_token(&ab).await.unwrap();
    let renewed = identity
        .get_token_for(&TokenRequest::new(&ba).claims(NBF_CHALLENGE))
        .await
        .unwrap();
    // Compared, never printed: a failure message must not carry tokens.
    assert!(renewed.secret() != refused.secret(), "a new token");
    assert!(
        identity.get_token(&ab).await.unwrap().secret() == renewed.secret(),
        "the refused token is still served for the scopes in their first order"
    );
    assert_eq!(world.emulator.count(Endpoint::Token), 2);
}

#[tokio::test]
async fn claims_that_are_not_a_json_object_are_refused_before_anything_is_sent() {
    let world = World::start().await;
    let identity = client_secret(&world, &["cp1"]);
    let good = identity.get_token(&[VAULT]).await.unwrap();
    // The challenge's parameter is base64; passing it undecoded is the usual mistake.
    let undecoded = "eyJhY2Nlc3NfdG9rZW4iOnt9fQ==";
    for bad in [undecoded, "[1,2]", "\"cp1\"", "{\"access_token\":"] {
        let err = identity
            .get_token_for(&TokenRequest::new(&[VAULT]).claims(bad))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Token(TokenError::InvalidInput(ref m)) if m.contains("JSON object")),
            "{bad}: {err:?}"
        );
    }
    assert_eq!(world.emulator.count(Endpoint::Token), 1, "nothing was sent");
    assert_eq!(
        identity.get_token(&[VAULT]).await.unwrap().secret(),
        good.secret(),
        "the valid token is still served"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn spin_call_azure_recovers_from_a_revoked_token_with_one_extra_token_request() {
    let world = World::start().await;
    world.emulator.set_secret("db-password", "s3cr3t-value");
    let server = start(
        &world,
        "spin-call-azure",
        &[("vault_url", world.emulator.key_vault_url())],
    )
    .await;
    let addr = server.local_addr();
    let before = get(addr, "/secrets/db-password", None).await;
    assert_eq!(before.status, 200, "{} {}", before.head, before.body);
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);

    world.emulator.revoke_issued_tokens();
    let after = get(addr, "/secrets/db-password", None).await;
    assert_eq!(after.status, 200, "{} {}", after.head, after.body);
    assert_eq!(after.body, "s3cr3t-value");
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        2,
        "exactly one extra token request"
    );
    assert_eq!(
        world.emulator.count(Endpoint::KeyVault),
        3,
        "the refused call and its one retry"
    );

    for _ in 0..10 {
        let a = get(addr, "/secrets/db-password", None).await;
        assert_eq!(a.status, 200, "{}", a.body);
    }
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        2,
        "later requests, in fresh instances, use the new token"
    );
    assert_eq!(world.emulator.count(Endpoint::KeyVault), 13);
}
