//! A plugin's own `wasi:http` requests: its policy's [`Allowlist`] (names, then the
//! addresses they resolve to), with the plugin's name on every line it logs, and a
//! token attached when its policy says so ([`super::attach`]).

use super::attach::{Attach, Body, Head, replay};
use crate::outbound::Allowlist;
use entra_identity_sdk::http::claims_to_retry;
use std::sync::Arc;
use tracing::Instrument as _;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// The hooks of one plugin's stores.
#[derive(Clone)]
pub(crate) struct PluginOutbound {
    pub(crate) plugin: Arc<str>,
    pub(crate) allowlist: Allowlist,
    /// Tokens attached to its requests (`attach_tokens` in its policy).
    pub(crate) attach: Option<Attach>,
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
        let scope = (self.attach.as_ref()).and_then(|attach| attach.scope_for(&request));
        let (Some(attach), Some(scope)) = (self.attach.clone(), scope) else {
            let sent = Box::into_pin(self.allowlist.send_request(request, options, fut));
            return Box::new(sent.instrument(span));
        };
        let mut allowlist = self.allowlist.clone();
        Box::new(
            async move {
                let head = Head::of(&request);
                let authority =
                    (request.uri().authority()).map_or(String::new(), |a| a.to_string());
                let bearer = attach.bearer(&authority, &scope, None).await?;
                let (body, again) = Body::read(request.into_body()).await?.send();
                let first = head.request(bearer, body);
                let (response, io) =
                    Box::into_pin(allowlist.send_request(first, options, fut)).await?;
                let (Some(claims), Some(again)) = (claims_to_retry(&response), again) else {
                    return Ok((response, io));
                };
                // One new token, one retry: a second 401 is the plugin's to see.
                drop((response, io));
                tracing::debug!(%authority, "answering a claims challenge for a plugin's request");
                let bearer = attach.bearer(&authority, &scope, Some(claims)).await?;
                let retry = head.request(bearer, replay(again));
                Box::into_pin(allowlist.send_request(retry, options, Box::new(async { Ok(()) })))
                    .await
            }
            .instrument(span),
        )
    }
}
