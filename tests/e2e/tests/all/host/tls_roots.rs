//! Outbound HTTPS trusts the machine's roots: an Entra endpoint behind a private CA
//! that the host knows of only through `SSL_CERT_FILE` answers, and with
//! `ENTRA_IDENTITY_TLS_ROOTS=webpki` the same endpoint is refused with a warning that
//! says what to change. The emulator's HTTPS listener plays that endpoint; its
//! certificate, self-signed, is the private CA.
//!
//! Each test runs in a process of its own: the roots come from the process's
//! environment, read once per process.

use entra_emulator::{AppRegistration, Emulator, Endpoint};
use entra_identity_host::{
    AppOptions, CredentialKind, Error, Identity, IdentityConfig, TlsRoots, TokenError,
};
use entra_test_support::{Logs, in_a_process_of_its_own_with_env, temp_dir, test_path};

const APP: &str = "11111111-aaaa-4000-8000-0000000075c1";
const SECRET: &str = "tls-roots-secret-123";
const VAULT: &str = "https://vault.azure.net/.default";

/// Runs the test `name` in a child process whose `SSL_CERT_FILE` names a file that
/// does not exist yet (the child writes the emulator's CA there) and whose
/// [`TlsRoots::ENV_VAR`] is `roots`. `true` in the child.
fn alone(name: &str, roots: &str) -> bool {
    // Removed when the child is done (in the child, an unused empty directory).
    let dir = temp_dir();
    let ca = dir.path().join("private-ca.pem");
    in_a_process_of_its_own_with_env(
        &test_path(module_path!(), name),
        &[
            ("SSL_CERT_FILE", ca.to_str().expect("a UTF-8 temp path")),
            (TlsRoots::ENV_VAR, roots),
        ],
    )
}

/// In the child: the emulator, its CA written where `SSL_CERT_FILE` says (before any
/// HTTPS request, so before the roots are read), and a client-secret identity at the
/// emulator's HTTPS listener, configured from the process's environment.
async fn behind_a_private_ca() -> (Emulator, Identity) {
    let emulator = Emulator::start(Default::default()).await.unwrap();
    emulator.register_app(AppRegistration::new(APP).with_secret(SECRET));
    let ca = std::env::var("SSL_CERT_FILE").expect("the parent sets SSL_CERT_FILE");
    std::fs::write(&ca, emulator.service_fabric_certificate_pem()).unwrap();
    let app =
        AppOptions::new(emulator.tenant_id(), APP).authority_host(emulator.key_vault_https_url());
    let config = IdentityConfig::from_env()
        .unwrap()
        .with_env(Default::default())
        .with_credential(CredentialKind::ClientSecret {
            app,
            secret: SECRET.into(),
        });
    let identity = Identity::new(config).unwrap();
    (emulator, identity)
}

#[tokio::test]
async fn a_private_ca_named_only_by_ssl_cert_file_is_trusted() {
    if !alone(
        "a_private_ca_named_only_by_ssl_cert_file_is_trusted",
        "system",
    ) {
        return;
    }
    let (emulator, identity) = behind_a_private_ca().await;
    let token = identity.get_token(&[VAULT]).await;
    assert!(token.is_ok(), "{:?}", token.err());
    assert_eq!(emulator.count(Endpoint::Token), 1);
}

#[tokio::test]
async fn web_pki_only_refuses_a_private_ca_and_says_what_to_change() {
    if !alone(
        "web_pki_only_refuses_a_private_ca_and_says_what_to_change",
        "webpki",
    ) {
        return;
    }
    let logs = Logs::everywhere("entra_identity_host=warn");
    let (emulator, identity) = behind_a_private_ca().await;
    let error = identity.get_token(&[VAULT]).await.unwrap_err();
    match &error {
        Error::Token(TokenError::Transport(m)) => {
            assert!(m.contains("TlsCertificateError"), "{m}")
        }
        other => panic!("expected a TLS certificate error, got {other:?}"),
    }
    assert_eq!(emulator.count(Endpoint::Token), 0);
    let text = logs.text();
    let authority = emulator.key_vault_https_url().replace("https://", "");
    assert!(
        text.contains("the server's TLS certificate is not trusted")
            && text.contains(&authority)
            && text.contains("ENTRA_IDENTITY_TLS_ROOTS=system"),
        "the host's warning names the endpoint and the setting to change: {text}"
    );
}
