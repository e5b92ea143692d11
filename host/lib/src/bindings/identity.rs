//! Generated bindings for the component's `identity` world. WASI types are wasmtime's
//! own and `wasi:keyvalue`'s are [`crate::keyvalue`]'s, so the linker's implementations
//! serve the imports.

mod generated {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "entra:identity/identity",
        exports: { default: async },
        with: {
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
            "wasi:random": wasmtime_wasi::p2::bindings::random,
            "wasi:cli": wasmtime_wasi::p2::bindings::cli,
            "wasi:filesystem": wasmtime_wasi::p2::bindings::filesystem,
            "wasi:config": crate::bindings::config::wasi::config,
            "wasi:keyvalue": crate::keyvalue::bindings::wasi::keyvalue,
        },
    });
}

pub(crate) use generated::IdentityPre;
pub(crate) use generated::exports::entra::identity::credentials as wit;
pub(crate) use generated::exports::entra::identity::validation as wit_validation;
