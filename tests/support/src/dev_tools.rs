//! Stand-ins for the developer's tools: `az`, `azd` and `pwsh` executables in a
//! directory of their own, each printing exactly what the real tool prints (its JSON
//! when signed in, its error text when not) and logging how it was called.
//!
//! They are `/bin/sh` scripts using only the shell's built-ins, so the directory can
//! be the whole `PATH` the tools are run with: a tool not written here is missing.

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A directory of stand-in tools; the `PATH` to run them with is [`StandIns::path`].
pub struct StandIns {
    dir: TempDir,
}

impl Default for StandIns {
    fn default() -> Self {
        Self::new()
    }
}

impl StandIns {
    /// No tools yet: every tool is missing.
    pub fn new() -> Self {
        StandIns {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    /// The `PATH` holding these tools and nothing else.
    pub fn path(&self) -> OsString {
        self.dir.path().as_os_str().to_owned()
    }

    /// `az` signed in: `az account get-access-token --output json` prints `token`,
    /// expiring at Unix time `expires_on`, as Azure CLI 2.54.0 and later print it.
    pub fn az_signed_in(&self, token: &str, expires_on: u64) {
        let json = format!(
            r#"{{
  "accessToken": "{token}",
  "expiresOn": "2026-12-08 05:10:00.000000",
  "expires_on": {expires_on},
  "subscription": "00000000-0000-0000-0000-0000000000aa",
  "tenant": "00000000-0000-0000-0000-0000000000bb",
  "tokenType": "Bearer"
}}"#
        );
        self.write("az", &print(&json));
    }

    /// `az` with no account: the Azure CLI's own error, exit 1.
    pub fn az_signed_out(&self) {
        self.write(
            "az",
            "echo \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n",
        );
    }

    /// `azd` signed in: `azd auth token --output json` prints `token`, expiring at
    /// Unix time `expires_on` (printed in RFC 3339, as azd prints it).
    pub fn azd_signed_in(&self, token: &str, expires_on: u64) {
        let expires_on = time::OffsetDateTime::from_unix_timestamp(expires_on as i64)
            .expect("a representable time")
            .format(&time::format_description::well_known::Rfc3339)
            .expect("RFC 3339 formats every time");
        let json = format!(r#"{{"token":"{token}","expiresOn":"{expires_on}"}}"#);
        self.write("azd", &print(&json));
    }

    /// `azd` with no account: azd's JSON error on stderr, exit 1.
    pub fn azd_signed_out(&self) {
        let error = r#"{"type":"consoleMessage","timestamp":"2026-12-08T05:10:00Z","data":{"message":"\nERROR: fetching token: not logged in, run `azd auth login` to login\n"}}"#;
        self.write("azd", &format!("printf '%s\\n' '{error}' >&2\nexit 1\n"));
    }

    /// Each call so far, as `<tool> <arguments>`, in order.
    pub fn calls(&self) -> Vec<String> {
        fs::read_to_string(self.log())
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("calls.log")
    }

    fn write(&self, tool: &str, body: &str) {
        let script = format!(
            "#!/bin/sh\necho \"{tool} $*\" >> '{}'\n{body}",
            self.log().display()
        );
        let path: &Path = &self.dir.path().join(tool);
        fs::write(path, script).expect("the stand-in is written");
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("it is executable");
    }
}

/// A script body that prints `text` (no single quotes in it) with the shell's `printf`.
fn print(text: &str) -> String {
    assert!(
        !text.contains('\''),
        "stand-in output must not contain single quotes"
    );
    format!("printf '%s\\n' '{text}'\n")
}
