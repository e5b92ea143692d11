//! A minimal HTTP/1.1 client over loopback: enough to see exactly what the emulator puts on the wire.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const TIMEOUT: Duration = Duration::from_secs(20);

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub async fn get(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> HttpResponse {
    send(addr, "GET", target, headers, b"").await
}

pub async fn post_form(addr: SocketAddr, target: &str, fields: &[(&str, &str)]) -> HttpResponse {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    send(
        addr,
        "POST",
        target,
        &[("content-type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .await
}

/// One request on a fresh connection with `Connection: close`, read to the end.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let mut stream = open(addr, method, target, headers, body).await;
    let mut raw = Vec::new();
    tokio::time::timeout(TIMEOUT, stream.read_to_end(&mut raw))
        .await
        .expect("response within timeout")
        .expect("read");
    parse(&raw)
}

/// Sends a request and returns the open connection, for tests that read the response bit by bit.
pub async fn open(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write head");
    stream.write_all(body).await.expect("write body");
    stream
}

/// Reads until the head is complete; returns the parsed head (with an empty body) and the body bytes seen so far.
pub async fn read_head(stream: &mut TcpStream) -> (HttpResponse, Vec<u8>) {
    let mut raw = Vec::new();
    let mut buf = [0; 8192];
    loop {
        if let Some(end) = find_head_end(&raw) {
            let head = parse_head(&raw[..end]);
            return (head, raw[end + 4..].to_vec());
        }
        let n = tokio::time::timeout(TIMEOUT, stream.read(&mut buf))
            .await
            .expect("head within timeout")
            .expect("read");
        assert!(n > 0, "connection closed before the head was complete");
        raw.extend_from_slice(&buf[..n]);
    }
}

pub fn parse(raw: &[u8]) -> HttpResponse {
    let end = find_head_end(raw)
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(raw)));
    let mut response = parse_head(&raw[..end]);
    response.body = raw[end + 4..].to_vec();
    if let Some(length) = response.header("content-length") {
        assert_eq!(
            response.body.len(),
            length.parse::<usize>().unwrap(),
            "body length matches Content-Length"
        );
    }
    response
}

fn find_head_end(raw: &[u8]) -> Option<usize> {
    raw.windows(4).position(|w| w == b"\r\n\r\n")
}

fn parse_head(head: &[u8]) -> HttpResponse {
    let head = std::str::from_utf8(head).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.trim().to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    HttpResponse {
        status,
        headers,
        body: Vec::new(),
    }
}
