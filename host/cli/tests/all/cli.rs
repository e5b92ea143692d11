//! The `entra-identity` binary, as a user runs it.

use crate::entra_identity;

#[test]
fn token_from_the_emulator_as_json() {
    let out = entra_identity()
        .args([
            "token",
            "--emulator",
            "--scope",
            "https://vault.azure.net/.default",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["token_type"], "Bearer");
    assert_eq!(json["access_token"].as_str().unwrap().split('.').count(), 3);
    assert!(json["refresh_on"].as_u64().unwrap() < json["expires_on"].as_u64().unwrap());
}

#[test]
fn metrics_summarise_the_run_on_stderr_without_the_token() {
    let out = entra_identity()
        .args([
            "token",
            "--emulator",
            "--scope",
            "https://vault.azure.net/.default",
            "--metrics",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(token.split('.').count(), 3, "stdout is the token alone");
    assert!(stderr.contains("entra-identity metrics:"), "{stderr}");
    assert!(
        stderr.contains("entra_identity.token.requests layer=upstream outcome=ok: 1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("entra_identity.upstream.duration"),
        "{stderr}"
    );
    assert!(!stderr.contains(&token), "the token reached stderr");
}

#[test]
fn plain_output_is_the_token_alone() {
    let out = entra_identity()
        .args([
            "token",
            "--emulator",
            "--emulator-source",
            "app-service",
            "--scope",
            "https://storage.azure.com/.default",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1);
    assert!(stdout.starts_with("eyJ"));
}

#[test]
fn a_failure_explains_source_answer_and_what_to_check() {
    let out = entra_identity()
        .args([
            "token",
            "--emulator",
            "--scope",
            "https://vault.azure.net/.default",
            "--client-id",
            "not-assigned",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("managed identity via IMDS"), "{stderr}");
    assert!(stderr.contains("HTTP 400"), "{stderr}");
    assert!(stderr.contains("client id not-assigned"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn no_identity_endpoint_is_reported_as_unavailable() {
    // An endpoint where nothing listens: the component cannot connect.
    let out = entra_identity()
        .args([
            "token",
            "--scope",
            "https://vault.azure.net/.default",
            "--endpoint",
            "http://127.0.0.1:9",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unavailable") && stderr.contains("127.0.0.1:9"),
        "{stderr}"
    );
}

fn emulator_token(scope: &str) -> String {
    let out = entra_identity()
        .args(["token", "--emulator", "--scope", scope])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn validate(authority: &str, token: &str, extra: &[&str]) -> std::process::Output {
    let mut command = entra_identity();
    command
        .args([
            "validate",
            "--tenant",
            entra_emulator::DEFAULT_TENANT_ID,
            "--audience",
            "api://protected",
        ])
        .args(["--authority", authority])
        .args(extra);
    crate::with_stdin(command, token)
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_prints_claims_or_the_reason_for_rejection() {
    // The emulator the token comes from and this one sign with the same test keys.
    let emulator = entra_emulator::Emulator::start(Default::default())
        .await
        .unwrap();
    let token = emulator_token("api://protected/.default");
    let base = emulator.base_url();

    let ok = tokio::task::spawn_blocking({
        let (base, token) = (base.clone(), token.clone());
        move || validate(&base, &format!("Bearer {token}\n"), &[])
    })
    .await
    .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let claims: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(claims["tid"], entra_emulator::DEFAULT_TENANT_ID);
    assert_eq!(claims["aud"], "api://protected");

    let denied =
        tokio::task::spawn_blocking(move || validate(&base, &token, &["--require-role", "Admin"]))
            .await
            .unwrap();
    assert_eq!(denied.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert!(stderr.contains("Admin"), "{stderr}");
    assert!(denied.stdout.is_empty());
}

const APP: &str = "11111111-aaaa-4000-8000-00000000c11e";
const APP_SECRET: &str = "cli-s3cret-value";

/// `token --credential client-secret` against an in-process emulator, with `extra`
/// flags; the token-endpoint request it recorded.
async fn client_secret_token(extra: &[&str]) -> entra_emulator::RecordedRequest {
    let emulator = entra_emulator::Emulator::start(Default::default())
        .await
        .unwrap();
    emulator.register_app(entra_emulator::AppRegistration::new(APP).with_secret(APP_SECRET));
    let mut args: Vec<String> = [
        "token",
        "--credential",
        "client-secret",
        "--app-id",
        APP,
        "--tenant-id",
        emulator.tenant_id(),
        "--authority-host",
        &emulator.base_url(),
        "--scope",
        "https://vault.azure.net/.default",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    args.extend(extra.iter().map(|a| a.to_string()));
    let out = tokio::task::spawn_blocking(move || {
        entra_identity()
            .env("AZURE_CLIENT_SECRET", APP_SECRET)
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut sent = emulator.requests(entra_emulator::Endpoint::Token);
    assert_eq!(sent.len(), 1);
    sent.pop().unwrap()
}

/// Needs the core's client capabilities (merged with the `claims` rule of
/// `entra_identity_core::claims`).
#[tokio::test(flavor = "multi_thread")]
async fn client_capability_cp1_is_declared_in_the_token_requests_claims() {
    let sent = client_secret_token(&["--client-capability", "cp1"]).await;
    assert_eq!(
        sent.form_param("claims").as_deref(),
        Some(r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn claims_ask_for_a_token_that_satisfies_a_challenge() {
    let challenge = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;
    let sent = client_secret_token(&["--claims", challenge]).await;
    let claims: serde_json::Value =
        serde_json::from_str(&sent.form_param("claims").expect("a claims field")).unwrap();
    assert_eq!(
        claims,
        serde_json::from_str::<serde_json::Value>(challenge).unwrap()
    );
}

#[test]
fn help_says_what_cp1_means() {
    let out = entra_identity().args(["token", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--client-capability"), "{help}");
    assert!(help.contains("claims challenges"), "{help}");
    assert!(help.contains("--claims"), "{help}");
}

#[test]
fn tls_roots_take_system_or_webpki_from_the_flag_or_its_variable() {
    let help = entra_identity().args(["token", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--tls-roots"), "{help}");
    assert!(help.contains("ENTRA_IDENTITY_TLS_ROOTS"), "{help}");

    let flag = entra_identity()
        .args(["token", "--scope", "s", "--tls-roots", "webkpi"])
        .output()
        .unwrap();
    let variable = entra_identity()
        .args(["token", "--scope", "s"])
        .env("ENTRA_IDENTITY_TLS_ROOTS", "webkpi")
        .output()
        .unwrap();
    for out in [flag, variable] {
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("webkpi") && stderr.contains("system") && stderr.contains("webpki"),
            "the refusal names the value and the two choices: {stderr}"
        );
    }
}
