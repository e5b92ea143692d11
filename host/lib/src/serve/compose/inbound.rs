//! The inbound part composed in front of an app's `wasi:http/incoming-handler`: the
//! gate checks each caller's Entra token and hands valid callers to the app, over the
//! virtual `wasi:http` (see `component/inbound`), with Easy Auth's principal headers.
//!
//! ```text
//!            host wasi:http ──► virtual-http ──► app (types, outgoing-handler)
//!  host ──► gate (incoming-handler) ──► app's incoming-handler (virtual types)
//!            gate ──► identity (validation) ──► adapter (--standalone)
//! ```

use super::{ADAPTER, APP, IDENTITY, bad};
use crate::error::{Error, Result};
use entra_inbound_gate::{baked, settings};
use wac_graph::types::{Package, are_semver_compatible};
use wac_graph::{CompositionGraph, EncodeOptions, NodeId, PackageId};

/// The gate, built by `build.rs`: exports the host's `wasi:http/incoming-handler`.
pub const INBOUND_GATE_WASM: &[u8] = include_bytes!(env!("ENTRA_INBOUND_GATE_WASM"));
/// The virtual `wasi:http`, built by `build.rs`: `types` and `outgoing-handler` for the
/// app over the host's, and the bridge the gate hands requests through.
pub const INBOUND_VIRTUAL_HTTP_WASM: &[u8] =
    include_bytes!(env!("ENTRA_INBOUND_VIRTUAL_HTTP_WASM"));

const GATE: &str = "entra:inbound-gate";
const VIRTUAL_HTTP: &str = "entra:inbound-virtual-http";

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

/// Which callers reach the app, baked into the composed component.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Inbound {
    /// The API's tenant (id or domain).
    pub tenant: String,
    /// Accepted `aud` values: the app id URI and/or the client id.
    pub audiences: Vec<String>,
    /// An app role every caller needs.
    pub role: Option<String>,
    /// A delegated scope every caller needs.
    pub scope: Option<String>,
    /// Another cloud's authority host (or an emulator's).
    pub authority: Option<String>,
}

impl Inbound {
    /// Callers with a token from `tenant` for any of `audiences`.
    pub fn new<S: AsRef<str>>(tenant: impl Into<String>, audiences: &[S]) -> Self {
        Inbound {
            tenant: tenant.into(),
            audiences: audiences.iter().map(|a| a.as_ref().to_string()).collect(),
            ..Default::default()
        }
    }

    /// Also requires the app role `role`.
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.role = Some(role.into());
        self
    }

    /// Also requires the delegated scope `scope`.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Validates against another authority host.
    pub fn authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = Some(authority.into());
        self
    }

    /// The gate's settings, by the names the gate reads.
    fn settings(&self) -> Vec<(&'static str, String)> {
        let mut all = vec![
            (settings::TENANT, self.tenant.clone()),
            (settings::AUDIENCE, self.audiences.join(",")),
        ];
        let optional = [
            (settings::ROLE, &self.role),
            (settings::SCOPE, &self.scope),
            (settings::AUTHORITY, &self.authority),
        ];
        all.extend((optional.into_iter()).filter_map(|(n, v)| Some((n, v.clone()?))));
        all
    }
}

