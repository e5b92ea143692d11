//! `GET /?url=U[&authorization=A][&body=N]`: sends `GET U` (or, with `body`, `POST U`
//! with N bytes) through a plain `wasi:http` 0.2 client — no identity code, no
//! `entra:identity` import — and answers with everything the app could observe: the
//! status, headers and body of the response, the headers it sent, or the request's
//! error. The outbound tests search this for the token the app must never see.

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
            Some(url) => fetch(&url, param("authorization"), param("body")),
            None => json!({ "error": "no url parameter" }),
        };
        respond(out, answer.to_string().as_bytes());
    }
}

fn fetch(url: &str, authorization: Option<String>, body: Option<String>) -> serde_json::Value {
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
    let body = body.and_then(|n| n.parse::<usize>().ok());
    let outgoing = body.map(|_| {
        let _ = request.set_method(&Method::Post);
        request.body().expect("the body is taken once")
    });
    let response = outgoing_handler::handle(request, None);
    if let (Some(outgoing), Some(n)) = (outgoing, body) {
        if let Ok(mut stream) = outgoing.write() {
            for chunk in vec![b'x'; n].chunks(4096) {
                let _ = stream.write_all(chunk);
            }
            let _ = stream.flush();
        }
        let _ = OutgoingBody::finish(outgoing, None);
    }
    let sent: Vec<_> = sent.iter().map(|(n, v)| json!([n, v])).collect();
    let response = match response {
        Ok(future) => {
            future.subscribe().block();
            future.get().expect("ready").expect("taken once")
        }
        Err(e) => return json!({ "sent": sent, "error": format!("{e:?}") }),
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
