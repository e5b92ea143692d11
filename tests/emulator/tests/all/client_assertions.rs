use std::time::{Duration, UNIX_EPOCH};

use entra_emulator::{AppRegistration, Emulator, EmulatorConfig, ManualClock};
use jsonwebtoken::Algorithm;

use crate::signing::{Assertion, CERT, KEY, OTHER_CERT, OTHER_KEY, assertion_form, claims};
use crate::start_with;
use crate::support::post_form;
use crate::token_endpoint::{assert_aadsts, token_path};

const CLIENT: &str = "c1e47000-0000-4000-8000-000000000001";
const NOW: u64 = 1_800_000_000;
const VAULT: &str = "https://vault.azure.net/.default";

async fn emulator() -> (Emulator, ManualClock) {
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(NOW));
    let emulator = start_with(EmulatorConfig {
        clock: std::sync::Arc::new(clock.clone()),
        apps: vec![AppRegistration::new(CLIENT).with_certificate(CERT)],
        ..EmulatorConfig::default()
    })
    .await;
    (emulator, clock)
}

fn assertion(emulator: &Emulator, alg: Algorithm) -> Assertion<'static> {
    Assertion {
        alg,
        client_id: CLIENT,
        audience: emulator.token_endpoint(),
        nbf: NOW,
        exp: NOW + 600,
        jti: Some("6d2f1c1e-0000-4000-8000-000000000001"),
        key: KEY,
        cert: CERT,
    }
}

async fn exchange(emulator: &Emulator, jwt: &str) -> crate::support::HttpResponse {
    post_form(
        emulator.addr(),
        &token_path(emulator.tenant_id()),
        &assertion_form(CLIENT, VAULT, jwt),
    )
    .await
}

#[tokio::test]
async fn certificate_assertions_signed_ps256_or_rs256_succeed() {
    let (emulator, _clock) = emulator().await;
    for alg in [Algorithm::PS256, Algorithm::RS256] {
        let response = exchange(&emulator, &assertion(&emulator, alg).sign()).await;
        assert_eq!(response.status, 200, "{alg:?}: {}", response.text());
        let token = claims(response.json()["access_token"].as_str().unwrap());
        assert_eq!(token["appid"], CLIENT);
        assert_eq!(token["appidacr"], "2");
        assert_eq!(token["aud"], "https://vault.azure.net");
        assert_eq!(token["tid"], emulator.tenant_id());
        assert_eq!(
            token["iss"],
            format!("https://sts.windows.net/{}/", emulator.tenant_id())
        );
    }
    // Entra's own URL is an accepted audience too, as clients configured for the real cloud send it.
    let mut real_aud = assertion(&emulator, Algorithm::PS256);
    real_aud.audience = format!(
        "https://login.microsoftonline.com/{}/oauth2/v2.0/token",
        emulator.tenant_id()
    );
    assert_eq!(exchange(&emulator, &real_aud.sign()).await.status, 200);
}

#[tokio::test]
async fn expired_or_not_yet_valid_assertions_are_aadsts700024() {
    let (emulator, clock) = emulator().await;
    let jwt = assertion(&emulator, Algorithm::PS256).sign();
    clock.advance(Duration::from_secs(601));
    let response = exchange(&emulator, &jwt).await;
    let body = assert_aadsts(&response, 400, "invalid_client", 700024);
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains(
            "Client assertion is not within its valid time range. Current time: 2027-01-15T08:10:01.0000000Z, \
             assertion valid from 2027-01-15T08:00:00.0000000Z, expiry time of assertion \
             2027-01-15T08:10:00.0000000Z."
        ),
        "{description}"
    );
    clock.set(UNIX_EPOCH + Duration::from_secs(NOW - 60));
    assert_aadsts(
        &exchange(&emulator, &jwt).await,
        400,
        "invalid_client",
        700024,
    );

    clock.set(UNIX_EPOCH + Duration::from_secs(NOW));
    let mut too_long = assertion(&emulator, Algorithm::PS256);
    too_long.exp = NOW + 24 * 3600;
    assert_aadsts(
        &exchange(&emulator, &too_long.sign()).await,
        400,
        "invalid_client",
        700024,
    );
}

#[tokio::test]
async fn bad_signatures_unknown_keys_and_wrong_audiences_are_rejected() {
    let (emulator, _clock) = emulator().await;
    // Names the registered certificate but is signed by another key.
    let mut forged = assertion(&emulator, Algorithm::PS256);
    forged.key = OTHER_KEY;
    let body = assert_aadsts(
        &exchange(&emulator, &forged.sign()).await,
        401,
        "invalid_client",
        700027,
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("did not match the expected signature")
    );

    // A certificate the app does not have.
    let mut unknown = assertion(&emulator, Algorithm::RS256);
    (unknown.key, unknown.cert) = (OTHER_KEY, OTHER_CERT);
    let body = assert_aadsts(
        &exchange(&emulator, &unknown.sign()).await,
        401,
        "invalid_client",
        700027,
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("The key was not found.")
    );

    // A tampered payload no longer matches its signature.
    let jwt = assertion(&emulator, Algorithm::PS256).sign();
    let parts: Vec<&str> = jwt.split('.').collect();
    let other = assertion(&emulator, Algorithm::PS256);
    let other = Assertion {
        exp: NOW + 300,
        ..other
    }
    .sign();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        other.split('.').nth(1).unwrap(),
        parts[2]
    );
    assert_aadsts(
        &exchange(&emulator, &tampered).await,
        401,
        "invalid_client",
        700027,
    );

    let mut wrong_aud = assertion(&emulator, Algorithm::PS256);
    wrong_aud.audience = "https://login.microsoftonline.com/common/oauth2/v2.0/token".to_owned();
    assert_aadsts(
        &exchange(&emulator, &wrong_aud.sign()).await,
        401,
        "invalid_client",
        700023,
    );

    let mut no_jti = assertion(&emulator, Algorithm::PS256);
    no_jti.jti = None;
    assert_aadsts(
        &exchange(&emulator, &no_jti.sign()).await,
        400,
        "invalid_request",
        50027,
    );

    assert_aadsts(
        &exchange(&emulator, "not-a-jwt").await,
        400,
        "invalid_request",
        50027,
    );
}
