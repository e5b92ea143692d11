//! Every credential kind, on its success path and on a refusal that echoes what it was
//! sent, with every log line captured (wasmtime's and the component's included, the
//! emulator's own excluded): no client secret, assertion, federated token,
//! `IDENTITY_HEADER`, Azure ML secret, Arc key or access token appears in the logs, in
//! any error's Display or Debug, in a configuration's Debug or in `describe()`.

use crate::support::*;
use entra_emulator::{AppRegistration, Endpoint, Fault, FederatedCredential};
use entra_identity_host::{
    AppOptions, CertificateSource, CredentialKind, Identity, IdentityConfig, TokenRequest,
};

const APP: &str = "5ec2e700-0000-4000-8000-00000000c0de";
const SECRET: &str = "sweep-client-secret-value-42";
const CERT: &str = keys::CLIENT_CERT;
const CERT_KEY: &str = keys::CLIENT_CERT_KEY;

/// What a run showed anyone: its secrets must be in none of it.
#[derive(Default)]
struct Exposure {
    secrets: Vec<(String, String)>,
    shown: Vec<String>,
}

impl Exposure {
    fn secret(&mut self, what: &str, value: impl Into<String>) {
        let value = value.into();
        assert!(value.len() >= 8, "{what} is too short to search for");
        self.secrets.push((what.to_string(), value));
    }
    fn show(&mut self, text: impl Into<String>) {
        self.shown.push(text.into());
    }
}

fn app(world: &World) -> AppOptions {
    AppOptions::new(world.emulator.tenant_id(), APP).authority_host(world.emulator.base_url())
}

/// Runs `config`: a token (kept as a secret), then a forced refresh that `fault` turns
/// into a refusal; records what the caller sees.
async fn exercise(
    world: &World,
    config: IdentityConfig,
    endpoint: Endpoint,
    fault: Fault,
    seen: &mut Exposure,
) {
    seen.show(format!("{config:?}"));
    let identity = Identity::new(config).unwrap();
    let token = identity.get_token(&[VAULT]).await.unwrap();
    seen.secret("an access token", token.secret());
    seen.show(format!("{token:?}"));
    tracing::info!(?token, "a caller logging its token");
    world.emulator.push_faults(endpoint, [fault]);
    let forced = TokenRequest::new(&[VAULT]).force_refresh();
    if let Err(e) = identity.get_token_for(&forced).await {
        seen.show(format!("{e} {e:?}"));
        tracing::warn!(error = %e, ?e, "a caller logging its error");
    }
    seen.show(identity.describe().await.unwrap());
}

