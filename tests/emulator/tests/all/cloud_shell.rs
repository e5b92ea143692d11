use entra_emulator::Endpoint;

use crate::support::send;
use crate::{MANAGEMENT, METADATA, start};

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

fn body(resource: &str, extra: &str) -> Vec<u8> {
    let resource: String = form_urlencoded::byte_serialize(resource.as_bytes()).collect();
    format!("resource={resource}{extra}").into_bytes()
}

#[tokio::test]
async fn form_post_yields_imds_shaped_token() {
    let emulator = start().await;
    assert!(
        emulator
            .cloud_shell_endpoint()
            .ends_with("/cloudshell/oauth2/token")
    );
    let response = send(
        emulator.addr(),
        "POST",
        "/cloudshell/oauth2/token",
        &[METADATA, FORM],
        &body(MANAGEMENT, ""),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let body = response.json();
    for field in ["expires_in", "expires_on", "not_before"] {
        assert!(
            body[field].as_str().unwrap().parse::<u64>().is_ok(),
            "{field}"
        );
    }
    assert_eq!(body["resource"], MANAGEMENT);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["access_token"].is_string());
    assert_eq!(emulator.count(Endpoint::CloudShell), 1);
}

#[tokio::test]
async fn errors_have_the_nested_shape() {
    let emulator = start().await;
    let post = |headers: &'static [(&'static str, &'static str)], body: Vec<u8>| {
        let addr = emulator.addr();
        async move { send(addr, "POST", "/cloudshell/oauth2/token", headers, &body).await }
    };
    let cases = [
        (
            post(&[METADATA, FORM], body(MANAGEMENT, "&client_id=x")).await,
            "BadRequest",
        ),
        (post(&[FORM], body(MANAGEMENT, "")).await, "BadRequest"),
        (post(&[METADATA, FORM], Vec::new()).await, "BadRequest"),
        (
            post(&[METADATA, FORM], body("api://AzureADTokenExchange", "")).await,
            "AudienceNotSupported",
        ),
    ];
    for (response, code) in cases {
        assert_eq!(response.status, 400, "{}", response.text());
        let body = response.json();
        assert_eq!(body["error"]["code"], code);
        assert!(body["error"]["message"].is_string());
    }
    let response = post(&[METADATA, FORM], body("https://unknown.example", "")).await;
    assert!(
        response.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Audience https://unknown.example is not a supported MSI token audience.Supported audiences:https://management.core.windows.net/,")
    );
}
