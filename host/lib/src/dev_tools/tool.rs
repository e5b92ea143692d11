//! One developer tool: how it is asked for a token, how its answer reads, and what
//! its failures mean. No I/O here (`run.rs` runs the command).

use base64::Engine as _;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A tool a developer signs in with, named as the Azure SDKs name its credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeveloperTool {
    /// The Azure CLI, `az` (`AzureCliCredential`).
    AzureCli,
    /// Azure PowerShell, `pwsh` with Az.Accounts (`AzurePowerShellCredential`).
    AzurePowerShell,
    /// The Azure Developer CLI, `azd` (`AzureDeveloperCliCredential`).
    AzureDeveloperCli,
}

use DeveloperTool::{AzureCli, AzureDeveloperCli, AzurePowerShell};

/// The value of `AZURE_TOKEN_CREDENTIALS` that selects every developer tool.
pub(crate) const DEV: &str = "dev";

impl DeveloperTool {
    /// The order of the Azure SDKs' developer chains (.NET, Python, JavaScript):
    /// Azure CLI, Azure PowerShell, Azure Developer CLI.
    pub const DEFAULT_ORDER: [DeveloperTool; 3] = [AzureCli, AzurePowerShell, AzureDeveloperCli];

    /// The Azure SDKs' name of this tool's credential, as `AZURE_TOKEN_CREDENTIALS`
    /// takes it.
    pub fn credential_name(self) -> &'static str {
        match self {
            AzureCli => "AzureCliCredential",
            AzurePowerShell => "AzurePowerShellCredential",
            AzureDeveloperCli => "AzureDeveloperCliCredential",
        }
    }

    /// The executable looked up on `PATH`.
    pub fn program(self) -> &'static str {
        match self {
            AzureCli => "az",
            AzurePowerShell => "pwsh",
            AzureDeveloperCli => "azd",
        }
    }

    /// What a developer does when the tool is not signed in.
    fn sign_in(self) -> &'static str {
        match self {
            AzureCli => "run `az login`",
            AzurePowerShell => "run `Connect-AzAccount` in PowerShell",
            AzureDeveloperCli => "run `azd auth login`",
        }
    }

    /// The tools `AZURE_TOKEN_CREDENTIALS` selects: every one for `dev`, one for its
    /// credential name (any case); `None` when the value names no developer tool.
    pub fn selected_by(value: &str) -> Option<Vec<DeveloperTool>> {
        let value = value.trim();
        if value.eq_ignore_ascii_case(DEV) {
            return Some(Self::DEFAULT_ORDER.to_vec());
        }
        Self::DEFAULT_ORDER
            .into_iter()
            .find(|tool| tool.credential_name().eq_ignore_ascii_case(value))
            .map(|tool| vec![tool])
    }

    /// The arguments after [`program`](Self::program) that print a token for
    /// `resource` as JSON. Neither value reaches a shell: both are checked by
    /// [`check_argument`] first, and PowerShell gets its script encoded.
    pub(crate) fn arguments(self, resource: &str, tenant: Option<&str>) -> Vec<String> {
        let mut args: Vec<String> = match self {
            AzureCli => [
                "account",
                "get-access-token",
                "--output",
                "json",
                "--resource",
                resource,
            ]
            .map(String::from)
            .to_vec(),
            AzureDeveloperCli => {
                // azd takes scopes; a v1 resource ending in `/` keeps it (`…//.default`).
                let scope = format!("{resource}/.default");
                [
                    "auth",
                    "token",
                    "--output",
                    "json",
                    "--no-prompt",
                    "--scope",
                    &scope,
                ]
                .map(String::from)
                .to_vec()
            }
            AzurePowerShell => {
                let script = powershell_script(resource, tenant);
                let utf16: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
                let encoded = base64::engine::general_purpose::STANDARD.encode(utf16);
                ["-NoProfile", "-NonInteractive", "-EncodedCommand", &encoded]
                    .map(String::from)
                    .to_vec()
            }
        };
        match (self, tenant) {
            (AzureCli, Some(tenant)) => args.extend(["--tenant".into(), tenant.into()]),
            (AzureDeveloperCli, Some(tenant)) => args.extend(["--tenant-id".into(), tenant.into()]),
            _ => {}
        }
        args
    }

    /// Reads a successful run's standard output. The output holds the token, so no
    /// error quotes it.
    pub(crate) fn parse(self, stdout: &[u8]) -> Result<ToolToken, ToolFailure> {
        let bad = |why: &str| ToolFailure::BadOutput {
            tool: self,
            why: why.to_string(),
        };
        if self == AzurePowerShell && String::from_utf8_lossy(stdout).contains(NO_AZ_ACCOUNTS) {
            return Err(ToolFailure::Missing {
                tool: self,
                what: "the Az.Accounts module (2.2.0 or later); run `Install-Module Az.Accounts`",
            });
        }
        let json: serde_json::Value =
            serde_json::from_slice(stdout).map_err(|_| bad("its output is not JSON"))?;
        let (token_field, expiry_field) = match self {
            AzureCli => ("accessToken", "expires_on"),
            AzureDeveloperCli => ("token", "expiresOn"),
            AzurePowerShell => ("Token", "ExpiresOn"),
        };
        let token = json
            .get(token_field)
            .and_then(|v| v.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| bad(&format!("its output has no `{token_field}`")))?;
        let expiry = json.get(expiry_field);
        let expires_on = match self {
            // `expiresOn` is a local time without a zone; `expires_on` (since Azure CLI
            // 2.54.0) is the only unambiguous one, as the Azure SDK for Rust requires.
            AzureCli => expiry.and_then(epoch_seconds).ok_or_else(|| {
                bad("its output has no `expires_on` (Azure CLI 2.54.0 and later print it); upgrade the Azure CLI")
            })?,
            AzureDeveloperCli => expiry
                .and_then(|v| v.as_str())
                .and_then(rfc3339_seconds)
                .ok_or_else(|| bad("its `expiresOn` is not an RFC 3339 time"))?,
            AzurePowerShell => expiry
                .and_then(epoch_seconds)
                .ok_or_else(|| bad("its `ExpiresOn` is not a Unix time"))?,
        };
        Ok(ToolToken {
            token: token.to_string(),
            expires_on,
        })
    }

    /// What a failed run means, from its exit code and standard error.
    pub(crate) fn failure(self, exit: Option<i32>, stderr: &[u8]) -> ToolFailure {
        let text = message_of(stderr);
        // A shell's "command not found"; a missing executable itself never starts.
        if exit == Some(127) {
            return ToolFailure::Missing {
                tool: self,
                what: "the executable",
            };
        }
        let signed_out = match self {
            // As .NET and Python decide: the CLI's advice, unless Entra itself refused.
            AzureCli => {
                (text.contains("az login") || text.contains("az account set"))
                    && !text.contains("AADSTS")
            }
            AzureDeveloperCli => text.contains("not logged in") || text.contains("azd auth login"),
            AzurePowerShell => {
                text.contains("Connect-AzAccount") || text.contains("Run Login-AzAccount")
            }
        };
        if signed_out {
            ToolFailure::SignedOut {
                tool: self,
                advice: self.sign_in(),
            }
        } else {
            ToolFailure::Failed {
                tool: self,
                exit,
                message: text,
            }
        }
    }
}

