//! The runtime room: the wasmtime [`Engine`]s of a process (one for the identity
//! component, one for the embedder's components), with the on-disk compile cache,
//! epoch tickers and allocators, and what every store is made of (WASI
//! state, memory limits, the guest's log, the clock it sees, `wasi:config`).
//!
//! A [`Runtime`] is built once ([`Runtime::new`], or [`Runtime::shared`] for the
//! process's default) and handed to every [`Identity`](crate::Identity),
//! [`Validator`](crate::Validator), plugin host and served app. The identity component
//! is compiled (or loaded from the compile cache) the first time one of them needs it,
//! and that compilation is reused by all of them.

pub(crate) mod clock;
pub(crate) mod config_store;
pub(crate) mod engine;
pub(crate) mod guest_log;
pub(crate) mod limits;
#[cfg(target_os = "linux")]
mod stacks;
pub(crate) mod state;

use crate::bindings::IdentityComponent;
use crate::error::{Error, Result};
use engine::{EpochTicker, Runs};
use state::HostState;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use wasmtime::Engine;
use wasmtime::component::Linker;

/// Settings of the engine every component of a [`Runtime`] runs on.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RuntimeConfig {
    /// Where compiled components (the identity component, plugins, served apps) are
    /// cached; `None` compiles on every start. Default: `$ENTRA_IDENTITY_CACHE_DIR`,
    /// else the user's cache directory.
    pub compile_cache_dir: Option<PathBuf>,
    /// `Some`: instances come from wasmtime's pooling allocator, slots reserved up front,
    /// so a fresh instance reuses a slot's mappings instead of mapping new memory. Worth
    /// it when instances are not reused
    /// ([`InstanceLimits::reuse_instances`](crate::InstanceLimits::reuse_instances)).
    /// `None` (default): on-demand allocation.
    pub pooling_allocator: Option<PoolingConfig>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            compile_cache_dir: engine::default_cache_dir(),
            pooling_allocator: None,
        }
    }
}

impl RuntimeConfig {
    /// The defaults: compile cache in the user's cache directory, on-demand allocation.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`Self::compile_cache_dir`].
    pub fn with_compile_cache_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.compile_cache_dir = dir;
        self
    }

    /// Sets [`Self::pooling_allocator`].
    pub fn with_pooling_allocator(mut self, pool: Option<PoolingConfig>) -> Self {
        self.pooling_allocator = pool;
        self
    }
}

/// The pooling allocator's reservation, made for each of the runtime's engines: every
/// identity's and validator's instances take slots from the identity engine's pool;
/// plugins and served apps from [`Runtime::engine`]'s, reserved when it is first used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolingConfig {
    /// Component instances alive at once on one engine.
    pub instances: u32,
    /// Largest linear memory of one slot; an instance whose memory limit is higher is
    /// still held to this.
    pub max_memory_bytes: usize,
}

impl PoolingConfig {
    /// Room for `instances` instances of at most `max_memory_bytes` of linear memory.
    pub fn new(instances: u32, max_memory_bytes: usize) -> Self {
        PoolingConfig {
            instances,
            max_memory_bytes,
        }
    }
}

/// The wasmtime engines, compile cache and epoch tickers shared by every
/// [`Identity`](crate::Identity), [`Validator`](crate::Validator), plugin host and
/// served app built on it. Cheap to clone; clones share everything, and the ticker
/// threads stop when the last clone is dropped.
///
/// Two engines, because what runs on them needs different things: the identity
/// component's instances run on one without component-model concurrency (a call into
/// them is cheaper by about a third), and the embedder's components (plugins, served
/// apps, WASIp3 handlers among them) on [`Runtime::engine`], made on first use.
///
/// ```no_run
/// # fn run() -> entra_identity_host::Result<()> {
/// use entra_identity_host::{Identity, IdentityConfig, Runtime, RuntimeConfig};
/// let runtime = Runtime::new(RuntimeConfig::default())?;
/// let vault = Identity::with_runtime(&runtime, IdentityConfig::from_env()?)?;
/// let storage = Identity::with_runtime(&runtime, IdentityConfig::from_env()?)?;
/// assert!(vault.runtime().same_engine(storage.runtime()));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    /// The identity component's engine.
    identity_engine: Ticking,
    /// The embedder's components' engine, made by the first [`Runtime::engine`] call
    /// (a runtime that only hands out tokens never reserves a second pool).
    apps_engine: OnceLock<Ticking>,
    /// Held while the apps engine is made, so two first callers make one.
    apps_engine_init: Mutex<()>,
    config: RuntimeConfig,
    /// The identity component, compiled and linked on first use. The lock is held while
    /// compiling, so concurrent first users wait for one compilation instead of each
    /// running their own.
    identity: Mutex<Option<IdentityComponent>>,
    /// How many times the identity component was compiled or loaded from disk.
    compilations: AtomicUsize,
}

