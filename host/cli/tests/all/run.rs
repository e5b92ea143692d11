//! `entra-identity run`: a plugin under a policy file, against the emulator.

use std::path::{Path, PathBuf};
use std::process::Command;

const VAULT: &str = "https://vault.azure.net/.default";
const STORAGE: &str = "https://storage.azure.com/.default";

fn compile_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compiled-components")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The example guest, built in the directory `examples/imports-check` builds it into.
fn guest_wasm() -> Vec<u8> {
    let dir = examples_imports_check::build(&["wasmtime-plugin-guest"]);
    let path = examples_imports_check::component_path(&dir, "wasmtime-plugin-guest");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn entra_identity() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_entra-identity"));
    cmd.env("ENTRA_IDENTITY_CACHE_DIR", compile_cache());
    for var in entra_identity_host::IDENTITY_ENV_VARS {
        cmd.env_remove(var);
    }
    cmd
}

fn guest_file() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasmtime-plugin-guest.wasm");
    std::fs::write(&path, guest_wasm()).unwrap();
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
    let dir = tempfile::tempdir().unwrap();
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
    let dir = tempfile::tempdir().unwrap();
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
