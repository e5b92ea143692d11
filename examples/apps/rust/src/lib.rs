//! `GET /secret?url=U`: fetches `U` with a plain `wasi:http` client and answers with its
//! status and body; `GET /headers`: the request's headers as JSON. No identity code:
//! whatever token its requests carry is put there by whoever composes or hosts it.
//! The caller names the URL: the app has no secrets of its own to leak, and its tests
//! point it at the emulator's vault.

// The handler needs wasi:http; on the host the crate is empty.
#![cfg(target_arch = "wasm32")]

use std::io::{Read as _, Write as _};
use wasi::http::outgoing_handler::{OutgoingRequest, handle};
use wasi::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam, Scheme,
};

wasi::http::proxy::export!(App);

struct App;

impl wasi::exports::http::incoming_handler::Guest for App {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let (status, body) = match path.split_once('?').unwrap_or((&path, "")) {
            ("/headers", _) => {
                let received: serde_json::Map<_, _> = request
                    .headers()
                    .entries()
                    .into_iter()
                    .map(|(name, value)| (name, String::from_utf8_lossy(&value).into()))
                    .collect();
                (
                    200,
                    serde_json::Value::Object(received).to_string().into_bytes(),
                )
            }
            ("/secret", query) => match query.strip_prefix("url=").map(percent_decoded) {
                Some(url) => get(&url).unwrap_or_else(|e| (502, e.into_bytes())),
                None => (400, b"missing ?url=\n".to_vec()),
            },
            _ => (
                404,
                b"routes: /secret?url=<a Key Vault secret URL>, /headers\n".to_vec(),
            ),
        };
        respond(out, status, &body);
    }
}

/// GETs `url` with a plain wasi:http client: no Authorization header of its own.
fn get(url: &str) -> Result<(u16, Vec<u8>), String> {
    let (scheme, rest) = url.split_once("://").ok_or("not an absolute URL")?;
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    let request = OutgoingRequest::new(Fields::new());
    let scheme = if scheme == "https" {
        Scheme::Https
    } else {
        Scheme::Http
    };
    let _ = request.set_scheme(Some(&scheme));
    let _ = request.set_authority(Some(authority));
    let _ = request.set_path_with_query(Some(path));
    let pending = handle(request, None).map_err(|e| format!("{e:?}"))?;
    pending.subscribe().block();
    let response = pending
        .get()
        .ok_or("no response")?
        .map_err(|()| "taken")?
        .map_err(|e| format!("{e:?}"))?;
    let body = response.consume().map_err(|()| "body taken")?;
    let mut bytes = Vec::new();
    body.stream()
        .map_err(|()| "stream taken")?
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    Ok((response.status(), bytes))
}

/// Enough percent-decoding for URLs passed as a query parameter.
fn percent_decoded(s: &str) -> String {
    let mut out = Vec::new();
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        let hex = |b: Option<u8>| b.and_then(|b| (b as char).to_digit(16));
        match b {
            b'%' => out
                .push((hex(bytes.next()).unwrap_or(0) * 16 + hex(bytes.next()).unwrap_or(0)) as u8),
            b => out.push(b),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn respond(out: ResponseOutparam, status: u16, body: &[u8]) {
    let response = OutgoingResponse::new(Fields::new());
    let _ = response.set_status_code(status);
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