/// An engine and the thread that advances its epoch.
struct Ticking {
    engine: Engine,
    _ticker: EpochTicker,
}

impl Ticking {
    fn new(config: &RuntimeConfig, runs: Runs) -> Result<Self> {
        let engine = match config.pooling_allocator {
            Some(pool) => engine::new_pooling_engine(runs, pool.instances, pool.max_memory_bytes),
            None => engine::new_engine(runs),
        }
        .map_err(Error::component)?;
        Ok(Ticking {
            _ticker: EpochTicker::start(&engine),
            engine,
        })
    }
}

impl Runtime {
    /// A new runtime with `config`: the identity component's engine now, the
    /// embedder's on first use, each with its epoch ticker and (if configured) its
    /// pool. Prefer one per process: every runtime compiles the identity component
    /// again and runs its own ticker threads.
    pub fn new(config: RuntimeConfig) -> Result<Self> {
        Ok(Runtime {
            inner: Arc::new(Inner {
                identity_engine: Ticking::new(&config, Runs::Identity)?,
                apps_engine: OnceLock::new(),
                apps_engine_init: Mutex::new(()),
                config,
                identity: Mutex::new(None),
                compilations: AtomicUsize::new(0),
            }),
        })
    }

    /// The process's default runtime ([`RuntimeConfig::default`]), built on first use;
    /// what [`Identity::new`](crate::Identity::new) and
    /// [`Validator::new`](crate::Validator::new) run on.
    pub fn shared() -> Result<Self> {
        static SHARED: Mutex<Option<Runtime>> = Mutex::new(None);
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(runtime) = &*shared {
            return Ok(runtime.clone());
        }
        let runtime = Runtime::new(RuntimeConfig::default())?;
        *shared = Some(runtime.clone());
        Ok(runtime)
    }

    /// The engine to compile and run components of the embedder's own on (WASIp3
    /// included): made on the first call, with the runtime's pool if it has one. An
    /// error only when that pool cannot be reserved.
    pub fn engine(&self) -> Result<&Engine> {
        let apps = &self.inner.apps_engine;
        if let Some(apps) = apps.get() {
            return Ok(&apps.engine);
        }
        let _making = (self.inner.apps_engine_init.lock()).unwrap_or_else(|e| e.into_inner());
        if apps.get().is_none() {
            let made = Ticking::new(&self.inner.config, Runs::Apps)?;
            let _ = apps.set(made);
        }
        Ok(&apps.get().expect("set above").engine)
    }

    /// The engine the identity component's instances run on.
    pub(crate) fn identity_engine(&self) -> &Engine {
        &self.inner.identity_engine.engine
    }

    /// Whether `self` and `other` are one runtime (clones of one runtime are): the
    /// same engines, the same compilation of the identity component.
    pub fn same_engine(&self, other: &Runtime) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The settings it was built with.
    pub fn config(&self) -> &RuntimeConfig {
        &self.inner.config
    }

    /// Where compiled components are cached, if anywhere.
    pub fn compile_cache_dir(&self) -> Option<&Path> {
        self.inner.config.compile_cache_dir.as_deref()
    }

    /// Compiles `wasm` on [`Self::engine`], or loads it from the compile cache.
    #[cfg(any(feature = "serve", feature = "plugin"))]
    pub(crate) fn load_component(
        &self,
        wasm: &[u8],
    ) -> wasmtime::Result<wasmtime::component::Component> {
        let engine = self.engine().map_err(|e| wasmtime::format_err!("{e}"))?;
        engine::load_component(engine, wasm, self.compile_cache_dir())
    }

