use std::sync::Arc;
use std::time::{Duration, SystemTime};

use entra_emulator::{Emulator, EmulatorConfig, Endpoint, Fault, ManualClock};

use crate::support::{HttpResponse, get, send};
use crate::{MANAGEMENT, METADATA, start, start_with};

const VAULT: &str = "https://vault.azure.net";

/// A Key Vault token from the emulator's own IMDS, for `resource`.
async fn token_for(emulator: &Emulator, resource: &str) -> String {
    let resource = form_urlencoded::byte_serialize(resource.as_bytes()).collect::<String>();
    let target =
        format!("/metadata/identity/oauth2/token?api-version=2018-02-01&resource={resource}");
    let response = get(emulator.addr(), &target, &[METADATA]).await;
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()["access_token"].as_str().unwrap().to_owned()
}

async fn read_secret(emulator: &Emulator, path: &str, token: Option<&str>) -> HttpResponse {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .as_deref()
        .map(|b| ("Authorization", b))
        .into_iter()
        .collect();
    get(
        emulator.addr(),
        &format!("{path}?api-version=7.4"),
        &headers,
    )
    .await
}

fn assert_challenged(response: &HttpResponse, emulator: &Emulator, message_part: &str) {
    assert_eq!(response.status, 401, "{}", response.text());
    assert_eq!(
        response.header("www-authenticate").unwrap(),
        format!(
            r#"Bearer authorization="https://login.windows.net/{}", resource="https://vault.azure.net""#,
            emulator.tenant_id()
        )
    );
    let body = response.json();
    assert_eq!(body["error"]["code"], "Unauthorized");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(message_part), "{message}");
}

#[tokio::test]
async fn valid_token_reads_the_newest_version_or_the_one_named() {
    let emulator = start().await;
    let first = emulator.set_secret("Db-Password", "one");
    let second = emulator.set_secret("db-password", "two");
    let token = token_for(&emulator, VAULT).await;

    for path in ["/secrets/db-password", "/secrets/DB-PASSWORD/"] {
        let response = read_secret(&emulator, path, Some(&token)).await;
        assert_eq!(response.status, 200, "{}", response.text());
        assert_eq!(
            response.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        let body = response.json();
        assert_eq!(body["value"], "two");
        assert_eq!(
            body["id"],
            format!("{}/secrets/Db-Password/{second}", emulator.key_vault_url())
        );
        assert_eq!(body["attributes"]["enabled"], true);
        assert!(body["attributes"]["created"].is_u64());
    }
    let old = read_secret(
        &emulator,
        &format!("/secrets/db-password/{first}"),
        Some(&token),
    )
    .await;
    assert_eq!(old.json()["value"], "one");

    // A token for the resource with a trailing slash is accepted too, as Key Vault does.
    let slashed = token_for(&emulator, "https://vault.azure.net/").await;
    let response = read_secret(&emulator, "/secrets/db-password", Some(&slashed)).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(emulator.count(Endpoint::KeyVault), 4);
}

#[tokio::test]
async fn missing_or_malformed_authorization_is_challenged() {
    let emulator = start().await;
    emulator.set_secret("s", "v");
    let response = read_secret(&emulator, "/secrets/s", None).await;
    assert_challenged(&response, &emulator, "AKV10000");
    for header in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer not-a-jwt"] {
        let response = get(
            emulator.addr(),
            "/secrets/s?api-version=7.4",
            &[("Authorization", header)],
        )
        .await;
        assert_eq!(response.status, 401, "{header}");
        assert!(response.header("www-authenticate").is_some());
    }
    // Authentication comes before the lookup: an unknown secret is not revealed to an anonymous caller.
    let response = read_secret(&emulator, "/secrets/unknown", None).await;
    assert_eq!(response.status, 401);
    assert_eq!(emulator.count(Endpoint::KeyVault), 5);
}

#[tokio::test]
async fn expired_token_is_challenged_by_the_emulator_clock() {
    let clock = ManualClock::new(SystemTime::now());
    let emulator = start_with(EmulatorConfig {
        clock: Arc::new(clock.clone()),
        token_lifetime: Duration::from_secs(3600),
        ..EmulatorConfig::default()
    })
    .await;
    emulator.set_secret("s", "v");
    let token = token_for(&emulator, VAULT).await;
    clock.advance(Duration::from_secs(3599));
    assert_eq!(
        read_secret(&emulator, "/secrets/s", Some(&token))
            .await
            .status,
        200
    );
    clock.advance(Duration::from_secs(1));
    let response = read_secret(&emulator, "/secrets/s", Some(&token)).await;
    assert_challenged(&response, &emulator, "TokenExpired");

    // A token the token service issued already expired is refused at once.
    emulator.push_faults(Endpoint::Imds, [Fault::ExpiredToken]);
    let expired = token_for(&emulator, VAULT).await;
    let response = read_secret(&emulator, "/secrets/s", Some(&expired)).await;
    assert_challenged(&response, &emulator, "TokenExpired");
}

