//! Plugging an app's `entra:identity` imports with the identity component, as
//! `wac plug app.wasm --plug entra_identity.wasm` does and as Spin does for
//! `[component.<app>.dependencies]`.

use crate::error::{Error, Result};
use wac_graph::types::Package;
use wac_graph::{CompositionGraph, EncodeOptions, PlugError};

/// Whether `app` imports anything from `entra:identity`.
pub fn imports_identity(app: &[u8]) -> Result<bool> {
    let mut graph = CompositionGraph::new();
    let package = Package::from_bytes("app:app", None, app.to_vec(), graph.types_mut())
        .map_err(|e| Error::Config(format!("the app is not a WebAssembly component: {e}")))?;
    let world = &graph.types()[package.ty()];
    Ok(world
        .imports
        .keys()
        .any(|name| name.starts_with("entra:identity/")))
}

/// `app` with its `entra:identity/*` imports satisfied by `identity`'s exports: one
/// component that imports only what a host provides.
pub fn compose(app: &[u8], identity: &[u8]) -> Result<Vec<u8>> {
    let bad = |what: &str, e: &dyn std::fmt::Display| Error::Config(format!("{what}: {e}"));
    let mut graph = CompositionGraph::new();
    let socket = Package::from_bytes("app:app", None, app.to_vec(), graph.types_mut())
        .map_err(|e| bad("the app is not a WebAssembly component", &e))?;
    let socket = graph
        .register_package(socket)
        .map_err(|e| bad("registering the app", &e))?;
    let plug = Package::from_bytes(
        "entra:identity-component",
        None,
        identity.to_vec(),
        graph.types_mut(),
    )
    .map_err(|e| bad("the identity component", &e))?;
    let plug = graph
        .register_package(plug)
        .map_err(|e| bad("registering the identity component", &e))?;
    wac_graph::plug(&mut graph, vec![plug], socket).map_err(|e| match e {
        PlugError::NoPlugHappened => Error::Config(
            "the app imports nothing the identity component exports \
             (entra:identity/credentials, validation or tokens @0.1.x)"
                .into(),
        ),
        other => bad("composing the app with the identity component", &other),
    })?;
    graph
        .encode(EncodeOptions::default())
        .map_err(|e| bad("encoding the composed component", &e))
}
