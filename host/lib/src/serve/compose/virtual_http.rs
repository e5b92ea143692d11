//! An app over the virtual `wasi:http` (`component/virtual-http`): the app's
//! `wasi:http/types` and `outgoing-handler` imports come from ONE instance of it,
//! whether that instance attaches tokens (`compose --outbound`, the outbound build)
//! or not (`--inbound` alone), and the host's requests reach the app's handler
//! through the gate (`--inbound`) or, without it, the relay.
//!
//! ```text
//!            host wasi:http ──► virtual-http ──► app (types, outgoing-handler)
//!            virtual-http ──tokens──► identity   (outbound build; rules baked in its environment)
//!  host ──► gate or relay (incoming-handler) ──► app's incoming-handler (virtual types)
//!            gate ──► identity (validation) ──► adapter (--standalone)
//! ```

use super::inbound::{INBOUND_GATE_WASM, Inbound, bake};
use super::{ADAPTER, APP, IDENTITY, bad};
use crate::error::{Error, Result};
use crate::serve::compose_outbound::ENVIRONMENT;
use wac_graph::types::{Package, are_semver_compatible};
use wac_graph::{CompositionGraph, EncodeOptions, NodeId, PackageId};

/// The relay, built by `build.rs`: the host's `wasi:http/incoming-handler` for an app
/// over the virtual types with no gate in front.
pub const HTTP_RELAY_WASM: &[u8] = include_bytes!(env!("ENTRA_HTTP_RELAY_WASM"));

const VIRTUAL_HTTP: &str = "entra:virtual-http";
const FRONT: &str = "entra:incoming-front";

const INCOMING_HANDLER: &str = "wasi:http/incoming-handler@0.2.12";
const VIRTUAL_INCOMING_HANDLER: &str = "entra:virtual-http/incoming-handler@0.2.12";
/// The app's imports the virtual `wasi:http` takes, by the app's interface.
const VIRTUALIZED: [(&str, &str); 2] = [
    ("wasi:http/types@0.2.12", "entra:virtual-http/types@0.2.12"),
    (
        "wasi:http/outgoing-handler@0.2.12",
        "entra:virtual-http/outgoing-handler@0.2.12",
    ),
];

/// The parts put around an app.
pub(crate) struct Layer<'a> {
    /// The virtual `wasi:http` build: the inbound one or the outbound one.
    pub(crate) virtual_http: &'a [u8],
    /// A component exporting `wasi:cli/environment` for the virtual `wasi:http` only
    /// (the outbound rules baked in).
    pub(crate) environment: Option<Vec<u8>>,
    /// The 0.2 gate with these settings baked in; without it, the relay.
    pub(crate) gate: Option<&'a Inbound>,
    /// The standalone adapter, for hosts without `wasi:keyvalue` and `wasi:config`.
    pub(crate) adapter: Option<&'a [u8]>,
}

/// `app` over `layer`: one component that imports only what hosts provide (each host
/// interface once, at the newest version any part uses). The app's
/// `wasi:http/incoming-handler@0.2` export, if any, is reached through the gate or the
/// relay; its other exports are the result's. An app with a gate must export that
/// handler.
pub(crate) fn over_virtual_http(app: &[u8], identity: &[u8], layer: &Layer) -> Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let app = register(&mut graph, APP, "the app", app)?;
    let identity = register(&mut graph, IDENTITY, "the identity component", identity)?;
    let virtual_http = register(
        &mut graph,
        VIRTUAL_HTTP,
        "the virtual wasi:http",
        layer.virtual_http,
    )?;
    let front_package = match &layer.gate {
        Some(_) => register(&mut graph, FRONT, "the inbound gate", INBOUND_GATE_WASM)?,
        None => register(&mut graph, FRONT, "the relay", HTTP_RELAY_WASM)?,
    };
    let environment = (layer.environment.as_deref())
        .map(|bytes| register(&mut graph, ENVIRONMENT, "the baked environment", bytes))
        .transpose()?;
    let adapter = (layer.adapter)
        .map(|bytes| register(&mut graph, ADAPTER, "the standalone adapter", bytes))
        .transpose()?;

    let handler = export_name(&graph, app, INCOMING_HANDLER);
    if handler.is_none() && layer.gate.is_some() {
        return Err(Error::Config(
            "the app exports no wasi:http/incoming-handler@0.2.x: it is not an HTTP handler".into(),
        ));
    }
    let app_exports: Vec<String> = graph.types()[graph[app].ty()]
        .exports
        .keys()
        .cloned()
        .collect();
    let virtual_http = graph.instantiate(virtual_http);
    let identity = graph.instantiate(identity);
    let app_instance = graph.instantiate(app);
    let front = handler.as_ref().map(|_| graph.instantiate(front_package));
    if let (Some(inbound), Some(front)) = (layer.gate, front) {
        bake(&mut graph, front_package, front, inbound)?;
    }

    for (interface, virtual_interface) in VIRTUALIZED {
        if let Some(import) = import_name(&graph, app, interface) {
            connect(
                &mut graph,
                virtual_http,
                virtual_interface,
                app_instance,
                &import,
            )?;
        }
    }
    if let (Some(handler), Some(front)) = (&handler, front) {
        connect(
            &mut graph,
            app_instance,
            handler,
            front,
            VIRTUAL_INCOMING_HANDLER,
        )?;
        // The bridge and the virtual types for the gate or relay.
        plug_by_name(&mut graph, virtual_http, &[front])?;
    }
    // Validation for the gate, tokens for the outbound build, and any entra:identity
    // import of the app's own, from one identity component.
    let users: Vec<NodeId> = [Some(virtual_http), Some(app_instance), front]
        .into_iter()
        .flatten()
        .collect();
    plug_by_name(&mut graph, identity, &users)?;
    if let Some(environment) = environment {
        let environment = graph.instantiate(environment);
        plug_by_name(&mut graph, environment, &[virtual_http])?;
    }
    if let Some(adapter) = adapter {
        // The identity component's store is its own (and the gate's, which keeps
        // nothing in it); the app's and the virtual layer's come from another
        // instance, so the app cannot read the identity component's cached tokens.
        let ours = graph.instantiate(adapter);
        let trusted: Vec<NodeId> = [Some(identity), front].into_iter().flatten().collect();
        plug_by_name(&mut graph, ours, &trusted)?;
        let others = [virtual_http, app_instance];
        if others
            .iter()
            .any(|&socket| !matches(&graph, adapter, socket).is_empty())
        {
            let theirs = graph.instantiate(adapter);
            plug_by_name(&mut graph, theirs, &others)?;
        }
    }

    for name in app_exports {
        let (from, export) = match (&handler, front) {
            (Some(handler), Some(front)) if *handler == name => (front, INCOMING_HANDLER),
            _ => (app_instance, name.as_str()),
        };
        let alias = graph
            .alias_instance_export(from, export)
            .map_err(|e| bad(&format!("exporting {name}"), &e))?;
        graph
            .export(alias, &name)
            .map_err(|e| bad(&format!("exporting {name}"), &e))?;
    }
    graph
        .encode(EncodeOptions::default())
        .map_err(|e| bad("encoding the composed component", &e))
}

