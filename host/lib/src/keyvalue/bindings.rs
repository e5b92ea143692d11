//! Generated host bindings for `wasi:keyvalue@0.2.0-draft2` (store, atomics, batch).
//!
//! The WIT is Spin's copy (`wit/deps/keyvalue`, from spin-sdk 7), so a component built
//! for Spin links here unchanged. The world is host-only (`host/wit/keyvalue-host.wit`):
//! `wit/identity.wit` stays the component's business. Every import is `async` (backends
//! do I/O) and `trappable` (a stale resource handle traps instead of posing as a store
//! error). The resources map to our own types, held in the store's `ResourceTable`.

wasmtime::component::bindgen!({
    path: ["../../wit/deps/keyvalue", "wit/keyvalue-host.wit"],
    world: "entra:identity-host/keyvalue",
    imports: { default: async | trappable },
    with: {
        "wasi:keyvalue/store.bucket": super::Bucket,
        "wasi:keyvalue/atomics.cas": super::Cas,
    },
});

pub use wasi::keyvalue::{atomics, batch, store};
