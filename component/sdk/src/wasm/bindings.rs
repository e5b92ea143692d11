//! Import bindings for the `app` and `plugin` worlds of `wit/worlds.wit`: the only
//! place wit-bindgen appears. Only `entra:identity` interfaces are generated, none of
//! `wasi:*`, so the crate links into WASIp2 components and spin-sdk 7 apps alike.

// The validation interface's `require-role`/`require-scope` stay unused: `Claims`
// checks them natively, which saves a call across the component boundary.
#![allow(dead_code)]

pub(crate) mod app {
    wit_bindgen::generate!({ world: "app", path: "wit" });
}

pub(crate) mod plugin {
    wit_bindgen::generate!({ world: "plugin", path: "wit" });
}
