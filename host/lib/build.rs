//! Builds the `entra-identity` component, the standalone adapter, the inbound
//! components and the outbound ones (WASI 0.2 and 0.3) in one cargo invocation for
//! `wasm32-wasip2`, so that `cargo build` alone produces a host with all of them inside it.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.join("../..");
    // Everything the component is built from: its crates (the value types too), the
    // WIT, the lock file, and the root manifest, which holds `[profile.component]`.
    for path in [
        "component/types/src",
        "component/types/Cargo.toml",
        "component/core/src",
        "component/core/Cargo.toml",
        "component/wasm/src",
        "component/wasm/Cargo.toml",
        "component/standalone/src",
        "component/standalone/Cargo.toml",
        "component/inbound",
        "component/outbound-p3/src",
        "component/outbound-p3/wit",
        "component/outbound-p3/Cargo.toml",
        "component/sdk/src",
        "component/sdk/Cargo.toml",
        "component/virtual-http",
        "component/outbound/Cargo.toml",
        "wit",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
    // The inner cargo reads these too; a change must not leave a stale component.
    for setting in [
        "OPT_LEVEL",
        "DEBUG",
        "STRIP",
        "LTO",
        "CODEGEN_UNITS",
        "PANIC",
    ] {
        println!("cargo:rerun-if-env-changed=CARGO_PROFILE_COMPONENT_{setting}");
    }
    ensure_target();

    // A separate target directory: the outer cargo holds the lock on its own.
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("component-build");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&root)
        .args(["build", "--package", "entra-identity"])
        .args(["--package", "entra-identity-standalone"])
        .args(["--package", "entra-inbound-virtual-http"])
        .args(["--package", "entra-inbound-gate"])
        .args(["--package", "entra-inbound-gate-p3"])
        .args(["--package", "entra-http-relay"])
        .args(["--package", "entra-identity-outbound-p3"])
        .args(["--package", "entra-identity-outbound", "--target", TARGET])
        .args(["--profile", "component", "--target-dir"])
        .arg(&target_dir)
        // Flags meant for the host build must not leak into the wasm build.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .expect("failed to run cargo to build the component");
    assert!(
        status.success(),
        "building the entra-identity component, the standalone adapter, the inbound or the outbound components failed"
    );

    let built = target_dir.join(TARGET).join("component");
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    for (file, var) in [
        ("entra_identity.wasm", "ENTRA_IDENTITY_WASM"),
        (
            "entra_identity_standalone.wasm",
            "ENTRA_IDENTITY_STANDALONE_WASM",
        ),
        (
            "entra_inbound_virtual_http.wasm",
            "ENTRA_INBOUND_VIRTUAL_HTTP_WASM",
        ),
        ("entra_inbound_gate.wasm", "ENTRA_INBOUND_GATE_WASM"),
        ("entra_inbound_gate_p3.wasm", "ENTRA_INBOUND_GATE_P3_WASM"),
        ("entra_http_relay.wasm", "ENTRA_HTTP_RELAY_WASM"),
        (
            "entra_identity_outbound.wasm",
            "ENTRA_IDENTITY_OUTBOUND_WASM",
        ),
        (
            "entra_identity_outbound_p3.wasm",
            "ENTRA_IDENTITY_OUTBOUND_P3_WASM",
        ),
    ] {
        let (from, to) = (built.join(file), out_dir.join(file));
        std::fs::copy(&from, &to)
            .unwrap_or_else(|e| panic!("copying {} failed: {e}", from.display()));
        println!("cargo:rustc-env={var}={}", to.display());
    }
}

/// `RUSTUP_AUTO_INSTALL=0` leaves targets from rust-toolchain.toml uninstalled; add
/// the wasm target when the toolchain lacks it.
fn ensure_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .expect("failed to run rustc");
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_string();
    if Path::new(&sysroot)
        .join("lib/rustlib")
        .join(TARGET)
        .exists()
    {
        return;
    }
    println!("cargo:warning=installing the {TARGET} target with rustup");
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .expect("the wasm32-wasip2 target is missing and rustup is not available to add it");
    assert!(status.success(), "rustup target add {TARGET} failed");
}
