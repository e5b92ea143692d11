use std::time::{Duration, Instant};

use entra_emulator::{Endpoint, Fault};
use serde_json::Value;
use tokio::io::AsyncReadExt as _;

use crate::support::{get, open, read_head};
use crate::{METADATA, imds_target, start};

#[tokio::test]
async fn queued_faults_are_consumed_in_order() {
    let emulator = start().await;
    emulator.push_faults(Endpoint::Imds, [Fault::Status(410), Fault::Status(410)]);
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(
            get(emulator.addr(), &imds_target(""), &[METADATA])
                .await
                .status,
        );
    }
    assert_eq!(seen, [410, 410, 200]);
    assert_eq!(emulator.count(Endpoint::Imds), 3);
    // Faults belong to the endpoint they were pushed for.
    assert_eq!(
        get(emulator.addr(), "/common/discovery/keys", &[])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn persistent_fault_applies_after_the_queue_until_cleared() {
    let emulator = start().await;
    emulator.set_persistent_fault(Endpoint::Imds, Some(Fault::Status(503)));
    emulator.push_faults(Endpoint::Imds, [Fault::Status(404)]);
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(
            get(emulator.addr(), &imds_target(""), &[METADATA])
                .await
                .status,
        );
    }
    assert_eq!(seen, [404, 503, 503]);
    emulator.set_persistent_fault(Endpoint::Imds, None);
    assert_eq!(
        get(emulator.addr(), &imds_target(""), &[METADATA])
            .await
            .status,
        200
    );
    assert_eq!(emulator.count(Endpoint::Imds), 4);
}

