//! The inbound part composed in front of an app's `wasi:http/incoming-handler`: the
//! gate checks each caller's Entra token and hands valid callers to the app, over the
//! virtual `wasi:http` (`virtual_http.rs`), with Easy Auth's principal headers.

use super::bad;
use super::virtual_http::{Layer, over_virtual_http};
use crate::error::{Error, Result};
use entra_inbound_gate::{baked, settings};

/// The gate, built by `build.rs`: exports the host's `wasi:http/incoming-handler`.
pub const INBOUND_GATE_WASM: &[u8] = include_bytes!(env!("ENTRA_INBOUND_GATE_WASM"));
/// The virtual `wasi:http`, built by `build.rs`: `types` and `outgoing-handler` for the
/// app over the host's, and the bridge the gate hands requests through.
pub const INBOUND_VIRTUAL_HTTP_WASM: &[u8] =
    include_bytes!(env!("ENTRA_INBOUND_VIRTUAL_HTTP_WASM"));

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
/// once, at the newest version any part uses. The app's own requests get no token.
pub fn compose_inbound(
    app: &[u8],
    identity: &[u8],
    adapter: Option<&[u8]>,
    inbound: &Inbound,
) -> Result<Vec<u8>> {
    let layer = Layer {
        virtual_http: INBOUND_VIRTUAL_HTTP_WASM,
        environment: None,
        gate: Some(inbound.gate()?),
        adapter,
    };
    over_virtual_http(app, identity, &layer)
}

impl Inbound {
    /// The gate with these settings baked in.
    pub(crate) fn gate(&self) -> Result<Vec<u8>> {
        if self.tenant.trim().is_empty() || self.audiences.iter().all(|a| a.trim().is_empty()) {
            return Err(Error::Config(
                "--inbound needs the API's tenant and at least one audience".into(),
            ));
        }
        let settings = self.settings();
        let settings: Vec<(&str, &str)> = settings.iter().map(|(n, v)| (*n, v.as_str())).collect();
        baked::bake(INBOUND_GATE_WASM, &settings)
            .map_err(|e| bad("baking the inbound settings into the gate", &e))
    }
}
