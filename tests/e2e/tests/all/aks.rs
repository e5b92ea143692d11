//! AKS identity binding: workload identity through the AKS token proxy, the real
//! component in the real host against the emulator's proxy (its own HTTPS listener,
//! its own CA, a certificate only for its SNI name).

use crate::support::*;
use entra_emulator::{AppRegistration, Endpoint, FederatedCredential};
use entra_identity_host::{
    AppOptions, CredentialKind, Error, Identity, IdentityConfig, TokenError, TokenRequest,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const APP: &str = "11111111-aaaa-4000-8000-0000000a4b51";

/// A workload with a federated token file, and a directory for its CA file.
struct Workload {
    world: World,
    dir: PathBuf,
    token_file: PathBuf,
}

impl Workload {
    async fn start() -> Workload {
        let world = World::start().await;
        world
            .emulator
            .register_app(AppRegistration::new(APP).with_federated_credential(
                FederatedCredential::new(
                    world.emulator.oidc_issuer(),
                    "system:serviceaccount:apps:api",
                ),
            ));
        let dir = std::env::temp_dir().join(format!("entra-aks-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let token_file = world
            .emulator
            .write_federated_token_file(&dir, "apps", "api", HOUR)
            .unwrap();
        Workload {
            world,
            dir,
            token_file,
        }
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// The identity-binding variables with the CA in [`Self::ca_file`].
    fn binding_env(&self) -> Vec<(&'static str, String)> {
        let emulator = &self.world.emulator;
        vec![
            ("AZURE_KUBERNETES_TOKEN_PROXY", emulator.aks_proxy_url()),
            (
                "AZURE_KUBERNETES_SNI_NAME",
                emulator.aks_proxy_sni_name().to_string(),
            ),
            (
                "AZURE_KUBERNETES_CA_FILE",
                self.ca_file().to_string_lossy().into(),
            ),
        ]
    }

    fn config(&self, enable_azure_proxy: bool, env: &[(&str, String)]) -> IdentityConfig {
        let emulator = &self.world.emulator;
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        self.world
            .config(Source::Imds)
            .with_credential(CredentialKind::WorkloadIdentity {
                app: AppOptions::new(emulator.tenant_id(), APP).authority_host(emulator.base_url()),
                token_file: Some(self.token_file.to_string_lossy().into()),
                enable_azure_proxy,
            })
            .with_env(env)
    }

    fn identity(&self, enable_azure_proxy: bool, env: &[(&str, String)]) -> Identity {
        Identity::new(self.config(enable_azure_proxy, env)).unwrap()
    }
}

impl Drop for Workload {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn write(path: &Path, text: &str) {
    // Write then rename, as a kubelet's projected volume does.
    let partial = path.with_extension("partial");
    std::fs::write(&partial, text).unwrap();
    std::fs::rename(&partial, path).unwrap();
}

#[tokio::test]
async fn aks_token_through_the_proxy() {
    let w = Workload::start().await;
    let emulator = &w.world.emulator;
    write(&w.ca_file(), &emulator.aks_proxy_ca_pem());
    let identity = w.identity(true, &w.binding_env());

    // Only the proxy is reachable: never Entra itself.
    let proxy_authority = emulator
        .aks_proxy_url()
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        identity.allowed_authorities(),
        std::slice::from_ref(&proxy_authority)
    );
    assert!(identity.describe().await.unwrap().contains(&format!(
        "through the AKS token proxy at {}",
        emulator.aks_proxy_url()
    )));

    let token = identity.get_token(&[VAULT]).await.unwrap();
    assert_eq!(jwt_claims(token.secret())["appid"], APP);
    assert_eq!(emulator.count(Endpoint::Token), 0);
    let sent = emulator.requests(Endpoint::AksProxy);
    assert_eq!(sent.len(), 1);
    let sent = &sent[0];
    // Proxy path + the token endpoint's path; nothing added to the query.
    assert_eq!(sent.method, "POST");
    assert_eq!(
        sent.path,
        format!(
            "/aks/identity-binding/{}/oauth2/v2.0/token",
            emulator.tenant_id()
        )
    );
    assert!(sent.query.is_empty(), "{:?}", sent.query);
    // The Host header is the proxy URL's authority; the SNI name is what TLS sent.
    assert_eq!(sent.header("host"), Some(proxy_authority.as_str()));
    assert_eq!(
        emulator.aks_proxy_sni_seen(),
        [Some(emulator.aks_proxy_sni_name().to_string())]
    );
    // The body is the federated client-assertion form, the token file's assertion in it.
    assert_eq!(
        sent.form_param("client_assertion").unwrap(),
        std::fs::read_to_string(&w.token_file).unwrap().trim()
    );
    assert_eq!(
        sent.form_param("client_assertion_type").as_deref(),
        Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );
    assert_eq!(
        sent.form_param("grant_type").as_deref(),
        Some("client_credentials")
    );
    assert_eq!(sent.form_param("client_id").as_deref(), Some(APP));
    assert_eq!(sent.form_param("scope").as_deref(), Some(VAULT));
    assert_eq!(
        sent.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
}

#[tokio::test]
async fn aks_proxy_with_the_wrong_ca_gets_no_request_and_a_clear_error() {
    let w = Workload::start().await;
    let emulator = &w.world.emulator;
    // Another CA: the emulator's Service Fabric certificate, self-signed.
    write(&w.ca_file(), emulator.service_fabric_certificate_pem());
    let identity = w.identity(true, &w.binding_env());
    let error = identity.get_token(&[VAULT]).await.unwrap_err();
    match &error {
        Error::Token(TokenError::Transport(m)) => {
            let origin = emulator
                .aks_proxy_url()
                .replace("/aks/identity-binding", "");
            assert!(m.contains(&origin), "{m}");
            assert!(m.contains("TlsCertificateError"), "{m}");
        }
        other => panic!("expected a TLS transport error, got {other:?}"),
    }
    assert!(
        !emulator.aks_proxy_sni_seen().is_empty(),
        "never reached the proxy"
    );
    assert_eq!(emulator.count(Endpoint::AksProxy), 0);
    assert_eq!(emulator.count(Endpoint::Token), 0);

    // A CA file that does not exist: the host says which variable to fix.
    let logs = entra_test_support::logs::Logs::everywhere("entra_identity_host=warn");
    std::fs::remove_file(w.ca_file()).unwrap();
    let error = identity
        .get_token_for(&TokenRequest::new(&[VAULT]).force_refresh())
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Token(TokenError::Transport(_))),
        "{error:?}"
    );
    let text = logs.text();
    assert!(
        text.contains(&format!(
            "invalid AZURE_KUBERNETES_CA_FILE: cannot read {}",
            w.ca_file().display()
        )),
        "the host's warning names the variable and the file: {text}"
    );
    assert_eq!(emulator.count(Endpoint::AksProxy), 0);
}

#[tokio::test]
async fn aks_proxy_ca_rotation_is_picked_up_without_a_restart() {
    let w = Workload::start().await;
    let emulator = &w.world.emulator;
    write(&w.ca_file(), &emulator.aks_proxy_ca_pem());
    let identity = w.identity(true, &w.binding_env());
    identity.get_token(&[VAULT]).await.unwrap();
    assert_eq!(emulator.count(Endpoint::AksProxy), 1);

    // The cluster rotates its CA; until the file follows, nothing gets through.
    emulator.rotate_aks_proxy_ca();
    let forced = TokenRequest::new(&[VAULT]).force_refresh();
    identity.get_token_for(&forced).await.unwrap_err();
    assert_eq!(emulator.count(Endpoint::AksProxy), 1);

    // The kubelet writes the new CA: the same identity, the same instances, a new token.
    write(&w.ca_file(), &emulator.aks_proxy_ca_pem());
    let token = identity.get_token_for(&forced).await.unwrap();
    assert_eq!(jwt_claims(token.secret())["appid"], APP);
    assert_eq!(emulator.count(Endpoint::AksProxy), 2);

    // A CA file emptied mid-rotation keeps the CA in hand.
    std::fs::write(w.ca_file(), "").unwrap();
    identity
        .get_token(&["https://storage.azure.com/.default"])
        .await
        .unwrap();
    assert_eq!(emulator.count(Endpoint::AksProxy), 3);
}

#[tokio::test]
async fn aks_invalid_settings_are_refused_with_what_to_fix_and_ignored_when_off() {
    let w = Workload::start().await;
    let emulator = &w.world.emulator;
    let insecure = [(
        "AZURE_KUBERNETES_TOKEN_PROXY",
        emulator.aks_proxy_url().replacen("https://", "http://", 1),
    )];
    let error = w
        .identity(true, &insecure)
        .get_token(&[VAULT])
        .await
        .unwrap_err();
    match error {
        Error::Token(TokenError::InvalidInput(m)) => assert!(
            m.starts_with("invalid AZURE_KUBERNETES_TOKEN_PROXY: ") && m.contains("must use HTTPS"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    let orphan = [(
        "AZURE_KUBERNETES_SNI_NAME",
        "aks.example.invalid".to_string(),
    )];
    let error = w
        .identity(true, &orphan)
        .get_token(&[VAULT])
        .await
        .unwrap_err();
    match error {
        Error::Token(TokenError::InvalidInput(m)) => assert!(
            m.contains("AZURE_KUBERNETES_TOKEN_PROXY is not set but other custom endpoint-related settings are present"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    let mut both = w.binding_env();
    both.push(("AZURE_KUBERNETES_CA_DATA", emulator.aks_proxy_ca_pem()));
    let error = w
        .identity(true, &both)
        .get_token(&[VAULT])
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Token(TokenError::InvalidInput(m)) if m.contains("only one of AZURE_KUBERNETES_CA_FILE or AZURE_KUBERNETES_CA_DATA")),
        "{error:?}"
    );
    assert_eq!(emulator.count(Endpoint::AksProxy), 0);
    assert_eq!(emulator.count(Endpoint::Token), 0);

    // Not enabled: the variables, invalid ones included, are ignored; Entra is asked.
    let identity = w.identity(false, &insecure);
    identity.get_token(&[VAULT]).await.unwrap();
    assert_eq!(emulator.count(Endpoint::Token), 1);
    assert_eq!(emulator.count(Endpoint::AksProxy), 0);
}

#[tokio::test]
async fn aks_ca_data_is_trusted_too() {
    let w = Workload::start().await;
    let emulator = &w.world.emulator;
    let env = [
        ("AZURE_KUBERNETES_TOKEN_PROXY", emulator.aks_proxy_url()),
        (
            "AZURE_KUBERNETES_SNI_NAME",
            emulator.aks_proxy_sni_name().to_string(),
        ),
        ("AZURE_KUBERNETES_CA_DATA", emulator.aks_proxy_ca_pem()),
    ];
    w.identity(true, &env).get_token(&[VAULT]).await.unwrap();
    assert_eq!(emulator.count(Endpoint::AksProxy), 1);

    // Without the SNI name the proxy's certificate (issued for that name only) does not
    // match the URL's 127.0.0.1: refused, nothing sent.
    // (Forced: the shared cache already holds the token.)
    let without_sni = [env[0].clone(), env[2].clone()];
    w.identity(true, &without_sni)
        .get_token_for(&TokenRequest::new(&[VAULT]).force_refresh())
        .await
        .unwrap_err();
    assert_eq!(emulator.count(Endpoint::AksProxy), 1);
}
