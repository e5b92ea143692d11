//! What each wasmtime store holds: the component's WASI context, its wasi-http
//! context with the outbound policy, the shared cache's store, and its resource limits.

use crate::keyvalue::{KeyValueCtx, KeyValueView};
use crate::outbound::Allowlist;
use crate::runtime::config_store::ConfigVars;
use crate::runtime::limits::MeteredLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

pub(crate) struct HostState {
    pub(crate) table: ResourceTable,
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    /// Kept apart from the views: wasmtime cannot use one type as both view and hooks.
    pub(crate) hooks: Allowlist,
    /// `wasi:keyvalue`: one backend shared by every instance of the `Identity`.
    pub(crate) kv: KeyValueCtx,
    /// `wasi:config`: nothing for a plain `Identity`; its settings are in `wasi`'s env.
    pub(crate) config: ConfigVars,
    pub(crate) limits: MeteredLimits,
}

impl HostState {
    pub(crate) fn keyvalue(&mut self) -> KeyValueView<'_> {
        KeyValueView::new(&self.kv, &mut self.table)
    }

    pub(crate) fn config(&mut self) -> &mut ConfigVars {
        &mut self.config
    }

    /// The wasi-http view as a plain function, which `wasmtime-wasi-http`'s handler wants.
    #[cfg(feature = "serve")]
    pub(crate) fn http_view(&mut self) -> WasiHttpCtxView<'_> {
        self.http()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}
