//! Running one tool: no shell, no input, its output read whole, a deadline.

use super::tool::{DeveloperTool, ToolFailure, ToolToken};
use std::ffi::OsStr;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// Runs `tool` for a token for `resource`. `path`: the `PATH` it is looked up on and
/// runs with (`None`: this process's).
pub(super) async fn run(
    tool: DeveloperTool,
    resource: &str,
    tenant: Option<&str>,
    path: Option<&OsStr>,
    deadline: Duration,
) -> Result<ToolToken, ToolFailure> {
    let mut command = Command::new(tool.program());
    command
        .args(tool.arguments(resource, tenant))
        // The Azure CLI colours its errors on a terminal; Python's SDK turns it off too.
        .env("AZURE_CORE_NO_COLOR", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A tool past its deadline is killed with the future that waited for it.
        .kill_on_drop(true);
    if let Some(path) = path {
        // Set on the child, so it is also where the program is looked up.
        command.env("PATH", path);
    }
    let child = match command.spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ToolFailure::Missing {
                tool,
                what: "the executable",
            });
        }
        Err(e) => {
            return Err(ToolFailure::Failed {
                tool,
                exit: None,
                message: format!("could not start {}: {e}", tool.program()),
            });
        }
    };
    let output = tokio::time::timeout(deadline, child.wait_with_output())
        .await
        .map_err(|_| ToolFailure::TimedOut {
            tool,
            after: deadline,
        })?
        .map_err(|e| ToolFailure::Failed {
            tool,
            exit: None,
            message: format!("reading its output: {e}"),
        })?;
    if output.status.success() {
        tool.parse(&output.stdout)
    } else {
        Err(tool.failure(output.status.code(), &output.stderr))
    }
}
