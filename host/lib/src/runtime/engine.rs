//! The wasmtime engine, the component compiled once and cached on disk, and the
//! epoch ticker that bounds every call.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// The component, built by `build.rs` for `wasm32-wasip2`.
pub const COMPONENT_WASM: &[u8] = include_bytes!(env!("ENTRA_IDENTITY_WASM"));

/// How often the epoch advances; call deadlines are counted in these ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(100);

/// What an engine runs: the identity component alone (WASI 0.2, one call at a time
/// per instance), or anything an embedder brings, WASIp3 included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Runs {
    /// No component-model concurrency: `call_async` then enters the instance on a
    /// fiber directly instead of through wasmtime's concurrent task machinery, which
    /// costs ~1.6 µs a call and ~6 µs a fresh instance that the identity component,
    /// with no async exports, never needs.
    Identity,
    /// Wasmtime's default: component-model concurrency whenever it is compiled in
    /// (WASIp3 handlers, `call_concurrent`, streams).
    Apps,
}

pub(crate) fn new_engine(runs: Runs) -> wasmtime::Result<Engine> {
    new_engine_with(runs, None)
}

/// How many of each pooled resource one instance of our component may take. Measured
/// on the component (one core module with its memory, a handful of wit-component shim
/// and fixup modules with their tables), with room to spare.
const CORE_INSTANCES_PER_INSTANCE: u32 = 16;
const MEMORIES_PER_INSTANCE: u32 = 2;
const TABLES_PER_INSTANCE: u32 = 16;
/// Fiber stacks: one per call in flight, and wasi's background tasks use none.
const STACKS_PER_INSTANCE: u32 = 2;
/// Bytes of a pooled slot's memory and tables kept mapped between instances.
const KEEP_RESIDENT_WITH_PAGEMAP: usize = 2 << 20;
const KEEP_RESIDENT_WITHOUT_PAGEMAP: usize = 64 << 10;

/// An engine that allocates instances from a pool of `instances` pre-reserved slots,
/// each with at most `memory_limit` bytes of linear memory. Instantiation then reuses
/// memory mappings instead of making new ones: the Spin model, where every request
/// gets a fresh instance.
pub(crate) fn new_pooling_engine(
    runs: Runs,
    instances: u32,
    memory_limit: usize,
) -> wasmtime::Result<Engine> {
    let mut pool = PoolingAllocationConfig::new();
    // Saturating: an absurd `max_instances` becomes wasmtime's error at `Engine::new`
    // (it cannot reserve that much), not an overflow.
    pool.total_component_instances(instances)
        .total_core_instances(instances.saturating_mul(CORE_INSTANCES_PER_INSTANCE))
        .total_memories(instances.saturating_mul(MEMORIES_PER_INSTANCE))
        .total_tables(instances.saturating_mul(TABLES_PER_INSTANCE))
        .total_stacks(instances.saturating_mul(STACKS_PER_INSTANCE))
        .max_memory_size(memory_limit);
    // A returned slot is reset by rewriting only the pages the instance dirtied, which
    // stay mapped, instead of unmapping all of them and faulting each back in on the
    // next instance's first touch (~170 KiB of our 1.2 MiB is ever touched). Without
    // PAGEMAP_SCAN (Linux < 6.7) "resident" would mean a memset of that many bytes per
    // reset, so less is kept.
    let resident = if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(wasmtime::Enabled::Yes);
        KEEP_RESIDENT_WITH_PAGEMAP
    } else {
        KEEP_RESIDENT_WITHOUT_PAGEMAP
    };
    pool.linear_memory_keep_resident(resident)
        .table_keep_resident(resident);
    new_engine_with(runs, Some(pool))
}

fn new_engine_with(runs: Runs, pool: Option<PoolingAllocationConfig>) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    if runs == Runs::Identity {
        config.concurrency_support(false);
    }
    match pool {
        Some(pool) => {
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        // The pool has its own stacks; on demand, each store would map and unmap one.
        // Memories keep wasmtime's 4 GiB reservation: 16 MiB made a fresh instance's
        // unmap cheaper (~5 µs) but RSA signing in wasm 15-25% slower, from the
        // bounds checks a smaller reservation compiles in (BENCHMARKS.md §2, fifth pass).
        #[cfg(target_os = "linux")]
        None => {
            config.with_host_stack(Arc::new(super::stacks::StackPool::default()));
        }
        #[cfg(not(target_os = "linux"))]
        None => {}
    }
    Engine::new(&config)
}

/// Compiles `wasm`, or loads the result of an earlier compilation from `cache_dir`.
///
/// Files are keyed by the wasm's SHA-256 and by the engine's compatibility hash, so a
/// new component or a new wasmtime never loads a stale artifact.
pub(crate) fn load_component(
    engine: &Engine,
    wasm: &[u8],
    cache_dir: Option<&Path>,
) -> wasmtime::Result<Component> {
    let Some(dir) = cache_dir else {
        return Component::new(engine, wasm);
    };
    let path = cache_path(engine, wasm, dir);
    if path.exists() {
        // SAFETY: the file was written by `Component::serialize` below for this exact
        // wasm and engine configuration (both are in its name), in a directory this
        // host owns; wasmtime also checks the engine compatibility header.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => return Ok(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring unusable compiled component")
            }
        }
    }
    let component = Component::new(engine, wasm)?;
    if let Err(e) = store_artifact(&component, &path) {
        tracing::warn!(path = %path.display(), error = %e, "could not cache the compiled component");
    }
    Ok(component)
}

fn cache_path(engine: &Engine, wasm: &[u8], dir: &Path) -> PathBuf {
    let digest = Sha256::digest(wasm);
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    let mut hasher = std::hash::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    dir.join(format!(
        "entra_identity-{hex}-{:016x}.cwasm",
        hasher.finish()
    ))
}

fn store_artifact(component: &Component, path: &Path) -> std::io::Result<()> {
    let bytes = component.serialize().map_err(std::io::Error::other)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Write then rename, so a concurrent reader never sees half a file.
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// The default place for compiled components: `$ENTRA_IDENTITY_CACHE_DIR`, else the
/// user's cache directory.
pub(crate) fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("ENTRA_IDENTITY_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|d| d.join("entra-identity"))
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until dropped.
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    pub(crate) fn start(engine: &Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (engine, flag) = (engine.clone(), stop.clone());
        std::thread::Builder::new()
            .name("entra-identity-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawning the epoch thread");
        EpochTicker { stop }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_absurd_pool_is_an_error_not_a_crash() {
        let err = super::new_pooling_engine(super::Runs::Identity, u32::MAX, 64 << 20).err();
        assert!(err.is_some(), "u32::MAX instances cannot be reserved");
    }
}
