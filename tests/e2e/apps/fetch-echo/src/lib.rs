//! `GET /?url=U[&authorization=A][&body=N[&method=M][&write-first=1[&authority=H]]]`:
//! sends `GET U` (or, with `body`, `POST U`, or method `M`, with the N bytes of
//! `body`) through a plain `wasi:http` 0.2 client — no identity code, no
//! `entra:identity` import — and answers with everything the app could observe: the
//! status, headers and body of the response, the headers it sent, or the request's
//! error. The outbound tests search this for the token the app must never see.
//!
//! The body is written after `handle` (streaming, as large bodies must be), or with
//! `write-first` before it; then `authority=H` also tries to send the request to `H`
//! instead, after the body's stream was taken, and the answer says whether the
//! request took it (`"authority_changed"`).

// The handler needs the component's imports; on the host the crate is empty.
#![cfg(target_arch = "wasm32")]

use serde_json::json;
use std::io::{Read as _, Write as _};
use wasi::http::outgoing_handler;
use wasi::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingRequest, OutgoingResponse,
    ResponseOutparam, Scheme,
};

wasi::http::proxy::export!(App);

struct App;

impl wasi::exports::http::incoming_handler::Guest for App {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let query = request.path_with_query().unwrap_or_default();
        let param = |name: &str| parameter(&query, name);
        let answer = match param("url") {
            Some(url) => fetch(
                &url,
                param("authorization"),
                Body {
                    len: param("body").and_then(|n| n.parse().ok()),
                    method: param("method"),
                    write_first: param("write-first").is_some(),
                    authority: param("authority"),
                },
            ),
            None => json!({ "error": "no url parameter" }),
        };
        respond(out, answer.to_string().as_bytes());
    }
}

/// What the app sends as its request's body, and how.
struct Body {
    len: Option<usize>,
    method: Option<String>,
    write_first: bool,
    authority: Option<String>,
}

/// The `i`th byte of every body: a pattern whose truncation or reordering shows.
fn body_byte(i: usize) -> u8 {
    b'a' + (i % 26) as u8
}

fn write_body(outgoing: OutgoingBody, len: usize) {
    if let Ok(mut stream) = outgoing.write() {
        let bytes: Vec<u8> = (0..len).map(body_byte).collect();
        for chunk in bytes.chunks(4096) {
            let _ = stream.write_all(chunk);
        }
        let _ = stream.flush();
    }
    let _ = OutgoingBody::finish(outgoing, None);
}

fn fetch(url: &str, authorization: Option<String>, body: Body) -> serde_json::Value {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut sent = vec![("accept".to_string(), "application/json".to_string())];
    sent.extend(authorization.map(|a| ("authorization".to_string(), a)));
    let headers = Fields::new();
    for (name, value) in &sent {
        let _ = headers.append(name, value.as_bytes());
    }
    let request = OutgoingRequest::new(headers);
    let _ = request.set_scheme(Some(&match scheme {
        "http" => Scheme::Http,
        _ => Scheme::Https,
    }));
    let _ = request.set_authority(Some(authority));
    let _ = request.set_path_with_query(Some(if path.is_empty() { "/" } else { path }));
    let mut outgoing = body.len.map(|_| {
        let _ = request.set_method(&match body.method.as_deref() {
            Some("PUT") => Method::Put,
            _ => Method::Post,
        });
        request.body().expect("the body is taken once")
    });
    let mut authority_changed = None;
    if body.write_first
        && let (Some(outgoing), Some(len)) = (outgoing.take(), body.len)
    {
        write_body(outgoing, len);
        authority_changed =
            (body.authority.as_deref()).map(|other| request.set_authority(Some(other)).is_ok());
    }
    let response = outgoing_handler::handle(request, None);
    if let (Some(outgoing), Some(len)) = (outgoing, body.len) {
        write_body(outgoing, len);
    }
    let sent: Vec<_> = sent.iter().map(|(n, v)| json!([n, v])).collect();
    let response = match response {
        Ok(future) => {
            future.subscribe().block();
            future.get().expect("ready").expect("taken once")
        }
        Err(e) => {
            return json!({ "sent": sent, "error": format!("{e:?}"), "authority_changed": authority_changed });
        }
    };
    match response {
        Ok(response) => {
            let headers: Vec<_> = (response.headers().entries().into_iter())
                .map(|(n, v)| json!([n, String::from_utf8_lossy(&v)]))
                .collect();
            let mut text = Vec::new();
            if let Ok(body) = response.consume()
                && let Ok(mut stream) = body.stream()
            {
                let _ = stream.read_to_end(&mut text);
            }
            json!({
                "sent": sent,
                "status": response.status(),
                "headers": headers,
                "body": String::from_utf8_lossy(&text),
                "authority_changed": authority_changed,
            })
        }
        Err(e) => json!({ "sent": sent, "error": format!("{e:?}") }),
    }
}

/// The query parameter `name`, percent-decoded.
fn parameter(path_with_query: &str, name: &str) -> Option<String> {
    let query = path_with_query.split_once('?')?.1;
    let value = query.split('&').find_map(|pair| {
        let (n, v) = pair.split_once('=')?;
        (n == name).then_some(v)
    })?;
    let bytes = value.as_bytes();
    let mut decoded = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                i += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(decoded).ok()
}

fn respond(out: ResponseOutparam, body: &[u8]) {
    let headers = Fields::new();
    let _ = headers.set("content-type", &[b"application/json".to_vec()]);
    let response = OutgoingResponse::new(headers);
    let Ok(outgoing) = response.body() else {
        return;
    };
    ResponseOutparam::set(out, Ok(response));
    if let Ok(mut stream) = outgoing.write() {
        let _ = stream.write_all(body);
        let _ = stream.flush();
    }
    let _ = OutgoingBody::finish(outgoing, None);
}
