//! The example plugin guests (`examples/wasmtime-plugin/guest`): `plugin <url> <scope>`
//! gets a token, GETs the URL with it, prints `<status> <body>`; `plugin-plain <url>`
//! GETs it with no identity code at all.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The guest component, built once per test process for wasm32-wasip2 in the
/// directory `examples/imports-check` builds into (`ENTRA_EXAMPLES_WASM_DIR` to use
/// one built elsewhere).
pub fn plugin_guest_wasm() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| read(&guests_dir().join("wasmtime-plugin-guest.wasm")))
}

/// The plugin with no identity code (`plugin-plain`), built with [`plugin_guest_wasm`].
pub fn plain_plugin_guest_wasm() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| read(&guests_dir().join("plugin-plain.wasm")))
}

/// Where both guests are, built once per test process (one cargo invocation).
fn guests_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| examples_imports_check::build(&["wasmtime-plugin-guest"]))
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
