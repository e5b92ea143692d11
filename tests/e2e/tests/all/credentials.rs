//! Every credential through the component in the host, against the emulator's token
//! endpoint, with the form fields it received checked.

use crate::support::*;
use entra_emulator::{AppRegistration, Endpoint, FederatedCredential};
use entra_identity_host::{
    AppOptions, CertificateSource, CredentialKind, Error, Identity, TokenError, TokenRequest,
};
use std::time::Duration;

const APP: &str = "11111111-aaaa-4000-8000-00000000c11e";
const CERT: &str = keys::CLIENT_CERT;
const CERT_KEY: &str = keys::CLIENT_CERT_KEY;

fn app(world: &World) -> AppOptions {
    AppOptions::new(world.emulator.tenant_id(), APP).authority_host(world.emulator.base_url())
}

fn with_credential(world: &World, credential: CredentialKind) -> Identity {
    let config = world
        .config(Source::Imds)
        .with_credential(credential)
        .with_env(Default::default());
    Identity::new(config).unwrap()
}

fn form_names(request: &entra_emulator::RecordedRequest) -> Vec<String> {
    form_urlencoded_names(&request.body)
}

fn form_urlencoded_names(body: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(body)
        .split('&')
        .map(|pair| pair.split('=').next().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn client_secret_sends_the_documented_form() {
    let world = World::start().await;
    world
        .emulator
        .register_app(AppRegistration::new(APP).with_secret("s3cret-value-123"));
    let identity = with_credential(
        &world,
        CredentialKind::ClientSecret {
            app: app(&world),
            secret: "s3cret-value-123".into(),
        },
    );
    let token = identity.get_token(&[VAULT]).await.unwrap();
    assert_eq!(jwt_claims(token.secret())["appid"], APP);
    let sent = world.emulator.requests(Endpoint::Token).pop().unwrap();
    assert_eq!(
        (sent.method.as_str(), sent.path.clone()),
        (
            "POST",
            format!("/{}/oauth2/v2.0/token", world.emulator.tenant_id())
        )
    );
    assert_eq!(
        form_names(&sent),
        ["client_id", "client_secret", "grant_type", "scope"]
    );
    assert_eq!(
        sent.form_param("grant_type").as_deref(),
        Some("client_credentials")
    );
    assert_eq!(sent.form_param("scope").as_deref(), Some(VAULT));
    assert_eq!(
        sent.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
}

#[tokio::test]
async fn a_wrong_secret_is_a_typed_refusal_that_never_shows_the_secret() {
    let world = World::start().await;
    world
        .emulator
        .register_app(AppRegistration::new(APP).with_secret("right-secret-123"));
    let identity = with_credential(
        &world,
        CredentialKind::ClientSecret {
            app: app(&world),
            secret: "wrong-secret-456".into(),
        },
    );
    let err = identity.get_token(&[VAULT]).await.unwrap_err();
    let text = format!("{err} {err:?}");
    match err {
        Error::Token(TokenError::AuthenticationFailed(e)) => {
            assert_eq!(e.status, 401);
            assert!(e.code.contains("7000215"), "{e:?}");
            assert!(e.correlation_id.is_some());
        }
        other => panic!("{other:?}"),
    }
    assert!(!text.contains("wrong-secret-456"), "{text}");
}

#[tokio::test]
async fn client_certificate_signs_a_ps256_assertion_from_pem_or_file() {
    let world = World::start().await;
    world
        .emulator
        .register_app(AppRegistration::new(APP).with_certificate(CERT));
    let pem = format!("{CERT}\n{CERT_KEY}");
    let identity = with_credential(
        &world,
        CredentialKind::ClientCertificate {
            app: app(&world),
            certificate: CertificateSource::Pem(pem.clone()),
            send_certificate_chain: Some(false),
            rs256: false,
        },
    );
    identity.get_token(&[VAULT]).await.unwrap();
    let sent = world.emulator.requests(Endpoint::Token).pop().unwrap();
    assert_eq!(
        form_names(&sent),
        [
            "client_assertion",
            "client_assertion_type",
            "client_id",
            "grant_type",
            "scope"
        ]
    );
    assert_eq!(
        sent.form_param("client_assertion_type").as_deref(),
        Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );
    let assertion = sent.form_param("client_assertion").unwrap();
    let header = jsonwebtoken::decode_header(&assertion).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::PS256);
    assert!(header.x5t_s256.is_some() && header.x5c.is_none());
    let claims = jwt_claims(&assertion);
    assert_eq!(
        (claims["iss"].as_str(), claims["sub"].as_str()),
        (Some(APP), Some(APP))
    );
    assert!(claims["exp"].as_u64().unwrap() - claims["nbf"].as_u64().unwrap() <= 600);

    // From a file: the host opens only its directory, read-only.
    let dir = std::env::temp_dir().join(format!("entra-cert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("client.pem");
    std::fs::write(&path, &pem).unwrap();
    let identity = with_credential(
        &world,
        CredentialKind::ClientCertificate {
            app: app(&world),
            certificate: CertificateSource::Path(path.to_string_lossy().into()),
            send_certificate_chain: Some(true),
            rs256: true,
        },
    );
    identity
        .get_token(&["https://storage.azure.com/.default"])
        .await
        .unwrap();
    let assertion = world
        .emulator
        .requests(Endpoint::Token)
        .pop()
        .unwrap()
        .form_param("client_assertion")
        .unwrap();
    let header = jsonwebtoken::decode_header(&assertion).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    assert!(header.x5c.is_some());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn workload_identity_presents_the_token_file_and_rereads_it() {
    let world = World::start().await;
    world
        .emulator
        .register_app(AppRegistration::new(APP).with_federated_credential(
            FederatedCredential::new(
                world.emulator.oidc_issuer(),
                "system:serviceaccount:apps:api",
            ),
        ));
    let dir = std::env::temp_dir().join(format!("entra-wi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = world
        .emulator
        .write_federated_token_file(&dir, "apps", "api", HOUR)
        .unwrap();
    let identity = with_credential(
        &world,
        CredentialKind::WorkloadIdentity {
            app: app(&world),
            token_file: Some(file.to_string_lossy().into()),
            enable_azure_proxy: false,
        },
    );
    identity.get_token(&[VAULT]).await.unwrap();
    let first = world
        .emulator
        .requests(Endpoint::Token)
        .pop()
        .unwrap()
        .form_param("client_assertion")
        .unwrap();
    assert_eq!(first, std::fs::read_to_string(&file).unwrap().trim());

    // Kubernetes rotates the file; after 5 minutes the component reads it again.
    world.advance(Duration::from_secs(301));
    world
        .emulator
        .write_federated_token_file(&dir, "apps", "api", HOUR)
        .unwrap();
    let forced = TokenRequest::new(&[VAULT]).force_refresh();
    identity.get_token_for(&forced).await.unwrap();
    let second = world
        .emulator
        .requests(Endpoint::Token)
        .pop()
        .unwrap()
        .form_param("client_assertion")
        .unwrap();
    assert_ne!(first, second);
    assert_eq!(second, std::fs::read_to_string(&file).unwrap().trim());

    // The file disappears: a clear error, not a crash.
    std::fs::remove_file(&file).unwrap();
    world.advance(Duration::from_secs(301));
    let forced = TokenRequest::new(&[VAULT]).force_refresh();
    let err = identity.get_token_for(&forced).await.unwrap_err();
    assert!(
        matches!(err, Error::Token(TokenError::Unavailable(_))),
        "{err:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn managed_identity_as_a_federated_credential_caches_both_layers() {
    let world = World::start().await;
    let mi = world.emulator.system_assigned().clone();
    let issuer = format!(
        "https://login.microsoftonline.com/{}/v2.0",
        world.emulator.tenant_id()
    );
    world.emulator.register_app(
        AppRegistration::new(APP)
            .with_federated_credential(FederatedCredential::new(issuer, mi.object_id)),
    );
    let config = world
        .config(Source::Imds)
        .with_credential(CredentialKind::ManagedIdentityAsFederated { app: app(&world) });
    let identity = Identity::new(config).unwrap();
    let token = identity.get_token(&[VAULT]).await.unwrap();
    assert_eq!(jwt_claims(token.secret())["appid"], APP);
    let inner = world.emulator.requests(Endpoint::Imds).pop().unwrap();
    assert_eq!(
        inner.query_param("resource"),
        Some("api://AzureADTokenExchange")
    );
    assert_eq!(
        (
            world.emulator.count(Endpoint::Imds),
            world.emulator.count(Endpoint::Token)
        ),
        (1, 1)
    );

    identity.get_token(&[VAULT]).await.unwrap();
    assert_eq!(
        (
            world.emulator.count(Endpoint::Imds),
            world.emulator.count(Endpoint::Token)
        ),
        (1, 1)
    );
    // Another resource: a new outer token, the cached inner one.
    identity
        .get_token(&["https://storage.azure.com/.default"])
        .await
        .unwrap();
    assert_eq!(
        (
            world.emulator.count(Endpoint::Imds),
            world.emulator.count(Endpoint::Token)
        ),
        (1, 2)
    );
}

#[tokio::test]
async fn the_default_chain_uses_the_environment_then_managed_identity() {
    let world = World::start().await;
    world
        .emulator
        .register_app(AppRegistration::new(APP).with_secret("env-secret-789"));
    let mut config = world.config(Source::Imds);
    config.credential = CredentialKind::DefaultChain;
    for (k, v) in [
        ("AZURE_CLIENT_ID", APP.to_string()),
        ("AZURE_TENANT_ID", world.emulator.tenant_id().to_string()),
        ("AZURE_CLIENT_SECRET", "env-secret-789".to_string()),
        ("AZURE_AUTHORITY_HOST", world.emulator.base_url()),
    ] {
        config.env.insert(k.into(), v);
    }
    Identity::new(config)
        .unwrap()
        .get_token(&[VAULT])
        .await
        .unwrap();
    assert_eq!(
        (
            world.emulator.count(Endpoint::Token),
            world.emulator.count(Endpoint::Imds)
        ),
        (1, 0)
    );

    // Nothing but managed identity. The endpoint is the pod-identity override, which
    // the SDKs do not probe (it always answers); the probe itself is a core test.
    let mut config = world.config(Source::Imds);
    config.credential = CredentialKind::DefaultChain;
    let identity = Identity::new(config).unwrap();
    identity.get_token(&[VAULT]).await.unwrap();
    let imds = world.emulator.requests(Endpoint::Imds);
    assert_eq!(imds.len(), 1);
    assert_eq!(imds[0].header("metadata"), Some("true"));
    assert!(identity.describe().await.unwrap().contains("IMDS"));
}

#[tokio::test]
async fn the_default_chain_explains_every_unavailable_credential() {
    let world = World::start().await;
    let mut config = world.config(Source::Imds);
    config.credential = CredentialKind::DefaultChain;
    // IMDS where nothing listens.
    config.env.insert(
        "AZURE_POD_IDENTITY_AUTHORITY_HOST".into(),
        "http://127.0.0.1:1".into(),
    );
    let err = Identity::new(config.clone())
        .unwrap()
        .get_token(&[VAULT])
        .await
        .unwrap_err();
    match err {
        Error::Token(TokenError::Unavailable(m)) => {
            for name in [
                "EnvironmentCredential",
                "WorkloadIdentityCredential",
                "ManagedIdentityCredential",
            ] {
                assert!(m.contains(name), "{m}");
            }
        }
        other => panic!("{other:?}"),
    }
    config
        .env
        .insert("AZURE_TOKEN_CREDENTIALS".into(), "bogus".into());
    let err = Identity::new(config)
        .unwrap()
        .get_token(&[VAULT])
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Token(TokenError::InvalidInput(_))),
        "{err:?}"
    );
}
