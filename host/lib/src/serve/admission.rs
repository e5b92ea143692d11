//! Which requests reach the app: at most `max_concurrent_requests` at once (503 past
//! it) and bodies up to `max_body_bytes` (413 past it).

use super::app::App;
use bytes::Bytes;
use http::StatusCode;
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use tokio::sync::Semaphore;
use wasmtime_wasi_http::WasiBody;
use wasmtime_wasi_http::handler::ProxyHandler;

/// Seconds a client told 503 should wait: requests are short, so one is enough to
/// find a free slot, and it keeps retry storms from being immediate.
const RETRY_AFTER_SECS: &str = "1";

pub(super) struct Admission {
    pub(super) handler: ProxyHandler<App>,
    /// One permit per request inside the app.
    pub(super) requests: Arc<Semaphore>,
    pub(super) max_body_bytes: u64,
}

impl Admission {
    pub(super) async fn respond(
        &self,
        request: hyper::Request<hyper::body::Incoming>,
    ) -> hyper::Response<WasiBody> {
        if request.body().size_hint().lower() > self.max_body_bytes {
            return too_large(self.max_body_bytes);
        }
        // Refused at once rather than queued: a queue is memory the client decides.
        let Ok(permit) = self.requests.clone().try_acquire_owned() else {
            tracing::debug!("at max_concurrent_requests; answering 503");
            let mut response = plain(StatusCode::SERVICE_UNAVAILABLE, "server busy\n");
            response.headers_mut().insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static(RETRY_AFTER_SECS),
            );
            return response;
        };
        let overflowed = Arc::new(AtomicBool::new(false));
        let request = request.map(|body| {
            Capped {
                body: body.map_err(wasmtime_wasi_http::Error::from).boxed_unsync(),
                left: self.max_body_bytes,
                limit: self.max_body_bytes,
                overflowed: overflowed.clone(),
            }
            .boxed_unsync()
        });
        let answered = self.handler.handle((), request).await;
        // The app saw its body read fail; if it has not answered yet, say why.
        if overflowed.load(Ordering::Relaxed) {
            return too_large(self.max_body_bytes);
        }
        match answered {
            // The slot is the app's until the response body is sent: a WASIp3 app
            // may still be producing it.
            Ok(response) => response.map(|body| held(body, permit)),
            Err(e) => {
                tracing::warn!(error = %e, "the app failed to answer");
                plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the app failed to answer\n",
                )
            }
        }
    }
}

fn too_large(limit: u64) -> hyper::Response<WasiBody> {
    let mut response = plain(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("request body over {limit} bytes\n"),
    );
    // The rest of the body is not read; the client should not send more on this
    // connection.
    response.headers_mut().insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    response
}

fn plain(status: StatusCode, text: &str) -> hyper::Response<WasiBody> {
    let body = Full::new(Bytes::from(text.to_string()))
        .map_err(|never: Infallible| match never {})
        .boxed_unsync();
    let mut response = hyper::Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// `body`, keeping `guard` alive until it is sent or dropped.
pub(super) fn held<G: Send + Unpin + 'static>(body: WasiBody, guard: G) -> WasiBody {
    Held {
        body,
        _guard: guard,
    }
    .boxed_unsync()
}

struct Held<G> {
    body: WasiBody,
    _guard: G,
}

impl<G: Unpin> Body for Held<G> {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A request body that fails once it grows past `limit`, and says so in `overflowed`.
struct Capped {
    body: WasiBody,
    left: u64,
    limit: u64,
    overflowed: Arc<AtomicBool>,
}

impl Body for Capped {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.overflowed.load(Ordering::Relaxed) {
            return Poll::Ready(None);
        }
        let frame = ready!(Pin::new(&mut this.body).poll_frame(cx));
        if let Some(data) = frame.as_ref().and_then(|f| f.as_ref().ok()?.data_ref()) {
            match this.left.checked_sub(data.len() as u64) {
                Some(left) => this.left = left,
                None => {
                    this.overflowed.store(true, Ordering::Relaxed);
                    return Poll::Ready(Some(Err(wasmtime_wasi_http::Error::HttpRequestBodySize(
                        Some(this.limit),
                    ))));
                }
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.overflowed.load(Ordering::Relaxed) || self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::StreamBody;

    fn chunked(chunks: &[&'static [u8]]) -> WasiBody {
        let frames = chunks
            .iter()
            .map(|c| Ok::<_, wasmtime_wasi_http::Error>(Frame::data(Bytes::from_static(c))));
        StreamBody::new(futures::stream::iter(frames.collect::<Vec<_>>())).boxed_unsync()
    }

    fn capped(chunks: &[&'static [u8]], limit: u64) -> (Capped, Arc<AtomicBool>) {
        let overflowed = Arc::new(AtomicBool::new(false));
        let body = Capped {
            body: chunked(chunks),
            left: limit,
            limit,
            overflowed: overflowed.clone(),
        };
        (body, overflowed)
    }

    #[tokio::test]
    async fn a_chunked_body_up_to_the_limit_passes_whole() {
        let (body, overflowed) = capped(&[b"abcd", b"efgh"], 8);
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"abcdefgh");
        assert!(!overflowed.load(Ordering::Relaxed));
    }

    #[tokio::test]
    async fn a_chunked_body_past_the_limit_fails_with_the_body_size_error() {
        let (body, overflowed) = capped(&[b"abcd", b"efgh", b"i"], 8);
        let err = body.collect().await.unwrap_err();
        assert!(
            matches!(err, wasmtime_wasi_http::Error::HttpRequestBodySize(Some(8))),
            "{err:?}"
        );
        assert!(overflowed.load(Ordering::Relaxed));
    }

    #[tokio::test]
    async fn a_held_guard_lives_until_the_body_is_dropped() {
        let gate = Arc::new(Semaphore::new(1));
        let permit = gate.clone().try_acquire_owned().unwrap();
        let body = held(chunked(&[b"x"]), permit);
        assert_eq!(gate.available_permits(), 0);
        drop(body);
        assert_eq!(gate.available_permits(), 1);
    }
}
