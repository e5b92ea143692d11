//! A plugin's own `wasi:http` requests: its policy's [`Allowlist`] (names, then the
//! addresses they resolve to), with the plugin's name on every line it logs.

use crate::outbound::Allowlist;
use std::sync::Arc;
use tracing::Instrument as _;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// The hooks of one plugin's stores.
#[derive(Clone)]
pub(crate) struct PluginOutbound {
    pub(crate) plugin: Arc<str>,
    pub(crate) allowlist: Allowlist,
}

type Sent = Result<
    (
        http::Response<WasiBody>,
        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ),
    HttpError,
>;

impl WasiHttpHooks for PluginOutbound {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<dyn Future<Output = Sent> + Send> {
        if !self.allowlist.allows(request.uri()) {
            // The authority only: a path or query could carry what the plugin sends.
            let authority = request.uri().authority().map(|a| a.to_string());
            tracing::warn!(
                plugin = %self.plugin,
                authority = authority.as_deref().unwrap_or("(none)"),
                "denied a plugin's outbound request: the host is not in its policy"
            );
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        // The allowlist's own denials (a name resolving to a restricted address) say
        // which plugin asked through this span.
        let span = tracing::warn_span!("plugin_outbound", plugin = %self.plugin);
        let sent = Box::into_pin(self.allowlist.send_request(request, options, fut));
        Box::new(sent.instrument(span))
    }
}
