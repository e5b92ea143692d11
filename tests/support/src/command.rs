//! A binary under test, run as a user would but with nothing inherited that picks an
//! identity source or a cache.

use std::ffi::OsStr;
use std::process::Command;

/// `program` with the test run's compile cache and none of `cleared` in its
/// environment. Callers pass the host's `IDENTITY_ENV_VARS` (and `CACHE_ENV_VARS` where
/// the cache is under test): the list is the host's, and this crate does not depend
/// on the host.
pub fn command<I>(program: impl AsRef<OsStr>, cleared: I) -> Command
where
    I: IntoIterator,
    I::Item: AsRef<OsStr>,
{
    let mut cmd = Command::new(program);
    for var in cleared {
        cmd.env_remove(var);
    }
    cmd.env("ENTRA_IDENTITY_CACHE_DIR", crate::compile_cache());
    cmd
}
