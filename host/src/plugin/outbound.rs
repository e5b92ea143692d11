//! A plugin's own `wasi:http` requests: its policy's [`Allowlist`], and a log line
//! naming the plugin when one is denied.

use crate::outbound::Allowlist;
use std::sync::Arc;
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
        self.allowlist.send_request(request, options, fut)
    }
}
