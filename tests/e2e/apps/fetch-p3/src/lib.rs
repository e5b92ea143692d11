//! `GET /?method=M&size=N&auth=A&url=URL`: sends `M URL` (a body of N bytes `x` when
//! N > 0, `authorization: Bearer A` when A is given) with `spin_sdk::http::send` and answers 200 with what came back: the status line,
//! every response header, a blank line, the response body. `url` comes last and is
//! taken verbatim, so it needs no escaping.
//!
//! No identity code: tokens come from whatever is composed in front of its
//! `wasi:http/client` import, and everything it saw is in its answer for the test to
//! search for one.

#![cfg(target_arch = "wasm32")]

use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{FullBody, Request, StatusCode, send};
use spin_sdk::http_service;

#[http_service]
async fn handle(request: Request) -> anyhow::Result<spin_sdk::http::Response<String>> {
    let query = request.uri().query().unwrap_or_default().to_string();
    let (params, url) = query.split_once("url=").unwrap_or((&query, ""));
    let param = |name: &str| {
        (params.split('&'))
            .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or_default()
            .to_string()
    };
    let method = match param("method").as_str() {
        "" => "GET".to_string(),
        other => other.to_string(),
    };
    let size: usize = param("size").parse().unwrap_or(0);
    let mut outgoing = spin_sdk::http::Request::builder()
        .method(method.as_str())
        .uri(url);
    let auth = param("auth");
    if !auth.is_empty() {
        outgoing = outgoing.header("authorization", format!("Bearer {auth}"));
    }
    let outgoing = outgoing.body(FullBody::new(bytes_of(size)))?;
    let answer = match send(outgoing).await {
        Ok(response) => {
            let mut text = format!("status: {}\n", response.status().as_u16());
            for (name, value) in response.headers() {
                text += &format!("{name}: {}\n", String::from_utf8_lossy(value.as_bytes()));
            }
            let body = response.into_body().bytes().await?;
            text + "\n" + &String::from_utf8_lossy(&body)
        }
        Err(e) => format!("error: {e:?}\n"),
    };
    let mut response = spin_sdk::http::Response::new(answer);
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}

fn bytes_of(size: usize) -> bytes::Bytes {
    vec![b'x'; size].into()
}
