//! The WIT that componentize-js and componentize-py build the apps against
//! (`examples/apps/wit/deps`), derived from the repo's own `wit/`: the same packages at
//! the WASI 0.2 patch version the tools implement, so that nobody copies WIT by hand.

use std::path::{Path, PathBuf};

/// The WASI 0.2 version componentize-js 0.23's engine is built against: it exports
/// `wasi:http/incoming-handler@0.2.10#handle` whatever the world says, so the world
/// must say 0.2.10 (componentize-py 0.25 takes any 0.2.x and gets the same WIT).
pub const TOOLS_WASI_VERSION: &str = "0.2.10";

/// Where the derived WIT is shipped, relative to the repo's root.
pub const SHIPPED_DEPS: &str = "examples/apps/wit/deps";

/// Every file of `examples/apps/wit/deps` (path relative to it, text), derived from the
/// repo's `wit/`: the WASI packages, `wasi:keyvalue` and `wasi:config` as they are,
/// and `entra:identity` (for the by-hand apps), with every `@<repo's WASI version>`
/// made `@TOOLS_WASI_VERSION` and the items introduced after it (`@since`) left out:
/// wit-parser refuses a gate newer than its package.
pub fn derived_deps(repo: &Path) -> Vec<(PathBuf, String)> {
    let wit = repo.join("wit");
    let http = read(&wit.join("deps/http.wit"));
    let repo_version = http
        .lines()
        .find_map(|line| line.strip_prefix("package wasi:http@")?.strip_suffix(';'))
        .expect("wit/deps/http.wit starts with `package wasi:http@<version>;`");
    let mut sources = Vec::new();
    for entry in read_dir(&wit.join("deps")) {
        if entry.is_dir() {
            sources.extend(read_dir(&entry));
        } else {
            sources.push(entry);
        }
    }
    let mut files: Vec<(PathBuf, String)> = sources
        .into_iter()
        .map(|source| {
            let relative = source.strip_prefix(wit.join("deps")).unwrap().to_path_buf();
            (relative, read(&source))
        })
        .collect();
    files.push((
        "entra-identity/identity.wit".into(),
        read(&wit.join("identity.wit")),
    ));
    for (_, text) in &mut files {
        *text = at_version(text, repo_version, TOOLS_WASI_VERSION);
    }
    files.sort();
    files
}

/// `text` with `@from` made `@to` and every item gated `@since(version = from)` removed,
/// with its doc comment.
pub(crate) fn at_version(text: &str, from: &str, to: &str) -> String {
    let gate = format!("@since(version = {from})");
    let mut out: Vec<&str> = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() == gate {
            let item = lines.next().unwrap_or_default();
            assert!(
                item.trim_end().ends_with(';'),
                "only one-line items can be left out of the tools' WIT, not `{item}`"
            );
            while out
                .last()
                .is_some_and(|l| l.trim_start().starts_with("///"))
            {
                out.pop();
            }
            continue;
        }
        out.push(line);
    }
    let mut joined = out.join("\n");
    joined.push('\n');
    joined.replace(&format!("@{from}"), &format!("@{to}"))
}

/// Writes [`derived_deps`] into `<repo>/SHIPPED_DEPS`, replacing what was there.
pub fn write_shipped_deps(repo: &Path) {
    let dir = repo.join(SHIPPED_DEPS);
    let _ = std::fs::remove_dir_all(&dir);
    for (relative, text) in derived_deps(repo) {
        let file = dir.join(relative);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
}

/// The files under `<repo>/SHIPPED_DEPS` as they are, in [`derived_deps`]'s form.
pub fn shipped_deps(repo: &Path) -> Vec<(PathBuf, String)> {
    let dir = repo.join(SHIPPED_DEPS);
    let mut files = Vec::new();
    let mut pending = vec![dir.clone()];
    while let Some(next) = pending.pop() {
        for entry in read_dir(&next) {
            if entry.is_dir() {
                pending.push(entry);
            } else {
                files.push((
                    entry.strip_prefix(&dir).unwrap().to_path_buf(),
                    read(&entry),
                ));
            }
        }
    }
    files.sort();
    files
}

fn read(file: &Path) -> String {
    std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

fn read_dir(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    entries.map(|entry| entry.unwrap().path()).collect()
}
