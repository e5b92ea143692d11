//! The SDK carries its own copy of the workspace's `wit/`: a published crate cannot
//! reach files outside its directory, and wit-bindgen reads the WIT at compile time.
//! This test keeps the copy equal to the source of truth.
//!
//! After changing `wit/`, refresh the copy with
//! `ENTRA_SDK_UPDATE_WIT=1 cargo test -p entra-identity-sdk --test all wit_in_sync`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

fn files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "wit") {
                let relative = path.strip_prefix(root).unwrap().to_path_buf();
                found.insert(relative, fs::read(&path).unwrap());
            }
        }
    }
    found
}

#[test]
fn sdk_wit_equals_workspace_wit() {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("wit");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit");
    if !workspace.is_dir() {
        // A published copy of the crate has no workspace around it: nothing to compare.
        eprintln!("no workspace wit/ at {}; skipped", workspace.display());
        return;
    }
    let expected = files(&workspace);
    if std::env::var_os("ENTRA_SDK_UPDATE_WIT").is_some() {
        fs::remove_dir_all(&sdk).unwrap();
        for (relative, content) in &expected {
            let path = sdk.join(relative);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, content).unwrap();
        }
    }
    let actual = files(&sdk);
    let differing: Vec<_> = expected
        .keys()
        .chain(actual.keys())
        .filter(|k| expected.get(*k) != actual.get(*k))
        .map(|k| k.display().to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(
        differing.is_empty(),
        "component/sdk/wit differs from wit/ in {differing:?}; refresh it with \
         `ENTRA_SDK_UPDATE_WIT=1 cargo test -p entra-identity-sdk --test all wit_in_sync`"
    );
}
