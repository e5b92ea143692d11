//! The developer's own Azure sign-in as a managed identity, for running the production
//! code path on a laptop (feature `dev-tools`).
//!
//! A component cannot run `az`; a process can. This module asks the Azure CLI,
//! Azure PowerShell or the Azure Developer CLI for a token, in the order the Azure
//! SDKs' developer chains use, and keeps it until its refresh time. [`DevEndpoint`]
//! serves those tokens over the App Service managed-identity protocol on loopback, so
//! anything that speaks managed identity — our component, Spin, an Azure SDK — gets
//! the developer's token through its unchanged production path, given the two
//! variables [`DevEndpoint::env`] names.
//!
//! | File | Holds |
//! |---|---|
//! | `tool.rs` | each tool: its command line, its output, its errors ([`DeveloperTool`], [`ToolFailure`]) |
//! | `run.rs` | running one tool, with a deadline |
//! | `chain.rs` | [`DevToolsOptions`]: the tools in order, the first that answers kept, the cache |
//! | `endpoint.rs` | [`DevEndpoint`]: the App Service protocol on loopback |

mod chain;
mod endpoint;
mod run;
mod tool;

pub use chain::{DevToolsError, DevToolsOptions};
pub use endpoint::DevEndpoint;
pub use tool::{DeveloperTool, ToolFailure, UnknownTool};
