use std::time::{Duration, UNIX_EPOCH};

use entra_emulator::{EmulatorConfig, Endpoint, ManualClock};

use crate::support::get;
use crate::{MANAGEMENT, METADATA, imds_target, start, start_with};

#[tokio::test]
async fn success_has_the_documented_shape_with_string_numbers() {
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let emulator = start_with(EmulatorConfig {
        clock: std::sync::Arc::new(clock.clone()),
        ..EmulatorConfig::default()
    })
    .await;
    let response = get(emulator.addr(), &imds_target(""), &[METADATA]).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let body = response.json();
    let fields: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for field in [
        "access_token",
        "refresh_token",
        "expires_in",
        "expires_on",
        "not_before",
        "resource",
        "token_type",
        "client_id",
    ] {
        assert!(body[field].is_string(), "{field} is a string in {body}");
    }
    assert_eq!(fields.len(), 8, "no other fields: {fields:?}");
    assert_eq!(body["refresh_token"], "");
    assert_eq!(body["expires_in"], "86400");
    assert_eq!(body["expires_on"], "1700086400");
    assert_eq!(body["not_before"], "1700000000");
    assert_eq!(body["resource"], MANAGEMENT);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(
        body["client_id"],
        emulator.system_assigned().client_id.as_str()
    );

    clock.advance(Duration::from_secs(100));
    emulator.set_token_lifetime(Duration::from_secs(3600));
    emulator.set_refresh_in(Some(1800));
    let body = get(emulator.addr(), &imds_target(""), &[METADATA])
        .await
        .json();
    assert_eq!(body["expires_on"], "1700003700");
    assert_eq!(body["expires_in"], "3600");
    assert_eq!(body["refresh_in"], "1800");
}

#[tokio::test]
async fn missing_metadata_header_is_bad_request_102() {
    let emulator = start().await;
    for headers in [&[][..], &[("Metadata", "True")][..]] {
        let response = get(emulator.addr(), &imds_target(""), headers).await;
        assert_eq!(response.status, 400);
        assert_eq!(
            response.json(),
            serde_json::json!({"error": "bad_request_102", "error_description": "Required metadata header not specified"})
        );
    }
    // The DAC probe: no query, no header.
    let probe = get(emulator.addr(), "/metadata/identity/oauth2/token", &[]).await;
    assert_eq!(probe.json()["error"], "bad_request_102");
    assert_eq!(emulator.count(Endpoint::Imds), 3);
}

#[tokio::test]
async fn missing_query_variables_are_invalid_requests() {
    let emulator = start().await;
    let response = get(
        emulator.addr(),
        "/metadata/identity/oauth2/token?resource=r",
        &[METADATA],
    )
    .await;
    assert_eq!(response.status, 400);
    assert_eq!(
        response.json(),
        serde_json::json!({"error": "invalid_request", "error_description": "Required query variable 'api-version' is missing"})
    );
    let response = get(
        emulator.addr(),
        "/metadata/identity/oauth2/token?api-version=2018-02-01",
        &[METADATA],
    )
    .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error"], "invalid_request");
}

#[tokio::test]
async fn user_assigned_identities_are_selected_by_any_selector() {
    let emulator = start().await;
    let uami = emulator.user_assigned()[0].clone();
    let resource_id =
        form_urlencoded::byte_serialize(uami.resource_id.as_bytes()).collect::<String>();
    for selector in [
        format!("&client_id={}", uami.client_id),
        format!("&object_id={}", uami.object_id.to_uppercase()),
        format!("&msi_res_id={resource_id}"),
    ] {
        let response = get(emulator.addr(), &imds_target(&selector), &[METADATA]).await;
        assert_eq!(response.status, 200, "{selector}: {}", response.text());
        assert_eq!(response.json()["client_id"], uami.client_id.as_str());
    }
    // App Service's spelling is not an IMDS selector.
    let response = get(
        emulator.addr(),
        &imds_target(&format!("&mi_res_id={resource_id}")),
        &[METADATA],
    )
    .await;
    assert_eq!(
        response.json()["client_id"],
        emulator.system_assigned().client_id.as_str()
    );
}

#[tokio::test]
async fn unknown_or_ambiguous_identity_is_rejected() {
    let emulator = start().await;
    let response = get(
        emulator.addr(),
        &imds_target("&client_id=00000000-0000-0000-0000-000000000009"),
        &[METADATA],
    )
    .await;
    assert_eq!(response.status, 400);
    assert_eq!(
        response.text(),
        r#"{"error":"invalid_request","error_description":"Identity not found"}"#
    );
    let uami = &emulator.user_assigned()[0];
    let both = format!("&client_id={}&object_id={}", uami.client_id, uami.object_id);
    let response = get(emulator.addr(), &imds_target(&both), &[METADATA]).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error"], "invalid_request");
}

#[tokio::test]
async fn requests_are_recorded_and_counters_reset() {
    let emulator = start().await;
    get(
        emulator.addr(),
        &imds_target("&client_id=x"),
        &[METADATA, ("x-ms-client-request-id", "abc")],
    )
    .await;
    get(emulator.addr(), &imds_target(""), &[]).await;
    let requests = emulator.requests(Endpoint::Imds);
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, "/metadata/identity/oauth2/token");
    assert_eq!(requests[0].query_param("resource"), Some(MANAGEMENT));
    assert_eq!(requests[0].query_param("client_id"), Some("x"));
    assert_eq!(requests[0].header("metadata"), Some("true"));
    assert!(
        requests[0]
            .headers
            .iter()
            .any(|(n, v)| n == "x-ms-client-request-id" && v == "abc")
    );
    assert_eq!(requests[1].header("metadata"), None);
    assert_eq!(emulator.count(Endpoint::AppService), 0);
    emulator.reset_counters();
    assert_eq!(emulator.count(Endpoint::Imds), 0);
    assert!(emulator.requests(Endpoint::Imds).is_empty());
}

#[tokio::test]
async fn unknown_paths_are_not_found() {
    let emulator = start().await;
    let response = get(
        emulator.addr(),
        "/metadata/instance?api-version=2021-02-01",
        &[METADATA],
    )
    .await;
    assert_eq!(response.status, 404);
}
