//! `--inbound --tenant T --audience A [--role R] [--scope S] [--authority URL]`: the
//! inbound gate in front of the app's HTTP handler (`wasi:http/incoming-handler@0.2` or
//! `wasi:http/handler@0.3`), its settings baked into the gate's environment.

use clap::Args;
use entra_identity_host::COMPONENT_WASM;
use entra_identity_host::serve::{Inbound, STANDALONE_WASM, compose_inbound};

#[derive(Args)]
pub(in crate::cli) struct InboundArgs {
    /// Check every caller's Entra access token before the app's wasi:http handler
    /// (0.2 incoming-handler or 0.3 handler) runs (401/403 without the app), and hand
    /// valid callers to it with App Service Easy Auth's X-MS-CLIENT-PRINCIPAL* headers.
    /// The app needs no identity code.
    #[arg(long, requires_all = ["tenant", "audience"])]
    inbound: bool,
    /// The API's tenant (id or domain) whose tokens are accepted.
    #[arg(long, requires = "inbound")]
    tenant: Option<String>,
    /// An accepted `aud`: the API's app id URI or client id (repeat for several).
    #[arg(long, requires = "inbound")]
    audience: Vec<String>,
    /// An app role every caller's token must carry (else 403).
    #[arg(long, requires = "inbound")]
    role: Option<String>,
    /// A delegated scope every caller's token must carry (else 403).
    #[arg(long, requires = "inbound")]
    scope: Option<String>,
    /// The authority host, for another cloud; default https://login.microsoftonline.com.
    #[arg(long, requires = "inbound")]
    authority: Option<String>,
}

impl InboundArgs {
    /// The settings, when `--inbound` was given.
    pub(in crate::cli) fn inbound(&self) -> Option<Inbound> {
        if !self.inbound {
            return None;
        }
        let mut inbound = Inbound::new(self.tenant.clone().unwrap_or_default(), &self.audience);
        inbound.role = self.role.clone();
        inbound.scope = self.scope.clone();
        inbound.authority = self.authority.clone();
        Some(inbound)
    }

    /// The composed component when `--inbound` was given.
    pub(in crate::cli) fn compose(
        &self,
        app: &[u8],
        standalone: bool,
    ) -> Option<Result<Vec<u8>, String>> {
        let inbound = self.inbound()?;
        let adapter = standalone.then_some(STANDALONE_WASM);
        Some(compose_inbound(app, COMPONENT_WASM, adapter, &inbound).map_err(|e| e.to_string()))
    }
}
