//! The tools in order, the first that answers kept, and the tokens they gave until
//! their refresh time.

use super::run::run;
use super::tool::{DeveloperTool, ToolFailure, ToolToken, check_argument};
use entra_identity_core::cache::{EXPIRY_BUFFER, refresh_on};
use std::collections::HashMap;
use std::ffi::OsString;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Which tools are asked, and how.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DevToolsOptions {
    /// Asked in this order; the first that gives a token is the only one asked from
    /// then on (as the Azure SDK for Rust's `DeveloperToolsCredential` does).
    pub tools: Vec<DeveloperTool>,
    /// A tenant other than the tool's default (`--tenant`, `--tenant-id`, `-TenantId`).
    pub tenant: Option<String>,
    /// How long one run of a tool may take (the Azure SDKs for Go and Python: 10 s).
    pub timeout: Duration,
    /// The `PATH` the tools are looked up on and run with; `None`: this process's.
    pub path: Option<OsString>,
}

impl Default for DevToolsOptions {
    fn default() -> Self {
        DevToolsOptions {
            tools: DeveloperTool::DEFAULT_ORDER.to_vec(),
            tenant: None,
            timeout: Duration::from_secs(10),
            path: None,
        }
    }
}

impl DevToolsOptions {
    /// Asks only `tools`, in this order.
    pub fn tools(mut self, tools: impl IntoIterator<Item = DeveloperTool>) -> Self {
        self.tools = tools.into_iter().collect();
        self
    }

    /// Asks for tokens from `tenant`.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Gives each run of a tool `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Looks the tools up on `path` instead of this process's `PATH`.
    pub fn path(mut self, path: impl Into<OsString>) -> Self {
        self.path = Some(path.into());
        self
    }
}

/// Why the developer tools gave no token. The text says what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DevToolsError {
    /// No tool is installed and signed in: each one's reason, in order.
    #[error("no developer tool is signed in: {}", join(.0))]
    Unavailable(Vec<ToolFailure>),
    /// A signed-in tool failed; the later ones were not asked.
    #[error(transparent)]
    Failed(ToolFailure),
    /// The request or the options cannot be passed to a tool.
    #[error("{0}")]
    Invalid(String),
}

fn join(failures: &[ToolFailure]) -> String {
    failures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A token and when to ask again.
#[derive(Clone)]
struct Cached {
    token: ToolToken,
    tool: DeveloperTool,
    refresh_on: u64,
}

type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

/// The developer's tools, asked in order, with their tokens cached per resource.
pub(crate) struct DeveloperTools {
    options: DevToolsOptions,
    /// The tool that answered first.
    chosen: Mutex<Option<DeveloperTool>>,
    /// One slot per resource: callers for the same resource wait for one run.
    slots: Mutex<HashMap<String, Slot>>,
}

impl DeveloperTools {
    pub(crate) fn new(options: DevToolsOptions) -> Result<Self, DevToolsError> {
        if options.tools.is_empty() {
            return Err(DevToolsError::Invalid(
                "no developer tool to ask: name at least one (az, pwsh, azd)".into(),
            ));
        }
        if let Some(tenant) = &options.tenant {
            check_argument("tenant", tenant).map_err(DevToolsError::Invalid)?;
        }
        Ok(DeveloperTools {
            options,
            chosen: Mutex::new(None),
            slots: Mutex::new(HashMap::new()),
        })
    }

    /// A token for `resource` (a v1 resource such as `https://vault.azure.net`): the
    /// cached one until its refresh time, then a new one; a tool failing a refresh
    /// leaves the cached token in use until it nears expiry.
    pub(crate) async fn token(
        &self,
        resource: &str,
    ) -> Result<(ToolToken, DeveloperTool, bool), DevToolsError> {
        check_argument("resource", resource).map_err(DevToolsError::Invalid)?;
        let slot = self
            .slots
            .lock()
            .expect("never poisoned: no panics under the lock")
            .entry(resource.to_string())
            .or_default()
            .clone();
        let mut cached = slot.lock().await;
        let now = now();
        if let Some(c) = cached.as_ref().filter(|c| now < c.refresh_on) {
            return Ok((c.token.clone(), c.tool, true));
        }
        match self.fetch(resource).await {
            Ok((token, tool)) => {
                let refresh_on = refresh_on(now, token.expires_on, None, random());
                *cached = Some(Cached {
                    token: token.clone(),
                    tool,
                    refresh_on,
                });
                Ok((token, tool, false))
            }
            Err(e) => match cached.as_ref() {
                Some(c) if now.saturating_add(EXPIRY_BUFFER) < c.token.expires_on => {
                    tracing::warn!(resource, error = %e, "a developer tool failed a refresh; the cached token is still valid");
                    Ok((c.token.clone(), c.tool, true))
                }
                _ => Err(e),
            },
        }
    }

    fn chosen(&self) -> Option<DeveloperTool> {
        *self.chosen.lock().expect("never poisoned")
    }

    async fn fetch(&self, resource: &str) -> Result<(ToolToken, DeveloperTool), DevToolsError> {
        let tenant = self.options.tenant.as_deref();
        let path = self.options.path.as_deref();
        let deadline = self.options.timeout;
        if let Some(tool) = self.chosen() {
            return run(tool, resource, tenant, path, deadline)
                .await
                .map(|token| (token, tool))
                .map_err(DevToolsError::Failed);
        }
        let mut unavailable = Vec::new();
        for &tool in &self.options.tools {
            match run(tool, resource, tenant, path, deadline).await {
                Ok(token) => {
                    *self.chosen.lock().expect("never poisoned") = Some(tool);
                    return Ok((token, tool));
                }
                Err(failure) if failure.is_unavailable() => unavailable.push(failure),
                Err(failure) => return Err(DevToolsError::Failed(failure)),
            }
        }
        Err(DevToolsError::Unavailable(unavailable))
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn random() -> u64 {
    let mut bytes = [0u8; 8];
    // Only the refresh jitter depends on it.
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes)
}
