//! `--features otlp`: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, `token` sends its metrics
//! and spans to that collector (here a loopback stand-in that records what it gets).

use crate::entra_identity;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// One OTLP/HTTP request as the collector received it.
struct Received {
    path: String,
    content_type: String,
    body: Vec<u8>,
}

/// A collector that answers 200 to everything and keeps what it was sent.
fn collector() -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let keep = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let path = line.split(' ').nth(1).unwrap_or_default().to_string();
            let (mut length, mut content_type) = (0, String::new());
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                let header = header.trim_end();
                if header.is_empty() {
                    break;
                }
                let (name, value) = header.split_once(':').unwrap();
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap(),
                    "content-type" => content_type = value.trim().to_string(),
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            keep.lock().unwrap().push(Received {
                path,
                content_type,
                body,
            });
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, received)
}

#[test]
fn token_exports_metrics_and_spans_to_the_collector_without_the_token() {
    let (url, received) = collector();
    let out = entra_identity()
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &url)
        .args([
            "token",
            "--emulator",
            "--scope",
            "https://vault.azure.net/.default",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let received = received.lock().unwrap();
    let paths: Vec<&str> = received.iter().map(|r| r.path.as_str()).collect();
    assert!(paths.contains(&"/v1/metrics"), "{paths:?}");
    assert!(paths.contains(&"/v1/traces"), "{paths:?}");
    for r in received.iter() {
        assert_eq!(r.content_type, "application/x-protobuf", "{}", r.path);
        let body = String::from_utf8_lossy(&r.body);
        assert!(!body.contains(&token), "{} carried the token", r.path);
        let signature = token.rsplit('.').next().unwrap();
        assert!(
            !body.contains(signature),
            "{} carried the token's signature",
            r.path
        );
    }
    let metrics = received.iter().find(|r| r.path == "/v1/metrics").unwrap();
    assert!(
        String::from_utf8_lossy(&metrics.body).contains("entra_identity.token.requests"),
        "the token request was counted"
    );
}
