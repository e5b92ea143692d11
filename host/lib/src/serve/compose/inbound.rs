//! The inbound part composed in front of an app's HTTP handler: a gate checks each
//! caller's Entra token and hands valid callers to the app with Easy Auth's principal
//! headers. Which gate depends on what the app exports:
//!
//! ```text
//!  wasi:http/incoming-handler@0.2 (component/inbound/gate, over the virtual wasi:http):
//!            host wasi:http ──► virtual-http ──► app (types, outgoing-handler)
//!  host ──► gate (incoming-handler) ──► app's incoming-handler (virtual types)
//!
//!  wasi:http/handler@0.3 (component/inbound/gate-p3, which builds the app's request):
//!  host ──► gate-p3 (handler) ──► app's handler
//!
//!  either: gate ──► identity (validation) ──► adapter (--standalone)
//!          gate ──► baked settings (wasi:cli/environment, the gate's alone)
//! ```
//!
//! The settings (`--tenant`, `--audience`, …) are baked into the gate's environment by
//! a generated `wasi:cli/environment` component (`baked_environment.rs`)
//! wired to the gate only: the app keeps the host's environment and never sees them.

use super::{ADAPTER, APP, IDENTITY, bad};
use crate::error::{Error, Result};
use crate::serve::baked_environment::environment_component;
use entra_inbound_core::settings;
use wac_graph::types::{Package, are_semver_compatible};
use wac_graph::{CompositionGraph, EncodeOptions, NodeId, PackageId};

/// The gate for WASI 0.2 apps, built by `build.rs`: exports the host's
/// `wasi:http/incoming-handler`.
pub const INBOUND_GATE_WASM: &[u8] = include_bytes!(env!("ENTRA_INBOUND_GATE_WASM"));
/// The gate for WASIp3 apps, built by `build.rs`: exports the host's
/// `wasi:http/handler@0.3.0` and imports the app's.
pub const INBOUND_GATE_P3_WASM: &[u8] = include_bytes!(env!("ENTRA_INBOUND_GATE_P3_WASM"));
/// The virtual `wasi:http`, built by `build.rs`: `types` and `outgoing-handler` for the
/// app over the host's, and the bridge the 0.2 gate hands requests through.
pub const INBOUND_VIRTUAL_HTTP_WASM: &[u8] =
    include_bytes!(env!("ENTRA_INBOUND_VIRTUAL_HTTP_WASM"));

const GATE: &str = "entra:inbound-gate";
const GATE_P3: &str = "entra:inbound-gate-p3";
const VIRTUAL_HTTP: &str = "entra:inbound-virtual-http";
const SETTINGS: &str = "entra:inbound-settings";

const INCOMING_HANDLER: &str = "wasi:http/incoming-handler@0.2.12";
const HANDLER_P3: &str = "wasi:http/handler@0.3.0";
const VIRTUAL_INCOMING_HANDLER: &str = "entra:virtual-http/incoming-handler@0.2.12";
/// Any `wasi:cli/environment@0.2.x`: what the gates read their settings from.
const ENVIRONMENT: &str = "wasi:cli/environment@0.2.0";
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

/// The HTTP handler an app exports, by the name it exports it under.
enum Handler {
    /// `wasi:http/incoming-handler@0.2.x`: the 0.2 gate, over the virtual `wasi:http`.
    P2(String),
    /// `wasi:http/handler@0.3.x`: the p3 gate.
    P3(String),
}

