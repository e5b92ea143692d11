//! The example apps built for wasm32-wasip2, as the serve tests run them (built by
//! `examples-imports-check`'s builder into the directory its own test uses).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const APPS: [&str; 9] = [
    "echo-headers",
    // A test app, not an example: no identity code (tests/e2e/apps/fetch-echo).
    "fetch-echo",
    "app-rust",
    // A test app, not an example: spin-sdk 7, no identity code (tests/e2e/apps/fetch-p3).
    "fetch-p3",
    // A test app, not an example: spin-sdk 7, no identity code (tests/e2e/apps/echo-p3).
    "echo-p3",
    "spin-call-azure",
    "spin-protected-api",
    "wasi-http-token",
    "wasmtime-plugin-guest",
];

/// The component of the example package `name`.
pub fn example(name: &str) -> Vec<u8> {
    assert!(APPS.contains(&name), "{name} is not built here");
    let file = examples_imports_check::component_path(built(), name);
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

fn built() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| examples_imports_check::build(&APPS))
}
