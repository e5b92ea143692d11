//! Every flag whose help says "else AZURE_..." falls back to that variable, for every
//! credential it applies to, and for `validate` as for `token`.

use crate::entra_identity;
use entra_emulator::{AppRegistration, Emulator, Endpoint, FederatedCredential};
use entra_test_support::{keys, temp_dir};
use std::collections::BTreeSet;
use std::time::Duration;

const APP: &str = "44444444-aaaa-4000-8000-0000000e0f11";
const SECRET: &str = "env-s3cret-value";
const VAULT: &str = "https://vault.azure.net/.default";

/// `entra-identity <args>` with `vars`, nothing else of this process's identity
/// environment; succeeds or the test fails with its stderr.
async fn succeeds(args: &[&str], vars: &[(&str, String)]) -> String {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let shown = args.join(" ");
    let out = tokio::task::spawn_blocking(move || {
        entra_identity().args(&args).envs(vars).output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{shown}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The app's ids and cloud from the environment only.
fn app_vars(emulator: &Emulator) -> Vec<(&'static str, String)> {
    vec![
        ("AZURE_CLIENT_ID", APP.to_string()),
        ("AZURE_TENANT_ID", emulator.tenant_id().to_string()),
        ("AZURE_AUTHORITY_HOST", emulator.base_url()),
    ]
}

fn token_args(credential: &str) -> [&str; 5] {
    ["token", "--credential", credential, "--scope", VAULT]
}

/// Which token endpoint (tenant) and app the last token request went to.
fn last_token_request(emulator: &Emulator) -> (String, Option<String>) {
    let sent = emulator
        .requests(Endpoint::Token)
        .pop()
        .expect("a token request");
    (sent.path.clone(), sent.form_param("client_id"))
}

#[tokio::test(flavor = "multi_thread")]
async fn managed_identity_fic_takes_its_app_tenant_and_cloud_from_the_environment() {
    let emulator = Emulator::start(Default::default()).await.unwrap();
    let issuer = format!(
        "https://login.microsoftonline.com/{}/v2.0",
        emulator.tenant_id()
    );
    emulator.register_app(AppRegistration::new(APP).with_federated_credential(
        FederatedCredential::new(issuer, emulator.system_assigned().object_id.clone()),
    ));
    let mut vars = app_vars(&emulator);
    vars.push(("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.base_url()));
    succeeds(&token_args("managed-identity-fic"), &vars).await;
    assert_eq!(
        last_token_request(&emulator),
        (
            format!("/{}/oauth2/v2.0/token", emulator.tenant_id()),
            Some(APP.to_string())
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn client_secret_and_certificate_take_theirs_from_the_environment() {
    let emulator = Emulator::start(Default::default()).await.unwrap();
    let pem = format!("{}\n{}", keys::CLIENT_CERT, keys::CLIENT_CERT_KEY);
    emulator.register_app(
        AppRegistration::new(APP)
            .with_secret(SECRET)
            .with_certificate(keys::CLIENT_CERT),
    );
    let mut vars = app_vars(&emulator);
    vars.push(("AZURE_CLIENT_SECRET", SECRET.to_string()));
    succeeds(&token_args("client-secret"), &vars).await;
    let expected = (
        format!("/{}/oauth2/v2.0/token", emulator.tenant_id()),
        Some(APP.to_string()),
    );
    assert_eq!(last_token_request(&emulator), expected);

    let dir = temp_dir();
    let cert = dir.path().join("client.pem");
    std::fs::write(&cert, pem).unwrap();
    let mut vars = app_vars(&emulator);
    vars.push((
        "AZURE_CLIENT_CERTIFICATE_PATH",
        cert.to_string_lossy().into_owned(),
    ));
    succeeds(&token_args("client-certificate"), &vars).await;
    let sent = emulator.requests(Endpoint::Token).pop().unwrap();
    assert!(sent.form_param("client_assertion").is_some());
    assert_eq!(last_token_request(&emulator), expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn workload_identity_takes_its_token_file_from_the_environment() {
    let emulator = Emulator::start(Default::default()).await.unwrap();
    emulator.register_app(AppRegistration::new(APP).with_federated_credential(
        FederatedCredential::new(emulator.oidc_issuer(), "system:serviceaccount:apps:api"),
    ));
    let dir = temp_dir();
    let file = emulator
        .write_federated_token_file(dir.path(), "apps", "api", Duration::from_secs(3600))
        .unwrap();
    let mut vars = app_vars(&emulator);
    vars.push((
        "AZURE_FEDERATED_TOKEN_FILE",
        file.to_string_lossy().into_owned(),
    ));
    succeeds(&token_args("workload-identity"), &vars).await;
    let sent = emulator.requests(Endpoint::Token).pop().unwrap();
    assert_eq!(
        sent.form_param("client_assertion").as_deref(),
        Some(std::fs::read_to_string(&file).unwrap().trim())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_takes_the_authority_host_from_the_environment_as_token_does() {
    let emulator = Emulator::start(Default::default()).await.unwrap();
    let token = emulator.mint_api_token("api://protected", &[]);
    let args = [
        "validate",
        "--tenant",
        emulator.tenant_id(),
        "--audience",
        "api://protected",
    ];
    let mut command = entra_identity();
    command
        .args(args)
        .env("AZURE_AUTHORITY_HOST", emulator.base_url());
    let out = tokio::task::spawn_blocking(move || crate::with_stdin(command, &token))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "the keys come from the emulator named by AZURE_AUTHORITY_HOST: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(emulator.count(Endpoint::Jwks) >= 1);
}

/// The tests above cover every variable the help promises a fallback to; a flag
/// documented with a new one fails here until it has a test.
#[test]
fn every_documented_fallback_is_tested() {
    let mut documented = BTreeSet::new();
    for command in ["token", "validate"] {
        let out = entra_identity().args([command, "--help"]).output().unwrap();
        let help = String::from_utf8(out.stdout).unwrap().replace('\n', " ");
        for (i, _) in help.match_indices("else AZURE_") {
            let name: String = help[i + 5..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect();
            documented.insert(name);
        }
    }
    let tested: BTreeSet<String> = [
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_AUTHORITY_HOST",
        "AZURE_CLIENT_CERTIFICATE_PATH",
        "AZURE_FEDERATED_TOKEN_FILE",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(documented, tested);
}
