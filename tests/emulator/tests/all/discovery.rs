use std::time::{Duration, UNIX_EPOCH};

use entra_emulator::{AppRegistration, Emulator, EmulatorConfig, Endpoint, ManualClock};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::support::{get, post_form};
use crate::{MANAGEMENT, METADATA, imds_target, start, start_with};

/// Verifies `token` against the JWKS the emulator serves over HTTP, as a resource server would.
async fn verify(emulator: &Emulator, token: &str, audience: &str) -> Value {
    let jwks_path = format!("/{}/discovery/v2.0/keys", emulator.tenant_id());
    let jwks: JwkSet =
        serde_json::from_slice(&get(emulator.addr(), &jwks_path, &[]).await.body).unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let kid = header.kid.expect("kid");
    assert_eq!(header.x5t.as_deref(), Some(kid.as_str()));
    let jwk = jwks.find(&kid).expect("token's key is published");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[format!("https://sts.windows.net/{}/", emulator.tenant_id())]);
    let data =
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .expect("token verifies");
    data.claims
}

#[tokio::test]
async fn issued_tokens_verify_against_the_served_jwks() {
    let emulator = start().await;
    let body = get(emulator.addr(), &imds_target(""), &[METADATA])
        .await
        .json();
    let claims = verify(
        &emulator,
        body["access_token"].as_str().unwrap(),
        MANAGEMENT,
    )
    .await;
    let sami = emulator.system_assigned();
    assert_eq!(claims["appid"], sami.client_id.as_str());
    assert_eq!(claims["oid"], sami.object_id.as_str());
    assert_eq!(claims["sub"], sami.object_id.as_str());
    assert_eq!(claims["xms_mirid"], sami.resource_id.as_str());
    assert_eq!(claims["tid"], emulator.tenant_id());
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(
        claims["exp"].as_u64().unwrap(),
        body["expires_on"].as_str().unwrap().parse::<u64>().unwrap()
    );
    assert!(claims["uti"].is_string());

    emulator.register_app(AppRegistration::new("app-client").with_secret("s"));
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "app-client"),
        ("scope", "api://AzureADTokenExchange/.default"),
        ("client_secret", "s"),
    ];
    let token_path = format!("/{}/oauth2/v2.0/token", emulator.tenant_id());
    let body = post_form(emulator.addr(), &token_path, &form).await.json();
    let claims = verify(
        &emulator,
        body["access_token"].as_str().unwrap(),
        "api://AzureADTokenExchange",
    )
    .await;
    assert_eq!(claims["appid"], "app-client");
    assert!(claims.get("xms_mirid").is_none());
}

#[tokio::test]
async fn manual_clock_controls_exp_and_expires_on() {
    let start_time = UNIX_EPOCH + Duration::from_secs(2_000_000_000);
    let clock = ManualClock::new(start_time);
    let emulator = start_with(EmulatorConfig {
        clock: std::sync::Arc::new(clock.clone()),
        token_lifetime: Duration::from_secs(600),
        ..EmulatorConfig::default()
    })
    .await;
    let token_of = |body: &Value| {
        let payload = body["access_token"]
            .as_str()
            .unwrap()
            .split('.')
            .nth(1)
            .unwrap()
            .to_owned();
        use base64::Engine as _;
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice::<Value>(&claims).unwrap()
    };
    let body = get(emulator.addr(), &imds_target(""), &[METADATA])
        .await
        .json();
    assert_eq!(body["expires_on"], "2000000600");
    let claims = token_of(&body);
    assert_eq!(
        (
            claims["iat"].as_u64(),
            claims["nbf"].as_u64(),
            claims["exp"].as_u64()
        ),
        (
            Some(2_000_000_000),
            Some(2_000_000_000),
            Some(2_000_000_600)
        )
    );

    clock.set(start_time + Duration::from_secs(3600));
    let body = get(emulator.addr(), &imds_target(""), &[METADATA])
        .await
        .json();
    assert_eq!(body["expires_on"], "2000004200");
    assert_eq!(token_of(&body)["exp"], 2_000_004_200_u64);
}

