//! A test that measures the whole process (resident memory, open files) cannot share
//! it with the other tests of its binary; one binary per such test is a link of
//! wasmtime each. Instead the test runs itself again, alone, in a child process of the
//! same binary.

use std::process::Command;

const VAR: &str = "ENTRA_TEST_ALONE";

/// `true` in the child, where the test (named by its path inside the binary, as
/// `cargo test -- --exact` takes it) runs alone: go ahead. `false` in the parent,
/// after the child passed; a failing child fails the caller with its output.
pub fn in_a_process_of_its_own(test: &str) -> bool {
    in_a_process_of_its_own_with_env(test, &[])
}

/// [`in_a_process_of_its_own`], the child's environment having `env` too: for a test of
/// what the process's environment decides (`SSL_CERT_FILE`, say), which must not be set
/// in a process whose other tests run beside it.
pub fn in_a_process_of_its_own_with_env(test: &str, env: &[(&str, &str)]) -> bool {
    if std::env::var(VAR).as_deref() == Ok(test) {
        return true;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = Command::new(exe)
        .args([test, "--exact", "--test-threads=1", "--nocapture"])
        .env(VAR, test)
        .envs(env.iter().copied())
        .output()
        .expect("the test binary runs again");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "{test}, alone in a process: {}\n{stdout}\n{stderr}",
        out.status
    );
    // libtest succeeds when the name matches nothing: make sure the test ran.
    assert!(
        stdout.contains("1 passed"),
        "{test} did not run alone:\n{stdout}"
    );
    false
}

/// The path `cargo test -- --exact` takes for `name` in the module at `module_path`
/// (`module_path!()` starts with the crate, which test names do not).
pub fn test_path(module_path: &str, name: &str) -> String {
    match module_path.split_once("::") {
        Some((_, module)) => format!("{module}::{name}"),
        None => name.to_string(),
    }
}
