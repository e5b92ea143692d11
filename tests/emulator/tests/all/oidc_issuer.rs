use std::time::{Duration, UNIX_EPOCH};

use entra_emulator::{EmulatorConfig, Endpoint, ManualClock};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::support::{get, post_form};
use crate::{start, start_with};

#[tokio::test]
async fn discovery_and_jwks_verify_a_minted_service_account_token() {
    let emulator = start().await;
    let issuer = emulator.oidc_issuer();
    assert_eq!(issuer, format!("{}/oidc", emulator.base_url()));

    let config = get(
        emulator.addr(),
        "/oidc/.well-known/openid-configuration",
        &[],
    )
    .await
    .json();
    assert_eq!(config["issuer"], issuer.as_str());
    assert_eq!(config["jwks_uri"], format!("{issuer}/openid/v1/jwks"));
    assert_eq!(config["id_token_signing_alg_values_supported"][0], "RS256");

    let jwks: JwkSet =
        serde_json::from_slice(&get(emulator.addr(), "/oidc/openid/v1/jwks", &[]).await.body)
            .unwrap();
    assert_eq!(
        serde_json::to_value(&jwks).unwrap(),
        serde_json::to_value(serde_json::from_value::<JwkSet>(emulator.oidc_jwks()).unwrap())
            .unwrap()
    );

    let token = emulator.mint_service_account_token("ns", "sa", Duration::from_secs(3600));
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let jwk = jwks.find(&header.kid.unwrap()).expect("kid is published");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&issuer]);
    validation.set_audience(&["api://AzureADTokenExchange"]);
    let claims =
        jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .expect("verifies")
            .claims;
    assert_eq!(claims["sub"], "system:serviceaccount:ns:sa");
    assert_eq!(
        claims["aud"],
        serde_json::json!(["api://AzureADTokenExchange"])
    );
    assert_eq!(claims["kubernetes.io"]["namespace"], "ns");
    assert_eq!(claims["kubernetes.io"]["serviceaccount"]["name"], "sa");
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        3600
    );

    // The Entra JWKS does not know the OIDC issuer's key, and vice versa.
    let entra = emulator.jwks();
    assert!(
        entra["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["kid"] != jwk.common.key_id.as_deref().unwrap())
    );
    assert_eq!(emulator.count(Endpoint::OidcIssuer), 2);

    let response = post_form(emulator.addr(), "/oidc/openid/v1/jwks", &[]).await;
    assert_eq!(response.status, 405);
}

#[tokio::test]
async fn service_account_tokens_follow_the_clock_and_files_rotate() {
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(2_000_000_000));
    let emulator = start_with(EmulatorConfig {
        clock: std::sync::Arc::new(clock.clone()),
        ..EmulatorConfig::default()
    })
    .await;
    let dir = std::env::temp_dir().join(format!("emu-wi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = emulator
        .write_federated_token_file(&dir, "ns", "sa", Duration::from_secs(3600))
        .unwrap();
    assert!(path.ends_with("azure-identity-token"));
    let first = std::fs::read_to_string(&path).unwrap();
    assert_eq!(crate::signing::claims(&first)["iat"], 2_000_000_000_u64);
    clock.advance(Duration::from_secs(60));
    emulator
        .write_federated_token_file(&dir, "ns", "sa", Duration::from_secs(3600))
        .unwrap();
    let second = std::fs::read_to_string(&path).unwrap();
    assert_eq!(crate::signing::claims(&second)["iat"], 2_000_000_060_u64);
    std::fs::remove_dir_all(&dir).unwrap();
}