#[tokio::test]
async fn rotation_publishes_both_keys_and_signs_with_the_new_one() {
    let emulator = start().await;
    let old = get(emulator.addr(), &imds_target(""), &[METADATA])
        .await
        .json();
    let old_token = old["access_token"].as_str().unwrap();
    let old_kid = jsonwebtoken::decode_header(old_token).unwrap().kid.unwrap();
    assert_eq!(emulator.jwks()["keys"].as_array().unwrap().len(), 1);

    emulator.rotate_signing_key();
    let new = get(emulator.addr(), &imds_target(""), &[METADATA])
        .await
        .json();
    let new_token = new["access_token"].as_str().unwrap();
    let new_kid = jsonwebtoken::decode_header(new_token).unwrap().kid.unwrap();
    assert_ne!(old_kid, new_kid);
    let kids: Vec<String> = emulator.jwks()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kids, [new_kid, old_kid]);
    verify(&emulator, old_token, MANAGEMENT).await;
    verify(&emulator, new_token, MANAGEMENT).await;
}

#[tokio::test]
async fn jwks_is_served_under_every_entra_path() {
    let emulator = start().await;
    let tenant = emulator.tenant_id().to_owned();
    let served = get(
        emulator.addr(),
        &format!("/{tenant}/discovery/v2.0/keys"),
        &[],
    )
    .await
    .json();
    assert_eq!(served, emulator.jwks());
    let key = &served["keys"][0];
    for field in ["kid", "x5t", "n"] {
        assert!(
            key[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field}"
        );
    }
    assert_eq!(
        (
            key["kty"].as_str(),
            key["use"].as_str(),
            key["e"].as_str(),
            key["alg"].as_str()
        ),
        (Some("RSA"), Some("sig"), Some("AQAB"), Some("RS256"))
    );
    assert_eq!(
        key["issuer"],
        format!("https://login.microsoftonline.com/{tenant}/v2.0")
    );
    for path in ["/common/discovery/keys", "/common/discovery/v2.0/keys"] {
        let response = get(emulator.addr(), path, &[]).await;
        assert_eq!(response.status, 200, "{path}");
        assert_eq!(response.json()["keys"][0]["kid"], key["kid"]);
    }
    assert_eq!(
        get(emulator.addr(), "/not-a-tenant/discovery/v2.0/keys", &[])
            .await
            .status,
        400
    );
    assert_eq!(emulator.count(Endpoint::Jwks), 4);
}

#[tokio::test]
async fn openid_configuration_points_at_the_emulator() {
    let emulator = start().await;
    let tenant = emulator.tenant_id().to_owned();
    let base = emulator.base_url();
    let v2 = get(
        emulator.addr(),
        &format!("/{tenant}/v2.0/.well-known/openid-configuration"),
        &[],
    )
    .await
    .json();
    assert_eq!(
        v2["issuer"],
        format!("https://login.microsoftonline.com/{tenant}/v2.0")
    );
    assert_eq!(
        v2["jwks_uri"],
        format!("{base}/{tenant}/discovery/v2.0/keys")
    );
    assert_eq!(
        v2["token_endpoint"],
        format!("{base}/{tenant}/oauth2/v2.0/token")
    );
    assert_eq!(
        v2["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    let v1 = get(
        emulator.addr(),
        &format!("/{tenant}/.well-known/openid-configuration"),
        &[],
    )
    .await
    .json();
    assert_eq!(v1["issuer"], format!("https://sts.windows.net/{tenant}/"));
    assert_eq!(v1["jwks_uri"], format!("{base}/common/discovery/keys"));
    assert_eq!(emulator.count(Endpoint::OpenIdConfiguration), 2);
}
