//! What section 3's rows share (registered apps, the token file, the native side's
//! TLS trust) and the plumbing azure_identity needs to reach the emulator.

use super::*;

/// azure_identity's managed identity credential reads the process environment.
pub(super) fn set_app_service_env(emulator: &Emulator, on: bool) {
    // SAFETY: the bench runs one section at a time and nothing else reads the
    // environment meanwhile; main already sets these the same way.
    unsafe {
        if on {
            std::env::set_var("IDENTITY_ENDPOINT", emulator.app_service_endpoint());
            std::env::set_var("IDENTITY_HEADER", emulator.identity_header());
        } else {
            std::env::remove_var("IDENTITY_ENDPOINT");
            std::env::remove_var("IDENTITY_HEADER");
        }
    }
}

pub(super) fn options(
    transport: Arc<dyn HttpClient>,
    authority_host: Option<&str>,
) -> ClientOptions {
    let cloud = authority_host.map(|host| {
        let mut custom = azure_core::cloud::CustomConfiguration::default();
        custom.authority_host = host.into();
        Arc::new(azure_core::cloud::CloudConfiguration::from(custom))
    });
    ClientOptions {
        transport: Some(Transport::new(transport)),
        cloud,
        ..Default::default()
    }
}

/// What every row shares: the registered apps, the token file, the native TLS trust.
pub(super) struct Setup {
    base_url: String,
    tenant_id: String,
    /// `https://127.0.0.1:PORT`: the emulator's HTTPS listener, both sides' authority host.
    pub(super) https_authority: String,
    certificate: reqwest::Certificate,
    /// The test certificate and key as PKCS12 (no password).
    pub(super) pkcs12: Vec<u8>,
    pub(super) dir: PathBuf,
    pub(super) token_file: PathBuf,
}

impl Setup {
    pub(super) fn new(emulator: &Emulator) -> Setup {
        emulator.register_app(AppRegistration::new(SECRET_APP).with_secret(SECRET));
        emulator.register_app(AppRegistration::new(CERT_APP).with_certificate(CERT));
        emulator.register_app(
            AppRegistration::new(WORKLOAD_APP).with_federated_credential(FederatedCredential::new(
                emulator.oidc_issuer(),
                format!(
                    "system:serviceaccount:{}:{}",
                    SERVICE_ACCOUNT.0, SERVICE_ACCOUNT.1
                ),
            )),
        );
        let issuer = format!(
            "https://login.microsoftonline.com/{}/v2.0",
            emulator.tenant_id()
        );
        emulator.register_app(AppRegistration::new(FIC_APP).with_federated_credential(
            FederatedCredential::new(issuer, emulator.system_assigned().object_id.clone()),
        ));
        let dir = std::env::temp_dir().join(format!("entra-bench-cold-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let token_file = emulator
            .write_federated_token_file(
                &dir,
                SERVICE_ACCOUNT.0,
                SERVICE_ACCOUNT.1,
                Duration::from_secs(3600),
            )
            .expect("token file");
        Setup {
            base_url: emulator.base_url(),
            tenant_id: emulator.tenant_id().into(),
            https_authority: emulator.key_vault_https_url(),
            certificate: reqwest::Certificate::from_der(emulator.service_fabric_certificate_der())
                .expect("the emulator's certificate"),
            pkcs12: pkcs12(),
            dir,
            token_file,
        }
    }

    /// A new client, trusting only the emulator's certificate, configured as
    /// azure_core's own (no redirects followed).
    pub(super) fn https_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .tls_certs_only([self.certificate.clone()])
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("reqwest client")
    }

    /// azure_identity's options for the token endpoint: the emulator's HTTPS listener as
    /// a custom cloud's authority host.
    pub(super) fn token_endpoint_options(&self) -> ClientOptions {
        options(Arc::new(self.https_client()), Some(&self.https_authority))
    }

    /// An app at the emulator's HTTPS listener, as azure_identity's: the component
    /// trusts it through `SSL_CERT_FILE` (main's `trust_the_emulator`).
    pub(super) fn app(&self, client_id: &str) -> AppOptions {
        AppOptions::new(self.tenant_id.clone(), client_id)
            .authority_host(self.https_authority.clone())
    }

    pub(super) fn config<const N: usize>(
        &self,
        bucket: &str,
        credential: CredentialKind,
        env: [(&str, String); N],
    ) -> IdentityConfig {
        IdentityConfig::default()
            .with_env(
                env.into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect::<BTreeMap<_, _>>(),
            )
            .with_credential(credential)
            .with_cache(CacheConfig {
                bucket: bucket.into(),
                ..Default::default()
            })
    }

    /// p50/p99 of a client-secret token request from a fresh reqwest client, over the
    /// HTTPS listener and over the plain one: the difference is a TLS handshake.
    pub(super) async fn tls_handshake_cost(&self, n: usize) -> (Stats, Stats) {
        let path = format!("/{}/oauth2/v2.0/token", self.tenant_id);
        let body = format!(
            "grant_type=client_credentials&client_id={SECRET_APP}&client_secret={SECRET}&scope={}",
            SCOPE.replace(':', "%3A").replace('/', "%2F")
        );
        let mut out = Vec::new();
        for base in [&self.https_authority, &self.base_url] {
            let url = format!("{base}{path}");
            let mut samples = Vec::with_capacity(n);
            for i in 0..=n {
                let client = self.https_client();
                let t = Instant::now();
                let response = client
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body.clone())
                    .send()
                    .await
                    .expect("token request");
                assert!(response.status().is_success(), "{}", response.status());
                response.bytes().await.expect("token response");
                // The first is a warm-up.
                if i > 0 {
                    samples.push(t.elapsed());
                }
            }
            out.push(stats(samples));
        }
        (out[0], out[1])
    }
}

