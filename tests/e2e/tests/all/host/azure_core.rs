//! `IdentityCredential` inside a real `azure_core` pipeline: its `BearerTokenAuthorizationPolicy` puts the
//! component's token on requests to the emulator's Key Vault, which checks it like the real vault.
//!
//! The pipeline's transport is a small HTTPS client over the host's own hyper and rustls, trusting the emulator's
//! self-signed certificate: the policy refuses to send tokens over plain HTTP, and azure_core's default reqwest
//! transport is left out so that the `azure-core` feature stays light.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use azure_core::error::ErrorKind;
use azure_core::http::headers::{HeaderName, HeaderValue, Headers};
use azure_core::http::policies::Policy;
use azure_core::http::policies::auth::BearerTokenAuthorizationPolicy;
use azure_core::http::{
    AsyncRawResponse, ClientOptions, Context, HttpClient, Method, Pipeline, PipelineSendOptions,
    Request, StatusCode, Transport, Url,
};
use entra_emulator::{Emulator, Endpoint};
use entra_identity_host::azure_core::IdentityCredential;
use entra_identity_host::{Identity, IdentityConfig, ManagedIdentityOptions, RetryOptions};
use http_body_util::{BodyExt as _, Full};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use wasmtime_wasi_http::io::TokioIo;

const VAULT_SCOPE: &str = "https://vault.azure.net/.default";

/// HTTPS to one self-signed server: one connection per request, which is all these tests need.
struct EmulatorHttps {
    tls: TlsConnector,
}

impl std::fmt::Debug for EmulatorHttps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmulatorHttps")
    }
}

impl EmulatorHttps {
    fn trusting(emulator: &Emulator) -> Self {
        let config = emulator.tls_client_config();
        Self {
            tls: TlsConnector::from(Arc::new(config)),
        }
    }

    async fn send(&self, request: &Request) -> Result<AsyncRawResponse, String> {
        let url = request.url();
        let host = url.host_str().ok_or("no host")?.to_owned();
        let port = url.port_or_known_default().ok_or("no port")?;
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| e.to_string())?;
        let name = ServerName::try_from(host.clone()).map_err(|e| e.to_string())?;
        let tls = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);

        let mut outgoing = http::Request::builder()
            .method(request.method().as_ref())
            .uri(request.path_and_query())
            .header("host", format!("{host}:{port}"));
        for (name, value) in request.headers().iter() {
            outgoing = outgoing.header(name.as_str(), value.as_str());
        }
        let body = azure_core::Bytes::from(request.body());
        let outgoing = outgoing.body(Full::new(body)).map_err(|e| e.to_string())?;
        let response = sender
            .send_request(outgoing)
            .await
            .map_err(|e| e.to_string())?;

        let status = StatusCode::from(response.status().as_u16());
        let mut headers = Headers::new();
        for (name, value) in response.headers() {
            if let Ok(value) = value.to_str() {
                headers.insert(
                    HeaderName::from(name.as_str().to_owned()),
                    HeaderValue::from(value.to_owned()),
                );
            }
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok(AsyncRawResponse::from_bytes(status, headers, body))
    }
}

#[async_trait::async_trait]
impl HttpClient for EmulatorHttps {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        self.send(request)
            .await
            .map_err(|e| azure_core::Error::with_message(ErrorKind::Io, e))
    }
}

/// A pipeline as an Azure SDK client builds one, authorizing with `credential` when given.
fn pipeline(emulator: &Emulator, credential: Option<Arc<dyn TokenCredential>>) -> Pipeline {
    let per_try: Vec<Arc<dyn Policy>> = credential
        .map(|credential| {
            Arc::new(BearerTokenAuthorizationPolicy::new(
                credential,
                [VAULT_SCOPE],
            )) as Arc<dyn Policy>
        })
        .into_iter()
        .collect();
    let options = ClientOptions {
        transport: Some(Transport::new(Arc::new(EmulatorHttps::trusting(emulator)))),
        ..Default::default()
    };
    Pipeline::new(
        Some("entra-identity-host-test"),
        Some("0.0.0"),
        options,
        Vec::new(),
        per_try,
        None,
    )
}

fn secret_request(emulator: &Emulator, name: &str) -> Request {
    let url = format!(
        "{}/secrets/{name}?api-version=7.4",
        emulator.key_vault_https_url()
    );
    Request::new(Url::parse(&url).unwrap(), Method::Get)
}

