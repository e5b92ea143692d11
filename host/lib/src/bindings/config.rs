//! `wasi:config/store@0.2.0-draft-2024-09-27`, the version Spin speaks; implemented in
//! `runtime/config_store.rs`.

wasmtime::component::bindgen!({
    path: "../../wit/deps/config",
    world: "wasi:config/imports",
});
