//! The apps of `examples/apps/` in languages other than Rust, built once: by
//! componentize-js and componentize-py from their locked toolchains (installed here
//! when missing, as `scripts/test` does first), into `<target>/apps-build/`, one file
//! per source hash, so a test binary or a second process finds them built.
//!
//! The Rust app is a workspace member, built with the other examples.

pub mod wit;

use std::hash::{Hash as _, Hasher as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

/// A language of `examples/apps/` whose app a tool other than cargo builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// `examples/apps/js`: componentize-js, from its `package-lock.json`.
    JavaScript,
    /// `examples/apps/python`: componentize-py, from its `requirements.txt` pins.
    Python,
}

impl Language {
    fn dir(self) -> PathBuf {
        repo().join("examples/apps").join(match self {
            Language::JavaScript => "js",
            Language::Python => "python",
        })
    }

    /// The file whose change means a different toolchain.
    fn lock(self) -> &'static str {
        match self {
            Language::JavaScript => "package-lock.json",
            Language::Python => "requirements.txt",
        }
    }
}

/// The component built from `source` (a file of the language's app directory, e.g.
/// `app.js`, `app.py`) against `world` of `examples/apps/wit`.
///
/// # Panics
///
/// If the toolchain cannot be installed or the tool fails: its output is in the message.
pub fn app(language: Language, source: &str, world: &str) -> Vec<u8> {
    // One build at a time in a process: a second test asking for the same app finds
    // the first one's file.
    static BUILDING: Mutex<()> = Mutex::new(());
    let _one = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = language.dir();
    let hash = sources_hash(language, source, world);
    let out_dir = crate::target_tmpdir().join("../apps-build");
    std::fs::create_dir_all(&out_dir).unwrap();
    let file = out_dir.join(format!("{source}-{world}-{hash:016x}.wasm"));
    if !file.exists() {
        ensure_toolchain(language);
        // Written under a name of its own and renamed: another process never reads a
        // half-written file.
        let partial = out_dir.join(format!("{}.{}.partial", file.display(), std::process::id()));
        let mut command = match language {
            Language::JavaScript => {
                let mut c = Command::new(dir.join("node_modules/.bin/componentize-js"));
                c.args(["--wit", "../wit", "--world-name", world, "-o"]);
                c.arg(&partial).arg(source);
                c
            }
            Language::Python => {
                let mut c = Command::new(dir.join(".venv/bin/componentize-py"));
                c.args(["-d", "../wit", "-w", world, "componentize"]);
                c.arg(source.trim_end_matches(".py"))
                    .arg("-o")
                    .arg(&partial);
                c
            }
        };
        let started = Instant::now();
        run(command.current_dir(&dir));
        std::fs::rename(&partial, &file).unwrap();
        eprintln!(
            "built {source} ({world}) in {:.1?}: {} KiB",
            started.elapsed(),
            std::fs::metadata(&file).unwrap().len() / 1024
        );
    }
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// Installs the language's locked toolchain unless it is there: `npm ci` into
/// `examples/apps/js/node_modules`, a venv with the pinned componentize-py in
/// `examples/apps/python/.venv` (the same checks as `scripts/test`).
pub fn ensure_toolchain(language: Language) {
    let dir = language.dir();
    match language {
        Language::JavaScript if !dir.join("node_modules").is_dir() => {
            run(Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir));
        }
        Language::Python if !dir.join(".venv/bin/componentize-py").exists() => {
            run(Command::new("python3")
                .args(["-m", "venv", ".venv"])
                .current_dir(&dir));
            run(Command::new(".venv/bin/pip")
                .args(["install", "--quiet", "-r", "requirements.txt"])
                .current_dir(&dir));
        }
        _ => {}
    }
}

/// What the built file depends on: every source of the app directory (`by_hand.py`
/// imports `app.py`), the toolchain's lock, the WIT, the world.
fn sources_hash(language: Language, source: &str, world: &str) -> u64 {
    let dir = language.dir();
    let mut hasher = std::hash::DefaultHasher::new();
    (source, world).hash(&mut hasher);
    let extension = Path::new(source).extension();
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|file| file.is_file() && file.extension() == extension)
        .collect();
    inputs.sort();
    inputs.push(dir.join(language.lock()));
    let wit = repo().join("examples/apps/wit");
    inputs.push(wit.join("world.wit"));
    inputs.extend(
        wit::shipped_deps(&repo())
            .into_iter()
            .map(|(f, _)| wit.join("deps").join(f)),
    );
    for input in inputs {
        std::fs::read(&input)
            .unwrap_or_else(|e| panic!("{}: {e}", input.display()))
            .hash(&mut hasher);
    }
    hasher.finish()
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[cfg(test)]
mod tests;
