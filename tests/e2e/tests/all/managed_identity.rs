//! Tokens from IMDS and App Service, with the documented requests on the wire.

use crate::support::*;
use entra_emulator::Endpoint;
use entra_identity_host::{Error, TokenError, UserAssignedId};
use jsonwebtoken::{DecodingKey, Validation, jwk::JwkSet};

#[tokio::test]
async fn imds_token_with_the_documented_request() {
    let world = World::start().await;
    let identity = world.identity(Source::Imds);
    let token = identity.get_token(&[VAULT]).await.unwrap();

    assert_eq!(world.emulator.count(Endpoint::Imds), 1);
    let sent = &world.emulator.requests(Endpoint::Imds)[0];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("GET", "/metadata/identity/oauth2/token")
    );
    assert_eq!(sent.header("metadata"), Some("true"));
    assert_eq!(sent.query_param("api-version"), Some("2018-02-01"));
    assert_eq!(
        sent.query_param("resource"),
        Some("https://vault.azure.net")
    );
    assert_eq!(
        sent.query.len(),
        2,
        "no identity selector for system-assigned: {:?}",
        sent.query
    );

    // A real RS256 token the emulator's JWKS verifies, for the resource asked for.
    let jwks: JwkSet = serde_json::from_value(world.emulator.jwks()).unwrap();
    let kid = jsonwebtoken::decode_header(token.secret())
        .unwrap()
        .kid
        .unwrap();
    let key = DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap();
    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&["https://vault.azure.net"]);
    validation.validate_exp = false; // the emulator's clock, not this machine's, is "now"
    let claims = jsonwebtoken::decode::<serde_json::Value>(&token.secret(), &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(
        claims["oid"],
        world.emulator.system_assigned().object_id.as_str()
    );
    assert_eq!(token.expires_on(), claims["exp"].as_u64().unwrap());
    assert_eq!(token.token_type(), "Bearer");
    assert!(identity.describe().await.unwrap().contains("IMDS"));
}

#[tokio::test]
async fn app_service_token_carries_the_identity_header() {
    let world = World::start().await;
    let identity = world.identity(Source::AppService);
    identity.get_token(&[VAULT]).await.unwrap();
    let sent = &world.emulator.requests(Endpoint::AppService)[0];
    assert_eq!(sent.path, "/msi/token");
    assert_eq!(
        sent.header("x-identity-header"),
        Some(world.emulator.identity_header())
    );
    assert_eq!(sent.query_param("api-version"), Some("2019-08-01"));
    assert_eq!(
        sent.query_param("resource"),
        Some("https://vault.azure.net")
    );
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        0,
        "App Service detected from the environment"
    );
}

#[tokio::test]
async fn user_assigned_identities_are_selected_with_each_sources_parameter() {
    let world = World::start().await;
    let uami = world.emulator.user_assigned()[0].clone();
    let cases = [
        (
            UserAssignedId::ClientId(uami.client_id.clone()),
            "client_id",
            "client_id",
        ),
        (
            UserAssignedId::ObjectId(uami.object_id.clone()),
            "object_id",
            "object_id",
        ),
        (
            UserAssignedId::ResourceId(uami.resource_id.clone()),
            "msi_res_id",
            "mi_res_id",
        ),
    ];
    for (id, imds_param, app_param) in cases {
        for (source, endpoint, param) in [
            (Source::Imds, Endpoint::Imds, imds_param),
            (Source::AppService, Endpoint::AppService, app_param),
        ] {
            let mut config = world.config(source);
            config.managed_identity.user_assigned = Some(id.clone());
            let token = entra_identity_host::Identity::new(config)
                .unwrap()
                .get_token(&[VAULT])
                .await
                .unwrap();
            let claims = jwt_claims(token.secret());
            assert_eq!(claims["appid"], uami.client_id.as_str(), "{id:?}");
            assert_eq!(claims["oid"], uami.object_id.as_str());
            let sent = world.emulator.requests(endpoint).pop().unwrap();
            assert!(
                sent.query_param(param).is_some(),
                "{param} in {:?}",
                sent.query
            );
        }
    }
}

#[tokio::test]
async fn an_unknown_identity_is_refused_and_the_error_names_it() {
    let world = World::start().await;
    for source in [Source::Imds, Source::AppService] {
        let mut config = world.config(source);
        config.managed_identity = config
            .managed_identity
            .user_assigned(UserAssignedId::ClientId(
                "00000000-dead-beef-0000-000000000000".into(),
            ));
        let err = entra_identity_host::Identity::new(config)
            .unwrap()
            .get_token(&[VAULT])
            .await
            .unwrap_err();
        match err {
            Error::Token(TokenError::AuthenticationFailed(e)) => {
                assert_eq!(e.status, 400);
                assert!(
                    e.context.contains("00000000-dead-beef-0000-000000000000"),
                    "{e:?}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        1,
        "400 is not retried"
    );
    assert_eq!(world.emulator.count(Endpoint::AppService), 1);
}

#[tokio::test]
async fn more_than_one_scope_is_invalid_input_and_sends_nothing() {
    let world = World::start().await;
    let err = world
        .identity(Source::Imds)
        .get_token(&[VAULT, "https://storage.azure.com/.default"])
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Token(TokenError::InvalidInput(_))),
        "{err:?}"
    );
    assert_eq!(world.emulator.count(Endpoint::Imds), 0);
}
