//! `compose --outbound`: a WASIp2 app over the outbound build of the virtual
//! `wasi:http` (its `types` and `outgoing-handler` imports; `compose/virtual_http.rs`),
//! a WASIp3 app's `wasi:http/client@0.3` import behind `component/outbound-p3`; the
//! identity component plugged into their `entra:identity/tokens` imports (and into the
//! app's own `entra:identity` imports, if it has any), custom destination rules baked
//! in. With `--inbound`, the gate stands in front of the same virtual layer.

use super::baked_environment::environment_component;
use super::compose::{
    Inbound, Layer, OUTBOUND_P3, OUTBOUND_P3_WASM, PlugFailure, STANDALONE_WASM, compose_inbound,
    compose_outbound_p3, imports_http_client_p3, over_virtual_http, plug,
};
use crate::error::{Error, Result};
use wac_graph::CompositionGraph;
use wac_graph::types::Package;

/// The outbound build of the virtual `wasi:http` (`component/outbound`), built by
/// `build.rs` with the identity component.
pub const OUTBOUND_WASM: &[u8] = include_bytes!(env!("ENTRA_IDENTITY_OUTBOUND_WASM"));
pub(super) const ENVIRONMENT: &str = "entra:baked-environment";

use entra_identity_core::attach::{RULES_SETTING, parse_rules};

/// How to compose: custom rules to bake in, and whether the host lacks
/// `wasi:keyvalue` and `wasi:config` (as [`super::compose_standalone`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundOptions {
    /// `HOST=SCOPE` rules, ahead of Azure's built-ins, for every request the app makes.
    pub rules: Vec<String>,
    /// Plug the standalone adapter in for `wasi:keyvalue` and `wasi:config`.
    pub standalone: bool,
}

/// `app` whose outgoing requests get tokens from `identity`: a WASIp2 app over
/// `outbound` (normally [`OUTBOUND_WASM`], the virtual `wasi:http` that attaches
/// tokens and answers a claims challenge to a body-less request once); a WASIp3 app's
/// `wasi:http/client@0.3` import behind the built-in [`OUTBOUND_P3_WASM`] (bodies kept
/// up to 64 KiB, one claims-challenge retry); an app with both gets both. The app
/// needs no identity code; if it imports `entra:identity` too, the identity component
/// satisfies that as [`super::compose`].
pub fn compose_outbound(
    app: &[u8],
    identity: &[u8],
    outbound: &[u8],
    options: &OutboundOptions,
) -> Result<Vec<u8>> {
    compose_parts(app, identity, outbound, options, None)
}

/// [`compose_outbound`] with the inbound gate ([`super::compose_inbound`]) in front of
/// the app's handler: ONE virtual `wasi:http` instance is both the gate's bridge and
/// the outbound part, so the app's types come from one place.
pub fn compose_outbound_inbound(
    app: &[u8],
    identity: &[u8],
    outbound: &[u8],
    options: &OutboundOptions,
    inbound: &Inbound,
) -> Result<Vec<u8>> {
    compose_parts(app, identity, outbound, options, Some(inbound))
}

fn compose_parts(
    app: &[u8],
    identity: &[u8],
    outbound: &[u8],
    options: &OutboundOptions,
    inbound: Option<&Inbound>,
) -> Result<Vec<u8>> {
    let p2 = imports(app, "the app", "wasi:http/outgoing-handler@")?;
    let p3 = imports_http_client_p3(app)?;
    if !p2 && !p3 {
        return Err(Error::Config(
            "the app imports neither wasi:http/outgoing-handler@0.2 nor wasi:http/client@0.3: \
             it sends no request a token could be attached to"
                .into(),
        ));
    }
    // A rule that cannot match anything is refused now, not when the app runs.
    for rule in &options.rules {
        parse_rules(rule).map_err(|why| Error::Config(format!("--rule: {why}")))?;
    }
    let adapter = options.standalone.then_some(STANDALONE_WASM);
    let app = match (p2, inbound) {
        (true, inbound) => {
            let layer = Layer {
                virtual_http: outbound,
                environment: baked_rules(outbound, options)?,
                gate: inbound,
                adapter,
            };
            over_virtual_http(app, identity, &layer)?
        }
        (false, Some(inbound)) => compose_inbound(app, identity, adapter, inbound)?,
        (false, None) => app.to_vec(),
    };
    if !p3 {
        return Ok(app);
    }
    let outbound = match baked_rules(OUTBOUND_P3_WASM, options)? {
        None => OUTBOUND_P3_WASM.to_vec(),
        Some(environment) => plug(
            OUTBOUND_P3,
            OUTBOUND_P3_WASM,
            &[(ENVIRONMENT, &environment)],
        )
        .map_err(|e| match e {
            PlugFailure::NothingPlugged => Error::Config(
                "the p3 outbound component reads no environment: its rules cannot be baked in"
                    .into(),
            ),
            PlugFailure::Other(e) => e,
        })?,
    };
    compose_outbound_p3(&app, identity, &outbound, adapter)
}

/// The component that bakes `options.rules` into `outbound`'s environment, if any.
fn baked_rules(outbound: &[u8], options: &OutboundOptions) -> Result<Option<Vec<u8>>> {
    if options.rules.is_empty() {
        return Ok(None);
    }
    let interface = import_named(outbound, "the outbound component", "wasi:cli/environment@")?
        .ok_or_else(|| {
            Error::Config(
                "the outbound component reads no environment: its rules cannot be baked in".into(),
            )
        })?;
    let rules = options.rules.join(" ");
    environment_component(&interface, &[(RULES_SETTING, &rules)])
        .map(Some)
        .map_err(Error::Config)
}

fn imports(component: &[u8], what: &str, prefix: &str) -> Result<bool> {
    Ok(import_named(component, what, prefix)?.is_some())
}

/// The first import of `component` whose name starts with `prefix`.
fn import_named(component: &[u8], what: &str, prefix: &str) -> Result<Option<String>> {
    let mut graph = CompositionGraph::new();
    let package = Package::from_bytes("x:x", None, component.to_vec(), graph.types_mut())
        .map_err(|e| Error::Config(format!("{what} is not a WebAssembly component: {e}")))?;
    let world = &graph.types()[package.ty()];
    Ok(world
        .imports
        .keys()
        .find(|name| name.starts_with(prefix))
        .cloned())
}