/// The component pointed at the emulator's App Service endpoint with `identity_header` as the secret.
fn identity(emulator: &Emulator, identity_header: &str) -> Identity {
    let env = BTreeMap::from([
        (
            "IDENTITY_ENDPOINT".to_owned(),
            emulator.app_service_endpoint(),
        ),
        ("IDENTITY_HEADER".to_owned(), identity_header.to_owned()),
    ]);
    let config = IdentityConfig::default()
        .with_env(env)
        .with_managed_identity(
            ManagedIdentityOptions::default().retry(
                RetryOptions::default()
                    .initial_delay(Duration::from_millis(5))
                    .max_delay(Duration::from_millis(20))
                    .max_elapsed(Duration::from_secs(5)),
            ),
        );
    Identity::new(config).expect("identity starts")
}

async fn start() -> Emulator {
    Emulator::start(Default::default())
        .await
        .expect("emulator starts")
}

#[tokio::test]
async fn bearer_policy_reads_a_secret_and_reuses_the_token() {
    let emulator = start().await;
    emulator.set_secret("db-password", "s3cr3t-from-the-vault");
    let credential: Arc<dyn TokenCredential> = Arc::new(IdentityCredential::new(identity(
        &emulator,
        emulator.identity_header(),
    )));
    let pipeline = pipeline(&emulator, Some(credential.clone()));

    for _ in 0..2 {
        let response = pipeline
            .send(
                &Context::new(),
                &mut secret_request(&emulator, "db-password"),
                None,
            )
            .await
            .expect("200 from Key Vault");
        let body: serde_json::Value = response.into_body().json().unwrap();
        assert_eq!(body["value"], "s3cr3t-from-the-vault");
    }
    let sent = emulator.requests(Endpoint::KeyVault);
    assert_eq!(sent.len(), 2);
    for request in &sent {
        let authorization = request.header("authorization").expect("authorized");
        assert!(authorization.starts_with("Bearer ey"), "a JWT bearer token");
    }
    assert_eq!(emulator.count(Endpoint::AppService), 1);

    // A second pipeline starts with an empty policy cache: the credential answers from the component's cache.
    let other = self::pipeline(&emulator, Some(credential));
    other
        .send(
            &Context::new(),
            &mut secret_request(&emulator, "db-password"),
            None,
        )
        .await
        .expect("200 from Key Vault");
    assert_eq!(emulator.count(Endpoint::KeyVault), 3);
    assert_eq!(emulator.count(Endpoint::AppService), 1);
}

#[tokio::test]
async fn without_the_policy_key_vault_challenges() {
    let emulator = start().await;
    emulator.set_secret("db-password", "v");
    let response = pipeline(&emulator, None)
        .send(
            &Context::new(),
            &mut secret_request(&emulator, "db-password"),
            Some(PipelineSendOptions {
                skip_checks: true,
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::Unauthorized);
    let challenge = response
        .headers()
        .get_optional_str(&HeaderName::from_static("www-authenticate"))
        .unwrap();
    assert!(
        challenge.contains(r#"resource="https://vault.azure.net""#),
        "{challenge}"
    );
    assert_eq!(emulator.count(Endpoint::AppService), 0);
}

#[tokio::test]
async fn failures_are_credential_errors_without_secrets() {
    let emulator = start().await;
    let wrong_header = "wrong-identity-header-0123456789";
    let credential = IdentityCredential::new(identity(&emulator, wrong_header));
    let error = credential
        .get_token(&[VAULT_SCOPE], None)
        .await
        .expect_err("App Service refuses the wrong secret");
    assert_eq!(error.kind(), &ErrorKind::Credential);
    let shown = format!("{error} {error:?}");
    assert!(shown.contains("401"), "{shown}");
    assert!(!shown.contains(wrong_header), "{shown}");
    let typed = error.into_inner().expect("the host's error is the source");
    assert!(typed.is::<entra_identity_host::Error>());

    // Through a pipeline the same error stops the request before it reaches the vault.
    let error = pipeline(&emulator, Some(Arc::new(credential)))
        .send(
            &Context::new(),
            &mut secret_request(&emulator, "db-password"),
            None,
        )
        .await
        .expect_err("no token, no request");
    assert_eq!(error.kind(), &ErrorKind::Credential);
    assert_eq!(emulator.count(Endpoint::KeyVault), 0);
}

#[tokio::test]
async fn debug_output_never_shows_a_token() {
    let emulator = start().await;
    let credential = IdentityCredential::new(identity(&emulator, emulator.identity_header()));
    let token = credential.get_token(&[VAULT_SCOPE], None).await.unwrap();
    let secret = token.token.secret().to_owned();
    assert!(secret.starts_with("ey"));
    for shown in [format!("{token:?}"), format!("{credential:?}")] {
        assert!(!shown.contains(&secret), "{shown}");
        assert!(!shown.contains(emulator.identity_header()), "{shown}");
    }
    assert!(format!("{credential:?}").contains("127.0.0.1"));
    let now = azure_core::time::OffsetDateTime::now_utc();
    assert!(token.expires_on > now + azure_core::time::Duration::hours(23));
}
