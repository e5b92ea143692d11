//! Reads what a built component imports and exports, and decides whether a host's
//! list of interfaces satisfies those imports the way wasmtime and Spin match them;
//! and builds the example components for the tests that run them ([`build()`]).
//!
//! The examples' own test (`tests/all/examples.rs`) builds them and applies this.
#![deny(missing_docs)]

mod build;

pub use build::{build, component_path};

use wasmparser::{Parser, Payload};

/// The interface names a component imports and exports, e.g. `wasi:http/types@0.3.0`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Interfaces {
    /// Top-level imports, in the component's order.
    pub imports: Vec<String>,
    /// Top-level exports, in the component's order.
    pub exports: Vec<String>,
}

/// The top-level imports and exports of the component in `bytes`; the core modules
/// and components nested inside are skipped.
pub fn interfaces(bytes: &[u8]) -> Result<Interfaces, wasmparser::BinaryReaderError> {
    let mut found = Interfaces::default();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    found.imports.push(import?.name.name.to_string());
                }
            }
            Payload::ComponentExportSection(reader) if depth == 0 => {
                for export in reader {
                    found.exports.push(export?.name.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(found)
}

/// The interface names of a checked-in list: one per line, `#` starts a comment.
pub fn parse_list(text: &str) -> Vec<&str> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
        .collect()
}

/// Whether a host providing `provided` satisfies `import`: same name, and versions
/// equal or semver-compatible (same major, or same minor under 0.x; pre-releases
/// only exactly), which is how wasmtime's linker and Spin match 0.2.6 to 0.2.12.
pub fn satisfies(import: &str, provided: &str) -> bool {
    let (import_name, import_version) = split_version(import);
    let (provided_name, provided_version) = split_version(provided);
    if import_name != provided_name {
        return false;
    }
    match (import_version, provided_version) {
        (None, None) => true,
        (Some(a), Some(b)) => compatible(a, b),
        _ => false,
    }
}

/// `import` is some interface of `package` (`ns:pkg`) at a version compatible with
/// `version`: how a dependency's whole package is matched.
pub fn in_package(import: &str, package: &str, version: &str) -> bool {
    let (name, import_version) = split_version(import);
    name.split_once('/').is_some_and(|(p, _)| p == package)
        && import_version.is_some_and(|v| compatible(v, version))
}

fn split_version(name: &str) -> (&str, Option<&str>) {
    match name.split_once('@') {
        Some((name, version)) => (name, Some(version)),
        None => (name, None),
    }
}

fn compatible(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (Some(a), Some(b)) = (release(a), release(b)) else {
        return false;
    };
    a[0] == b[0] && (a[0] != 0 || a[1] == b[1])
}

/// `[major, minor, patch]` of a release version; `None` for a pre-release.
fn release(version: &str) -> Option<[u64; 3]> {
    let mut parts = version.split('.').map(|p| p.parse::<u64>().ok());
    let parsed = [parts.next()??, parts.next()??, parts.next()??];
    parts.next().is_none().then_some(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_match_as_wasmtime_matches_them() {
        assert!(satisfies("wasi:io/poll@0.2.12", "wasi:io/poll@0.2.6"));
        assert!(satisfies("wasi:io/poll@0.2.6", "wasi:io/poll@0.2.6"));
        assert!(!satisfies("wasi:io/poll@0.3.0", "wasi:io/poll@0.2.6"));
        assert!(!satisfies("wasi:io/error@0.2.6", "wasi:io/poll@0.2.6"));
        assert!(satisfies("spin:x/y@3.1.0", "spin:x/y@3.0.0"));
        assert!(!satisfies("spin:x/y@4.0.0", "spin:x/y@3.0.0"));
        assert!(satisfies(
            "wasi:keyvalue/store@0.2.0-draft2",
            "wasi:keyvalue/store@0.2.0-draft2"
        ));
        assert!(!satisfies(
            "wasi:keyvalue/store@0.2.0-draft",
            "wasi:keyvalue/store@0.2.0-draft2"
        ));
        assert!(!satisfies(
            "wasi:http/types@0.3.0-rc-2026-03-15",
            "wasi:http/types@0.3.0"
        ));
    }

    #[test]
    fn packages_match_any_of_their_interfaces() {
        assert!(in_package(
            "entra:identity/credentials@0.1.0",
            "entra:identity",
            "0.1.0"
        ));
        assert!(!in_package(
            "entra:identityx/credentials@0.1.0",
            "entra:identity",
            "0.1.0"
        ));
        assert!(!in_package(
            "entra:identity/tokens@0.2.0",
            "entra:identity",
            "0.1.0"
        ));
    }

    #[test]
    fn lists_skip_comments_and_blanks() {
        assert_eq!(
            parse_list("# header\nwasi:io/poll@0.2.6\n\n  a:b/c@1.0.0  # why\n"),
            ["wasi:io/poll@0.2.6", "a:b/c@1.0.0"]
        );
    }
}
