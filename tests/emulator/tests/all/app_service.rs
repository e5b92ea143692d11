use entra_emulator::Endpoint;

use crate::support::get;
use crate::{MANAGEMENT, start};

fn target(extra: &str) -> String {
    format!("/msi/token?api-version=2019-08-01&resource={MANAGEMENT}{extra}")
}

#[tokio::test]
async fn success_has_the_documented_shape() {
    let emulator = start().await;
    let secret = emulator.identity_header().to_owned();
    assert!(emulator.app_service_endpoint().ends_with("/msi/token"));
    let response = get(
        emulator.addr(),
        &target(""),
        &[("X-IDENTITY-HEADER", &secret)],
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("application/json; charset=utf-8")
    );
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
            "client_id",
            "expires_on",
            "resource",
            "token_type"
        ]
    );
    assert!(body["expires_on"].as_str().unwrap().parse::<u64>().is_ok());
    assert_eq!(
        body["client_id"],
        emulator.system_assigned().client_id.as_str()
    );

    emulator.set_refresh_in(Some(60));
    let body = get(
        emulator.addr(),
        &target(""),
        &[("x-identity-header", &secret)],
    )
    .await
    .json();
    assert_eq!(body["refresh_in"], "60");
}

#[tokio::test]
async fn identity_header_is_required() {
    let emulator = start().await;
    for headers in [&[][..], &[("X-IDENTITY-HEADER", "wrong")][..]] {
        let response = get(emulator.addr(), &target(""), headers).await;
        assert_eq!(response.status, 401);
        let body = response.json();
        assert_eq!(body["statusCode"], 401);
        assert!(body["message"].is_string() && body["correlationId"].is_string());
    }
    assert_eq!(emulator.count(Endpoint::AppService), 2);
}

#[tokio::test]
async fn api_version_and_identity_are_checked() {
    let emulator = start().await;
    let secret = emulator.identity_header().to_owned();
    let header = [("X-IDENTITY-HEADER", secret.as_str())];
    let response = get(
        emulator.addr(),
        &format!("/msi/token?api-version=2017-09-01&resource={MANAGEMENT}"),
        &header,
    )
    .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["statusCode"], 400);

    let response = get(emulator.addr(), &target("&client_id=nobody"), &header).await;
    assert_eq!(response.status, 400);
    let body = response.json();
    assert_eq!(
        body["message"],
        "No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId."
    );
    assert_eq!(body["correlationId"].as_str().unwrap().len(), 36);

    let uami = emulator.user_assigned()[0].clone();
    let response = get(
        emulator.addr(),
        &target(&format!("&mi_res_id={}", uami.resource_id)),
        &header,
    )
    .await;
    assert_eq!(response.json()["client_id"], uami.client_id.as_str());
}
