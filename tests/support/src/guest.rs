//! The example plugin guest (`examples/wasmtime-plugin/guest`: `plugin <url> <scope>`
//! gets a token, GETs the URL with it, prints `<status> <body>`).

use std::sync::OnceLock;

/// The guest component, built once per test process for wasm32-wasip2 in the
/// directory `examples/imports-check` builds into (`ENTRA_EXAMPLES_WASM_DIR` to use
/// one built elsewhere).
pub fn plugin_guest_wasm() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| {
        let dir = examples_imports_check::build(&["wasmtime-plugin-guest"]);
        let path = examples_imports_check::component_path(&dir, "wasmtime-plugin-guest");
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}
