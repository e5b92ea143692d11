//! The v2.0 token endpoint on the HTTPS listener, as Entra serves it: SDKs that refuse an `http://` authority
//! host (`azure_identity`) reach it there, trusting the emulator's certificate as an ordinary root.

use std::sync::Arc;

use entra_emulator::{AppRegistration, Emulator, Endpoint};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::start;
use crate::support::{HttpResponse, parse};
use crate::token_endpoint::token_path;

/// One HTTPS POST of `fields` to the emulator's HTTPS listener, verifying its certificate for `127.0.0.1`
/// against a root store holding only that certificate.
async fn https_post_form(emulator: &Emulator, path: &str, fields: &[(&str, &str)]) -> HttpResponse {
    let config = emulator.tls_client_config();
    let authority = emulator
        .key_vault_https_url()
        .strip_prefix("https://")
        .unwrap()
        .to_owned();
    let tcp = TcpStream::connect(&authority).await.unwrap();
    let mut tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .expect("the certificate verifies for 127.0.0.1");
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\n\
         content-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    // A server may close without close_notify once the response is complete; what was read is the response.
    if let Err(error) = tls.read_to_end(&mut raw).await {
        assert!(!raw.is_empty(), "{error}");
    }
    parse(&raw)
}

#[tokio::test]
async fn the_token_endpoint_is_served_over_https_too() {
    let emulator = start().await;
    let client_id = "7e57e000-0000-4000-8000-0000000075e1";
    emulator.register_app(AppRegistration::new(client_id).with_secret("tls-s3cret"));
    let path = token_path(emulator.tenant_id());
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("scope", "https://vault.azure.net/.default"),
        ("client_secret", "tls-s3cret"),
    ];
    let response = https_post_form(&emulator, &path, &form).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let claims = crate::signing::claims(response.json()["access_token"].as_str().unwrap());
    assert_eq!(claims["appid"], client_id);
    assert_eq!(claims["aud"], "https://vault.azure.net");

    // The same service: the same refusals, and both listeners count as one endpoint.
    let wrong = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("scope", "https://vault.azure.net/.default"),
        ("client_secret", "wrong"),
    ];
    let response = https_post_form(&emulator, &path, &wrong).await;
    crate::token_endpoint::assert_aadsts(&response, 401, "invalid_client", 7000215);
    let response = crate::support::post_form(emulator.addr(), &path, &form).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(emulator.count(Endpoint::Token), 3);
}
