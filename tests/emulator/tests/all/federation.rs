use std::time::{Duration, SystemTime};

use entra_emulator::{AppRegistration, Emulator, EmulatorConfig, FederatedCredential, ManualClock};

use crate::signing::{assertion_form, claims};
use crate::support::{get, post_form};
use crate::token_endpoint::{assert_aadsts, token_path};
use crate::{METADATA, start_with};

const APP: &str = "f1c00000-0000-4000-8000-000000000001";
const VAULT: &str = "https://vault.azure.net/.default";
const HOUR: Duration = Duration::from_secs(3600);

async fn emulator() -> (Emulator, ManualClock) {
    let clock = ManualClock::new(SystemTime::now());
    let emulator = start_with(EmulatorConfig {
        clock: std::sync::Arc::new(clock.clone()),
        ..EmulatorConfig::default()
    })
    .await;
    (emulator, clock)
}

async fn exchange(emulator: &Emulator, jwt: &str) -> crate::support::HttpResponse {
    post_form(
        emulator.addr(),
        &token_path(emulator.tenant_id()),
        &assertion_form(APP, VAULT, jwt),
    )
    .await
}

fn trusting(emulator: &Emulator, subject: &str) -> AppRegistration {
    AppRegistration::new(APP)
        .with_federated_credential(FederatedCredential::new(emulator.oidc_issuer(), subject))
}

#[tokio::test]
async fn service_account_token_is_exchanged_when_a_credential_trusts_it() {
    let (emulator, _clock) = emulator().await;
    emulator.register_app(trusting(&emulator, "system:serviceaccount:apps:worker"));
    let sa_token = emulator.mint_service_account_token("apps", "worker", HOUR);
    let response = exchange(&emulator, &sa_token).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let token = claims(response.json()["access_token"].as_str().unwrap());
    assert_eq!(token["appid"], APP);
    assert_eq!(token["appidacr"], "2");
    assert_eq!(token["aud"], "https://vault.azure.net");
}

#[tokio::test]
async fn unmatched_issuer_or_subject_is_aadsts70021() {
    let (emulator, _clock) = emulator().await;
    emulator.register_app(trusting(&emulator, "system:serviceaccount:apps:worker"));
    let other_sa = emulator.mint_service_account_token("apps", "intruder", HOUR);
    let body = assert_aadsts(
        &exchange(&emulator, &other_sa).await,
        400,
        "invalid_request",
        70021,
    );
    let description = body["error_description"].as_str().unwrap();
    let expected = format!(
        "AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: \
         '{}'. Assertion Subject: 'system:serviceaccount:apps:intruder'. Assertion Audience: \
         'api://AzureADTokenExchange'.",
        emulator.oidc_issuer()
    );
    assert!(description.starts_with(&expected), "{description}");

    // The right subject from an issuer the app does not trust.
    emulator.register_app(AppRegistration::new(APP).with_federated_credential(
        FederatedCredential::new(
            "https://oidc.example/cluster",
            "system:serviceaccount:apps:worker",
        ),
    ));
    let sa_token = emulator.mint_service_account_token("apps", "worker", HOUR);
    assert_aadsts(
        &exchange(&emulator, &sa_token).await,
        400,
        "invalid_request",
        70021,
    );
}

#[tokio::test]
async fn audience_signature_expiry_and_lifetime_are_checked() {
    let (emulator, clock) = emulator().await;
    let subject = "system:serviceaccount:apps:worker";
    let mut credential = FederatedCredential::new(emulator.oidc_issuer(), subject);
    credential.audience = "api://AzureADTokenExchangeUSGov".to_owned();
    emulator.register_app(AppRegistration::new(APP).with_federated_credential(credential));
    let sa_token = emulator.mint_service_account_token("apps", "worker", HOUR);
    assert_aadsts(
        &exchange(&emulator, &sa_token).await,
        400,
        "invalid_request",
        700212,
    );

    emulator.register_app(trusting(&emulator, subject));
    let mut parts: Vec<String> = sa_token.split('.').map(str::to_owned).collect();
    parts[2] = parts[2].chars().rev().collect();
    let forged = parts.join(".");
    assert_aadsts(
        &exchange(&emulator, &forged).await,
        401,
        "invalid_client",
        700027,
    );

    clock.advance(HOUR + Duration::from_secs(1));
    let body = assert_aadsts(
        &exchange(&emulator, &sa_token).await,
        400,
        "invalid_client",
        700024,
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("Client assertion is not within its valid time range. Current time: ")
    );

    let long_lived = emulator.mint_service_account_token("apps", "worker", 26 * HOUR);
    assert_aadsts(
        &exchange(&emulator, &long_lived).await,
        400,
        "invalid_request",
        70023,
    );
}

#[tokio::test]
async fn trusted_issuer_without_known_keys_is_aadsts50166() {
    let (emulator, _clock) = emulator().await;
    // Re-label a valid token's issuer; the app trusts that issuer, but the emulator cannot fetch its keys.
    let sa_token = emulator.mint_service_account_token("apps", "worker", HOUR);
    let mut payload = claims(&sa_token);
    payload["iss"] = "https://oidc.example/cluster".into();
    emulator.register_app(AppRegistration::new(APP).with_federated_credential(
        FederatedCredential::new(
            "https://oidc.example/cluster",
            "system:serviceaccount:apps:worker",
        ),
    ));
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload.to_string());
    let parts: Vec<&str> = sa_token.split('.').collect();
    let relabelled = format!("{}.{encoded}.{}", parts[0], parts[2]);
    assert_aadsts(
        &exchange(&emulator, &relabelled).await,
        400,
        "invalid_request",
        50166,
    );
}

#[tokio::test]
async fn managed_identity_token_is_a_federated_credential() {
    let (emulator, _clock) = emulator().await;
    let uami = emulator.user_assigned()[0].clone();
    let target = format!(
        "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=api://AzureADTokenExchange&client_id={}",
        uami.client_id
    );
    let mi_token = get(emulator.addr(), &target, &[METADATA]).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(claims(&mi_token)["aud"], "api://AzureADTokenExchange");

    // Not yet trusted.
    emulator.register_app(AppRegistration::new(APP));
    assert_aadsts(
        &exchange(&emulator, &mi_token).await,
        400,
        "invalid_request",
        70021,
    );

    // Trusted under the v2.0 issuer Entra uses for managed identity FICs; the emulator's v1 `iss` matches it.
    emulator.register_app(AppRegistration::new(APP).with_federated_credential(
        FederatedCredential::new(
            format!(
                "https://login.microsoftonline.com/{}/v2.0",
                emulator.tenant_id()
            ),
            &uami.object_id,
        ),
    ));
    let response = exchange(&emulator, &mi_token).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        claims(response.json()["access_token"].as_str().unwrap())["appid"],
        APP
    );

    // A token signed before a key rotation still verifies.
    emulator.rotate_signing_key();
    assert_eq!(exchange(&emulator, &mi_token).await.status, 200);
}
