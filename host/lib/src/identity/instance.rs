//! One instance of the component: its store (WASI context, outbound policy, shared
//! cache, limits) and its bindings, made from a [`Blueprint`]. Calls into a WASI 0.2
//! instance run one at a time, so an instance is used by one caller at a time.

use crate::bindings::IdentityExports;
use crate::error::{Error, Result};
use crate::identity::config::InstanceLimits;
use crate::outbound::Allowlist;
use crate::runtime::Runtime;
use crate::runtime::clock::{WallClock, WasiWallClock};
use crate::runtime::config_store::ConfigVars;
use crate::runtime::engine::EPOCH_TICK;
use crate::runtime::guest_log::GuestLog;
use crate::runtime::limits::{MemoryGauge, MeteredLimits};
use crate::runtime::state::HostState;
use crate::shared_cache::{CACHE_ENV_VARS, CacheConfig, GuestCache};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};
use wasmtime_wasi_http::WasiHttpCtx;

/// What a blueprint is made from: everything about an instance's sandbox that is not
/// the credential.
pub(crate) struct Sandbox<'a> {
    pub(crate) env: &'a BTreeMap<String, String>,
    pub(crate) readable_dirs: Vec<PathBuf>,
    pub(crate) wall_clock: Option<Arc<dyn WallClock>>,
    pub(crate) cache: &'a CacheConfig,
    pub(crate) limits: InstanceLimits,
    pub(crate) allowlist: Allowlist,
}

/// What every instance of one `Identity` or `Validator` (or a served app) is made from,
/// prepared once: opening the cache's store and checking the configuration are not
/// per-instance work. Compiling is not even per-blueprint: it is the runtime's.
pub(crate) struct Blueprint {
    pub(crate) runtime: Runtime,
    pub(crate) allowlist: Allowlist,
    pub(crate) limits: InstanceLimits,
    /// The component's environment: the identity variables and the cache's.
    pub(crate) env: Vec<(String, String)>,
    readable_dirs: Vec<PathBuf>,
    wall_clock: Option<Arc<dyn WallClock>>,
    pub(crate) cache: GuestCache,
    pub(crate) log: GuestLog,
    /// The linear memory of every live instance made from this blueprint.
    pub(crate) memory: Arc<MemoryGauge>,
}

impl Blueprint {
    pub(crate) fn new(runtime: &Runtime, sandbox: Sandbox<'_>) -> Result<Self> {
        let cache = sandbox.cache.prepare(sandbox.wall_clock.clone())?;
        // The cache's variables come from `cache` alone, never from `env`.
        let env = (sandbox.env.iter())
            .filter(|(k, _)| !CACHE_ENV_VARS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .chain(cache.env.iter().cloned())
            .collect();
        Ok(Blueprint {
            runtime: runtime.clone(),
            allowlist: sandbox.allowlist,
            limits: sandbox.limits,
            env,
            readable_dirs: sandbox.readable_dirs,
            wall_clock: sandbox.wall_clock,
            cache,
            log: GuestLog::default(),
            memory: Arc::default(),
        })
    }
}

pub(crate) struct Instance {
    pub(crate) store: Store<HostState>,
    instance: wasmtime::component::Instance,
    exports: Arc<IdentityExports>,
    deadline_ticks: u64,
}

fn ticks(timeout: Duration) -> u64 {
    (timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}

impl Blueprint {
    /// The component's WASI context: its environment, read-only directories and
    /// clock, and stderr to `tracing` (lines, panic messages included).
    pub(crate) fn wasi(&self) -> WasiCtxBuilder {
        let mut wasi = WasiCtx::builder();
        wasi.stderr(self.log.stderr());
        for (k, v) in &self.env {
            wasi.env(k, v);
        }
        for dir in &self.readable_dirs {
            // Same path inside as outside, read-only; a missing directory is the
            // component's to report (it names the file it could not read).
            if let Err(e) = wasi.preopened_dir(dir, dir.to_string_lossy(), FsPerms::ReadOnly) {
                tracing::debug!(dir = %dir.display(), error = %e, "not pre-opening");
            }
        }
        if let Some(clock) = &self.wall_clock {
            wasi.wall_clock(WasiWallClock(clock.clone()));
        }
        wasi
    }

    /// A store on `engine` for one instance: `wasi`, the outbound policy, the shared
    /// cache's store, `config` variables, and a memory limit.
    pub(crate) fn store(
        &self,
        engine: &Engine,
        wasi: WasiCtx,
        config: ConfigVars,
        memory_limit: usize,
    ) -> Store<HostState> {
        let state = HostState {
            table: ResourceTable::new(),
            wasi,
            http: WasiHttpCtx::new(),
            hooks: self.allowlist.clone(),
            kv: self.cache.kv.clone(),
            config,
            limits: MeteredLimits::new(memory_limit, Some(self.memory.clone())),
        };
        let mut store = Store::new(engine, state);
        store.limiter(|s| &mut s.limits);
        store
    }
}

impl Instance {
    /// A fresh instance of `blueprint`.
    pub(crate) async fn start(blueprint: &Blueprint) -> Result<Self> {
        let limits = &blueprint.limits;
        let component = blueprint.runtime.identity_component()?;
        let wasi = blueprint.wasi().build();
        let engine = blueprint.runtime.identity_engine();
        let mut store = blueprint.store(engine, wasi, ConfigVars::default(), limits.memory_limit);
        store.epoch_deadline_trap();
        let deadline_ticks = ticks(limits.call_timeout);
        store.set_epoch_deadline(deadline_ticks);
        let instance = (component.pre)
            .instantiate_async(&mut store)
            .await
            .map_err(Error::component)?;
        Ok(Instance {
            store,
            instance,
            exports: component.exports,
            deadline_ticks,
        })
    }

    /// Re-arms the call deadline and hands out what one call needs: the store, the
    /// instance and its exports.
    pub(crate) fn arm(
        &mut self,
    ) -> (
        &mut Store<HostState>,
        &wasmtime::component::Instance,
        &IdentityExports,
    ) {
        self.store.set_epoch_deadline(self.deadline_ticks);
        (&mut self.store, &self.instance, &self.exports)
    }
}