pub(super) fn register(
    graph: &mut CompositionGraph,
    name: &str,
    what: &str,
    bytes: &[u8],
) -> Result<PackageId> {
    let package = Package::from_bytes(name, None, bytes.to_vec(), graph.types_mut())
        .map_err(|e| bad(&format!("{what} is not a WebAssembly component"), &e))?;
    graph
        .register_package(package)
        .map_err(|e| bad(&format!("registering {what}"), &e))
}

/// The name under which `package` imports an interface semver-compatible with `name`.
pub(super) fn import_name(
    graph: &CompositionGraph,
    package: PackageId,
    name: &str,
) -> Option<String> {
    let world = &graph.types()[graph[package].ty()];
    (world.imports.keys())
        .find(|n| are_semver_compatible(n, name))
        .cloned()
}

/// The name under which `package` exports an interface semver-compatible with `name`.
pub(super) fn export_name(
    graph: &CompositionGraph,
    package: PackageId,
    name: &str,
) -> Option<String> {
    let world = &graph.types()[graph[package].ty()];
    (world.exports.keys())
        .find(|n| are_semver_compatible(n, name))
        .cloned()
}

/// `to`'s import `import` satisfied by `from`'s export `export`.
pub(super) fn connect(
    graph: &mut CompositionGraph,
    from: NodeId,
    export: &str,
    to: NodeId,
    import: &str,
) -> Result<()> {
    let alias = graph
        .alias_instance_export(from, export)
        .map_err(|e| bad(&format!("using {export}"), &e))?;
    graph
        .set_instantiation_argument(to, import, alias)
        .map_err(|e| bad(&format!("giving {export} for {import}"), &e))
}

/// The (export, import) pairs by which `plug` would satisfy `socket`'s open imports.
fn matches(graph: &CompositionGraph, plug: PackageId, socket: NodeId) -> Vec<(String, String)> {
    let exports = &graph.types()[graph[plug].ty()].exports;
    let socket_package = graph[socket]
        .package()
        .expect("an instantiation has a package");
    let satisfied: Vec<String> = (graph.get_instantiation_arguments(socket))
        .map(|(name, _)| name.to_string())
        .collect();
    (graph.types()[graph[socket_package].ty()].imports.keys())
        .filter(|name| !satisfied.contains(name))
        .filter_map(|import| {
            let export = exports.keys().find(|e| are_semver_compatible(e, import))?;
            Some((export.clone(), import.clone()))
        })
        .collect()
}

/// Each of `sockets`' open imports that `plug` exports (semver-compatibly) from `plug`.
pub(super) fn plug_by_name(
    graph: &mut CompositionGraph,
    plug: NodeId,
    sockets: &[NodeId],
) -> Result<()> {
    let package = graph[plug]
        .package()
        .expect("an instantiation has a package");
    for &socket in sockets {
        for (export, import) in matches(graph, package, socket) {
            connect(graph, plug, &export, socket, &import)?;
        }
    }
    Ok(())
}