/// A refusal that quotes back everything it was sent, as a careless proxy might.
fn echo(secrets: &[&str]) -> Fault {
    Fault::StatusWithBody {
        status: 400,
        body: format!(
            r#"{{"error":"invalid_request","error_description":"you sent: {}"}}"#,
            secrets.join(" ")
        ),
        content_type: "application/json".into(),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn no_credential_leaks_a_secret_anywhere() {
    let (logs, _guard) = Logs::capture_filtered("trace,entra_emulator=off");
    let mut seen = Exposure::default();

    // Client secret.
    let world = World::start().await;
    world
        .emulator
        .register_app(AppRegistration::new(APP).with_secret(SECRET));
    seen.secret("the client secret", SECRET);
    let config = world
        .config(Source::Imds)
        .with_credential(CredentialKind::ClientSecret {
            app: app(&world),
            secret: SECRET.into(),
        })
        .with_env(Default::default());
    exercise(&world, config, Endpoint::Token, echo(&[SECRET]), &mut seen).await;

    // Client certificate: the signed assertion.
    let world = World::start().await;
    world
        .emulator
        .register_app(AppRegistration::new(APP).with_certificate(CERT));
    let config = world
        .config(Source::Imds)
        .with_credential(CredentialKind::ClientCertificate {
            app: app(&world),
            certificate: CertificateSource::Pem(format!("{CERT}\n{CERT_KEY}")),
            send_certificate_chain: Some(true),
            rs256: false,
        })
        .with_env(Default::default());
    exercise(
        &world,
        config,
        Endpoint::Token,
        echo(&["(assertion)"]),
        &mut seen,
    )
    .await;
    for sent in world.emulator.requests(Endpoint::Token) {
        seen.secret(
            "a client assertion",
            sent.form_param("client_assertion").unwrap(),
        );
    }

    // Workload identity: the federated token file.
    let world = World::start().await;
    world
        .emulator
        .register_app(AppRegistration::new(APP).with_federated_credential(
            FederatedCredential::new(
                world.emulator.oidc_issuer(),
                "system:serviceaccount:apps:api",
            ),
        ));
    let dir = temp_dir();
    let file = world
        .emulator
        .write_federated_token_file(
            dir.path(),
            "apps",
            "api",
            std::time::Duration::from_secs(3600),
        )
        .unwrap();
    seen.secret(
        "the federated token",
        std::fs::read_to_string(&file).unwrap(),
    );
    let config = world
        .config(Source::Imds)
        .with_credential(CredentialKind::WorkloadIdentity {
            app: app(&world),
            token_file: Some(file.to_string_lossy().into()),
            enable_azure_proxy: false,
        })
        .with_env(Default::default());
    exercise(
        &world,
        config,
        Endpoint::Token,
        echo(&["(assertion)"]),
        &mut seen,
    )
    .await;

    // App Service: IDENTITY_HEADER.
    let world = World::start().await;
    let header = world.emulator.identity_header().to_string();
    seen.secret("IDENTITY_HEADER", header.clone());
    let config = world.config(Source::AppService);
    exercise(
        &world,
        config,
        Endpoint::AppService,
        echo(&[&header]),
        &mut seen,
    )
    .await;

    // Azure ML: its secret header.
    let world = World::start().await;
    let ml = world.emulator.azure_ml_secret().to_string();
    seen.secret("the Azure ML secret", ml.clone());
    let config = world.config(Source::Imds).with_env(
        [
            (
                "MSI_ENDPOINT".to_string(),
                world.emulator.azure_ml_endpoint(),
            ),
            ("MSI_SECRET".to_string(), ml.clone()),
            (
                "DEFAULT_IDENTITY_CLIENT_ID".to_string(),
                world.emulator.system_assigned().client_id.clone(),
            ),
        ]
        .into(),
    );
    exercise(&world, config, Endpoint::AzureMl, echo(&[&ml]), &mut seen).await;

    // Azure Arc: the key file's content, sent as Basic authorization.
    let world = World::start().await;
    let config = world
        .config(Source::Imds)
        .with_arc_token_dir(Some(world.emulator.arc_token_dir().to_path_buf()))
        .with_env(
            [
                (
                    "IDENTITY_ENDPOINT".to_string(),
                    world.emulator.arc_endpoint(),
                ),
                ("IMDS_ENDPOINT".to_string(), world.emulator.base_url()),
            ]
            .into(),
        );
    // The fault hits the challenge request of the refresh, then the authorised one.
    world
        .emulator
        .push_faults(Endpoint::Arc, [Fault::Delay(std::time::Duration::ZERO)]);
    exercise(&world, config, Endpoint::Arc, echo(&["(key)"]), &mut seen).await;
    for sent in world.emulator.requests(Endpoint::Arc) {
        if let Some(key) = sent
            .header("authorization")
            .and_then(|a| a.strip_prefix("Basic "))
        {
            seen.secret("the Arc key", key.to_string());
        }
    }

    let captured = logs.text();
    assert!(
        captured.contains("a caller logging its token"),
        "the capture works"
    );
    assert!(
        seen.secrets.len() >= 10,
        "{} secrets collected",
        seen.secrets.len()
    );
    for (what, secret) in &seen.secrets {
        assert!(
            !captured.contains(secret.as_str()),
            "{what} appears in the logs"
        );
        for shown in &seen.shown {
            assert!(
                !shown.contains(secret.as_str()),
                "{what} appears in: {shown}"
            );
        }
    }
}
