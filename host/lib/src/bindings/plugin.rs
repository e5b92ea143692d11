//! Host bindings of world `entra:identity/plugin`: the `tokens` import a plugin calls.
//! Async because an answer may wait for the identity's token service.

mod generated {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "entra:identity/plugin",
        imports: { default: async },
    });
}

pub(crate) use generated::entra::identity::tokens;
