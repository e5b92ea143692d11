//! Service Fabric's self-signed HTTPS endpoint through the outbound hook: trusted only when pinned to its
//! thumbprint, and never sent a byte when the pin does not match.

use entra_emulator::{Emulator, Endpoint};
use entra_identity_host::Allowlist;
use http_body_util::BodyExt as _;
use wasmtime_wasi_http::{Error as HttpError, WasiBody, WasiHttpHooks};

/// The Service Fabric token request, as the component sends it.
fn token_request(emulator: &Emulator) -> http::Request<WasiBody> {
    let url = format!(
        "{}?api-version=2019-07-01-preview&resource=https%3A%2F%2Fvault.azure.net",
        emulator.service_fabric_endpoint()
    );
    http::Request::get(url)
        .header("secret", emulator.identity_header())
        .header("accept", "application/json")
        .body(
            http_body_util::Empty::new()
                .map_err(|never| match never {})
                .boxed_unsync(),
        )
        .unwrap()
}

/// Sends `request` through `allowlist`'s hook; the body, read to the end, with the status.
async fn send(
    mut allowlist: Allowlist,
    request: http::Request<WasiBody>,
) -> Result<(http::StatusCode, Vec<u8>), HttpError> {
    let (response, io) =
        Box::into_pin(allowlist.send_request(request, None, Box::new(async { Ok(()) }))).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes().to_vec();
    Box::into_pin(io).await?;
    Ok((status, body))
}

/// A thumbprint that is not the emulator's: its last hex digit changed.
fn other_thumbprint(thumbprint: &str) -> String {
    let (head, last) = thumbprint.split_at(thumbprint.len() - 1);
    format!("{head}{}", if last == "0" { "1" } else { "0" })
}

#[tokio::test]
async fn pinned_thumbprint_gets_a_token() {
    let emulator = Emulator::start(Default::default()).await.unwrap();
    // The thumbprint in the `AB:CD:...` lower-case form, which normalises to the emulator's.
    let thumbprint = emulator
        .service_fabric_thumbprint()
        .as_bytes()
        .chunks(2)
        .map(|pair| std::str::from_utf8(pair).unwrap().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(":");
    let allowlist = Allowlist::default()
        .with_pinned_certificate(&emulator.service_fabric_endpoint(), &thumbprint)
        .unwrap();

    let (status, body) = send(allowlist, token_request(&emulator)).await.unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        json["access_token"].as_str().is_some_and(|t| !t.is_empty()),
        "{json}"
    );
    assert_eq!(emulator.count(Endpoint::ServiceFabric), 1);
}

#[tokio::test]
async fn wrong_thumbprint_fails_before_the_request_is_sent() {
    let emulator = Emulator::start(Default::default()).await.unwrap();
    let allowlist = Allowlist::default()
        .with_pinned_certificate(
            &emulator.service_fabric_endpoint(),
            &other_thumbprint(emulator.service_fabric_thumbprint()),
        )
        .unwrap();

    let error = send(allowlist, token_request(&emulator)).await.unwrap_err();
    assert!(matches!(error, HttpError::Tls(_)), "{error:?}");
    assert!(error.to_string().contains("thumbprint"), "{error}");
    assert_eq!(emulator.count(Endpoint::ServiceFabric), 0);
}

#[tokio::test]
async fn pinned_authority_is_not_spoken_to_in_plain_http() {
    let emulator = Emulator::start(Default::default()).await.unwrap();
    let endpoint = emulator.service_fabric_endpoint();
    let allowlist = Allowlist::default()
        .with_pinned_certificate(&endpoint, emulator.service_fabric_thumbprint())
        .unwrap();
    let mut request = token_request(&emulator);
    *request.uri_mut() = request
        .uri()
        .to_string()
        .replacen("https://", "http://", 1)
        .parse()
        .unwrap();

    let error = send(allowlist, request).await.unwrap_err();
    assert!(matches!(error, HttpError::HttpRequestDenied), "{error:?}");
    assert_eq!(emulator.count(Endpoint::ServiceFabric), 0);
}

#[tokio::test]
async fn unpinned_authority_keeps_default_verification() {
    let emulator = Emulator::start(Default::default()).await.unwrap();
    let endpoint = emulator.service_fabric_endpoint();
    // Allowed, but not pinned: the web PKI roots reject the self-signed certificate.
    let allowlist = Allowlist::from_urls([endpoint.as_str()]);

    let error = send(allowlist, token_request(&emulator)).await.unwrap_err();
    assert!(matches!(error, HttpError::Tls(_)), "{error:?}");
    assert_eq!(emulator.count(Endpoint::ServiceFabric), 0);
}

#[tokio::test]
async fn pinning_one_authority_leaves_others_on_default_verification() {
    let emulator = Emulator::start(Default::default()).await.unwrap();
    let second = Emulator::start(Default::default()).await.unwrap();
    // The first emulator's endpoint is pinned; the second's is only allowed, and is still verified
    // against the web PKI even though its certificate is just as self-signed.
    let allowlist = Allowlist::from_urls([second.service_fabric_endpoint().as_str()])
        .with_pinned_certificate(
            &emulator.service_fabric_endpoint(),
            emulator.service_fabric_thumbprint(),
        )
        .unwrap();

    let error = send(allowlist.clone(), token_request(&second))
        .await
        .unwrap_err();
    assert!(matches!(error, HttpError::Tls(_)), "{error:?}");
    assert_eq!(second.count(Endpoint::ServiceFabric), 0);

    let (status, _) = send(allowlist, token_request(&emulator)).await.unwrap();
    assert_eq!(status, 200);
}
