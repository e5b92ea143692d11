//! [`Plugin`]: a loaded plugin, run as a command in a fresh store each time.

use super::attach::Attach;
use super::error::PluginError;
use super::host::Shared;
use super::outbound::PluginOutbound;
use super::policy::PluginRules;
use super::rate::TokenBucket;
use super::state::PluginState;
use super::tokens::TokenGate;
use crate::Identity;
use crate::outbound::{Allowlist, Resolver};
use crate::runtime::limits::{MeteredLimits, PLUGIN_FIELD_SIZE_LIMIT};
use entra_identity_core::attach::Rules;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmtime::Store;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtx};
use wasmtime_wasi_http::WasiHttpCtx;

/// Most of each output stream [`Plugin::run_captured`] keeps; writes beyond fail.
pub const CAPTURE_LIMIT: usize = 1 << 20;

/// A compiled plugin with its rules. Cheap to clone; runs may overlap, each in its
/// own store, and share the plugin's token rate limit.
#[derive(Clone)]
pub struct Plugin {
    shared: Arc<Shared>,
    /// What answers its token requests: its policy's named identity, or the host's.
    identity: Identity,
    name: Arc<str>,
    rules: Arc<PluginRules>,
    pre: CommandPre<PluginState>,
    bucket: Arc<Mutex<TokenBucket>>,
    outbound: Allowlist,
    /// The rules its requests get tokens by (`attach_tokens`).
    attach: Option<Arc<Rules>>,
}

/// How a run ended, when the plugin ran to its end.
#[derive(Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// Its exit code: 0 when `run` returned ok, 1 when it returned an error, or the
    /// code it passed to `wasi:cli/exit`.
    pub code: i32,
    /// What it wrote to stdout ([`Plugin::run_captured`]; empty when inherited).
    pub stdout: Vec<u8>,
    /// What it wrote to stderr ([`Plugin::run_captured`]; empty when inherited).
    pub stderr: Vec<u8>,
}

impl RunOutcome {
    /// Whether the plugin exited with code 0.
    pub fn success(&self) -> bool {
        self.code == 0
    }
}

impl fmt::Debug for RunOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Sizes only: a plugin may print what it was given, a token included.
        f.debug_struct("RunOutcome")
            .field("code", &self.code)
            .field("stdout", &format_args!("{} bytes", self.stdout.len()))
            .field("stderr", &format_args!("{} bytes", self.stderr.len()))
            .finish()
    }
}

#[derive(Clone, Copy)]
enum Output {
    Inherit,
    Capture,
}

impl Plugin {
    pub(crate) fn new(
        shared: Arc<Shared>,
        identity: Identity,
        name: Arc<str>,
        rules: Arc<PluginRules>,
        pre: CommandPre<PluginState>,
        bucket: Arc<Mutex<TokenBucket>>,
        resolver: Option<Resolver>,
    ) -> Result<Self, PluginError> {
        let mut outbound = Allowlist::from_urls(rules.outbound.iter().map(String::as_str))
            .with_tls_roots(identity.config().tls_roots)
            .with_allowed_addresses(rules.allow_addresses.iter().map(String::as_str))
            .map_err(|why| PluginError::Policy(format!("plugins.{name}.allow_addresses: {why}")))?;
        if let Some(resolver) = resolver {
            outbound = outbound.with_resolver(resolver);
        }
        let attach = (rules.attach())
            .map_err(|why| PluginError::Policy(format!("plugins.{name}.attach_rules: {why}")))?
            .map(Arc::new);
        Ok(Plugin {
            shared,
            identity,
            name,
            rules,
            pre,
            bucket,
            outbound,
            attach,
        })
    }

    /// Its name, as in the policy.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The rules it runs under.
    pub fn rules(&self) -> &PluginRules {
        &self.rules
    }

    /// Runs it with `args` (its `argv[0]` is its name), stdout and stderr going to
    /// this process's.
    pub async fn run<S: AsRef<str>>(&self, args: &[S]) -> Result<RunOutcome, PluginError> {
        self.run_with(args, Output::Inherit).await
    }

    /// Runs it with `args`, keeping up to [`CAPTURE_LIMIT`] bytes of its stdout and
    /// stderr in the outcome.
    pub async fn run_captured<S: AsRef<str>>(&self, args: &[S]) -> Result<RunOutcome, PluginError> {
        self.run_with(args, Output::Capture).await
    }

