//! The inbound part composed in front of an app's HTTP handler: a gate checks each
//! caller's Entra token and hands valid callers to the app with Easy Auth's principal
//! headers. Which gate depends on what the app exports:
//!
//! ```text
//!  wasi:http/incoming-handler@0.2 (component/inbound/gate, over the virtual wasi:http
//!  of `virtual_http.rs`, shared with the outbound part):
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

use super::virtual_http::{
    Layer, connect, export_name, import_name, over_virtual_http, plug_by_name, register,
};
use super::{ADAPTER, APP, IDENTITY, bad};
use crate::error::{Error, Result};
use crate::serve::baked_environment::environment_component;
use entra_inbound_core::settings;
use wac_graph::{CompositionGraph, EncodeOptions, NodeId, PackageId};

/// The gate for WASI 0.2 apps, built by `build.rs`: exports the host's
/// `wasi:http/incoming-handler`.
pub const INBOUND_GATE_WASM: &[u8] = include_bytes!(env!("ENTRA_INBOUND_GATE_WASM"));
/// The gate for WASIp3 apps, built by `build.rs`: exports the host's
/// `wasi:http/handler@0.3.0` and imports the app's.
pub const INBOUND_GATE_P3_WASM: &[u8] = include_bytes!(env!("ENTRA_INBOUND_GATE_P3_WASM"));
/// The virtual `wasi:http` that attaches no token, built by `build.rs`: `types` and
/// `outgoing-handler` for the app over the host's, and the bridge the 0.2 gate hands
/// requests through.
pub const INBOUND_VIRTUAL_HTTP_WASM: &[u8] =
    include_bytes!(env!("ENTRA_INBOUND_VIRTUAL_HTTP_WASM"));

const GATE_P3: &str = "entra:inbound-gate-p3";
const SETTINGS: &str = "entra:inbound-settings";

const INCOMING_HANDLER: &str = "wasi:http/incoming-handler@0.2.12";
const HANDLER_P3: &str = "wasi:http/handler@0.3.0";
/// Any `wasi:cli/environment@0.2.x`: what the gates read their settings from.
const ENVIRONMENT: &str = "wasi:cli/environment@0.2.0";

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
    P2,
    /// `wasi:http/handler@0.3.x`: the p3 gate.
    P3(String),
}

/// `app` behind the inbound gate: one component exporting the HTTP handler the app
/// exports (`wasi:http/incoming-handler@0.2` or `wasi:http/handler@0.3`) that answers
/// callers without a valid token itself. `adapter` (normally
/// [`super::STANDALONE_WASM`]) gives the identity component and the gate
/// `wasi:keyvalue` and `wasi:config` on hosts without them. The result imports each
/// host interface once, at the newest version any part uses. The app's own requests
/// get no token.
///
/// An app exporting both handlers is refused: a host may call either, and a gate in
/// front of one would leave the other open to every caller.
pub fn compose_inbound(
    app: &[u8],
    identity: &[u8],
    adapter: Option<&[u8]>,
    inbound: &Inbound,
) -> Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let app_package = register(&mut graph, APP, "the app", app)?;
    match handler(&graph, app_package)? {
        Handler::P2 => {
            let layer = Layer {
                virtual_http: INBOUND_VIRTUAL_HTTP_WASM,
                environment: None,
                gate: Some(inbound),
                adapter,
            };
            over_virtual_http(app, identity, &layer)
        }
        Handler::P3(handler) => {
            in_front_p3(graph, app_package, &handler, identity, adapter, inbound)
        }
    }
}

/// The p3 gate in front of `app`'s `handler`: WASIp3 can build the app's request, so
/// no virtual layer.
fn in_front_p3(
    mut graph: CompositionGraph,
    app: PackageId,
    handler: &str,
    identity: &[u8],
    adapter: Option<&[u8]>,
    inbound: &Inbound,
) -> Result<Vec<u8>> {
    let gate = register(
        &mut graph,
        GATE_P3,
        "the inbound gate",
        INBOUND_GATE_P3_WASM,
    )?;
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
    connect(&mut graph, app_instance, handler, gate, HANDLER_P3)?;
    // Validation (and any entra:identity import of the app's own) from the identity
    // component.
    plug_by_name(&mut graph, identity, &[gate, app_instance])?;
    if let Some(adapter) = adapter {
        plug_by_name(&mut graph, adapter, &[identity, gate])?;
    }

    let alias = graph
        .alias_instance_export(gate, HANDLER_P3)
        .map_err(|e| bad("composing the inbound gate", &e))?;
    graph
        .export(alias, HANDLER_P3)
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
        (Some(_), None) => Ok(Handler::P2),
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

/// `inbound`'s settings as the environment of `gate` (an instance of `package`) alone:
/// the app keeps the host's environment and never sees them.
pub(super) fn bake(
    graph: &mut CompositionGraph,
    package: PackageId,
    gate: NodeId,
    inbound: &Inbound,
) -> Result<()> {
    if inbound.tenant.trim().is_empty() || inbound.audiences.iter().all(|a| a.trim().is_empty()) {
        return Err(Error::Config(
            "--inbound needs the API's tenant and at least one audience".into(),
        ));
    }
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

#[cfg(test)]
mod tests;
