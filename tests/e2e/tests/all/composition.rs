//! The Spin examples composed with the identity component (the `wac-graph` library, as
//! `wac plug` and Spin compose dependencies): what the result imports must be what
//! Spin 4.1 provides, listed in `examples/spin-4.1-imports.txt`. Composed with
//! `--standalone`, only what the stock `wasmtime serve -Scli` provides.

use crate::examples::example;
use entra_identity_host::COMPONENT_WASM;
use entra_identity_host::serve::{STANDALONE_WASM, compose, compose_standalone};
use examples_imports_check::{in_package, interfaces, parse_list, satisfies};

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

/// What a host with neither wasi:keyvalue nor wasi:config (`wasmtime serve -Scli`)
/// provides: WASI 0.2 without them.
const STANDALONE_HOST: [&str; 6] = [
    "wasi:http",
    "wasi:cli",
    "wasi:clocks",
    "wasi:random",
    "wasi:filesystem",
    "wasi:io",
];

#[test]
fn standalone_composition_imports_only_wasi_0_2_without_keyvalue_or_config() {
    let app = example("wasi-http-token");
    let plain = interfaces(&compose(&app, COMPONENT_WASM).unwrap()).unwrap();
    assert!(
        plain
            .imports
            .iter()
            .any(|i| i.starts_with("wasi:keyvalue/"))
            && plain.imports.iter().any(|i| i.starts_with("wasi:config/")),
        "without --standalone the identity component's imports stay: {:?}",
        plain.imports
    );

    let composed = compose_standalone(&app, COMPONENT_WASM, STANDALONE_WASM).unwrap();
    let found = interfaces(&composed).unwrap();
    eprintln!(
        "wasi-http-token composed standalone ({} KiB; adapter {} KiB)\n  imports: {}",
        composed.len() / 1024,
        STANDALONE_WASM.len() / 1024,
        found.imports.join(", ")
    );
    let foreign: Vec<_> = (found.imports.iter())
        .filter(|i| !STANDALONE_HOST.iter().any(|p| in_package(i, p, "0.2.0")))
        .collect();
    assert!(foreign.is_empty(), "imports beyond WASI 0.2: {foreign:?}");
    assert_eq!(found.exports.len(), 1, "{:?}", found.exports);
    assert!(
        satisfies(&found.exports[0], "wasi:http/incoming-handler@0.2.0"),
        "{:?}",
        found.exports
    );
}

#[test]
fn the_adapter_exports_exactly_what_the_identity_component_imports_from_it() {
    let adapter = interfaces(STANDALONE_WASM).unwrap();
    let identity = interfaces(COMPONENT_WASM).unwrap();
    let wanted: Vec<_> = (identity.imports.iter())
        .filter(|i| i.starts_with("wasi:keyvalue/") || i.starts_with("wasi:config/"))
        .collect();
    assert_eq!(wanted.len(), 3, "{:?}", identity.imports);
    let mut exports: Vec<_> = adapter.exports.iter().collect();
    exports.sort();
    let mut wanted = wanted;
    wanted.sort();
    assert_eq!(exports, wanted);
    assert!(
        !(adapter.imports.iter())
            .any(|i| i.starts_with("wasi:keyvalue/") || i.starts_with("wasi:config/")),
        "{:?}",
        adapter.imports
    );
}

#[test]
fn standalone_composition_refuses_an_app_without_identity_imports() {
    // Refused before plugging: an app importing only wasi:keyvalue or wasi:config
    // would otherwise compose with the adapter alone.
    let e = compose_standalone(STANDALONE_WASM, COMPONENT_WASM, STANDALONE_WASM).unwrap_err();
    assert!(e.to_string().contains("imports nothing"), "{e}");
    let e = compose_standalone(b"not wasm", COMPONENT_WASM, STANDALONE_WASM).unwrap_err();
    assert!(e.to_string().contains("not a WebAssembly component"), "{e}");
    let app = example("wasi-http-token");
    let e = compose_standalone(&app, COMPONENT_WASM, b"not wasm").unwrap_err();
    assert!(e.to_string().contains("standalone adapter"), "{e}");
}

#[test]
fn standalone_composition_also_satisfies_the_apps_own_wasi_config_import() {
    let app = example("spin-call-azure");
    let before = interfaces(&app).unwrap();
    assert!(
        before.imports.iter().any(|i| i.starts_with("wasi:config/")),
        "{:?}",
        before.imports
    );
    let composed = compose_standalone(&app, COMPONENT_WASM, STANDALONE_WASM).unwrap();
    let found = interfaces(&composed).unwrap();
    eprintln!(
        "spin-call-azure composed standalone imports: {}",
        found.imports.join(", ")
    );
    let left: Vec<_> = (found.imports.iter())
        .filter(|i| {
            ["wasi:config/", "wasi:keyvalue/", "entra:"]
                .iter()
                .any(|p| i.starts_with(p))
        })
        .collect();
    assert!(left.is_empty(), "not plugged: {left:?}");
}