    async fn run_with<S: AsRef<str>>(
        &self,
        args: &[S],
        output: Output,
    ) -> Result<RunOutcome, PluginError> {
        let (mut store, captured) = self.store(args, output)?;
        let deadline = Duration::from_millis(self.rules.deadline_ms);
        let pre = &self.pre;
        // The epoch makes even a loop without calls yield every tick, so the timeout is
        // checked; it also covers time spent waiting in host calls.
        let result = tokio::time::timeout(deadline, async {
            let command = pre.instantiate_async(&mut store).await?;
            command.wasi_cli_run().call_run(&mut store).await
        })
        .await;
        let (stdout, stderr) = match captured {
            Some((out, err)) => (out.contents().to_vec(), err.contents().to_vec()),
            None => (Vec::new(), Vec::new()),
        };
        let outcome = |code| RunOutcome {
            code,
            stdout: stdout.clone(),
            stderr: stderr.clone(),
        };
        match result {
            Err(_elapsed) => {
                tracing::warn!(plugin = %self.name, deadline_ms = self.rules.deadline_ms, "stopped a plugin at its deadline");
                Err(PluginError::Deadline {
                    plugin: self.name.to_string(),
                    limit: deadline,
                })
            }
            Ok(Ok(Ok(()))) => Ok(outcome(0)),
            Ok(Ok(Err(()))) => Ok(outcome(1)),
            Ok(Err(e)) => {
                if let Some(exit) = e.downcast_ref::<I32Exit>() {
                    return Ok(outcome(exit.0));
                }
                let mut reason = format!("{e:#}");
                if let Some(refused) = store.data().limits.refused {
                    reason = format!("refused {refused}: {reason}");
                }
                if store.data().limits.hit || is_resource_exhaustion(&e) {
                    return Err(PluginError::Memory {
                        plugin: self.name.to_string(),
                        limit_mib: self.rules.memory_mib,
                        reason,
                    });
                }
                Err(PluginError::Trap {
                    plugin: self.name.to_string(),
                    reason,
                })
            }
        }
    }

    /// A fresh store with only what the policy grants: no host environment, no
    /// sockets, no directories but the listed read-only ones.
    #[allow(clippy::type_complexity)]
    fn store<S: AsRef<str>>(
        &self,
        args: &[S],
        output: Output,
    ) -> Result<
        (
            Store<PluginState>,
            Option<(MemoryOutputPipe, MemoryOutputPipe)>,
        ),
        PluginError,
    > {
        let rules = &self.rules;
        let mut wasi = WasiCtx::builder();
        wasi.arg(&*self.name);
        for arg in args {
            wasi.arg(arg);
        }
        for (k, v) in &rules.env {
            wasi.env(k, v);
        }
        wasi.allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        let captured = match output {
            Output::Inherit => {
                wasi.inherit_stdout().inherit_stderr();
                None
            }
            Output::Capture => {
                let (out, err) = (
                    MemoryOutputPipe::new(CAPTURE_LIMIT),
                    MemoryOutputPipe::new(CAPTURE_LIMIT),
                );
                wasi.stdout(out.clone()).stderr(err.clone());
                Some((out, err))
            }
        };
        for dir in &rules.read_only_dirs {
            wasi.preopened_dir(dir, dir.to_string_lossy(), FsPerms::ReadOnly)
                .map_err(|e| PluginError::Start {
                    plugin: self.name.to_string(),
                    reason: format!("read-only dir {}: {e:#}", dir.display()),
                })?;
        }
        let memory = usize::try_from(rules.memory_mib << 20).unwrap_or(usize::MAX);
        let mut http = WasiHttpCtx::new();
        http.set_field_size_limit(PLUGIN_FIELD_SIZE_LIMIT);
        let tokens = TokenGate {
            plugin: self.name.clone(),
            rules: self.rules.clone(),
            bucket: self.bucket.clone(),
            identity: self.identity.clone(),
        };
        let state = PluginState {
            table: ResourceTable::new(),
            wasi: wasi.build(),
            http,
            hooks: PluginOutbound {
                plugin: self.name.clone(),
                allowlist: self.outbound.clone(),
                attach: (self.attach.clone()).map(|rules| Attach {
                    rules,
                    gate: tokens.clone(),
                }),
            },
            tokens,
            limits: MeteredLimits::plugin(memory),
        };
        let mut store = Store::new(&self.shared.engine, state);
        store.limiter(|s| &mut s.limits);
        // The guest's own resource handles live in host memory too.
        store.set_max_component_handles(max_component_handles(memory));
        store.set_epoch_deadline(1);
        store.epoch_deadline_async_yield_and_update(1);
        Ok((store, captured))
    }
}

/// Most component-model handles a plugin store may hold: wasmtime's default, or fewer
/// for a small budget (a handle slot takes a few dozen bytes).
fn max_component_handles(budget: usize) -> usize {
    (budget / 256).clamp(1024, 100_000)
}

/// Whether a trap came from a cap on what the plugin holds rather than from its code:
/// a full resource table, too many handles, or too many instances, memories or tables.
fn is_resource_exhaustion(e: &wasmtime::Error) -> bool {
    use wasmtime::component::ResourceTableError;
    if e.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<ResourceTableError>(),
            Some(ResourceTableError::Full)
        )
    }) {
        return true;
    }
    // Wasmtime reports its count caps as plain messages.
    let text = format!("{e:#}");
    [
        "resource limit exceeded",
        "store handle limit exceeded",
        "total size of fields exceeds limit",
        "too many fields",
    ]
    .iter()
    .any(|cap| text.contains(cap))
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name)
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}
