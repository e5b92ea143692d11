//! The served app as `wasmtime-wasi-http`'s handler sees it: how to make a store and
//! an instance for one worker.

use super::worker::{Expiry, Reuse, Worker};
use crate::identity::instance::Blueprint;
use crate::runtime::config_store::ConfigVars;
use crate::runtime::state::HostState;
use std::time::Duration;
use wasmtime::{Engine, Store};
use wasmtime_wasi_http::handler::{HandlerState, Instance, ProxyPre};

pub(crate) struct App {
    /// The runtime's engine for the embedder's components: WASIp3 handlers need its
    /// component-model concurrency.
    pub(crate) engine: Engine,
    pub(crate) pre: ProxyPre<HostState>,
    pub(crate) reuse: Reuse,
    /// The identity side: engine, environment, outbound policy, cache store, log.
    pub(crate) blueprint: Blueprint,
    pub(crate) config: ConfigVars,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) memory_limit: usize,
    pub(crate) request_timeout: Duration,
}

impl App {
    fn store(&self) -> Store<HostState> {
        // The identity's context (its stderr to `tracing`, environment, directories,
        // clock) is the app's too: they are one composed component.
        let mut wasi = self.blueprint.wasi();
        wasi.inherit_stdout();
        for (k, v) in &self.env {
            wasi.env(k, v);
        }
        let mut store = self.blueprint.store(
            &self.engine,
            wasi.build(),
            self.config.clone(),
            self.memory_limit,
        );
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
