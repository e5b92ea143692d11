//! What the workspace's tests share, in one place rather than a copy per crate (the
//! `rustls-test` model). See TESTING.md at the root for where tests go.

pub mod alone;
pub mod apps;
pub mod command;
pub mod dev_tools;
pub mod guest;
pub mod keys;
pub mod logs;
pub mod redis;
pub mod redis_cluster;
#[cfg(feature = "tls")]
pub mod tls;

pub use alone::{in_a_process_of_its_own, in_a_process_of_its_own_with_env, test_path};
pub use command::command;
pub use guest::plugin_guest_wasm;
pub use logs::Logs;
pub use redis::RedisServer;
pub use redis_cluster::RedisCluster;
pub use tempfile::TempDir;

use std::path::PathBuf;

/// Cargo's scratch directory for tests and benches (`<target>/tmp`, what
/// `CARGO_TARGET_TMPDIR` names for integration tests), found from the running test
/// binary, which lives in `<target>/<profile>/deps/`. Unit tests get no
/// `CARGO_TARGET_TMPDIR`, and a library cannot read the test binary's at compile time.
pub fn target_tmpdir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let target = exe
        .ancestors()
        .find(|dir| dir.file_name().is_some_and(|name| name == "deps"))
        .and_then(|deps| deps.parent()?.parent())
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let tmp = target.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("{}: {e}", tmp.display()));
    tmp
}

/// A fresh directory under the system's temp dir, removed on drop.
pub fn temp_dir() -> TempDir {
    tempfile::tempdir().expect("a temp dir")
}

/// One compile cache for every test binary of a target directory: the component is
/// compiled by the first test that needs it, not once per binary.
pub fn compile_cache() -> PathBuf {
    target_tmpdir().join("compiled-components")
}
