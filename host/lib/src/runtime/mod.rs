//! What every instance is made from: the engine, the pre-linked component, and the
//! epoch ticker. Built once; instantiating from it takes microseconds.

use crate::bindings::IdentityPre;
use crate::config::IdentityConfig;
use crate::engine::{self, EpochTicker};
use crate::error::{Error, Result};
use crate::state::HostState;
use wasmtime::Engine;
use wasmtime::component::Linker;

pub(crate) struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) pre: IdentityPre<HostState>,
    _ticker: EpochTicker,
}

impl Runtime {
    /// Compiles the component (or loads it from the compile cache) and links WASI,
    /// wasi-http, wasi:keyvalue and wasi:config.
    pub(crate) fn new(config: &IdentityConfig) -> Result<Self> {
        let engine = if config.pooling_allocator {
            let instances = u32::try_from(config.max_instances.max(1)).unwrap_or(u32::MAX);
            engine::new_pooling_engine(instances, config.memory_limit)
        } else {
            engine::new_engine()
        };
        let engine = engine.map_err(Error::component)?;
        let cache_dir = config.compile_cache_dir.as_deref();
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
