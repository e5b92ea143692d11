//! Why a plugin could not be loaded or did not finish its run.

use std::time::Duration;

/// Errors of the plugin host. A plugin that ran and exited with an error code is not
/// one of these: that is a [`RunOutcome`](super::RunOutcome) with its code.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PluginError {
    /// The policy is invalid; the message names the field and what to write instead.
    #[error("invalid plugin policy: {0}")]
    Policy(String),
    /// The plugin host itself could not start (engine, linker).
    #[error("the plugin host could not start: {0}")]
    Host(String),
    /// The plugin is not a usable component: unreadable, not a component, importing
    /// something the host does not provide, or not exporting `wasi:cli/run`.
    #[error("plugin {plugin} cannot be loaded: {reason}")]
    Load {
        /// The plugin's name.
        plugin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The run could not be set up (e.g. a read-only directory of its policy is missing).
    #[error("plugin {plugin} cannot start: {reason}")]
    Start {
        /// The plugin's name.
        plugin: String,
        /// What failed.
        reason: String,
    },
    /// The run took longer than the plugin's `deadline_ms` and was stopped.
    #[error("plugin {plugin} ran past its deadline of {} ms and was stopped", limit.as_millis())]
    Deadline {
        /// The plugin's name.
        plugin: String,
        /// Its deadline.
        limit: Duration,
    },
    /// The plugin needed more memory than its `memory_mib` and failed for it.
    #[error("plugin {plugin} hit its memory limit of {limit_mib} MiB and was stopped: {reason}")]
    Memory {
        /// The plugin's name.
        plugin: String,
        /// Its limit.
        limit_mib: u64,
        /// The trap that followed.
        reason: String,
    },
    /// The plugin trapped (a panic, an `unreachable`, a bad resource handle).
    #[error("plugin {plugin} crashed: {reason}")]
    Trap {
        /// The plugin's name.
        plugin: String,
        /// The trap, with wasm backtrace when available.
        reason: String,
    },
}