/// `app` behind the inbound gate: one component exporting `wasi:http/incoming-handler`
/// that answers callers without a valid token itself. `adapter` (normally
/// [`super::STANDALONE_WASM`]) gives the identity component and the gate `wasi:keyvalue`
/// and `wasi:config` on hosts without them. The result imports each host interface
/// once, at the newest version any part uses.
pub fn compose_inbound(
    app: &[u8],
    identity: &[u8],
    adapter: Option<&[u8]>,
    inbound: &Inbound,
) -> Result<Vec<u8>> {
    if inbound.tenant.trim().is_empty() || inbound.audiences.iter().all(|a| a.trim().is_empty()) {
        return Err(Error::Config(
            "--inbound needs the API's tenant and at least one audience".into(),
        ));
    }
    let settings = inbound.settings();
    let settings: Vec<(&str, &str)> = settings.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let gate = baked::bake(INBOUND_GATE_WASM, &settings)
        .map_err(|e| bad("baking the inbound settings into the gate", &e))?;

    let mut graph = CompositionGraph::new();
    let app = register(&mut graph, APP, "the app", app)?;
    let identity = register(&mut graph, IDENTITY, "the identity component", identity)?;
    let virtual_http = register(
        &mut graph,
        VIRTUAL_HTTP,
        "the virtual wasi:http",
        INBOUND_VIRTUAL_HTTP_WASM,
    )?;
    let gate = register(&mut graph, GATE, "the inbound gate", &gate)?;
    let adapter = (adapter)
        .map(|bytes| register(&mut graph, ADAPTER, "the standalone adapter", bytes))
        .transpose()?;

    let handler = export_name(&graph, app, INCOMING_HANDLER).ok_or_else(|| {
        Error::Config(
            "the app exports no wasi:http/incoming-handler@0.2.x: it is not an HTTP handler".into(),
        )
    })?;
    let virtual_http = graph.instantiate(virtual_http);
    let identity = graph.instantiate(identity);
    let app_instance = graph.instantiate(app);
    let gate = graph.instantiate(gate);
    let adapter = adapter.map(|adapter| graph.instantiate(adapter));

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
    connect(
        &mut graph,
        app_instance,
        &handler,
        gate,
        VIRTUAL_INCOMING_HANDLER,
    )?;
    // The rest by name: the bridge and virtual types for the gate, validation (and any
    // entra:identity import of the app's own) from the identity component.
    plug_by_name(&mut graph, virtual_http, &[gate])?;
    plug_by_name(&mut graph, identity, &[gate, app_instance])?;
    if let Some(adapter) = adapter {
        plug_by_name(&mut graph, adapter, &[identity, gate])?;
    }

    let export = graph
        .alias_instance_export(gate, INCOMING_HANDLER)
        .map_err(|e| bad("composing the inbound gate", &e))?;
    graph
        .export(export, INCOMING_HANDLER)
        .map_err(|e| bad("composing the inbound gate", &e))?;
    graph
        .encode(EncodeOptions::default())
        .map_err(|e| bad("encoding the composed component", &e))
}

fn register(
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
fn import_name(graph: &CompositionGraph, package: PackageId, name: &str) -> Option<String> {
    let world = &graph.types()[graph[package].ty()];
    (world.imports.keys())
        .find(|n| are_semver_compatible(n, name))
        .cloned()
}

/// The name under which `package` exports an interface semver-compatible with `name`.
fn export_name(graph: &CompositionGraph, package: PackageId, name: &str) -> Option<String> {
    let world = &graph.types()[graph[package].ty()];
    (world.exports.keys())
        .find(|n| are_semver_compatible(n, name))
        .cloned()
}

/// `to`'s import `import` satisfied by `from`'s export `export`.
fn connect(
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

/// Each of `sockets`' open imports that `plug` exports (semver-compatibly) from `plug`.
fn plug_by_name(graph: &mut CompositionGraph, plug: NodeId, sockets: &[NodeId]) -> Result<()> {
    let package = graph[plug]
        .package()
        .expect("an instantiation has a package");
    let exports: Vec<String> = graph.types()[graph[package].ty()]
        .exports
        .keys()
        .cloned()
        .collect();
    for &socket in sockets {
        let socket_package = graph[socket]
            .package()
            .expect("an instantiation has a package");
        let satisfied: Vec<String> = (graph.get_instantiation_arguments(socket))
            .map(|(name, _)| name.to_string())
            .collect();
        let open: Vec<String> = (graph.types()[graph[socket_package].ty()].imports.keys())
            .filter(|name| !satisfied.contains(name))
            .cloned()
            .collect();
        for import in open {
            if let Some(export) = exports.iter().find(|e| are_semver_compatible(e, &import)) {
                connect(graph, plug, export, socket, &import)?;
            }
        }
    }
    Ok(())
}