/// `app` behind the inbound gate: one component exporting the HTTP handler the app
/// exports (`wasi:http/incoming-handler@0.2` or `wasi:http/handler@0.3`) that answers
/// callers without a valid token itself. `adapter` (normally
/// [`super::STANDALONE_WASM`]) gives the identity component and the gate
/// `wasi:keyvalue` and `wasi:config` on hosts without them. The result imports each
/// host interface once, at the newest version any part uses.
///
/// An app exporting both handlers is refused: a host may call either, and a gate in
/// front of one would leave the other open to every caller.
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
    let mut graph = CompositionGraph::new();
    let app = register(&mut graph, APP, "the app", app)?;
    let handler = handler(&graph, app)?;
    let (gate_name, gate_bytes, export) = match handler {
        Handler::P2(_) => (GATE, INBOUND_GATE_WASM, INCOMING_HANDLER),
        Handler::P3(_) => (GATE_P3, INBOUND_GATE_P3_WASM, HANDLER_P3),
    };
    let gate = register(&mut graph, gate_name, "the inbound gate", gate_bytes)?;
    let identity = register(&mut graph, IDENTITY, "the identity component", identity)?;
    let adapter = (adapter)
        .map(|bytes| register(&mut graph, ADAPTER, "the standalone adapter", bytes))
        .transpose()?;

    let gate_package = gate;
    let identity = graph.instantiate(identity);
    let app_instance = graph.instantiate(app);
    let gate = graph.instantiate(gate);
    let adapter = adapter.map(|adapter| graph.instantiate(adapter));

    bake(&mut graph, gate_package, gate, inbound)?;
    match handler {
        Handler::P2(handler) => {
            let virtual_http = register(
                &mut graph,
                VIRTUAL_HTTP,
                "the virtual wasi:http",
                INBOUND_VIRTUAL_HTTP_WASM,
            )?;
            let virtual_http = graph.instantiate(virtual_http);
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
            // The bridge and the virtual types for the gate.
            plug_by_name(&mut graph, virtual_http, &[gate])?;
        }
        Handler::P3(handler) => connect(&mut graph, app_instance, &handler, gate, HANDLER_P3)?,
    }
    // Validation (and any entra:identity import of the app's own) from the identity
    // component.
    plug_by_name(&mut graph, identity, &[gate, app_instance])?;
    if let Some(adapter) = adapter {
        plug_by_name(&mut graph, adapter, &[identity, gate])?;
    }

    let alias = graph
        .alias_instance_export(gate, export)
        .map_err(|e| bad("composing the inbound gate", &e))?;
    graph
        .export(alias, export)
        .map_err(|e| bad("composing the inbound gate", &e))?;
    graph
        .encode(EncodeOptions::default())
        .map_err(|e| bad("encoding the composed component", &e))
}

/// Which handler `app` exports; both or neither is an error that says why.
fn handler(graph: &CompositionGraph, app: PackageId) -> Result<Handler> {
    match (
        export_name(graph, app, INCOMING_HANDLER),
        export_name(graph, app, HANDLER_P3),
    ) {
        (Some(p2), None) => Ok(Handler::P2(p2)),
        (None, Some(p3)) => Ok(Handler::P3(p3)),
        (Some(_), Some(_)) => Err(Error::Config(
            "the app exports both wasi:http/incoming-handler@0.2.x and wasi:http/handler@0.3.x: \
             a host may call either, and a gate in front of one would leave the other open to \
             every caller; build the app to export one of them"
                .into(),
        )),
        (None, None) => Err(Error::Config(
            "the app exports neither wasi:http/incoming-handler@0.2.x nor \
             wasi:http/handler@0.3.x: it is not an HTTP handler"
                .into(),
        )),
    }
}

/// `inbound`'s settings as the environment of `gate` (an instance of `package`) alone.
fn bake(
    graph: &mut CompositionGraph,
    package: PackageId,
    gate: NodeId,
    inbound: &Inbound,
) -> Result<()> {
    let interface = import_name(graph, package, ENVIRONMENT).ok_or_else(|| {
        Error::Config(
            "the inbound gate reads no environment (wasi:cli/environment@0.2.x): its \
             settings cannot be baked in; use the gate this host was built with"
                .into(),
        )
    })?;
    let settings = inbound.settings();
    let settings: Vec<(&str, &str)> = settings.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let environment = environment_component(&interface, &settings)
        .map_err(|e| bad("baking the inbound settings", &e))?;
    let environment = register(graph, SETTINGS, "the baked settings", &environment)?;
    let environment = graph.instantiate(environment);
    connect(graph, environment, &interface, gate, &interface)
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

#[cfg(test)]
mod tests;
