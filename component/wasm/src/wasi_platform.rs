//! The core's `Transport` and `Platform` over WASI 0.2.

use entra_identity_core::http::{Method, Request, Response};
use entra_identity_core::platform::{FileError, Platform, Transport, TransportError};
use std::time::Duration;
use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, IncomingResponse, Method as WasiMethod, OutgoingBody, OutgoingRequest,
    RequestOptions, Scheme,
};
use wasi::io::streams::StreamError;

/// `wasi:http/outgoing-handler`, one blocking request at a time.
pub(super) struct WasiTransport;

/// `wasi:clocks` and `wasi:random`.
pub(super) struct WasiPlatform;

impl Platform for WasiPlatform {
    fn now_unix(&self) -> u64 {
        wasi::clocks::wall_clock::now().seconds
    }

    fn monotonic(&self) -> Duration {
        Duration::from_nanos(wasi::clocks::monotonic_clock::now())
    }

    fn sleep(&self, duration: Duration) {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        wasi::clocks::monotonic_clock::subscribe_duration(nanos).block();
    }

    fn random_u64(&self) -> u64 {
        wasi::random::random::get_random_u64()
    }

    fn warn(&self, message: &str) {
        eprintln!("entra-identity: {message}");
    }

    // Files go through wasi:filesystem via std, so only what the host pre-opened
    // (read-only) is reachable.
    fn read_file(&self, path: &str, max_len: usize) -> Result<Vec<u8>, FileError> {
        use std::io::Read;
        let file = std::fs::File::open(path).map_err(file_error)?;
        let mut bytes = Vec::new();
        file.take(max_len as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(file_error)?;
        if bytes.len() > max_len {
            return Err(FileError::TooLarge { limit: max_len });
        }
        Ok(bytes)
    }

    fn file_len(&self, path: &str) -> Result<u64, FileError> {
        std::fs::metadata(path).map(|m| m.len()).map_err(file_error)
    }

    fn is_symlink(&self, path: &str) -> Result<bool, FileError> {
        std::fs::symlink_metadata(path)
            .map(|m| m.file_type().is_symlink())
            .map_err(file_error)
    }
}

fn file_error(e: std::io::Error) -> FileError {
    match e.kind() {
        std::io::ErrorKind::NotFound => FileError::NotFound,
        std::io::ErrorKind::PermissionDenied => FileError::PermissionDenied,
        _ => FileError::Other(e.to_string()),
    }
}

impl Transport for WasiTransport {
    fn send(
        &self,
        request: &Request,
        timeout: Duration,
        max_body: usize,
    ) -> Result<Response, TransportError> {
        let response = start(request, timeout)?;
        let status = response.status();
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .map(|(n, v)| (n, String::from_utf8_lossy(&v).into_owned()))
            .collect();
        let body = read_body(&response, max_body)?;
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

fn start(request: &Request, timeout: Duration) -> Result<IncomingResponse, TransportError> {
    let other = |what: &str| TransportError::Other(what.to_string());
    let url = request
        .url_parts()
        .map_err(|e| TransportError::Other(e.to_string()))?;
    let headers: Vec<(String, Vec<u8>)> = request
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.as_bytes().to_vec()))
        .chain((!request.body.is_empty()).then(|| {
            // Without a content-length the host streams the body chunked, which some
            // token endpoints reject.
            (
                "content-length".to_string(),
                request.body.len().to_string().into_bytes(),
            )
        }))
        .collect();
    let fields =
        Fields::from_list(&headers).map_err(|e| other(&format!("invalid header: {e:?}")))?;
    let outgoing = OutgoingRequest::new(fields);
    let method = match request.method {
        Method::Get => WasiMethod::Get,
        Method::Post => WasiMethod::Post,
    };
    let scheme = if url.scheme.eq_ignore_ascii_case("https") {
        Scheme::Https
    } else {
        Scheme::Http
    };
    outgoing.set_method(&method).map_err(|()| other("method"))?;
    outgoing
        .set_scheme(Some(&scheme))
        .map_err(|()| other("scheme"))?;
    outgoing
        .set_authority(Some(url.authority))
        .map_err(|()| other("authority"))?;
    outgoing
        .set_path_with_query(Some(&url.path_and_query))
        .map_err(|()| other("path"))?;

    let options = RequestOptions::new();
    let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
    // A host may not support every timeout; the ones it takes still bound the attempt.
    let _ = options.set_connect_timeout(Some(nanos));
    let _ = options.set_first_byte_timeout(Some(nanos));
    let _ = options.set_between_bytes_timeout(Some(nanos));

    let body = outgoing.body().map_err(|()| other("request body"))?;
    if !request.body.is_empty() {
        let stream = body.write().map_err(|()| other("request body stream"))?;
        // blocking_write_and_flush takes at most 4096 bytes per call.
        for chunk in request.body.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| other(&format!("writing request body: {e:?}")))?;
        }
        drop(stream);
    }
    let future = outgoing_handler::handle(outgoing, Some(options)).map_err(map_error)?;
    OutgoingBody::finish(body, None).map_err(map_error)?;
    let pollable = future.subscribe();
    pollable.block();
    drop(pollable);
    match future.get() {
        Some(Ok(Ok(response))) => Ok(response),
        Some(Ok(Err(code))) => Err(map_error(code)),
        Some(Err(())) => Err(other("response already taken")),
        None => Err(other("response not ready after waiting")),
    }
}

/// Reads at most `max` bytes; a longer body is an error, and the rest is never read.
fn read_body(response: &IncomingResponse, max: usize) -> Result<Vec<u8>, TransportError> {
    let body = response
        .consume()
        .map_err(|()| TransportError::Other("response body already taken".into()))?;
    let stream = body
        .stream()
        .map_err(|()| TransportError::Other("response body stream".into()))?;
    let mut out = Vec::new();
    loop {
        let want = (max + 1 - out.len()).min(64 * 1024) as u64;
        match stream.blocking_read(want) {
            Ok(chunk) => {
                out.extend_from_slice(&chunk);
                if out.len() > max {
                    return Err(TransportError::BodyTooLarge { limit: max });
                }
            }
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                // A stalled body ends with the between-bytes timeout.
                let text = e.to_debug_string();
                return Err(if text.to_ascii_lowercase().contains("timeout") {
                    TransportError::Timeout
                } else {
                    TransportError::Other(format!("reading response body: {text}"))
                });
            }
        }
    }
    drop(stream);
    Ok(out)
}

fn map_error(code: ErrorCode) -> TransportError {
    match code {
        ErrorCode::HttpRequestDenied => TransportError::Denied,
        ErrorCode::ConnectionRefused
        | ErrorCode::DestinationUnavailable
        | ErrorCode::DestinationIpUnroutable
        | ErrorCode::DestinationNotFound
        | ErrorCode::DnsError(_) => TransportError::Connect(format!("{code:?}")),
        ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::HttpResponseTimeout => TransportError::Timeout,
        other => TransportError::Other(format!("{other:?}")),
    }
}
