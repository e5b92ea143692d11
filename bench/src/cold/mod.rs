//! Section 3, cold acquisition: for every credential, the whole exchange with the
//! emulator, component vs native `azure_identity` 1.0 where it has the credential.
//!
//! Component: one `Identity` per credential (its own cache bucket), warmed once, then
//! `force_refresh` per sample. Native: a new credential per sample, so an empty cache,
//! each with a new reqwest client (as a new process has), built outside the timing.
//! Neither side reuses a connection: wasi:http opens one per request, and so does a new
//! client.
//!
//! Both sides reach the token endpoint over HTTPS, a TLS handshake per sample: the
//! emulator's HTTPS listener, whose self-signed certificate the component trusts through
//! `SSL_CERT_FILE` (the host's system roots) and azure_identity through a reqwest
//! client trusting only it (`azure_identity` only takes an `https` authority host: a
//! custom cloud). The managed-identity endpoints are plain HTTP on both sides, as they
//! are in Azure (Service Fabric's pinned HTTPS aside). azure_identity's IMDS address
//! (`169.254.169.254`) cannot be configured: that credential gets a transport that
//! rewrites the URL before reqwest sends it.

use crate::{Stats, ms, stats};
use azure_core::credentials::{Secret, SecretBytes, TokenCredential};
use azure_core::http::{
    AsyncRawResponse, ClientMethodOptions, ClientOptions, HttpClient, Request, Transport, Url,
};
use azure_identity::{
    ClientAssertion, ClientAssertionCredential, ClientAssertionCredentialOptions,
    ClientCertificateCredential, ClientCertificateCredentialOptions, ClientSecretCredential,
    ClientSecretCredentialOptions, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use entra_emulator::{AppRegistration, Emulator, Endpoint, FederatedCredential};
use entra_identity_host::{
    AppOptions, CacheConfig, CertificateSource, CredentialKind, Identity, IdentityConfig,
    TokenRequest,
};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod setup;
use setup::*;

mod certificate;

const SCOPE: &str = "https://vault.azure.net/.default";
const TOKEN_EXCHANGE: &str = "api://AzureADTokenExchange/.default";
const CERT: &str = entra_test_support::keys::CLIENT_CERT;
const CERT_KEY: &str = entra_test_support::keys::CLIENT_CERT_KEY;

const SECRET_APP: &str = "be4c0000-0000-4000-8000-00000000c001";
const SECRET: &str = "bench-cold-client-secret";
const CERT_APP: &str = "be4c0000-0000-4000-8000-00000000c002";
const WORKLOAD_APP: &str = "be4c0000-0000-4000-8000-00000000c003";
const FIC_APP: &str = "be4c0000-0000-4000-8000-00000000c004";
const SERVICE_ACCOUNT: (&str, &str) = ("bench", "cold");

struct Row {
    credential: &'static str,
    component: Stats,
    /// The native numbers, or why there are none.
    native: Result<Stats, &'static str>,
    note: &'static str,
}

/// Prints section 3: cold acquisition, `n` samples per cell.
pub async fn cold_acquisition(emulator: &Emulator, n: usize) {
    let started = Instant::now();
    let setup = Setup::new(emulator);
    let mut rows = Vec::new();
    let mut row = |credential, component, native, note| {
        rows.push(Row {
            credential,
            component,
            native,
            note,
        })
    };

    // Managed identity sources.
    set_app_service_env(emulator, false);
    let config = setup.config(
        "cold-imds",
        CredentialKind::ManagedIdentity,
        [("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.base_url())],
    );
    let ours = component(expect(emulator, Endpoint::Imds, 1), config, n).await;
    let theirs = native(expect(emulator, Endpoint::Imds, 1), n, || {
        let transport = Redirect::new(
            "169.254.169.254",
            &emulator.base_url(),
            setup.https_client(),
        );
        ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
            client_options: options(Arc::new(transport), None),
            ..Default::default()
        }))
        .expect("native IMDS credential")
    })
    .await;
    row(
        "managed identity, IMDS",
        ours,
        Ok(theirs),
        "azure_identity's IMDS address is fixed (169.254.169.254): \
         its transport rewrites it to the emulator",
    );

    set_app_service_env(emulator, true);
    let config = setup.config(
        "cold-app-service",
        CredentialKind::ManagedIdentity,
        [
            ("IDENTITY_ENDPOINT", emulator.app_service_endpoint()),
            ("IDENTITY_HEADER", emulator.identity_header().into()),
        ],
    );
    let ours = component(expect(emulator, Endpoint::AppService, 1), config, n).await;
    let theirs = native(expect(emulator, Endpoint::AppService, 1), n, || {
        ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
            client_options: options(Arc::new(setup.https_client()), None),
            ..Default::default()
        }))
        .expect("native App Service credential")
    })
    .await;
    row("managed identity, App Service", ours, Ok(theirs), "");

    let mut config = setup.config(
        "cold-arc",
        CredentialKind::ManagedIdentity,
        [
            ("IDENTITY_ENDPOINT", emulator.arc_endpoint()),
            ("IMDS_ENDPOINT", emulator.base_url()),
        ],
    );
    config.arc_token_dir = Some(emulator.arc_token_dir().to_path_buf());
    let ours = component(expect(emulator, Endpoint::Arc, 2), config, n).await;
    row(
        "managed identity, Azure Arc",
        ours,
        Err("—"),
        "two requests (the challenge, then the key file's secret); \
         azure_identity 1.0 refuses the Azure Arc source",
    );

    let config = setup.config(
        "cold-service-fabric",
        CredentialKind::ManagedIdentity,
        [
            ("IDENTITY_ENDPOINT", emulator.service_fabric_endpoint()),
            ("IDENTITY_HEADER", emulator.identity_header().into()),
            (
                "IDENTITY_SERVER_THUMBPRINT",
                emulator.service_fabric_thumbprint().into(),
            ),
        ],
    );
    let ours = component(expect(emulator, Endpoint::ServiceFabric, 1), config, n).await;
    row(
        "managed identity, Service Fabric",
        ours,
        Err("—"),
        "HTTPS pinned to the thumbprint, a TLS handshake per sample; \
         azure_identity 1.0 refuses the Service Fabric source",
    );

    let config = setup.config(
        "cold-cloud-shell",
        CredentialKind::ManagedIdentity,
        [("MSI_ENDPOINT", emulator.cloud_shell_endpoint())],
    );
    let ours = component(expect(emulator, Endpoint::CloudShell, 1), config, n).await;
    row(
        "managed identity, Cloud Shell",
        ours,
        Err("—"),
        "azure_identity 1.0 refuses the Cloud Shell source",
    );

    let config = setup.config(
        "cold-azure-ml",
        CredentialKind::ManagedIdentity,
        [
            ("MSI_ENDPOINT", emulator.azure_ml_endpoint()),
            ("MSI_SECRET", emulator.azure_ml_secret().into()),
            (
                "DEFAULT_IDENTITY_CLIENT_ID",
                emulator.system_assigned().client_id.clone(),
            ),
        ],
    );
    let ours = component(expect(emulator, Endpoint::AzureMl, 1), config, n).await;
    row(
        "managed identity, Azure ML",
        ours,
        Err("—"),
        "azure_identity 1.0 refuses the Azure ML source",
    );

    // App registrations, at the token endpoint.
    let token = expect(emulator, Endpoint::Token, 1);
    let config = setup.config(
        "cold-workload",
        CredentialKind::WorkloadIdentity {
            app: setup.app(WORKLOAD_APP),
            token_file: Some(setup.token_file.to_string_lossy().into()),
            enable_azure_proxy: false,
        },
        [],
    );
    let ours = component(token, config, n).await;
    let theirs = native(token, n, || {
        WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
            credential_options: ClientAssertionCredentialOptions {
                client_options: setup.token_endpoint_options(),
            },
            client_id: Some(WORKLOAD_APP.into()),
            tenant_id: Some(emulator.tenant_id().into()),
            token_file_path: Some(setup.token_file.clone()),
        }))
        .expect("native workload identity credential")
    })
    .await;
    row(
        "workload identity (token file)",
        ours,
        Ok(theirs),
        "both read the token file before the samples, not in them",
    );

    let config = setup.config(
        "cold-secret",
        CredentialKind::ClientSecret {
            app: setup.app(SECRET_APP),
            secret: SECRET.into(),
        },
        [],
    );
    let ours = component(token, config, n).await;
    let theirs = native(token, n, || {
        ClientSecretCredential::new(
            emulator.tenant_id(),
            SECRET_APP.into(),
            Secret::new(SECRET),
            Some(ClientSecretCredentialOptions {
                client_options: setup.token_endpoint_options(),
            }),
        )
        .expect("native client secret credential")
    })
    .await;
    row("client secret", ours, Ok(theirs), "");

    let certificate = |bucket| {
        setup.config(
            bucket,
            CredentialKind::ClientCertificate {
                app: setup.app(CERT_APP),
                certificate: CertificateSource::Pem(format!("{CERT}\n{CERT_KEY}")),
                send_certificate_chain: Some(false),
                rs256: false,
            },
            [],
        )
    };
    let reused = certificate::reused_assertion(token, certificate("cold-certificate"), n).await;
    let signed =
        certificate::fresh_signatures(token, certificate("cold-certificate-signed"), n).await;
    let theirs = native(token, n, || {
        ClientCertificateCredential::new(
            emulator.tenant_id().into(),
            CERT_APP.into(),
            SecretBytes::new(setup.pkcs12.clone()),
            Some(ClientCertificateCredentialOptions {
                client_options: setup.token_endpoint_options(),
                ..Default::default()
            }),
        )
        .expect("native client certificate credential")
    })
    .await;
    row(
        "client certificate, a new signature per token",
        signed,
        Ok(theirs),
        "a new RSA-2048 signature per sample: PS256 in wasm, RS256 in OpenSSL; \
         azure_identity takes only PKCS12 (made from the PEM with openssl)",
    );
    row(
        "client certificate, assertion reused for up to 5 min (as MSAL does)",
        reused,
        Ok(theirs),
        "a first token for a new scope per sample, the credential's signed assertion sent \
         again while it has half its 10 minutes left (same certificate, app and token \
         endpoint only); azure_identity signs per token",
    );

    // Natively: a client assertion that is a managed identity's token. The managed
    // identity's token is cached on both sides (a forced refresh of the outer token
    // reuses the inner one), so each sample is the token endpoint exchange alone.
    let config = setup.config(
        "cold-mi-fic",
        CredentialKind::ManagedIdentityAsFederated {
            app: setup.app(FIC_APP),
        },
        [
            ("IDENTITY_ENDPOINT", emulator.app_service_endpoint()),
            ("IDENTITY_HEADER", emulator.identity_header().into()),
        ],
    );
    let ours = component(token, config, n).await;
    assert_eq!(emulator.count(Endpoint::AppService), 1, "one inner token");
    let managed_identity = ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
        client_options: options(Arc::new(setup.https_client()), None),
        ..Default::default()
    }))
    .expect("native App Service credential");
    let theirs = native(token, n, || {
        ClientAssertionCredential::new(
            emulator.tenant_id().into(),
            FIC_APP.into(),
            ManagedIdentityAssertion(managed_identity.clone()),
            Some(ClientAssertionCredentialOptions {
                client_options: setup.token_endpoint_options(),
            }),
        )
        .expect("native client assertion credential")
    })
    .await;
    assert_eq!(emulator.count(Endpoint::AppService), 1, "one inner token");
    row(
        "managed identity as federated credential",
        ours,
        Ok(theirs),
        "App Service's token as the assertion, cached on both sides: the exchange alone; \
         azure_identity: ClientAssertionCredential",
    );

    let (https, http) = setup.tls_handshake_cost(n).await;
    let _ = std::fs::remove_dir_all(&setup.dir);

    println!("\n### 3. Cold acquisition, every credential ({n} each)\n");
    println!(
        "| credential | component p50 ms | p99 ms | azure_identity p50 ms | p99 ms | ratio (p50) | note |\n|---|---|---|---|---|---|---|"
    );
    for row in rows {
        let (native_p50, native_p99, ratio) = match row.native {
            Ok(p) => (
                ms(p.p50),
                ms(p.p99),
                format!(
                    "{:.2}×",
                    row.component.p50.as_secs_f64() / p.p50.as_secs_f64()
                ),
            ),
            Err(dash) => (dash.to_string(), dash.to_string(), dash.to_string()),
        };
        println!(
            "| {} | {} | {} | {native_p50} | {native_p99} | {ratio} | {} |",
            row.credential,
            ms(row.component.p50),
            ms(row.component.p99),
            row.note
        );
    }
    println!(
        "\nBoth sides reach the token endpoint over HTTPS, a new connection and TLS handshake \
         per sample (the component trusting the emulator's certificate through SSL_CERT_FILE). \
         What that handshake costs on loopback: a fresh reqwest client's client-secret POST \
         takes {} ms p50 over HTTPS vs {} ms over HTTP (p99 {} vs {}).",
        ms(https.p50),
        ms(http.p50),
        ms(https.p99),
        ms(http.p99)
    );
    if https.p99 > http.p99 * 5 {
        println!(
            "The HTTPS p99 tail is in that plain reqwest exchange too: in azure_identity's \
             token-endpoint rows it comes from the emulator's HTTPS listener and reqwest, not \
             from azure_identity."
        );
    }
    println!(
        "\n(section 3 took {:.1} s)",
        started.elapsed().as_secs_f64()
    );
}

