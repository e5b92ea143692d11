//! `wasi:config/store@0.2.0-draft-2024-09-27`, the version Spin speaks: variables fixed
//! when a store is made (a served app's `--var`s; none for a plain `Identity`, whose
//! settings travel in its environment).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::bindings::config::wasi::config::store;

/// The variables one store sees.
#[derive(Clone, Default)]
pub(crate) struct ConfigVars(pub(crate) Arc<BTreeMap<String, String>>);

impl store::Host for ConfigVars {
    fn get(&mut self, key: String) -> Result<Option<String>, store::Error> {
        Ok(self.0.get(&key).cloned())
    }

    fn get_all(&mut self) -> Result<Vec<(String, String)>, store::Error> {
        Ok(self.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }
}

struct HasConfig;

impl wasmtime::component::HasData for HasConfig {
    type Data<'a> = &'a mut ConfigVars;
}

/// Adds `wasi:config/store` to `linker`.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    get: fn(&mut T) -> &mut ConfigVars,
) -> wasmtime::Result<()> {
    store::add_to_linker::<T, HasConfig>(linker, get)
}
