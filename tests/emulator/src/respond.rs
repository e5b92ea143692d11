//! Building HTTP responses, including the deliberately broken ones faults ask for.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use futures_util::StreamExt as _;
use futures_util::stream;
use serde_json::{Map, Value};

/// Every JSON body these services send is labelled so.
pub(crate) const JSON: &str = "application/json; charset=utf-8";

/// How long a stalled body holds its connection open.
const STALL_FOR: Duration = Duration::from_secs(60);

pub(crate) fn json(status: StatusCode, body: &Value) -> Response {
    raw(status, JSON, body.to_string())
}

pub(crate) fn text(status: StatusCode, body: impl Into<String>) -> Response {
    raw(status, "text/plain; charset=utf-8", body.into())
}

pub(crate) fn raw(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response {
    let content_type = HeaderValue::from_str(content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    (status, [(header::CONTENT_TYPE, content_type)], body.into()).into_response()
}

pub(crate) fn with_headers(
    mut response: Response,
    headers: &[(&'static str, &'static str)],
) -> Response {
    for &(name, value) in headers {
        response.headers_mut().insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}

/// The fields of a document built with `json!({...})`.
pub(crate) fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(fields) => fields,
        _ => unreachable!("documents are built as JSON objects"),
    }
}

/// A success document with its expiry field replaced by `raw_value` unquoted, so that tests can send any shape,
/// even invalid JSON.
pub(crate) fn splice_field(mut body: Map<String, Value>, field: &str, raw_value: &str) -> String {
    // A fresh UUID cannot occur anywhere else in the document, so replacing its quoted form is exact.
    let marker = uuid::Uuid::new_v4().to_string();
    body.insert(field.to_owned(), Value::String(marker.clone()));
    Value::Object(body)
        .to_string()
        .replacen(&format!("\"{marker}\""), raw_value, 1)
}

/// The document with a `padding` string field that brings it to about `size` bytes (never below its own size).
pub(crate) fn padded(mut body: Map<String, Value>, size: usize) -> String {
    let overhead = Value::Object(body.clone()).to_string().len() + r#","padding":"""#.len();
    body.insert(
        "padding".to_owned(),
        Value::String("x".repeat(size.saturating_sub(overhead))),
    );
    Value::Object(body).to_string()
}

/// The first half of a document: a proper prefix of a JSON object never parses.
pub(crate) fn truncated(document: String) -> String {
    let mut cut = document.len() / 2;
    while !document.is_char_boundary(cut) {
        cut -= 1;
    }
    document[..cut].to_owned()
}

/// 200 with the whole document's `Content-Length` and half of it; once `then` resolves the stream fails, so
/// the server drops the connection instead of finishing the message.
pub(crate) fn cut_short(
    document: String,
    then: impl Future<Output = ()> + Send + 'static,
) -> Response {
    let document = Bytes::from(document);
    let length = document.len();
    let half = document.slice(..length / 2);
    let cut = async move {
        then.await;
        Err(std::io::Error::other("body cut short"))
    };
    let chunks = stream::once(async move { Ok(half) }).chain(stream::once(cut));
    let mut response = Response::new(Body::from_stream(chunks));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    response
}

/// Silence until 60 s pass or `stop` resolves: how long a stalled body holds its connection.
pub(crate) async fn stall(stop: impl Future<Output = ()>) {
    tokio::select! {
        () = tokio::time::sleep(STALL_FOR) => {}
        () = stop => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body() -> Map<String, Value> {
        json!({"access_token": "t", "expires_on": "1"})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn splices_raw_text() {
        let spliced = splice_field(body(), "expires_on", "4102444800");
        let parsed: Value = serde_json::from_str(&spliced).unwrap();
        assert_eq!(parsed["expires_on"], json!(4_102_444_800_u64));
        assert!(splice_field(body(), "expires_on", "nope").contains(r#""expires_on":nope"#));
    }

    #[test]
    fn pads_to_about_the_size_asked() {
        let padded = padded(body(), 10_000);
        assert_eq!(padded.len(), 10_000);
        assert!(serde_json::from_str::<Value>(&padded).is_ok());
    }

    #[test]
    fn truncation_breaks_the_json() {
        let whole = Value::Object(body()).to_string();
        assert!(serde_json::from_str::<Value>(&truncated(whole)).is_err());
    }
}
