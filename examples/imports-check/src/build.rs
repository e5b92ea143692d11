//! Building example components for tests, through cargo, into `<target>/examples-build`:
//! a target directory of its own, so the outer cargo's lock is never in the way and
//! every test binary that needs examples finds the others' builds warm.

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

/// The directory holding the release `.wasm` files of `packages`, built now unless
/// `ENTRA_EXAMPLES_WASM_DIR` names a directory of components built elsewhere. Call it
/// from a test binary (it finds the target directory from the running executable).
///
/// # Panics
///
/// If cargo or rustup fail: a test cannot go on without its components.
pub fn build(packages: &[&str]) -> PathBuf {
    if let Some(dir) = std::env::var_os("ENTRA_EXAMPLES_WASM_DIR") {
        return PathBuf::from(dir);
    }
    // <target>/debug/deps/<test>-<hash> → <target>/examples-build.
    let exe = std::env::current_exe().expect("the test's own path");
    let target_dir = exe
        .ancestors()
        .nth(3)
        .expect("a test binary under <target>/<profile>/deps")
        .join("examples-build");
    ensure_target();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace())
        .args(["build", "--release", "--target", TARGET, "--target-dir"])
        .arg(&target_dir);
    for package in packages {
        command.args(["--package", package]);
    }
    let started = std::time::Instant::now();
    let status = command.status().expect("failed to run cargo");
    assert!(
        status.success(),
        "building the examples failed: cargo build --release --target {TARGET} -p {}",
        packages.join(" -p ")
    );
    eprintln!("examples built in {:.0?}", started.elapsed());
    target_dir.join(TARGET).join("release")
}

/// The component file of `package` in `dir`: a library's artifact is named with `_`,
/// a binary's keeps its `-`.
pub fn component_path(dir: &Path, package: &str) -> PathBuf {
    let library = dir.join(format!("{}.wasm", package.replace('-', "_")));
    if library.exists() {
        library
    } else {
        dir.join(format!("{package}.wasm"))
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `RUSTUP_AUTO_INSTALL=0` leaves the toolchain file's targets uninstalled.
fn ensure_target() {
    let sysroot = Command::new("rustc")
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
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .expect("the wasm32-wasip2 target is missing and rustup is not available to add it");
    assert!(status.success(), "rustup target add {TARGET} failed");
}