#[tokio::test]
async fn status_faults_carry_realistic_bodies() {
    let emulator = start().await;
    emulator.push_faults(
        Endpoint::Imds,
        [
            Fault::Status(400),
            Fault::Status(429),
            Fault::TooManyRequests {
                retry_after: Some("7".to_owned()),
            },
            Fault::StatusWithBody {
                status: 418,
                body: "teapot".to_owned(),
                content_type: "text/plain".to_owned(),
            },
        ],
    );
    let response = get(emulator.addr(), &imds_target(""), &[METADATA]).await;
    assert_eq!(
        (
            response.status,
            response.json()["error_description"].as_str()
        ),
        (400, Some("Identity not found"))
    );
    let response = get(emulator.addr(), &imds_target(""), &[METADATA]).await;
    assert_eq!(response.status, 429);
    assert_eq!(
        response.text(),
        r#"{"error":"invalid_request","error_description":"Temporarily throttled, too many requests"}"#
    );
    assert_eq!(response.header("retry-after"), None);
    let response = get(emulator.addr(), &imds_target(""), &[METADATA]).await;
    assert_eq!(
        (response.status, response.header("retry-after")),
        (429, Some("7"))
    );
    let response = get(emulator.addr(), &imds_target(""), &[METADATA]).await;
    assert_eq!(
        (
            response.status,
            response.text().as_str(),
            response.header("content-type")
        ),
        (418, "teapot", Some("text/plain"))
    );

    emulator.push_faults(Endpoint::AppService, [Fault::Status(500)]);
    let response = get(emulator.addr(), "/msi/token", &[]).await;
    assert_eq!(response.status, 500);
    assert_eq!(response.json()["statusCode"], 500);
    emulator.push_faults(Endpoint::Token, [Fault::Status(503)]);
    let response = crate::support::post_form(
        emulator.addr(),
        &format!("/{}/oauth2/v2.0/token", emulator.tenant_id()),
        &[],
    )
    .await;
    assert_eq!(response.status, 503);
    assert_eq!(response.json()["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn body_faults_break_successes() {
    let emulator = start().await;
    emulator.push_faults(
        Endpoint::Imds,
        [
            Fault::MalformedJson,
            Fault::WrongTypes,
            Fault::ExpiredToken,
            Fault::ExpiresOn("\"1999\"".to_owned()),
            Fault::ExpiresOn("4102444800".to_owned()),
        ],
    );
    let response = get(emulator.addr(), &imds_target(""), &[METADATA]).await;
    assert_eq!(response.status, 200);
    assert!(serde_json::from_slice::<Value>(&response.body).is_err());
    let body = get(emulator.addr(), &imds_target(""), &[METADATA])
        .await
        .json();
    assert_eq!(
        (body["access_token"].as_u64(), body["expires_on"].as_bool()),
        (Some(42), Some(true))
    );
    let body = get(emulator.addr(), &imds_target(""), &[METADATA])
        .await
        .json();
    let expires_on: u64 = body["expires_on"].as_str().unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(expires_on < now, "{expires_on} is in the past");
    assert_eq!(body["expires_in"], "0");
    assert_eq!(
        get(emulator.addr(), &imds_target(""), &[METADATA])
            .await
            .json()["expires_on"],
        "1999"
    );
    let body = get(emulator.addr(), &imds_target(""), &[METADATA])
        .await
        .json();
    assert_eq!(body["expires_on"], 4_102_444_800_u64);
    assert!(body["access_token"].is_string());
}

#[tokio::test]
async fn delay_answers_normally_afterwards() {
    let emulator = start().await;
    emulator.push_faults(Endpoint::Imds, [Fault::Delay(Duration::from_millis(300))]);
    let started = Instant::now();
    let response = get(emulator.addr(), &imds_target(""), &[METADATA]).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(response.status, 200);
}

#[tokio::test]
async fn oversized_body_is_announced_and_streams() {
    let emulator = start().await;
    let size = 4 << 20;
    emulator.push_faults(Endpoint::Imds, [Fault::OversizedBody(size)]);
    let mut stream = open(emulator.addr(), "GET", &imds_target(""), &[METADATA], b"").await;
    let (head, mut body) = read_head(&mut stream).await;
    assert_eq!(head.status, 200);
    let length: usize = head.header("content-length").unwrap().parse().unwrap();
    assert!(length.abs_diff(size) < 64, "{length} is about {size}");
    stream.read_to_end(&mut body).await.unwrap();
    assert_eq!(body.len(), length);
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert!(json["access_token"].is_string());
}

#[tokio::test]
async fn stalled_body_sends_half_then_holds_until_shutdown() {
    let emulator = start().await;
    emulator.push_faults(Endpoint::Imds, [Fault::StallBody]);
    let mut stream = open(emulator.addr(), "GET", &imds_target(""), &[METADATA], b"").await;
    let (head, mut body) = read_head(&mut stream).await;
    assert_eq!(head.status, 200);
    let length: usize = head.header("content-length").unwrap().parse().unwrap();
    let mut buf = [0; 4096];
    while body.len() < length / 2 {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        body.extend_from_slice(&buf[..n]);
    }
    assert_eq!(body.len(), length / 2);
    let more = tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf)).await;
    assert!(more.is_err(), "no more bytes while stalled");

    let started = Instant::now();
    emulator.shutdown().await;
    let closed = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("connection ends");
    assert!(
        matches!(closed, Ok(0) | Err(_)),
        "connection closed without the rest: {closed:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn dropped_connection_sends_half_then_closes_at_once() {
    let emulator = start().await;
    emulator.push_faults(Endpoint::Imds, [Fault::DropConnection]);
    let mut stream = open(emulator.addr(), "GET", &imds_target(""), &[METADATA], b"").await;
    let (head, mut body) = read_head(&mut stream).await;
    assert_eq!(head.status, 200);
    let length: usize = head.header("content-length").unwrap().parse().unwrap();
    // The emulator stays up: only this connection ends, short of its announced length.
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest))
        .await
        .expect("the connection ends without waiting for shutdown");
    body.extend_from_slice(&rest);
    assert!(
        read.is_err() || body.len() < length,
        "{} of {length} bytes, then {read:?}",
        body.len()
    );
    assert_eq!(body.len(), length / 2);
    // The next request is answered whole.
    let next = get(emulator.addr(), &imds_target(""), &[METADATA]).await;
    assert_eq!(next.status, 200);
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let emulator = start().await;
    let addr = emulator.addr();
    drop(emulator);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
