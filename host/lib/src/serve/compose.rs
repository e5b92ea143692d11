//! Plugging an app's `entra:identity` imports with the identity component, as
//! `wac plug app.wasm --plug entra_identity.wasm` does and as Spin does for
//! `[component.<app>.dependencies]`; with [`compose_standalone`], also plugging the
//! identity component's `wasi:keyvalue` and `wasi:config` imports for hosts without them.

mod inbound;
mod outbound_p3;
mod virtual_http;

pub use inbound::{
    INBOUND_GATE_P3_WASM, INBOUND_GATE_WASM, INBOUND_VIRTUAL_HTTP_WASM, Inbound, compose_inbound,
};
pub(super) use outbound_p3::OUTBOUND_P3;
pub use outbound_p3::{OUTBOUND_P3_WASM, compose_outbound_p3, imports_http_client_p3};
pub use virtual_http::HTTP_RELAY_WASM;
pub(super) use virtual_http::{Layer, over_virtual_http};

use super::compose_outbound::ENVIRONMENT;
use crate::error::{Error, Result};
use wac_graph::types::Package;
use wac_graph::{CompositionGraph, EncodeOptions, PlugError};

/// The standalone adapter, built by `build.rs` with the identity component: it exports
/// `wasi:keyvalue/{store,atomics}@0.2.0-draft2` as a store inside its instance and
/// `wasi:config/store@0.2.0-draft-2024-09-27` from environment variables.
pub const STANDALONE_WASM: &[u8] = include_bytes!(env!("ENTRA_IDENTITY_STANDALONE_WASM"));

pub(super) const APP: &str = "app:app";
pub(super) const IDENTITY: &str = "entra:identity-component";
pub(super) const ADAPTER: &str = "entra:standalone-adapter";

fn bad(what: &str, e: &dyn std::fmt::Display) -> Error {
    Error::Config(format!("{what}: {e}"))
}

fn no_identity_imports() -> Error {
    Error::Config(
        "the app imports nothing the identity component exports \
         (entra:identity/credentials, validation or tokens @0.1.x)"
            .into(),
    )
}

/// Whether `app` imports anything from `entra:identity`.
pub fn imports_identity(app: &[u8]) -> Result<bool> {
    let mut graph = CompositionGraph::new();
    let package = Package::from_bytes(APP, None, app.to_vec(), graph.types_mut())
        .map_err(|e| bad("the app is not a WebAssembly component", &e))?;
    let world = &graph.types()[package.ty()];
    Ok(world
        .imports
        .keys()
        .any(|name| name.starts_with("entra:identity/")))
}

/// `app` with its `entra:identity/*` imports satisfied by `identity`'s exports: one
/// component that imports only what a host provides.
pub fn compose(app: &[u8], identity: &[u8]) -> Result<Vec<u8>> {
    plug(APP, app, &[(IDENTITY, identity)]).map_err(|e| match e {
        PlugFailure::NothingPlugged => no_identity_imports(),
        PlugFailure::Other(e) => e,
    })
}

/// [`compose`] for hosts without `wasi:keyvalue` or `wasi:config`: `adapter` (normally
/// [`STANDALONE_WASM`]) satisfies those imports of `identity`, and of `app` when it has
/// them, so the result imports only `wasi:http`, `wasi:cli`, `wasi:clocks`,
/// `wasi:random`, `wasi:filesystem` and `wasi:io`.
///
/// The identity component and the app each get their own adapter instance: the app
/// cannot open the identity component's bucket and read its cached tokens.
pub fn compose_standalone(app: &[u8], identity: &[u8], adapter: &[u8]) -> Result<Vec<u8>> {
    // Checked first: the adapter alone could satisfy an app's keyvalue imports.
    if !imports_identity(app)? {
        return Err(no_identity_imports());
    }
    let identity = adapted(identity, Some(adapter))?;
    plug(APP, app, &[(IDENTITY, &identity), (ADAPTER, adapter)]).map_err(|e| match e {
        PlugFailure::NothingPlugged => no_identity_imports(),
        PlugFailure::Other(e) => e,
    })
}