impl fmt::Display for DeveloperTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            AzureCli => "Azure CLI (az)",
            AzurePowerShell => "Azure PowerShell (pwsh)",
            AzureDeveloperCli => "Azure Developer CLI (azd)",
        };
        f.write_str(name)
    }
}

/// A name [`DeveloperTool::from_str`] does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown developer tool {0:?}; known: az, pwsh, azd, or their credential names (AzureCliCredential, AzurePowerShellCredential, AzureDeveloperCliCredential)"
)]
pub struct UnknownTool(String);

impl FromStr for DeveloperTool {
    type Err = UnknownTool;

    /// `az`, `pwsh`, `azd`, or the credential's name in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::DEFAULT_ORDER
            .into_iter()
            .find(|tool| {
                tool.program().eq_ignore_ascii_case(s)
                    || tool.credential_name().eq_ignore_ascii_case(s)
            })
            .ok_or_else(|| UnknownTool(s.to_string()))
    }
}

/// A token a tool printed. Never printed itself.
#[derive(Clone)]
pub(crate) struct ToolToken {
    pub(crate) token: String,
    /// Unix seconds.
    pub(crate) expires_on: u64,
}

impl fmt::Debug for ToolToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolToken")
            .field("token", &"<redacted>")
            .field("expires_on", &self.expires_on)
            .finish()
    }
}

