//! What each plugin store holds: its WASI context, its outbound policy, its token gate
//! and its memory limit. Every WASI and `wasi:http` call passes through the views
//! below, so they are where the resource table is charged to the store's one budget.

use super::outbound::PluginOutbound;
use super::tokens::TokenGate;
use crate::runtime::limits::MeteredLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

pub(crate) struct PluginState {
    pub(crate) table: ResourceTable,
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    pub(crate) hooks: PluginOutbound,
    pub(crate) tokens: TokenGate,
    pub(crate) limits: MeteredLimits,
}

impl PluginState {
    /// Charges the table's entries to the budget and lets it grow only as far as the
    /// rest of the budget goes: a plugin cannot hold more host memory in resources than
    /// it could have taken as linear memory.
    fn charge_table(&mut self) {
        let entries = self.table.iter_mut().count();
        if let Some(capacity) = self.limits.charge_host_entries(entries) {
            self.table.set_max_capacity(capacity);
        }
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        self.charge_table();
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for PluginState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        self.charge_table();
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}