/// `identity` with `adapter`, when given, plugged into its `wasi:keyvalue` and
/// `wasi:config` imports.
pub(super) fn adapted(identity: &[u8], adapter: Option<&[u8]>) -> Result<Vec<u8>> {
    let Some(adapter) = adapter else {
        return Ok(identity.to_vec());
    };
    match plug(IDENTITY, identity, &[(ADAPTER, adapter)]) {
        Ok(adapted) => Ok(adapted),
        // An identity component that imports neither interface needs no adapter.
        Err(PlugFailure::NothingPlugged) => Ok(identity.to_vec()),
        Err(PlugFailure::Other(e)) => Err(e),
    }
}

/// A middleware component (`name`, `bytes`) in front of one of `app`'s imports: the
/// identity component (adapted) plugged into the middleware, then the
/// middleware, the identity component (for the app's own `entra:identity` imports, if
/// any) and the adapter into the app. `import` names what the middleware stands in
/// front of, for the errors.
pub(super) fn in_front(
    app: &[u8],
    identity: &[u8],
    (name, bytes): (&str, &[u8]),
    adapter: Option<&[u8]>,
    import: &str,
) -> Result<Vec<u8>> {
    let identity = adapted(identity, adapter)?;
    let mut plugs: Vec<(&str, &[u8])> = vec![(IDENTITY, &identity)];
    plugs.extend(adapter.map(|bytes| (ADAPTER, bytes)));
    let what = describe(name);
    let middleware = plug(name, bytes, &plugs).map_err(|e| match e {
        PlugFailure::NothingPlugged => Error::Config(format!(
            "{what} imports nothing the identity component exports"
        )),
        PlugFailure::Other(e) => e,
    })?;
    let mut plugs: Vec<(&str, &[u8])> = vec![(name, &middleware)];
    if imports_identity(app)? {
        plugs.push((IDENTITY, &identity));
    }
    plugs.extend(adapter.map(|bytes| (ADAPTER, bytes)));
    plug(APP, app, &plugs).map_err(|e| match e {
        PlugFailure::NothingPlugged => {
            Error::Config(format!("the app's {import} import did not take {what}"))
        }
        PlugFailure::Other(e) => e,
    })
}

/// What a part of a composition is called in errors.
fn describe(name: &str) -> &'static str {
    match name {
        APP => "the app",
        IDENTITY => "the identity component",
        ENVIRONMENT => "the baked environment",
        outbound_p3::OUTBOUND_P3 => "the p3 outbound component",
        _ => "the standalone adapter",
    }
}

pub(super) enum PlugFailure {
    NothingPlugged,
    Other(Error),
}

/// `wac plug`: `socket`'s imports that a plug exports are satisfied by an instance of
/// that plug (one per plug that matches anything); the rest stay imports. wac-graph
/// 0.12 imports semver-compatible names once, under the highest version (its
/// `TypeAggregator::canonical_import_name`), so an app built against
/// `wasi:http@0.2.4` and a component built against 0.2.12 share one instance and one
/// set of resources (tests/e2e/tests/all/outbound.rs checks the merged imports).
pub(super) fn plug(
    socket_name: &str,
    socket: &[u8],
    plugs: &[(&str, &[u8])],
) -> std::result::Result<Vec<u8>, PlugFailure> {
    let other = |what: &str, e: &dyn std::fmt::Display| PlugFailure::Other(bad(what, e));
    let mut graph = CompositionGraph::new();
    let mut register = |name: &str, bytes: &[u8]| {
        let what = describe(name);
        let package = Package::from_bytes(name, None, bytes.to_vec(), graph.types_mut())
            .map_err(|e| other(&format!("{what} is not a WebAssembly component"), &e))?;
        graph
            .register_package(package)
            .map_err(|e| other(&format!("registering {what}"), &e))
    };
    let socket = register(socket_name, socket)?;
    let plugs = (plugs.iter())
        .map(|(name, bytes)| register(name, bytes))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    wac_graph::plug(&mut graph, plugs, socket).map_err(|e| match e {
        PlugError::NoPlugHappened => PlugFailure::NothingPlugged,
        e => other(&format!("composing {}", describe(socket_name)), &e),
    })?;
    graph
        .encode(EncodeOptions::default())
        .map_err(|e| other("encoding the composed component", &e))
}