/// The test certificate and key as an unencrypted-password PKCS12 bundle.
pub(super) fn pkcs12() -> Vec<u8> {
    let cert = openssl::x509::X509::from_pem(CERT.as_bytes()).expect("certificate");
    let key = openssl::pkey::PKey::private_key_from_pem(CERT_KEY.as_bytes()).expect("key");
    openssl::pkcs12::Pkcs12::builder()
        .name("bench")
        .pkey(&key)
        .cert(&cert)
        .build2("")
        .expect("PKCS12")
        .to_der()
        .expect("PKCS12 DER")
}

/// A transport sending requests for one host to another origin, for addresses
/// azure_identity does not let us configure.
#[derive(Debug)]
pub(super) struct Redirect {
    from: String,
    to: Url,
    client: reqwest::Client,
}

impl Redirect {
    pub(super) fn new(from: &str, to: &str, client: reqwest::Client) -> Redirect {
        Redirect {
            from: from.into(),
            to: Url::parse(to).expect("redirect target"),
            client,
        }
    }
}

#[async_trait::async_trait]
impl HttpClient for Redirect {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        if request.url().host_str() != Some(self.from.as_str()) {
            return self.client.execute_request(request).await;
        }
        let mut redirected = request.clone();
        let url = redirected.url_mut();
        url.set_scheme(self.to.scheme())
            .expect("http(s) to http(s)");
        url.set_host(self.to.host_str()).expect("a host");
        url.set_port(self.to.port()).expect("a port");
        self.client.execute_request(&redirected).await
    }
}

/// A client assertion that is a managed identity's token for the token exchange.
#[derive(Debug)]
pub(super) struct ManagedIdentityAssertion(pub(super) Arc<ManagedIdentityCredential>);

#[async_trait::async_trait]
impl ClientAssertion for ManagedIdentityAssertion {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        let token = self.0.get_token(&[TOKEN_EXCHANGE], None).await?;
        Ok(token.token.secret().to_string())
    }
}