/// Why a tool gave no token. Quotes the tool's own error text, never its output.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ToolFailure {
    /// The tool (or what it needs) is not installed: the next tool is tried.
    #[error("{tool}: {what} is not installed or not on PATH")]
    Missing {
        /// The tool.
        tool: DeveloperTool,
        /// What is missing.
        what: &'static str,
    },
    /// The tool is not signed in: the next tool is tried.
    #[error("{tool} is not signed in: {advice}")]
    SignedOut {
        /// The tool.
        tool: DeveloperTool,
        /// What the developer does about it.
        advice: &'static str,
    },
    /// The tool is signed in and failed: its error, as it said it.
    #[error("{tool} failed{}: {message}", exit.map(|c| format!(" (exit {c})")).unwrap_or_default())]
    Failed {
        /// The tool.
        tool: DeveloperTool,
        /// Its exit code, if it exited.
        exit: Option<i32>,
        /// Its standard error, shortened.
        message: String,
    },
    /// The tool did not finish in time.
    #[error("{tool} did not answer within {after:?}")]
    TimedOut {
        /// The tool.
        tool: DeveloperTool,
        /// The deadline.
        after: Duration,
    },
    /// The tool printed something that is not a token.
    #[error("{tool} printed no usable token: {why}")]
    BadOutput {
        /// The tool.
        tool: DeveloperTool,
        /// What was wrong with it.
        why: String,
    },
}

impl ToolFailure {
    /// Missing or signed out: a chain goes on to its next tool.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            ToolFailure::Missing { .. } | ToolFailure::SignedOut { .. }
        )
    }
}

/// Checks a value that becomes an argument of a tool: the characters the Azure SDKs
/// allow in a scope or tenant, and no leading `-` (it would read as an option).
pub(crate) fn check_argument(what: &str, value: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.:/".contains(c);
    if value.is_empty() || value.starts_with('-') || !value.chars().all(allowed) {
        return Err(format!(
            "{what} {value:?} is not valid: use letters, digits and - _ . : / only, not starting with -"
        ));
    }
    Ok(())
}

/// Printed by the PowerShell script when Az.Accounts cannot be imported.
const NO_AZ_ACCOUNTS: &str = "NoAzAccountsModule";
const MESSAGE_LIMIT: usize = 500;

/// Az.Accounts 5 returns the token as a `SecureString`; earlier ones as text.
fn powershell_script(resource: &str, tenant: Option<&str>) -> String {
    let tenant = tenant
        .map(|t| format!(" -TenantId '{t}'"))
        .unwrap_or_default();
    format!(
        "$ErrorActionPreference = 'Stop'\n\
         try {{ Import-Module Az.Accounts -MinimumVersion 2.2.0 }} catch {{ Write-Output '{NO_AZ_ACCOUNTS}'; exit }}\n\
         $t = Get-AzAccessToken -ResourceUrl '{resource}'{tenant}\n\
         $plain = if ($t.Token -is [System.Security.SecureString]) {{ [System.Net.NetworkCredential]::new('', $t.Token).Password }} else {{ $t.Token }}\n\
         [ordered]@{{ Token = $plain; ExpiresOn = $t.ExpiresOn.ToUnixTimeSeconds() }} | ConvertTo-Json -Compress\n"
    )
}

/// A tool's error text: azd's JSON `{"data":{"message"}}` unwrapped, `ERROR: `
/// dropped, shortened.
fn message_of(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    let unwrapped = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.pointer("/data/message")?.as_str().map(str::to_string));
    let text = unwrapped.as_deref().unwrap_or(text);
    let text = text.strip_prefix("ERROR: ").unwrap_or(text).trim();
    match text.char_indices().nth(MESSAGE_LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

fn epoch_seconds(v: &serde_json::Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.trim().parse().ok())
}

fn rfc3339_seconds(text: &str) -> Option<u64> {
    let at =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    u64::try_from(at.unix_timestamp()).ok()
}

#[cfg(test)]
mod tests;