    /// The identity component linked with WASI, wasi-http, wasi:keyvalue and
    /// wasi:config: compiled (or loaded from the compile cache) once per runtime.
    pub(crate) fn identity_component(&self) -> Result<IdentityComponent> {
        let mut slot = self
            .inner
            .identity
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(pre) = &*slot {
            return Ok(pre.clone());
        }
        let engine = self.identity_engine();
        let component =
            engine::load_component(engine, engine::COMPONENT_WASM, self.compile_cache_dir())
                .map_err(Error::component)?;
        self.inner.compilations.fetch_add(1, Ordering::Relaxed);
        let mut linker = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(Error::component)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(Error::component)?;
        crate::keyvalue::add_to_linker(&mut linker, HostState::keyvalue)
            .map_err(Error::component)?;
        config_store::add_to_linker(&mut linker, HostState::config).map_err(Error::component)?;
        let pre = linker
            .instantiate_pre(&component)
            .and_then(IdentityComponent::new)
            .map_err(Error::component)?;
        *slot = Some(pre.clone());
        Ok(pre)
    }

    /// How many times this runtime compiled (or loaded) the identity component.
    #[cfg(test)]
    pub(crate) fn identity_compilations(&self) -> usize {
        self.inner.compilations.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Identity, IdentityConfig, Validator, ValidatorConfig, ValidatorOptions};

    fn uncached() -> Runtime {
        Runtime::new(RuntimeConfig::default().with_compile_cache_dir(None)).unwrap()
    }

    #[test]
    fn the_identity_engine_has_no_component_model_concurrency_and_the_apps_engine_has_it() {
        let runtime = uncached();
        assert!(!runtime.identity_engine().get_concurrency_support());
        assert!(
            runtime.inner.apps_engine.get().is_none(),
            "made on first use only"
        );
        let apps = runtime.engine().unwrap();
        assert!(apps.get_concurrency_support(), "WASIp3 handlers need it");
        assert!(!Engine::same(apps, runtime.identity_engine()));
        assert!(Engine::same(apps, runtime.engine().unwrap()), "made once");
    }

    #[test]
    fn identities_and_validators_on_one_runtime_share_its_engine_and_its_compilation() {
        let runtime = uncached();
        let a = Identity::with_runtime(&runtime, IdentityConfig::default()).unwrap();
        let b = IdentityConfig::default().with_host_fast_path(false);
        let b = Identity::with_runtime(&runtime, b).unwrap();
        let options = ValidatorOptions::new("tenant", &["api://x"]);
        let v = Validator::with_runtime(&runtime, options, ValidatorConfig::default()).unwrap();
        assert!(a.runtime().same_engine(b.runtime()));
        assert!(a.runtime().same_engine(v.runtime()));
        assert!(a.runtime().same_engine(&runtime));
        assert_eq!(
            runtime.identity_compilations(),
            1,
            "compiled once, not per user"
        );
        // Another runtime is another engine, and compiles for itself.
        let other = uncached();
        assert!(!other.same_engine(&runtime));
        assert_eq!(
            other.identity_compilations(),
            0,
            "nothing compiled until used"
        );
    }

    #[test]
    fn identities_built_without_a_runtime_share_the_process_runtime() {
        // `Identity::new` and `Validator::new` once made an engine (and a ticker thread)
        // each; they now take the process's shared runtime.
        let a = Identity::new(IdentityConfig::default()).unwrap();
        let b = Identity::new(IdentityConfig::default()).unwrap();
        let options = ValidatorOptions::new("tenant", &["api://x"]);
        let v = Validator::new(options, ValidatorConfig::default()).unwrap();
        let shared = Runtime::shared().unwrap();
        assert!(a.runtime().same_engine(&shared));
        assert!(b.runtime().same_engine(&shared));
        assert!(v.runtime().same_engine(&shared));
        assert_eq!(shared.identity_compilations(), 1);
    }
}
