use entra_emulator::{EmulatorConfig, Endpoint, Fault};

use crate::support::{HttpResponse, get};
use crate::{MANAGEMENT, METADATA, start, start_with};

fn target(extra: &str) -> String {
    format!(
        "/arc/metadata/identity/oauth2/token?api-version=2020-06-01&resource={MANAGEMENT}{extra}"
    )
}

/// The realm of a challenge, checked to have the documented shape.
fn realm(response: &HttpResponse) -> String {
    assert_eq!(response.status, 401, "{}", response.text());
    assert_eq!(
        response.json(),
        serde_json::json!({
            "error": "unauthorized_client",
            "error_description": "Missing Basic Authorization header",
            "error_codes": [401],
        })
    );
    let challenge = response.header("www-authenticate").expect("challenge");
    challenge
        .strip_prefix("Basic realm=")
        .unwrap_or_else(|| panic!("{challenge}"))
        .to_owned()
}

/// What a client does: get the challenge, read the key file, retry with it.
async fn authenticated(emulator: &entra_emulator::Emulator, extra: &str) -> HttpResponse {
    let path = realm(&get(emulator.addr(), &target(extra), &[METADATA]).await);
    let secret = std::fs::read_to_string(&path).unwrap();
    let authorization = format!("Basic {secret}");
    get(
        emulator.addr(),
        &target(extra),
        &[METADATA, ("Authorization", &authorization)],
    )
    .await
}

#[tokio::test]
async fn challenge_round_trip_yields_a_token() {
    let emulator = start().await;
    assert!(
        emulator
            .arc_endpoint()
            .ends_with("/arc/metadata/identity/oauth2/token")
    );
    let path = realm(&get(emulator.addr(), &target(""), &[METADATA]).await);
    let path = std::path::Path::new(&path);
    assert!(path.is_absolute());
    assert_eq!(path.parent().unwrap(), emulator.arc_token_dir());
    assert_eq!(path.extension().unwrap(), "key");
    assert!(std::fs::metadata(path).unwrap().len() <= 4096);

    let response = authenticated(&emulator, "").await;
    assert_eq!(response.status, 200, "{}", response.text());
    let body = response.json();
    let mut fields: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "access_token",
            "expires_in",
            "expires_on",
            "resource",
            "token_type"
        ]
    );
    assert!(body["expires_in"].as_str().unwrap().parse::<u64>().is_ok());
    assert!(body["expires_on"].as_str().unwrap().parse::<u64>().is_ok());
    assert_eq!(body["resource"], MANAGEMENT);
    let claims = crate::signing::claims(body["access_token"].as_str().unwrap());
    assert_eq!(
        claims["appid"],
        emulator.system_assigned().client_id.as_str()
    );
    assert_eq!(emulator.count(Endpoint::Arc), 3);
}

#[tokio::test]
async fn wrong_secret_or_missing_metadata_is_refused() {
    let emulator = start().await;
    let response = get(
        emulator.addr(),
        &target(""),
        &[METADATA, ("Authorization", "Basic not-the-secret")],
    )
    .await;
    // A fresh challenge, as for a request without a secret.
    let path = realm(&response);
    assert!(std::path::Path::new(&path).exists());
    let response = get(emulator.addr(), &target(""), &[]).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error"], "invalid_request");
}

#[tokio::test]
async fn user_assigned_identity_is_echoed_unless_the_agent_is_legacy() {
    let emulator = start().await;
    let uami = emulator.user_assigned()[0].clone();
    for selector in [
        format!("&client_id={}", uami.client_id),
        format!("&msi_res_id={}", uami.resource_id),
        format!("&object_id={}", uami.object_id),
    ] {
        let body = authenticated(&emulator, &selector).await.json();
        assert_eq!(body["client_id"], uami.client_id.as_str(), "{selector}");
        assert_eq!(body["msi_res_id"], uami.resource_id.as_str(), "{selector}");
        let claims = crate::signing::claims(body["access_token"].as_str().unwrap());
        assert_eq!(claims["appid"], uami.client_id.as_str());
    }
    let response = authenticated(&emulator, "&client_id=unknown").await;
    assert_eq!(response.status, 400);

    emulator.set_arc_legacy_ignores_user_assigned(true);
    let body = authenticated(&emulator, &format!("&client_id={}", uami.client_id))
        .await
        .json();
    assert!(body.get("client_id").is_none() && body.get("msi_res_id").is_none());
    let claims = crate::signing::claims(body["access_token"].as_str().unwrap());
    assert_eq!(
        claims["appid"],
        emulator.system_assigned().client_id.as_str()
    );

    let legacy = start_with(EmulatorConfig {
        arc_legacy_ignores_user_assigned: true,
        ..EmulatorConfig::default()
    })
    .await;
    let body = authenticated(&legacy, &format!("&client_id={}", uami.client_id))
        .await
        .json();
    assert!(body.get("client_id").is_none());
}

#[tokio::test]
async fn realm_fault_sends_any_path_and_writes_nothing() {
    let emulator = start().await;
    emulator.push_faults(
        Endpoint::Arc,
        [
            Fault::ArcRealm("/etc/passwd".to_owned()),
            Fault::Status(401),
        ],
    );
    let response = get(emulator.addr(), &target(""), &[METADATA]).await;
    assert_eq!(realm(&response), "/etc/passwd");
    assert_eq!(
        std::fs::read_dir(emulator.arc_token_dir()).unwrap().count(),
        0
    );
    // An injected 401 is a full challenge.
    let response = get(emulator.addr(), &target(""), &[METADATA]).await;
    assert!(std::path::Path::new(&realm(&response)).exists());
}

#[tokio::test]
async fn key_directory_is_removed_with_the_emulator() {
    let emulator = start().await;
    let dir = emulator.arc_token_dir().to_owned();
    realm(&get(emulator.addr(), &target(""), &[METADATA]).await);
    assert!(dir.is_dir());
    emulator.shutdown().await;
    assert!(!dir.exists());
}
