//! What every instance is made from: the engine, the pre-linked component, and the
//! epoch ticker. Built once; instantiating from it takes microseconds.

use crate::bindings::IdentityPre;
use crate::engine::{self, EpochTicker};
use crate::error::{Error, Result};
use crate::state::HostState;
use std::path::Path;
use wasmtime::Engine;
use wasmtime::component::Linker;

pub(crate) struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) pre: IdentityPre<HostState>,
    _ticker: EpochTicker,
}

impl Runtime {
    /// Compiles the component (or loads it from `cache_dir`) and links WASI, wasi-http
    /// and wasi:keyvalue.
    pub(crate) fn new(cache_dir: Option<&Path>) -> Result<Self> {
        let engine = engine::new_engine().map_err(Error::component)?;
        let component = engine::load_component(&engine, engine::COMPONENT_WASM, cache_dir)
            .map_err(Error::component)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(Error::component)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(Error::component)?;
        crate::keyvalue::add_to_linker(&mut linker, HostState::keyvalue)
            .map_err(Error::component)?;
        crate::config_store::add_to_linker(&mut linker, HostState::config)
            .map_err(Error::component)?;
        let pre = linker
            .instantiate_pre(&component)
            .and_then(IdentityPre::new)
            .map_err(Error::component)?;
        Ok(Runtime {
            _ticker: EpochTicker::start(&engine),
            engine,
            pre,
        })
    }
}
