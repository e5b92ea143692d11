//! Tokens attached to a plugin's own HTTP requests (`attach_tokens` in its policy), by
//! the core's destination rules ([`entra_identity_core::attach`]): such a plugin needs
//! no `entra:identity/tokens` import, and the token is added after its request has
//! left the sandbox, so the plugin never holds it.
//!
//! A request gets a token when it has no `Authorization` header of its own and a rule
//! names its destination; the scope must still be in the plugin's `scopes`, and the
//! destination in its `outbound` list. A 401 carrying a claims challenge (CAE) gets one
//! new token and one retry, with the body replayed when it was at most
//! [`MAX_REPLAYED_BODY`] bytes; otherwise the 401 reaches the plugin unchanged.

use super::policy::PluginRules;
use super::tokens::TokenGate;
use bytes::Bytes;
use entra_identity_core::attach::{MAX_REPLAYED_BODY, Rule, RuleError, Rules};
use futures::StreamExt as _;
use http::header::{AUTHORIZATION, HeaderValue};
use http::{HeaderMap, Method, Request, Uri, Version};
use http_body_util::{BodyExt as _, BodyStream, StreamBody};
use hyper::body::Frame;
use std::sync::Arc;
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

impl PluginRules {
    /// The rules its requests get tokens by, or `None` when [`Self::attach_tokens`] is off.
    pub(crate) fn attach(&self) -> Result<Option<Rules>, RuleError> {
        if !self.attach_tokens {
            return Ok(None);
        }
        let custom = (self.attach_rules.iter())
            .map(|rule| rule.parse())
            .collect::<Result<Vec<Rule>, _>>()?;
        Ok(Some(Rules::azure().with_all(custom)))
    }
}

/// One plugin's rules and the gate its tokens come through.
#[derive(Clone)]
pub(crate) struct Attach {
    pub(crate) rules: Arc<Rules>,
    pub(crate) gate: TokenGate,
}

impl Attach {
    /// The scope of the token `request` gets, or `None` when it goes as it is.
    pub(crate) fn scope_for<B>(&self, request: &Request<B>) -> Option<String> {
        if request.headers().contains_key(AUTHORIZATION) {
            return None;
        }
        let uri = request.uri();
        let scope = self
            .rules
            .scope_for(uri.scheme_str()?, uri.authority()?.as_str())?;
        Some(scope.to_owned())
    }

    /// A token for `scope` (answering `claims` when given), or the error the plugin's
    /// request fails with: what was tried, never a secret.
    pub(crate) async fn bearer(
        &self,
        authority: &str,
        scope: &str,
        claims: Option<String>,
    ) -> Result<HeaderValue, HttpError> {
        let token = self.gate.attached(scope, claims).await.map_err(|why| {
            HttpError::InternalError(Some(format!(
                "entra-identity: no token attached for {authority} (scope {scope}): {why}"
            )))
        })?;
        let mut value = HeaderValue::try_from(format!("Bearer {}", token.token)).map_err(|_| {
            HttpError::InternalError(Some(
                "entra-identity: the token is not a valid header value".into(),
            ))
        })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// What a request is sent with again on a retry: everything but its body.
pub(crate) struct Head {
    method: Method,
    uri: Uri,
    version: Version,
    headers: HeaderMap,
}

impl Head {
    pub(crate) fn of<B>(request: &Request<B>) -> Head {
        Head {
            method: request.method().clone(),
            uri: request.uri().clone(),
            version: request.version(),
            headers: request.headers().clone(),
        }
    }

    /// The request again, with `authorization` and `body`.
    pub(crate) fn request(&self, authorization: HeaderValue, body: WasiBody) -> Request<WasiBody> {
        let mut request = Request::new(body);
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.version_mut() = self.version;
        *request.headers_mut() = self.headers.clone();
        request.headers_mut().insert(AUTHORIZATION, authorization);
        request
    }
}

/// A request body read up to [`MAX_REPLAYED_BODY`]: whole (it can be sent twice), or a
/// prefix in front of the rest (it streams once).
pub(crate) enum Body {
    Whole(Vec<Frame<Bytes>>),
    Streaming(Vec<Frame<Bytes>>, WasiBody),
}

impl Body {
    pub(crate) async fn read(mut body: WasiBody) -> Result<Body, HttpError> {
        let mut frames = Vec::new();
        let mut size = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame?;
            size = size.saturating_add(frame.data_ref().map_or(0, Bytes::len));
            frames.push(frame);
            if size > MAX_REPLAYED_BODY {
                return Ok(Body::Streaming(frames, body));
            }
        }
        Ok(Body::Whole(frames))
    }

    /// The body to send now, and whether it can be sent again.
    pub(crate) fn send(self) -> (WasiBody, Option<Vec<Frame<Bytes>>>) {
        match self {
            Body::Whole(frames) => {
                let again = frames.iter().map(copy).collect();
                (replay(frames), Some(again))
            }
            Body::Streaming(prefix, rest) => {
                let prefix = futures::stream::iter(prefix.into_iter().map(Ok));
                let body = StreamBody::new(prefix.chain(BodyStream::new(rest)));
                (body.boxed_unsync(), None)
            }
        }
    }
}

pub(crate) fn replay(frames: Vec<Frame<Bytes>>) -> WasiBody {
    StreamBody::new(futures::stream::iter(
        frames.into_iter().map(Ok::<_, HttpError>),
    ))
    .boxed_unsync()
}

fn copy(frame: &Frame<Bytes>) -> Frame<Bytes> {
    match (frame.data_ref(), frame.trailers_ref()) {
        (Some(data), _) => Frame::data(data.clone()),
        (None, Some(trailers)) => Frame::trailers(trailers.clone()),
        (None, None) => Frame::data(Bytes::new()),
    }
}
