//! The served app as `wasmtime-wasi-http`'s handler sees it: how to make a store and
//! an instance for one worker.

use super::worker::{Expiry, Reuse, Worker};
use crate::clock::WasiWallClock;
use crate::config_store::ConfigVars;
use crate::instance::Blueprint;
use crate::outbound::Allowlist;
use crate::state::HostState;
use std::time::Duration;
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store, StoreLimitsBuilder};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::WasiHttpCtx;
use wasmtime_wasi_http::handler::{HandlerState, Instance, ProxyPre};

pub(crate) struct App {
    pub(crate) engine: Engine,
    pub(crate) pre: ProxyPre<HostState>,
    pub(crate) reuse: Reuse,
    /// The identity side: its environment, cache store and log.
    pub(crate) blueprint: Blueprint,
    pub(crate) allowlist: Allowlist,
    pub(crate) config: ConfigVars,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) memory_limit: usize,
    pub(crate) request_timeout: Duration,
}

impl App {
    fn store(&self) -> Store<HostState> {
        let mut wasi = WasiCtx::builder();
        wasi.inherit_stdout();
        // The identity component's lines (and the app's) become `tracing` events.
        wasi.stderr(self.blueprint.log.stderr());
        for (k, v) in self.blueprint.env.iter().chain(&self.env) {
            wasi.env(k, v);
        }
        if let Some(clock) = &self.blueprint.config.wall_clock {
            wasi.wall_clock(WasiWallClock(clock.clone()));
        }
        let state = HostState {
            table: ResourceTable::new(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            hooks: self.allowlist.clone(),
            kv: self.blueprint.cache.kv.clone(),
            config: self.config.clone(),
            limits: StoreLimitsBuilder::new()
                .memory_size(self.memory_limit)
                .build(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        // Yield at every epoch tick, so a busy guest lets the handler expire it.
        store.epoch_deadline_async_yield_and_update(1);
        store
    }
}

impl HandlerState for App {
    type StoreData = HostState;
    type WorkerExpiration = Expiry;
    type WorkerState = Worker;

    async fn instantiate(&self) -> wasmtime::Result<Instance<HostState, Expiry, Worker>> {
        let mut store = self.store();
        let proxy = self.pre.instantiate_async(&mut store).await?;
        Ok(Instance {
            store,
            proxy,
            view: HostState::http_view,
            expiration: Expiry::new(self.request_timeout),
            state: Worker {
                reuse: self.reuse,
                request_timeout: self.request_timeout,
            },
        })
    }
}
