//! Continuous access evaluation: `claims` on token requests, and Key Vault refusing revoked tokens.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use entra_emulator::{AppRegistration, Emulator, Endpoint, UserToken};
use serde_json::{Value, json};

use crate::on_behalf_of::{API, API_URI, USER, VAULT_SCOPE, emulator, obo};
use crate::signing::claims;
use crate::support::{HttpResponse, get, post_form};
use crate::token_endpoint::{assert_aadsts, token_path};
use crate::{METADATA, start};

const CP1: &str = r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#;
const CLIENT: &str = "cae00000-0000-4000-8000-000000000001";

async fn client_credentials(emulator: &Emulator, claims: Option<&str>) -> HttpResponse {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT),
        ("scope", "https://vault.azure.net/.default"),
        ("client_secret", "s"),
    ];
    form.extend(claims.map(|c| ("claims", c)));
    post_form(emulator.addr(), &token_path(emulator.tenant_id()), &form).await
}

fn access_token(response: &HttpResponse) -> String {
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn claims_must_be_a_json_object_and_cp1_marks_the_token() {
    let emulator = start().await;
    emulator.register_app(AppRegistration::new(CLIENT).with_secret("s"));
    for bad in ["not json", "[1]", r#""{}""#] {
        let response = client_credentials(&emulator, Some(bad)).await;
        assert_aadsts(&response, 400, "invalid_request", 9002313);
    }

    let plain = access_token(&client_credentials(&emulator, None).await);
    assert!(claims(&plain).get("xms_cc").is_none());
    let other = access_token(&client_credentials(&emulator, Some(r#"{"id_token":{}}"#)).await);
    assert!(claims(&other).get("xms_cc").is_none());

    let capable = access_token(&client_credentials(&emulator, Some(CP1)).await);
    assert_eq!(claims(&capable)["xms_cc"], json!(["cp1"]));
    let recorded = emulator.requests(Endpoint::Token);
    assert_eq!(
        recorded.last().unwrap().form_param("claims").as_deref(),
        Some(CP1)
    );
}

#[tokio::test]
async fn on_behalf_of_takes_claims_too() {
    let (emulator, _clock) = emulator().await;
    let user_token = emulator.mint_user_token(&UserToken::new(USER, API_URI));
    let response = obo(&emulator, &user_token, VAULT_SCOPE, &[("claims", CP1)]).await;
    assert_eq!(claims(&access_token(&response))["xms_cc"], json!(["cp1"]));
    assert_eq!(claims(&access_token(&response))["azp"], API);
    let response = obo(&emulator, &user_token, VAULT_SCOPE, &[("claims", "cp1")]).await;
    assert_aadsts(&response, 400, "invalid_request", 9002313);
}

async fn read_secret(emulator: &Emulator, token: &str) -> HttpResponse {
    let bearer = format!("Bearer {token}");
    get(
        emulator.addr(),
        "/secrets/db?api-version=7.4",
        &[("Authorization", &bearer)],
    )
    .await
}

/// Asserts Key Vault's CAE refusal and returns the decoded claims challenge.
pub fn assert_revoked(response: &HttpResponse, emulator: &Emulator) -> Value {
    assert_eq!(response.status, 401, "{}", response.text());
    let challenge = response.header("www-authenticate").unwrap();
    let prefix = format!(
        r#"Bearer authorization="https://login.windows.net/{}", resource="https://vault.azure.net", error="insufficient_claims", claims=""#,
        emulator.tenant_id()
    );
    let encoded = challenge
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("{challenge}"));
    let body = response.json();
    assert_eq!(body["error"]["code"], "Unauthorized");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );
    serde_json::from_slice(&STANDARD.decode(encoded).unwrap()).unwrap()
}

async fn imds_vault_token(emulator: &Emulator) -> String {
    let target = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net";
    access_token(&get(emulator.addr(), target, &[METADATA]).await)
}

#[tokio::test]
async fn tokens_issued_before_a_revocation_get_the_claims_challenge_and_later_ones_pass() {
    // The clock does not move: everything happens in the same second.
    let (emulator, _clock) = emulator().await;
    emulator.register_app(AppRegistration::new(CLIENT).with_secret("s"));
    emulator.set_secret("db", "v");
    let user_token = emulator.mint_user_token(&UserToken::new(USER, API_URI));
    let old = [
        imds_vault_token(&emulator).await,
        access_token(&client_credentials(&emulator, Some(CP1)).await),
        access_token(&obo(&emulator, &user_token, VAULT_SCOPE, &[]).await),
    ];
    for token in &old {
        assert_eq!(read_secret(&emulator, token).await.status, 200);
    }

    emulator.revoke_issued_tokens();
    let now = claims(&old[0])["iat"].as_u64().unwrap();
    for token in &old {
        let challenge = assert_revoked(&read_secret(&emulator, token).await, &emulator);
        assert_eq!(
            challenge,
            json!({"access_token": {"nbf": {"essential": true, "value": now.to_string()}}})
        );
    }
    // The user token was issued before the revocation too: on-behalf-of still takes it (Entra decides on its own
    // grounds), and what it issues now is a new, accepted token.
    let fresh = [
        imds_vault_token(&emulator).await,
        access_token(&client_credentials(&emulator, Some(CP1)).await),
        access_token(&obo(&emulator, &user_token, VAULT_SCOPE, &[]).await),
    ];
    for token in &fresh {
        assert_eq!(claims(token)["iat"], now, "same second");
        let response = read_secret(&emulator, token).await;
        assert_eq!(response.status, 200, "{}", response.text());
    }
}
