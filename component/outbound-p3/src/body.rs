//! The app's request body, read far enough to know whether it can be sent twice.
//!
//! A body that ends within `MAX_REPLAYED_BODY` is kept with its trailers, and each
//! attempt gets a fresh stream of it. A longer one is sent once: what was read, then
//! the rest as the app writes it, by a task that outlives the `send` call (the host
//! may answer before it has read the whole body).

use crate::bindings::wasi::http::types::{ErrorCode, Fields};
use crate::bindings::{wit_future, wit_stream};
use crate::plan::is_replayable;
use entra_identity_core::attach::MAX_REPLAYED_BODY;
use wit_bindgen::{FutureReader, StreamReader, StreamResult, spawn_local};

/// A request's trailers, as `wasi:http/types` passes them.
pub(crate) type Trailers = Result<Option<Fields>, ErrorCode>;

/// How much is asked of the app's stream at a time.
const CHUNK: usize = 16 * 1024;

pub(crate) enum Body {
    Kept(Kept),
    Streamed(Streamed),
}

/// A whole body and its trailers, to be sent as often as needed.
pub(crate) struct Kept {
    bytes: Vec<u8>,
    trailers: Trailers,
}

/// A body longer than the limit: what was read, and the app's stream for the rest.
pub(crate) struct Streamed {
    prefix: Vec<u8>,
    rest: StreamReader<u8>,
    trailers: FutureReader<Trailers>,
}

/// Reads `contents` until it ends or holds more than `MAX_REPLAYED_BODY` bytes.
pub(crate) async fn read(mut contents: StreamReader<u8>, trailers: FutureReader<Trailers>) -> Body {
    let mut bytes = Vec::new();
    loop {
        if !is_replayable(bytes.len()) {
            return Body::Streamed(Streamed {
                prefix: bytes,
                rest: contents,
                trailers,
            });
        }
        // Never more than one byte past the limit: enough to know the body is longer.
        let want = CHUNK.min(MAX_REPLAYED_BODY + 1 - bytes.len());
        let (result, chunk) = contents.read(Vec::with_capacity(want)).await;
        bytes.extend(chunk);
        match result {
            StreamResult::Complete(_) => {}
            StreamResult::Dropped | StreamResult::Cancelled => break,
        }
    }
    Body::Kept(Kept {
        bytes,
        trailers: trailers.await,
    })
}

impl Kept {
    /// A fresh copy of the body (none if it is empty) and its trailers.
    pub(crate) fn contents(&self) -> (Option<StreamReader<u8>>, FutureReader<Trailers>) {
        let contents = (!self.bytes.is_empty()).then(|| {
            let (mut writer, reader) = wit_stream::new::<u8>();
            let bytes = self.bytes.clone();
            spawn_local(async move {
                writer.write_all(bytes).await;
            });
            reader
        });
        let trailers = match &self.trailers {
            Ok(Some(fields)) => Ok(Some(fields.clone())),
            Ok(None) => Ok(None),
            Err(e) => Err(e.clone()),
        };
        (contents, resolved(trailers))
    }
}

impl Streamed {
    /// The body, once: the prefix read so far, then the rest of the app's stream.
    pub(crate) fn contents(self) -> (Option<StreamReader<u8>>, FutureReader<Trailers>) {
        let Streamed {
            prefix,
            mut rest,
            trailers,
        } = self;
        let (mut writer, reader) = wit_stream::new::<u8>();
        spawn_local(async move {
            // A non-empty remainder means the host stopped reading: nothing more to do.
            if !writer.write_all(prefix).await.is_empty() {
                return;
            }
            loop {
                let (result, chunk) = rest.read(Vec::with_capacity(CHUNK)).await;
                if !chunk.is_empty() && !writer.write_all(chunk).await.is_empty() {
                    return;
                }
                if !matches!(result, StreamResult::Complete(_)) {
                    return;
                }
            }
        });
        (Some(reader), trailers)
    }
}

/// A future already holding `trailers`.
fn resolved(trailers: Trailers) -> FutureReader<Trailers> {
    // The default is never sent: the task below writes the value.
    let (writer, reader) = wit_future::new::<Trailers>(|| Ok(None));
    spawn_local(async move {
        let _ = writer.write(trailers).await;
    });
    reader
}
