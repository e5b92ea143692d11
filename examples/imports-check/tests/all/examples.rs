//! Builds the example components for wasm32-wasip2 and checks their imports:
//! the Spin apps' against what Spin 4.1 provides (`examples/spin-4.1-imports.txt`,
//! plus `entra:identity`, which Spin satisfies with the declared dependency), the
//! plugin's against `entra:identity/tokens` and WASI 0.2.
//!
//! The build runs here, through cargo, into its own target directory (as
//! host/build.rs does for the component) rather than from a build script, so
//! `cargo check`/`clippy` never pay for it, and CI proves the examples build.
//! A warm build takes seconds; a cold one about two minutes. To check components
//! built elsewhere, point `ENTRA_EXAMPLES_WASM_DIR` at their directory.

use examples_imports_check::{
    Interfaces, build, component_path, in_package, interfaces, parse_list, satisfies,
};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const EXAMPLES: [&str; 3] = [
    "spin-call-azure",
    "spin-protected-api",
    "wasmtime-plugin-guest",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The directory holding the built `.wasm` files, building them on first use.
fn built() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| build(&EXAMPLES))
}

fn component(package: &str) -> Interfaces {
    let path = component_path(built(), package);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let found = interfaces(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    eprintln!(
        "{package} ({} KiB)\n  imports: {}\n  exports: {}",
        bytes.len() / 1024,
        found.imports.join(", "),
        found.exports.join(", ")
    );
    found
}

fn spin_provides() -> Vec<String> {
    let list = std::fs::read_to_string(workspace().join("examples/spin-4.1-imports.txt")).unwrap();
    parse_list(&list).into_iter().map(String::from).collect()
}

fn assert_spin_can_run(package: &str, entra_interfaces: &[&str]) {
    let found = component(package);
    let provided = spin_provides();
    let missing: Vec<_> = found
        .imports
        .iter()
        .filter(|import| !in_package(import, "entra:identity", "0.1.0"))
        .filter(|import| !provided.iter().any(|p| satisfies(import, p)))
        .collect();
    assert!(
        missing.is_empty(),
        "{package} imports what Spin 4.1 does not provide: {missing:?}"
    );
    for entra_interface in entra_interfaces {
        assert!(
            found.imports.iter().any(|i| satisfies(i, entra_interface)),
            "{package} should import {entra_interface}: {:?}",
            found.imports
        );
    }
    assert_eq!(found.exports, ["wasi:http/handler@0.3.0"], "{package}");
}

#[test]
fn spin_call_azure_runs_on_spin_4_1() {
    assert_spin_can_run("spin-call-azure", &["entra:identity/credentials@0.1.0"]);
}

#[test]
fn spin_protected_api_runs_on_spin_4_1() {
    // Validation for its callers, credentials for on-behalf-of: spin.toml names the
    // whole package as the dependency.
    assert_spin_can_run(
        "spin-protected-api",
        &[
            "entra:identity/validation@0.1.0",
            "entra:identity/credentials@0.1.0",
        ],
    );
}

/// A plugin gets tokens only from its host: no credentials interface, no config,
/// nothing beyond WASI 0.2 for its own I/O.
#[test]
fn plugin_imports_tokens_and_wasi_0_2_only() {
    let found = component("wasmtime-plugin-guest");
    let unexpected: Vec<_> = found
        .imports
        .iter()
        .filter(|import| !satisfies(import, "entra:identity/tokens@0.1.0"))
        .filter(|import| !(import.starts_with("wasi:") && in_wasi_0_2(import)))
        .collect();
    assert!(unexpected.is_empty(), "the plugin imports {unexpected:?}");
    assert!(
        found
            .imports
            .iter()
            .any(|i| satisfies(i, "entra:identity/tokens@0.1.0"))
    );
    assert!(
        found
            .imports
            .iter()
            .any(|i| satisfies(i, "wasi:http/outgoing-handler@0.2.0"))
    );
    assert_eq!(found.exports.len(), 1, "{:?}", found.exports);
    assert!(satisfies(&found.exports[0], "wasi:cli/run@0.2.0"));
}

fn in_wasi_0_2(import: &str) -> bool {
    let package = import.split('/').next().unwrap_or("");
    in_package(import, package, "0.2.0")
}
