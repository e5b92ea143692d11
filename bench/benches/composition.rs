//! Table 10: what the outbound and inbound parts cost an app, side by side with the
//! bare app in one run. Reported, never asserted.
//!
//! `cargo bench --manifest-path bench/Cargo.toml --bench composition`
//!
//! Each row serves `examples/apps/rust` (no identity code) in `entra-identity serve`'s
//! machinery with a fresh instance per request (as Spin), over one keep-alive loopback
//! connection, so every row pays the same HTTP exchange and instantiation of the app;
//! the differences between rows are the parts' own cost.
//! * outbound: `/secret?url=<emulator>/oidc/.well-known/openid-configuration`, the
//!   app's request getting a token (a cache hit after the first) vs going bare, and
//!   the same request to a name no rule covers (`localhost`): the layer without the
//!   token;
//! * inbound: `/headers` with one caller's token again and again (seen before), with a
//!   new token each request, and the bare app.

use entra_identity_host::serve::{
    Inbound, OUTBOUND_WASM, OutboundOptions, ServeOptions, compose_inbound, compose_outbound, serve,
};
use entra_identity_host::{COMPONENT_WASM, IdentityConfig};
use std::time::{Duration, Instant};

const WARMUP: usize = 100;
const REQUESTS: usize = 2_000;
const API: &str = "api://bench-inbound";

struct Row {
    name: &'static str,
    app: Vec<u8>,
    path: String,
    /// The `Authorization` value of request `i`, if any.
    bearer: Box<dyn Fn(usize) -> Option<String>>,
}

#[tokio::main]
async fn main() {
    let emulator = entra_emulator::Emulator::start(Default::default())
        .await
        .unwrap();
    let base = emulator.base_url();
    let config = IdentityConfig::default().with_env(
        [(
            "AZURE_POD_IDENTITY_AUTHORITY_HOST".to_string(),
            base.clone(),
        )]
        .into(),
    );
    let dir = examples_imports_check::build(&["app-rust"]);
    let app = std::fs::read(examples_imports_check::component_path(&dir, "app-rust")).unwrap();

    let options = OutboundOptions {
        rules: vec![format!("{base}=https://vault.azure.net/.default")],
        standalone: false,
    };
    let outbound = compose_outbound(&app, COMPONENT_WASM, OUTBOUND_WASM, &options).unwrap();
    let inbound = Inbound::new(emulator.tenant_id(), &[API]).authority(base.clone());
    let inbound = compose_inbound(&app, COMPONENT_WASM, None, &inbound).unwrap();

    println!(
        "sizes: app {} KiB, with the outbound part {} KiB (+{} KiB), with the inbound part {} KiB (+{} KiB)",
        app.len() / 1024,
        outbound.len() / 1024,
        (outbound.len() - app.len()) / 1024,
        inbound.len() / 1024,
        (inbound.len() - app.len()) / 1024,
    );

    let upstream = format!("{base}/oidc/.well-known/openid-configuration");
    let secret_path = format!("/secret?url={}", encode(&upstream));
    let unnamed = base.replace("127.0.0.1", "localhost");
    let unnamed_path = format!(
        "/secret?url={}",
        encode(&format!("{unnamed}/oidc/.well-known/openid-configuration"))
    );
    let seen = emulator.mint_api_token(API, &[]);
    let fresh: Vec<String> = (0..WARMUP + REQUESTS)
        .map(|_| emulator.mint_api_token(API, &[]))
        .collect();
    let rows = vec![
        Row {
            name: "bare app, its request bare",
            app: app.clone(),
            path: secret_path.clone(),
            bearer: Box::new(|_| None),
        },
        Row {
            name: "outbound: its request gets a token (cache hit)",
            app: outbound.clone(),
            path: secret_path,
            bearer: Box::new(|_| None),
        },
        Row {
            name: "outbound: to a host no rule names (no token)",
            app: outbound,
            path: unnamed_path,
            bearer: Box::new(|_| None),
        },
        Row {
            name: "bare app, /headers",
            app: app.clone(),
            path: "/headers".into(),
            bearer: Box::new(move |_| Some(format!("Bearer {seen}"))),
        },
        Row {
            name: "inbound: a token seen before",
            app: inbound.clone(),
            path: "/headers".into(),
            bearer: {
                let seen = emulator.mint_api_token(API, &[]);
                Box::new(move |_| Some(format!("Bearer {seen}")))
            },
        },
        Row {
            name: "inbound: a new token each request",
            app: inbound,
            path: "/headers".into(),
            bearer: Box::new(move |i| Some(format!("Bearer {}", fresh[i]))),
        },
    ];
    println!(
        "{:<48} {:>9} {:>9} {:>9}   ({REQUESTS} requests, fresh instance each)",
        "", "mean µs", "p50 µs", "p99 µs"
    );
    for row in rows {
        let mut options =
            ServeOptions::new(row.app, "127.0.0.1:0".parse().unwrap(), config.clone());
        options.allowed_outbound = vec![base.clone(), unnamed.clone()];
        options.fresh_instances = true;
        let server = serve(options).await.unwrap();
        let url = format!("http://{}{}", server.local_addr(), row.path);
        let client = reqwest::Client::new();
        let mut times = Vec::with_capacity(REQUESTS);
        for i in 0..WARMUP + REQUESTS {
            let mut request = client.get(&url);
            if let Some(bearer) = (row.bearer)(i) {
                request = request.header("authorization", bearer);
            }
            let started = Instant::now();
            let response = request.send().await.unwrap();
            let status = response.status();
            response.bytes().await.unwrap();
            let took = started.elapsed();
            assert!(status.is_success(), "{}: {status}", row.name);
            if i >= WARMUP {
                times.push(took);
            }
        }
        report(row.name, &mut times);
    }
}

fn report(name: &str, times: &mut [Duration]) {
    times.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mean = times.iter().map(|d| us(*d)).sum::<f64>() / times.len() as f64;
    let at = |q: f64| us(times[((times.len() as f64 * q) as usize).min(times.len() - 1)]);
    println!("{name:<48} {mean:>9.1} {:>9.1} {:>9.1}", at(0.5), at(0.99));
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}