#[tokio::test]
async fn token_for_another_audience_is_challenged() {
    let emulator = start().await;
    emulator.set_secret("s", "v");
    let token = token_for(&emulator, MANAGEMENT).await;
    let response = read_secret(&emulator, "/secrets/s", Some(&token)).await;
    assert_challenged(&response, &emulator, "AKV10022: Invalid audience");
    // The body names the audience it found, never the token.
    assert!(response.text().contains(MANAGEMENT));
    assert!(!response.text().contains(&token));
}

#[tokio::test]
async fn tampered_or_foreign_signature_is_challenged() {
    let emulator = start().await;
    emulator.set_secret("s", "v");
    let token = token_for(&emulator, VAULT).await;

    // Same header and claims, one signature character changed.
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let response = read_secret(&emulator, "/secrets/s", Some(&tampered)).await;
    assert_challenged(&response, &emulator, "signature");

    // Claims changed under the original signature: a forged audience does not pass either.
    let mut parts: Vec<&str> = token.split('.').collect();
    let other = token_for(&emulator, "https://vault.azure.net/").await;
    parts[1] = other.split('.').nth(1).unwrap();
    let spliced = parts.join(".");
    let response = read_secret(&emulator, "/secrets/s", Some(&spliced)).await;
    assert_challenged(&response, &emulator, "signature");

    // Signed by a key that is not one of the tenant's (the OIDC issuer's).
    let foreign = emulator.mint_service_account_token("default", "app", Duration::from_secs(3600));
    let response = read_secret(&emulator, "/secrets/s", Some(&foreign)).await;
    assert_challenged(&response, &emulator, "signature");
}

#[tokio::test]
async fn tokens_signed_before_a_rotation_still_verify() {
    let emulator = start().await;
    emulator.set_secret("s", "v");
    let token = token_for(&emulator, VAULT).await;
    emulator.rotate_signing_key();
    let response = read_secret(&emulator, "/secrets/s", Some(&token)).await;
    assert_eq!(response.status, 200, "{}", response.text());
}

#[tokio::test]
async fn unknown_secret_or_version_is_secret_not_found() {
    let emulator = start().await;
    emulator.set_secret("known", "v");
    let token = token_for(&emulator, VAULT).await;
    for (path, id) in [
        ("/secrets/unknown", "unknown"),
        (
            "/secrets/known/00000000000000000000000000000000",
            "known/00000000000000000000000000000000",
        ),
    ] {
        let response = read_secret(&emulator, path, Some(&token)).await;
        assert_eq!(response.status, 404, "{}", response.text());
        let body = response.json();
        assert_eq!(body["error"]["code"], "SecretNotFound");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("A secret with (name/id) {id} was not found")),
            "{message}"
        );
    }
}

#[tokio::test]
async fn api_version_and_method_are_checked_after_authentication() {
    let emulator = start().await;
    emulator.set_secret("s", "v");
    let token = token_for(&emulator, VAULT).await;
    let bearer = format!("Bearer {token}");
    let auth = [("Authorization", bearer.as_str())];
    let response = get(emulator.addr(), "/secrets/s", &auth).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error"]["code"], "BadParameter");
    let response = send(
        emulator.addr(),
        "DELETE",
        "/secrets/s?api-version=7.4",
        &auth,
        b"",
    )
    .await;
    assert_eq!(response.status, 405);
}

#[tokio::test]
async fn faults_use_key_vault_error_bodies() {
    let emulator = start().await;
    emulator.set_secret("s", "v");
    let token = token_for(&emulator, VAULT).await;
    emulator.push_faults(
        Endpoint::KeyVault,
        [
            Fault::TooManyRequests {
                retry_after: Some("3".to_owned()),
            },
            Fault::Status(401),
        ],
    );
    let response = read_secret(&emulator, "/secrets/s", Some(&token)).await;
    assert_eq!(response.status, 429);
    assert_eq!(response.header("retry-after"), Some("3"));
    assert_eq!(response.json()["error"]["code"], "Throttled");
    let response = read_secret(&emulator, "/secrets/s", Some(&token)).await;
    assert_challenged(&response, &emulator, "AKV10000");
    assert_eq!(
        read_secret(&emulator, "/secrets/s", Some(&token))
            .await
            .status,
        200
    );
}
