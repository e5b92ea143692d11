//! The outbound part for WASIp3 apps: the p3 outbound component
//! (`component/outbound-p3`) plugged into the app's `wasi:http/client@0.3.x` import,
//! the identity component into the outbound component's `entra:identity/tokens`
//! import (and into the app's own `entra:identity` imports, if it has any).
//!
//! ```text
//!  app ──client──► outbound-p3 ──client──► host
//!                  outbound-p3 ──tokens──► identity ──► adapter (--standalone)
//! ```
//!
//! Custom destination rules are read at run time from the environment variable or
//! `wasi:config` key `ENTRA_IDENTITY_OUTBOUND_RULES` (its lower case for config).

use super::{APP, in_front};
use crate::error::{Error, Result};
use wac_graph::CompositionGraph;
use wac_graph::types::Package;

/// The p3 outbound component, built by `build.rs` with the identity component.
pub const OUTBOUND_P3_WASM: &[u8] = include_bytes!(env!("ENTRA_IDENTITY_OUTBOUND_P3_WASM"));

pub(crate) const OUTBOUND_P3: &str = "entra:outbound-p3-component";

/// The interface the app sends requests through, any `0.3.x`.
const CLIENT_P3: &str = "wasi:http/client@0.3.";

/// Whether `app` sends requests through WASIp3's `wasi:http/client@0.3.x` (spin-sdk 7,
/// Spin's Python SDK 5), which [`compose_outbound_p3`] puts the outbound part in front of.
pub fn imports_http_client_p3(app: &[u8]) -> Result<bool> {
    let mut graph = CompositionGraph::new();
    let package = Package::from_bytes(APP, None, app.to_vec(), graph.types_mut())
        .map_err(|e| super::bad("the app is not a WebAssembly component", &e))?;
    let world = &graph.types()[package.ty()];
    Ok(world.imports.keys().any(|name| name.starts_with(CLIENT_P3)))
}

/// `app` whose outgoing requests get tokens from `identity` through `outbound`
/// (normally [`OUTBOUND_P3_WASM`]). `adapter` (normally [`super::STANDALONE_WASM`])
/// gives the identity component, the outbound component and the app `wasi:keyvalue`
/// and `wasi:config` on hosts without them. The app needs no identity code; if it
/// imports `entra:identity` too, the identity component satisfies that as
/// [`super::compose`] does.
pub fn compose_outbound_p3(
    app: &[u8],
    identity: &[u8],
    outbound: &[u8],
    adapter: Option<&[u8]>,
) -> Result<Vec<u8>> {
    if !imports_http_client_p3(app)? {
        return Err(Error::Config(
            "the app imports no wasi:http/client@0.3.x: it sends no WASIp3 request a token \
             could be attached to"
                .into(),
        ));
    }
    in_front(
        app,
        identity,
        (OUTBOUND_P3, outbound),
        adapter,
        "wasi:http/client@0.3",
    )
}

#[cfg(test)]
mod tests;
