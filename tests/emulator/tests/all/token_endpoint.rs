use entra_emulator::{AppRegistration, EmulatorConfig, Endpoint};
use serde_json::Value;

use crate::support::{HttpResponse, get, post_form};
use crate::{start, start_with};

pub fn token_path(tenant: &str) -> String {
    format!("/{tenant}/oauth2/v2.0/token")
}

pub fn assert_aadsts(response: &HttpResponse, status: u16, error: &str, code: u64) -> Value {
    assert_eq!(response.status, status, "{}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let body = response.json();
    assert_eq!(body["error"], error);
    assert_eq!(body["error_codes"], serde_json::json!([code]));
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
    for part in ["\r\nTrace ID: ", "\r\nCorrelation ID: ", "\r\nTimestamp: "] {
        assert!(description.contains(part), "{description}");
    }
    let timestamp = body["timestamp"].as_str().unwrap();
    assert!(
        timestamp.ends_with('Z') && timestamp.len() == 20,
        "{timestamp}"
    );
    assert_eq!(body["trace_id"].as_str().unwrap().len(), 36);
    assert!(body["correlation_id"].is_string());
    assert_eq!(
        body["error_uri"],
        format!("https://login.microsoftonline.com/error?code={code}")
    );
    body
}

#[tokio::test]
async fn client_credentials_with_a_registered_secret_succeed() {
    let emulator = start().await;
    let path = token_path(emulator.tenant_id());
    assert!(emulator.token_endpoint().ends_with(&path));
    let client_id = "11111111-2222-3333-4444-555555555555";
    emulator.register_app(AppRegistration::new(client_id).with_secret("s3cret"));
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("scope", "https://vault.azure.net/.default"),
        ("client_secret", "s3cret"),
    ];
    let response = post_form(emulator.addr(), &path, &form).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("cache-control"), Some("no-store, no-cache"));
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
        ["access_token", "expires_in", "ext_expires_in", "token_type"]
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 86_400);
    assert_eq!(body["ext_expires_in"], 86_400);
    let claims = crate::signing::claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["appidacr"], "1");
    assert_eq!(claims["appid"], client_id);
    assert_eq!(claims["aud"], "https://vault.azure.net");

    emulator.set_refresh_in(Some(43_200));
    emulator.register_app(AppRegistration::new("c").with_secret("s"));
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "c"),
        ("scope", "api://AzureADTokenExchange/.default"),
        ("client_secret", "s"),
    ];
    let body = post_form(emulator.addr(), &path, &form).await.json();
    assert_eq!(body["refresh_in"], 43_200);
    let recorded = &emulator.requests(Endpoint::Token)[1];
    assert_eq!(
        recorded.form_param("scope").as_deref(),
        Some("api://AzureADTokenExchange/.default")
    );
    assert_eq!(
        recorded.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
}

#[tokio::test]
async fn wrong_secret_and_unknown_client_are_rejected() {
    let emulator = start_with(EmulatorConfig {
        apps: vec![AppRegistration::new("known").with_secret("right")],
        ..EmulatorConfig::default()
    })
    .await;
    let path = token_path(emulator.tenant_id());
    let form = |client_id, secret| {
        [
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("scope", "https://vault.azure.net/.default"),
            ("client_secret", secret),
        ]
    };
    let response = post_form(emulator.addr(), &path, &form("KNOWN", "right")).await;
    assert_eq!(
        response.status, 200,
        "GUID-like client ids compare case-insensitively"
    );
    let response = post_form(emulator.addr(), &path, &form("known", "wrong")).await;
    let body = assert_aadsts(&response, 401, "invalid_client", 7000215);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("Invalid client secret provided.")
    );
    let response = post_form(emulator.addr(), &path, &form("stranger", "right")).await;
    let body = assert_aadsts(&response, 400, "unauthorized_client", 700016);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("Application with identifier 'stranger' was not found in the directory")
    );
    // An app registered with a certificate only has no secret to match.
    emulator.register_app(AppRegistration::new("cert-only").with_certificate(crate::signing::CERT));
    let response = post_form(emulator.addr(), &path, &form("cert-only", "x")).await;
    assert_aadsts(&response, 401, "invalid_client", 7000215);
}

#[tokio::test]
async fn invalid_requests_get_aadsts_errors() {
    let emulator = start().await;
    let path = token_path(emulator.tenant_id());
    let addr = emulator.addr();

    let response = post_form(
        addr,
        &path,
        &[
            ("client_id", "c"),
            ("scope", "x/.default"),
            ("client_secret", "s"),
        ],
    )
    .await;
    let body = assert_aadsts(&response, 400, "invalid_request", 900144);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("'grant_type'")
    );

    let base = [
        ("grant_type", "client_credentials"),
        ("client_id", "c"),
        ("client_secret", "s"),
    ];
    let response = post_form(addr, &path, &base).await;
    assert_aadsts(&response, 400, "invalid_request", 900144);

    let with_scope = |scope| {
        let mut form = base.to_vec();
        form.push(("scope", scope));
        form
    };
    let response = post_form(
        addr,
        &path,
        &with_scope("https://graph.microsoft.com/User.Read"),
    )
    .await;
    assert_aadsts(&response, 400, "invalid_scope", 1002012);

    let response = post_form(
        addr,
        &token_path("another-tenant"),
        &with_scope("x/.default"),
    )
    .await;
    assert_aadsts(&response, 400, "invalid_request", 90002);

    let response = post_form(
        addr,
        &path,
        &[("grant_type", "password"), ("client_id", "c")],
    )
    .await;
    assert_aadsts(&response, 400, "unsupported_grant_type", 70003);

    let no_credential = [
        ("grant_type", "client_credentials"),
        ("client_id", "c"),
        ("scope", "x/.default"),
    ];
    let response = post_form(addr, &path, &no_credential).await;
    assert_aadsts(&response, 401, "invalid_client", 7000218);

    let response = get(addr, &path, &[("client-request-id", "my-correlation")]).await;
    let body = assert_aadsts(&response, 400, "invalid_request", 900561);
    assert_eq!(body["correlation_id"], "my-correlation");

    assert_eq!(emulator.count(Endpoint::Token), 7);
}
