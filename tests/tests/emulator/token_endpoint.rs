use entra_emulator::Endpoint;
use serde_json::Value;

use crate::start;
use crate::support::{HttpResponse, get, post_form};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn token_path(tenant: &str) -> String {
    format!("/{tenant}/oauth2/v2.0/token")
}

fn assert_aadsts(response: &HttpResponse, status: u16, error: &str, code: u64) -> Value {
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
async fn client_credentials_with_secret_or_assertion_succeed() {
    let emulator = start().await;
    let path = token_path(emulator.tenant_id());
    assert!(emulator.token_endpoint().ends_with(&path));
    let credentials: [&[(&str, &str)]; 2] = [
        &[("client_secret", "s3cret")],
        &[
            ("client_assertion", "eyJhbGciOiJSUzI1NiJ9.e30.sig"),
            ("client_assertion_type", JWT_BEARER),
        ],
    ];
    for credential in credentials {
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", "11111111-2222-3333-4444-555555555555"),
            ("scope", "https://vault.azure.net/.default"),
        ];
        form.extend_from_slice(credential);
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
    }
    emulator.set_refresh_in(Some(43_200));
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "c"),
        ("scope", "api://AzureADTokenExchange/.default"),
        ("client_secret", "s"),
    ];
    let body = post_form(emulator.addr(), &path, &form).await.json();
    assert_eq!(body["refresh_in"], 43_200);
    let recorded = &emulator.requests(Endpoint::Token)[2];
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
