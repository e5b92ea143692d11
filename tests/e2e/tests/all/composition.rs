//! The Spin examples composed with the identity component (the `wac-graph` library, as
//! `wac plug` and Spin compose dependencies): what the result imports must be what
//! Spin 4.1 provides, listed in `examples/spin-4.1-imports.txt`.

use crate::examples::example;
use entra_identity_host::COMPONENT_WASM;
use entra_identity_host::serve::compose;
use examples_imports_check::{interfaces, parse_list, satisfies};

fn spin_provides() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/spin-4.1-imports.txt"
    );
    let list = std::fs::read_to_string(path).unwrap();
    parse_list(&list).into_iter().map(String::from).collect()
}

fn composed_imports_are_spins(app: &str) {
    let composed = compose(&example(app), COMPONENT_WASM).expect("composes");
    let found = interfaces(&composed).unwrap();
    eprintln!(
        "{app} composed ({} KiB)\n  imports: {}\n  exports: {}",
        composed.len() / 1024,
        found.imports.join(", "),
        found.exports.join(", ")
    );
    assert!(
        !found.imports.iter().any(|i| i.starts_with("entra:")),
        "the identity component satisfies every entra:identity import: {:?}",
        found.imports
    );
    let provided = spin_provides();
    let missing: Vec<_> = (found.imports.iter())
        .filter(|i| !provided.iter().any(|p| satisfies(i, p)))
        .collect();
    assert!(
        missing.is_empty(),
        "{app} composed imports what Spin 4.1 lacks: {missing:?}"
    );
    assert_eq!(found.exports, ["wasi:http/handler@0.3.0"]);
}

#[test]
fn spin_call_azure_composed_runs_on_spin_4_1() {
    composed_imports_are_spins("spin-call-azure");
}

#[test]
fn spin_protected_api_composed_runs_on_spin_4_1() {
    composed_imports_are_spins("spin-protected-api");
}

#[test]
fn an_app_without_identity_imports_is_refused_with_a_reason() {
    let e = compose(COMPONENT_WASM, COMPONENT_WASM).unwrap_err();
    assert!(e.to_string().contains("imports nothing"), "{e}");
    let e = compose(b"not wasm", COMPONENT_WASM).unwrap_err();
    assert!(e.to_string().contains("not a WebAssembly component"), "{e}");
}
