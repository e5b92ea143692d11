//! One instance of the component: its store (WASI context, outbound policy, limits)
//! and its bindings. Calls into a WASI 0.2 instance run one at a time, so an
//! instance is used by one caller at a time.

use crate::bindings::IdentityBindings;
use crate::clock::WasiWallClock;
use crate::config::IdentityConfig;
use crate::engine::EPOCH_TICK;
use crate::error::{Error, Result};
use crate::outbound::Allowlist;
use crate::runtime::Runtime;
use crate::state::HostState;
use std::time::Duration;
use wasmtime::component::ResourceTable;
use wasmtime::{Store, StoreLimitsBuilder};
use wasmtime_wasi::{FsPerms, WasiCtx};
use wasmtime_wasi_http::WasiHttpCtx;

pub(crate) struct Instance {
    pub(crate) store: Store<HostState>,
    pub(crate) bindings: IdentityBindings,
    deadline_ticks: u64,
}

fn ticks(timeout: Duration) -> u64 {
    (timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}

impl Instance {
    /// A fresh instance seeing `config.env`, reaching only `allowlist`.
    pub(crate) async fn start(
        runtime: &Runtime,
        config: &IdentityConfig,
        allowlist: &Allowlist,
    ) -> Result<Self> {
        let mut wasi = WasiCtx::builder();
        // A guest panic prints its message before aborting; keep it visible.
        wasi.inherit_stderr();
        for (k, v) in &config.env {
            wasi.env(k, v);
        }
        for dir in config.readable_dirs() {
            // Same path inside as outside, read-only; a missing directory is the
            // component's to report (it names the file it could not read).
            if let Err(e) = wasi.preopened_dir(&dir, dir.to_string_lossy(), FsPerms::ReadOnly) {
                tracing::debug!(dir = %dir.display(), error = %e, "not pre-opening");
            }
        }
        if let Some(clock) = &config.wall_clock {
            wasi.wall_clock(WasiWallClock(clock.clone()));
        }
        let state = HostState {
            table: ResourceTable::new(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            hooks: allowlist.clone(),
            limits: StoreLimitsBuilder::new()
                .memory_size(config.memory_limit)
                .build(),
        };
        let mut store = Store::new(&runtime.engine, state);
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_trap();
        let deadline_ticks = ticks(config.call_timeout);
        store.set_epoch_deadline(deadline_ticks);
        let bindings = runtime
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(Error::component)?;
        Ok(Instance {
            store,
            bindings,
            deadline_ticks,
        })
    }

    /// Re-arms the call deadline and hands out the store and bindings for one call.
    pub(crate) fn arm(&mut self) -> (&mut Store<HostState>, &IdentityBindings) {
        self.store.set_epoch_deadline(self.deadline_ticks);
        (&mut self.store, &self.bindings)
    }
}

/// An instance that failed (trap, deadline, memory) is dropped, so the next call
/// starts afresh.
pub(crate) fn drop_on_failure<I, T>(slot: &mut Option<I>, result: &Result<T>) {
    if let Err(Error::Component(e)) = result {
        tracing::warn!(error = %e, "identity component failed; it will be restarted");
        *slot = None;
    }
}
