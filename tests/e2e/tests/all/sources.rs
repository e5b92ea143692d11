//! The managed-identity sources beyond IMDS and App Service: Azure Arc, Cloud Shell,
//! Azure ML. (Service Fabric needs the host's certificate pinning: `pinned_tls`.)

use crate::support::*;
use entra_emulator::{Endpoint, Fault};
use entra_identity_host::{Error, Identity, IdentityConfig, TokenError, UserAssignedId};

fn with_env(world: &World, vars: &[(&str, String)]) -> IdentityConfig {
    world.config(Source::Imds).with_env(
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

fn arc(world: &World) -> IdentityConfig {
    with_env(
        world,
        &[
            ("IDENTITY_ENDPOINT", world.emulator.arc_endpoint()),
            ("IMDS_ENDPOINT", world.emulator.base_url()),
        ],
    )
    .with_arc_token_dir(Some(world.emulator.arc_token_dir().to_path_buf()))
}

#[tokio::test]
async fn azure_arc_answers_the_challenge_with_the_key_file() {
    let world = World::start().await;
    let identity = Identity::new(arc(&world)).unwrap();
    identity.get_token(&[VAULT]).await.unwrap();
    let sent = world.emulator.requests(Endpoint::Arc);
    assert_eq!(sent.len(), 2, "challenge, then the authorised request");
    assert_eq!(sent[0].header("authorization"), None);
    assert_eq!(sent[0].header("metadata"), Some("true"));
    let auth = sent[1].header("authorization").unwrap();
    assert!(auth.starts_with("Basic "), "{auth}");
    assert_eq!(sent[1].query_param("api-version"), Some("2020-06-01"));
    assert!(identity.describe().await.unwrap().contains("Arc"));
}

#[tokio::test]
async fn azure_arc_refuses_a_realm_outside_the_agent_directory() {
    let world = World::start().await;
    world
        .emulator
        .push_faults(Endpoint::Arc, [Fault::ArcRealm("/etc/passwd".into())]);
    let err = Identity::new(arc(&world))
        .unwrap()
        .get_token(&[VAULT])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Token(_)), "{err:?}");
    assert_eq!(
        world.emulator.count(Endpoint::Arc),
        1,
        "the key was never sent"
    );
}

#[tokio::test]
async fn azure_arc_fails_closed_when_a_legacy_agent_ignores_the_user_assigned_identity() {
    let world = World::start().await;
    world.emulator.set_arc_legacy_ignores_user_assigned(true);
    let mut config = arc(&world);
    config.managed_identity.user_assigned = Some(UserAssignedId::ClientId(
        world.emulator.user_assigned()[0].client_id.clone(),
    ));
    let err = Identity::new(config)
        .unwrap()
        .get_token(&[VAULT])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Token(_)), "{err:?}");
}

#[tokio::test]
async fn cloud_shell_posts_the_resource() {
    let world = World::start().await;
    let config = with_env(
        &world,
        &[("MSI_ENDPOINT", world.emulator.cloud_shell_endpoint())],
    );
    Identity::new(config)
        .unwrap()
        .get_token(&["https://management.azure.com/.default"])
        .await
        .unwrap();
    let sent = world.emulator.requests(Endpoint::CloudShell).pop().unwrap();
    assert_eq!(sent.method, "POST");
    assert_eq!(
        sent.form_param("resource").as_deref(),
        Some("https://management.azure.com")
    );
    assert_eq!(sent.header("metadata"), Some("true"));
}

#[tokio::test]
async fn azure_ml_sends_its_secret_and_clientid() {
    let world = World::start().await;
    let config = with_env(
        &world,
        &[
            ("MSI_ENDPOINT", world.emulator.azure_ml_endpoint()),
            ("MSI_SECRET", world.emulator.azure_ml_secret().to_string()),
            (
                "DEFAULT_IDENTITY_CLIENT_ID",
                world.emulator.system_assigned().client_id.clone(),
            ),
        ],
    );
    Identity::new(config)
        .unwrap()
        .get_token(&[VAULT])
        .await
        .unwrap();
    let sent = world.emulator.requests(Endpoint::AzureMl).pop().unwrap();
    assert_eq!(
        sent.header("secret"),
        Some(world.emulator.azure_ml_secret())
    );
    assert_eq!(
        sent.query_param("clientid"),
        Some(world.emulator.system_assigned().client_id.as_str())
    );
    assert_eq!(sent.query_param("api-version"), Some("2017-09-01"));
}

#[tokio::test]
async fn azure_ml_refuses_an_object_id() {
    let world = World::start().await;
    let mut config = with_env(
        &world,
        &[
            ("MSI_ENDPOINT", world.emulator.azure_ml_endpoint()),
            ("MSI_SECRET", "s".into()),
        ],
    );
    config.managed_identity.user_assigned = Some(UserAssignedId::ObjectId("o".into()));
    let err = Identity::new(config)
        .unwrap()
        .get_token(&[VAULT])
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Token(TokenError::InvalidInput(_))),
        "{err:?}"
    );
    assert_eq!(world.emulator.count(Endpoint::AzureMl), 0);
}

fn service_fabric(world: &World, thumbprint: &str) -> IdentityConfig {
    with_env(
        world,
        &[
            (
                "IDENTITY_ENDPOINT",
                world.emulator.service_fabric_endpoint(),
            ),
            (
                "IDENTITY_HEADER",
                world.emulator.identity_header().to_string(),
            ),
            ("IDENTITY_SERVER_THUMBPRINT", thumbprint.to_string()),
        ],
    )
}

#[tokio::test]
async fn service_fabric_is_reached_over_tls_pinned_to_its_thumbprint() {
    let world = World::start().await;
    let thumbprint = world.emulator.service_fabric_thumbprint().to_string();
    Identity::new(service_fabric(&world, &thumbprint))
        .unwrap()
        .get_token(&[VAULT])
        .await
        .unwrap();
    let sent = world
        .emulator
        .requests(Endpoint::ServiceFabric)
        .pop()
        .unwrap();
    assert_eq!(
        sent.header("secret"),
        Some(world.emulator.identity_header())
    );
    assert_eq!(sent.query_param("api-version"), Some("2019-07-01-preview"));
}

#[tokio::test]
async fn service_fabric_with_the_wrong_thumbprint_sends_nothing() {
    let world = World::start().await;
    let wrong = "0".repeat(40);
    let err = Identity::new(service_fabric(&world, &wrong))
        .unwrap()
        .get_token(&[VAULT])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Token(_)), "{err:?}");
    assert_eq!(
        world.emulator.count(Endpoint::ServiceFabric),
        0,
        "no request, no secret, reached the server"
    );
}
