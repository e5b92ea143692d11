//! `entra-identity run`: a plugin under a policy file, against the emulator.

use std::path::{Path, PathBuf};

use crate::entra_identity;

const VAULT: &str = "https://vault.azure.net/.default";
const STORAGE: &str = "https://storage.azure.com/.default";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn guest_file() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasmtime-plugin-guest.wasm");
    std::fs::write(&path, entra_test_support::plugin_guest_wasm()).unwrap();
    path
}

fn write_policy(dir: &Path) -> PathBuf {
    let path = dir.join("policy.toml");
    std::fs::write(
        &path,
        format!("[plugins.reporter]\nscopes = [\"{VAULT}\"]\noutbound = [\"{{emulator}}\"]\n"),
    )
    .unwrap();
    path
}

#[test]
fn cli_runs_a_plugin_against_the_emulator_and_returns_its_exit_code() {
    let dir = entra_test_support::temp_dir();
    let (wasm, policy) = (guest_file(), write_policy(dir.path()));
    let run = |scope: &str| {
        entra_identity()
            .arg("run")
            .arg(&wasm)
            .args(["--name", "reporter", "--policy"])
            .arg(&policy)
            .args([
                "--emulator",
                "--",
                "{emulator}/secrets/demo?api-version=7.4",
                scope,
            ])
            .output()
            .unwrap()
    };

    let ok = run(VAULT);
    let (stdout, stderr) = (text(&ok.stdout), text(&ok.stderr));
    assert_eq!(ok.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("200 "), "{stdout}");
    assert!(stdout.contains("hello from the emulator"), "{stdout}");

    let denied = run(STORAGE);
    let stderr = text(&denied.stderr);
    assert_eq!(denied.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("denied by the host"), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("denied a plugin's token request") && l.contains("reporter")),
        "the operator's line: {stderr}"
    );
}

#[test]
fn cli_reports_a_bad_policy_and_a_missing_plugin() {
    let dir = entra_test_support::temp_dir();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "[plugins.reporter]\nmemory_mib = 0\n").unwrap();
    let out = entra_identity()
        .args(["run", "missing.wasm", "--policy"])
        .arg(&policy)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("plugins.reporter.memory_mib"), "{stderr}");

    let out = entra_identity()
        .args(["run", "missing.wasm"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("plugin missing cannot be loaded") && stderr.contains("missing.wasm"),
        "{stderr}"
    );
}

#[test]
fn run_with_metrics_summarises_tokens_and_denials_on_stderr() {
    let dir = entra_test_support::temp_dir();
    let (wasm, policy) = (guest_file(), write_policy(dir.path()));
    let run = |scope: &str| {
        entra_identity()
            .arg("run")
            .arg(&wasm)
            .args(["--name", "reporter", "--metrics", "--policy"])
            .arg(&policy)
            .args([
                "--emulator",
                "--",
                "{emulator}/secrets/demo?api-version=7.4",
                scope,
            ])
            .output()
            .unwrap()
    };
    let ok = run(VAULT);
    let stderr = text(&ok.stderr);
    assert_eq!(ok.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("entra_identity.token.requests layer=upstream outcome=ok: 1"),
        "{stderr}"
    );
    let denied = run(STORAGE);
    let stderr = text(&denied.stderr);
    assert_eq!(denied.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("entra_identity.plugin.denials plugin=reporter reason=scope: 1"),
        "{stderr}"
    );
}