/// What a row must have cost: `per_token` requests to `endpoint` for each token.
#[derive(Clone, Copy)]
struct Expect<'a> {
    emulator: &'a Emulator,
    endpoint: Endpoint,
    per_token: usize,
}

impl Expect<'_> {
    fn start(&self) {
        self.emulator.reset_counters();
    }

    /// Checks the count for `tokens` tokens, so that a row measures what it says.
    fn check(&self, tokens: usize) {
        assert_eq!(
            self.emulator.count(self.endpoint),
            self.per_token * tokens,
            "requests to {:?}",
            self.endpoint
        );
    }
}

fn expect(emulator: &Emulator, endpoint: Endpoint, per_token: usize) -> Expect<'_> {
    Expect {
        emulator,
        endpoint,
        per_token,
    }
}

/// `n` forced refreshes through one warmed `Identity`.
async fn component(expect: Expect<'_>, config: IdentityConfig, n: usize) -> Stats {
    component_each(expect, config, n, || {}).await
}

/// [`component`], calling `before_sample` (untimed) before each sample.
async fn component_each(
    expect: Expect<'_>,
    config: IdentityConfig,
    n: usize,
    mut before_sample: impl FnMut(),
) -> Stats {
    expect.start();
    let identity = Identity::new(config).expect("identity starts");
    identity.get_token(&[SCOPE]).await.expect("warm-up token");
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        before_sample();
        let t = Instant::now();
        identity
            .get_token_for(&TokenRequest::new(&[SCOPE]).force_refresh())
            .await
            .expect("component token");
        samples.push(t.elapsed());
    }
    expect.check(n + 1);
    stats(samples)
}

/// `n` first tokens, each from a credential `make` builds (outside the timing); one
/// more first, untimed, as a warm-up.
async fn native<C: TokenCredential>(
    expect: Expect<'_>,
    n: usize,
    mut make: impl FnMut() -> Arc<C>,
) -> Stats {
    expect.start();
    make()
        .get_token(&[SCOPE], None)
        .await
        .expect("warm-up native token");
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let fresh = make();
        let t = Instant::now();
        fresh.get_token(&[SCOPE], None).await.expect("native token");
        samples.push(t.elapsed());
    }
    expect.check(n + 1);
    stats(samples)
}
