use std::sync::Arc;

use entra_emulator::{Emulator, Endpoint};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha1::{Digest as _, Sha1};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::support::{HttpResponse, get, parse};
use crate::{MANAGEMENT, start};

/// Trusts exactly the certificate whose SHA-1 is `IDENTITY_SERVER_THUMBPRINT`, as MSAL Go and MSAL.NET do for
/// Service Fabric's self-signed certificate; signatures are still checked.
#[derive(Debug)]
struct PinnedThumbprint {
    thumbprint: String,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedThumbprint {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let actual: String = Sha1::digest(end_entity)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        if actual.eq_ignore_ascii_case(&self.thumbprint) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "thumbprint {actual} is not pinned"
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// One HTTPS GET to the Service Fabric endpoint, trusting only `thumbprint`.
async fn https_get(
    emulator: &Emulator,
    thumbprint: &str,
    query: &str,
    headers: &[(&str, &str)],
) -> Result<HttpResponse, std::io::Error> {
    let provider: CryptoProvider = rustls::crypto::ring::default_provider();
    let verifier = PinnedThumbprint {
        thumbprint: thumbprint.to_owned(),
        algorithms: provider.signature_verification_algorithms,
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    let url = emulator.service_fabric_endpoint();
    let authority = url
        .strip_prefix("https://")
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let path = &url[url.find(&authority).unwrap() + authority.len()..];
    let tcp = TcpStream::connect(&authority).await?;
    let mut tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await?;
    let mut request =
        format!("GET {path}?{query} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    tls.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    // A server may close without close_notify once the response is complete; what was read is the response.
    if let Err(error) = tls.read_to_end(&mut raw).await
        && raw.is_empty()
    {
        return Err(error);
    }
    Ok(parse(&raw))
}

fn query() -> String {
    format!("api-version=2019-07-01-preview&resource={MANAGEMENT}")
}

#[tokio::test]
async fn pinned_https_request_yields_a_token_with_integer_expires_on() {
    let emulator = start().await;
    assert!(
        emulator
            .service_fabric_endpoint()
            .starts_with("https://127.0.0.1:")
    );
    let thumbprint = emulator.service_fabric_thumbprint().to_owned();
    assert_eq!(thumbprint.len(), 40);
    assert!(
        thumbprint
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
    );
    let expected: String = Sha1::digest(emulator.service_fabric_certificate_der())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    assert_eq!(thumbprint, expected);
    assert!(
        emulator
            .service_fabric_certificate_pem()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );

    let secret = emulator.identity_header().to_owned();
    let response = https_get(&emulator, &thumbprint, &query(), &[("secret", &secret)])
        .await
        .unwrap();
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
        ["access_token", "expires_on", "resource", "token_type"]
    );
    assert!(body["expires_on"].is_u64());
    assert_eq!(body["token_type"], "Bearer");
    // Lower-case thumbprints name the same certificate.
    let response = https_get(
        &emulator,
        &thumbprint.to_lowercase(),
        &query(),
        &[("Secret", &secret)],
    )
    .await
    .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(emulator.count(Endpoint::ServiceFabric), 2);
}

#[tokio::test]
async fn wrong_secret_is_404_secret_header_not_found() {
    let emulator = start().await;
    let thumbprint = emulator.service_fabric_thumbprint().to_owned();
    for headers in [&[("secret", "wrong")][..], &[][..]] {
        let response = https_get(&emulator, &thumbprint, &query(), headers)
            .await
            .unwrap();
        assert_eq!(response.status, 404);
        let error = &response.json()["error"];
        assert_eq!(error["code"], "SecretHeaderNotFound");
        assert_eq!(
            error["message"],
            "Secret is not found in the request headers."
        );
        assert!(error["correlationId"].is_string());
    }
    let secret = emulator.identity_header().to_owned();
    let response = https_get(
        &emulator,
        &thumbprint,
        "api-version=2019-07-01-preview",
        &[("secret", &secret)],
    )
    .await
    .unwrap();
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error"]["code"], "ArgumentNullOrEmpty");
}

#[tokio::test]
async fn other_thumbprints_and_plain_http_get_nothing() {
    let emulator = start().await;
    let secret = emulator.identity_header().to_owned();
    let wrong = "0".repeat(40);
    assert!(
        https_get(&emulator, &wrong, &query(), &[("secret", &secret)])
            .await
            .is_err()
    );
    // The plain listener does not serve Service Fabric.
    let response = get(
        emulator.addr(),
        &format!("/sf/metadata/identity/oauth2/token?{}", query()),
        &[("secret", &secret)],
    )
    .await;
    assert_eq!(response.status, 404);
    assert_eq!(emulator.count(Endpoint::ServiceFabric), 0);
    // The server survives a failed handshake.
    let thumbprint = emulator.service_fabric_thumbprint().to_owned();
    let response = https_get(&emulator, &thumbprint, &query(), &[("secret", &secret)])
        .await
        .unwrap();
    assert_eq!(response.status, 200);
}

fn token_of(response: &HttpResponse) -> String {
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()["access_token"].as_str().unwrap().to_owned()
}

fn sha256_hex(token: &str) -> String {
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn the_same_token_comes_back_until_its_hash_asks_for_a_refresh() {
    let emulator = start().await;
    let thumbprint = emulator.service_fabric_thumbprint().to_owned();
    let secret = emulator.identity_header().to_owned();
    let headers = [("secret", secret.as_str())];
    let ask = |extra: String| {
        let query = format!("{}{extra}", query());
        let (emulator, thumbprint) = (&emulator, &thumbprint);
        async move {
            https_get(emulator, thumbprint, &query, &headers)
                .await
                .unwrap()
        }
    };

    let first = token_of(&ask(String::new()).await);
    assert_eq!(token_of(&ask(String::new()).await), first);
    let wrong = sha256_hex("some other token");
    let response = ask(format!("&xms_cc=cp1&token_sha256_to_refresh={wrong}")).await;
    assert_eq!(token_of(&response), first, "a hash naming another token");

    let right = sha256_hex(&first);
    let refreshed =
        token_of(&ask(format!("&xms_cc=cp1,cp2&token_sha256_to_refresh={right}")).await);
    assert_ne!(refreshed, first);
    assert_eq!(
        crate::signing::claims(&refreshed)["xms_cc"],
        serde_json::json!(["cp1"])
    );
    assert!(crate::signing::claims(&first).get("xms_cc").is_none());
    assert_eq!(
        token_of(&ask(String::new()).await),
        refreshed,
        "the new one is cached"
    );
    // Another resource has its own token.
    let vault = https_get(
        &emulator,
        &thumbprint,
        "api-version=2019-07-01-preview&resource=https://vault.azure.net",
        &headers,
    )
    .await
    .unwrap();
    assert_ne!(token_of(&vault), refreshed);

    for malformed in [
        right.to_uppercase(),
        right[1..].to_owned(),
        "xyz".to_owned(),
    ] {
        let response = ask(format!("&token_sha256_to_refresh={malformed}")).await;
        assert_eq!(response.status, 400, "{malformed}");
        let error = &response.json()["error"];
        assert_eq!(error["code"], "InvalidParameter");
        assert!(error["correlationId"].is_string());
    }
    let recorded = emulator.requests(Endpoint::ServiceFabric);
    assert_eq!(recorded[3].query_param("xms_cc"), Some("cp1,cp2"));
    assert_eq!(
        recorded[3].query_param("token_sha256_to_refresh"),
        Some(right.as_str())
    );
}

#[tokio::test]
async fn a_revoked_service_fabric_token_is_replaced_only_when_named() {
    let emulator = start().await;
    emulator.set_secret("db", "v");
    let thumbprint = emulator.service_fabric_thumbprint().to_owned();
    let secret = emulator.identity_header().to_owned();
    let headers = [("secret", secret.as_str())];
    let vault = "api-version=2019-07-01-preview&resource=https://vault.azure.net";
    let read = |token: String| {
        let addr = emulator.addr();
        async move {
            let bearer = format!("Bearer {token}");
            get(
                addr,
                "/secrets/db?api-version=7.4",
                &[("Authorization", &bearer)],
            )
            .await
        }
    };

    let old = token_of(
        &https_get(&emulator, &thumbprint, vault, &headers)
            .await
            .unwrap(),
    );
    assert_eq!(read(old.clone()).await.status, 200);
    emulator.revoke_issued_tokens();
    crate::cae::assert_revoked(&read(old.clone()).await, &emulator);
    // Claims alone do not help: the endpoint's cache answers with the revoked token.
    let same = https_get(
        &emulator,
        &thumbprint,
        &format!("{vault}&xms_cc=cp1"),
        &headers,
    )
    .await
    .unwrap();
    assert_eq!(token_of(&same), old);
    let query = format!(
        "{vault}&xms_cc=cp1&token_sha256_to_refresh={}",
        sha256_hex(&old)
    );
    let new = token_of(
        &https_get(&emulator, &thumbprint, &query, &headers)
            .await
            .unwrap(),
    );
    assert_ne!(new, old);
    let response = read(new).await;
    assert_eq!(response.status, 200, "{}", response.text());
}
