//! `compose --outbound`: an app with NO identity code (tests/e2e/apps/fetch-echo, a
//! plain `wasi:http` 0.2 client) gets a token on its requests to the emulator's Key
//! Vault from the outbound build of the virtual `wasi:http`, bodies included, in our
//! `serve` and under the stock `wasmtime serve`; a revoked token (CAE) on a body-less
//! request gets one new token and one retry, never more; the token never reaches the
//! app; requests no rule names, and requests that carry their own `authorization`, go
//! out untouched.

use crate::examples::example;
use crate::serve::{Answer, get};
use crate::support::*;
use crate::wasmtime_serve::{Wasmtime, imds};
use entra_emulator::{Endpoint, Fault};
use entra_identity_host::COMPONENT_WASM;
use entra_identity_host::serve::{
    INBOUND_VIRTUAL_HTTP_WASM, Inbound, OUTBOUND_WASM, OutboundOptions, STANDALONE_WASM,
    ServeOptions, Server, compose_outbound, compose_outbound_inbound, serve,
};
use examples_imports_check::{in_package, interfaces, parse_list, satisfies};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET: &str = "s3cr3t-value";

/// The rule that names the emulator's (plain-HTTP, loopback) vault as Key Vault.
fn vault_rule(world: &World) -> String {
    format!(
        "{}=https://vault.azure.net/.default",
        world.emulator.key_vault_url()
    )
}

fn composed(world: &World, standalone: bool) -> Vec<u8> {
    composed_with(vec![vault_rule(world)], standalone)
}

fn composed_with(rules: Vec<String>, standalone: bool) -> Vec<u8> {
    let options = OutboundOptions { rules, standalone };
    compose_outbound(
        &example("fetch-echo"),
        COMPONENT_WASM,
        OUTBOUND_WASM,
        &options,
    )
    .expect("composes")
}

async fn start(world: &World, app: Vec<u8>) -> Server {
    start_allowing(world, app, &[]).await
}

/// [`start`], the app also allowed to call `urls`.
async fn start_allowing(world: &World, app: Vec<u8>, urls: &[String]) -> Server {
    let address = "127.0.0.1:0".parse().unwrap();
    let mut options = ServeOptions::new(app, address, world.config(Source::Imds));
    options.allowed_outbound = urls.to_vec();
    serve(options).await.expect("the app is served")
}

/// The app's path for fetching `url` (with `extra` query parameters).
fn fetch(url: &str, extra: &str) -> String {
    let encoded: String = (url.bytes())
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("/?url={encoded}{extra}")
}

/// What the app saw: its answer parsed, and the whole answer as text to search.
fn seen(a: &Answer) -> (serde_json::Value, String) {
    assert_eq!(a.status, 200, "{} {}", a.head, a.body);
    let json = serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("{e}: {}", a.body));
    (json, format!("{}\r\n\r\n{}", a.head, a.body))
}

/// The bearer token the vault received last.
fn token_the_vault_saw(world: &World) -> String {
    let requests = world.emulator.requests(Endpoint::KeyVault);
    let last = requests.last().expect("the vault was called");
    let value = last.header("authorization").expect("with a token");
    value
        .strip_prefix("Bearer ")
        .expect("a bearer token")
        .to_string()
}

fn secret_url(world: &World) -> String {
    format!(
        "{}/secrets/db-password?api-version=7.4",
        world.emulator.key_vault_url()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_alone_gets_401_and_composed_gets_the_secret_without_seeing_the_token() {
    let world = World::start().await;
    world.emulator.set_secret("db-password", SECRET);
    let url = secret_url(&world);

    let bare = start(&world, example("fetch-echo")).await;
    let (answer, _) = seen(&get(bare.local_addr(), &fetch(&url, ""), None).await);
    assert_eq!(answer["status"], 401, "{answer}");
    assert_eq!(
        world.emulator.requests(Endpoint::KeyVault)[0].header("authorization"),
        None
    );

    let server = start(&world, composed(&world, false)).await;
    let (answer, text) = seen(&get(server.local_addr(), &fetch(&url, ""), None).await);
    assert_eq!(answer["status"], 200, "{answer}");
    assert!(
        answer["body"].as_str().unwrap().contains(SECRET),
        "{answer}"
    );
    let token = token_the_vault_saw(&world);
    assert!(token.len() > 100, "a JWT reached the vault");
    assert!(!text.contains(&token), "the app saw its token: {text}");
    // What the app sent: only its own headers.
    assert_eq!(
        answer["sent"],
        serde_json::json!([["accept", "application/json"]])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_with_its_own_authorization_goes_out_untouched() {
    let world = World::start().await;
    let server = start(&world, composed(&world, false)).await;
    let path = fetch(&secret_url(&world), "&authorization=Bearer%20the-apps-own");
    let (answer, _) = seen(&get(server.local_addr(), &path, None).await);
    assert_eq!(
        answer["status"], 401,
        "the vault refuses the app's own value: {answer}"
    );
    let requests = world.emulator.requests(Endpoint::KeyVault);
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].header("authorization"),
        Some("Bearer the-apps-own")
    );
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        0,
        "no token was fetched"
    );
}

/// A loopback listener that records each request's head and answers 204.
async fn listener() -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<String>) {
    answering(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n").await
}

/// A loopback listener that records each request's head and answers `response`.
async fn answering(
    response: &'static [u8],
) -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let (heads, received) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = socket.accept().await {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).await.unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let _ = heads.send(String::from_utf8_lossy(&head).to_ascii_lowercase());
            let _ = stream.write_all(response).await;
        }
    });
    (addr, received)
}

#[tokio::test(flavor = "multi_thread")]
async fn destinations_no_rule_names_get_no_token_on_the_wire() {
    let world = World::start().await;
    let (other, mut heads) = listener().await;
    let allowed = [format!("http://{other}")];
    let server = start_allowing(&world, composed(&world, false), &allowed).await;
    let vault = world.emulator.key_vault_url();
    let vault_authority = vault.trim_start_matches("http://");
    for url in [
        // The same host on another port.
        format!("http://{other}/secrets/db-password"),
        // The vault's own address behind userinfo: the request reaches the vault.
        format!("http://user@{vault_authority}/secrets/db-password"),
    ] {
        let a = get(server.local_addr(), &fetch(&url, ""), None).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(!a.body.contains("eyJ"), "{}", a.body);
    }
    let head = heads.recv().await.unwrap();
    assert!(head.starts_with("get /secrets/db-password"), "{head}");
    assert!(!head.contains("authorization"), "{head}");
    for request in world.emulator.requests(Endpoint::KeyVault) {
        assert_eq!(request.header("authorization"), None, "{}", request.path);
    }
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        0,
        "no token was fetched"
    );
}

/// The bytes fetch-echo sends as a body of `len`.
fn body_of(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 26) as u8).collect()
}

fn assert_no_token_in(world: &World, text: &str) {
    for request in world.emulator.requests(Endpoint::KeyVault) {
        if let Some(token) = request.header("authorization") {
            let token = token.trim_start_matches("Bearer ");
            assert!(!text.contains(token), "the app saw a token: {text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_reaches_a_named_destination_intact_with_the_token_the_app_never_sees() {
    let world = World::start().await;
    let server = start(&world, composed(&world, false)).await;
    // Streamed after `handle`, larger than any buffer; and written before it.
    for (query, len) in [
        ("&body=70000&method=PUT", 70_000),
        ("&body=1000&write-first=1", 1000),
    ] {
        let path = fetch(&secret_url(&world), query);
        let (answer, text) = seen(&get(server.local_addr(), &path, None).await);
        // Past authentication, Key Vault refuses the method: the token and the body arrived.
        assert_eq!(answer["status"], 405, "{answer}");
        let requests = world.emulator.requests(Endpoint::KeyVault);
        let sent = requests.last().unwrap();
        assert!(
            sent.body == body_of(len),
            "{query}: the body arrived changed"
        );
        assert!(
            token_the_vault_saw(&world).len() > 100,
            "a JWT reached the vault"
        );
        assert_no_token_in(&world, &text);
    }
    assert_eq!(
        world.emulator.count(Endpoint::KeyVault),
        2,
        "each sent once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_the_authority_after_the_body_stream_was_taken_fails_and_sends_no_token_there() {
    let world = World::start().await;
    let (other, mut heads) = listener().await;
    let allowed = [format!("http://{other}")];
    let server = start_allowing(&world, composed(&world, false), &allowed).await;
    let path = fetch(
        &secret_url(&world),
        &format!("&body=10&write-first=1&authority={other}"),
    );
    let (answer, _) = seen(&get(server.local_addr(), &path, None).await);
    assert_eq!(answer["authority_changed"], false, "{answer}");
    assert_eq!(answer["status"], 405, "the vault got it: {answer}");
    assert_eq!(world.emulator.count(Endpoint::KeyVault), 1);
    assert!(
        heads.try_recv().is_err(),
        "nothing reached the other host before the app answered"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_token_on_a_bodyless_request_gets_one_claims_token_and_one_retry() {
    let world = World::start().await;
    world.emulator.set_secret("db-password", SECRET);
    let server = start(&world, composed(&world, false)).await;
    let path = fetch(&secret_url(&world), "");
    let (answer, _) = seen(&get(server.local_addr(), &path, None).await);
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);

    world.emulator.revoke_issued_tokens();
    let (answer, text) = seen(&get(server.local_addr(), &path, None).await);
    assert_eq!(answer["status"], 200, "{answer}");
    assert!(
        answer["body"].as_str().unwrap().contains(SECRET),
        "{answer}"
    );
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        2,
        "exactly one claims token request"
    );
    assert_eq!(
        world.emulator.count(Endpoint::KeyVault),
        3,
        "the refused call and its one retry"
    );
    assert_no_token_in(&world, &text);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_with_a_body_gets_its_claims_challenge_unchanged_after_one_request() {
    let world = World::start().await;
    world.emulator.set_secret("db-password", SECRET);
    let server = start(&world, composed(&world, false)).await;
    let (answer, _) = seen(&get(server.local_addr(), &fetch(&secret_url(&world), ""), None).await);
    assert_eq!(answer["status"], 200, "{answer}");

    world.emulator.revoke_issued_tokens();
    let path = fetch(&secret_url(&world), "&body=1000");
    let (answer, text) = seen(&get(server.local_addr(), &path, None).await);
    assert_eq!(answer["status"], 401, "{answer}");
    assert!(
        text.contains("insufficient_claims"),
        "the vault's challenge: {text}"
    );
    assert_eq!(world.emulator.count(Endpoint::KeyVault), 2, "no retry");
    assert_eq!(world.emulator.count(Endpoint::Imds), 1, "no new token");
}

/// A 401 with a valid CAE claims challenge, for every request.
const STORM: &[u8] = b"HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\
www-authenticate: Bearer realm=\"\", error=\"insufficient_claims\", \
claims=\"eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWUiOiIxNzAwMDAwMDAwIn19fQ==\"\r\n\r\n";

#[tokio::test(flavor = "multi_thread")]
async fn a_401_storm_gets_exactly_one_retry_and_the_app_gets_the_401() {
    let world = World::start().await;
    let (storm, mut heads) = answering(STORM).await;
    let rule = format!("http://{storm}=https://vault.azure.net/.default");
    let allowed = [format!("http://{storm}")];
    let server = start_allowing(&world, composed_with(vec![rule], false), &allowed).await;
    let path = fetch(&format!("http://{storm}/secrets/db-password"), "");
    let (answer, _) = seen(&get(server.local_addr(), &path, None).await);
    assert_eq!(answer["status"], 401, "{answer}");
    for attempt in ["the first request", "its one retry"] {
        let head = heads
            .try_recv()
            .unwrap_or_else(|_| panic!("{attempt} was sent"));
        assert!(head.contains("authorization: bearer "), "{attempt}: {head}");
    }
    assert!(heads.try_recv().is_err(), "a second retry was sent");
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        2,
        "one token and one claims token"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_token_endpoint_down_the_request_fails_and_the_next_one_succeeds() {
    let world = World::start().await;
    world.emulator.set_secret("db-password", SECRET);
    world
        .emulator
        .set_persistent_fault(Endpoint::Imds, Some(Fault::Status(500)));
    let server = start(&world, composed(&world, false)).await;
    let path = fetch(&secret_url(&world), "");
    let (answer, _) = seen(&get(server.local_addr(), &path, None).await);
    let error = answer["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    let vault = world.emulator.key_vault_url();
    let authority = vault.trim_start_matches("http://");
    assert!(
        error.contains(&format!(
            "no token for the request to {authority} (scope https://vault.azure.net/.default)"
        )),
        "{error}"
    );
    assert_eq!(
        world.emulator.count(Endpoint::KeyVault),
        0,
        "nothing was sent"
    );

    world.emulator.clear_faults(Endpoint::Imds);
    // Past the identity component's memory of the failure (5 s, on the world's clock).
    world.advance(std::time::Duration::from_secs(6));
    let (answer, _) = seen(&get(server.local_addr(), &path, None).await);
    assert_eq!(answer["status"], 200, "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn wasmtime_serve_runs_the_standalone_composition_with_the_rules_baked_in() {
    let world = World::start().await;
    world.emulator.set_secret("db-password", SECRET);
    let served = Wasmtime::start_composed(&composed(&world, true), &imds(&world));
    let a = served.get(&fetch(&secret_url(&world), "")).await;
    let output = served.output();
    assert_eq!(a.status, 200, "{} {}\nwasmtime:\n{output}", a.head, a.body);
    let (answer, text) = seen(&a);
    assert_eq!(answer["status"], 200, "{answer}\nwasmtime:\n{output}");
    assert!(
        answer["body"].as_str().unwrap().contains(SECRET),
        "{answer}"
    );
    let token = token_the_vault_saw(&world);
    assert!(!text.contains(&token) && !output.contains(&token));
}

fn listed(file: &str) -> Vec<String> {
    let path = format!("{}/../../examples/{file}", env!("CARGO_MANIFEST_DIR"));
    let list = std::fs::read_to_string(path).unwrap();
    parse_list(&list).into_iter().map(String::from).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_composed_app_imports_what_spin_and_wasmtime_serve_provide() {
    let world = World::start().await;
    for (standalone, provided) in [
        (false, listed("spin-4.1-imports.txt")),
        (true, listed("wasmtime-serve-48-imports.txt")),
    ] {
        let bytes = composed(&world, standalone);
        let found = interfaces(&bytes).unwrap();
        eprintln!(
            "outbound (standalone: {standalone}, {} KiB) imports: {}",
            bytes.len() / 1024,
            found.imports.join(", ")
        );
        let missing: Vec<_> = (found.imports.iter())
            .filter(|i| !provided.iter().any(|p| satisfies(i, p)))
            .collect();
        assert!(
            missing.is_empty(),
            "standalone {standalone}: not provided: {missing:?}"
        );
        assert!(!found.imports.iter().any(|i| i.starts_with("entra:")));
        // One import per interface: the app's 0.2.4 and the components' 0.2.12 merged.
        let http: Vec<_> = (found.imports.iter())
            .filter(|i| in_package(i, "wasi:http", "0.2.0"))
            .collect();
        assert_eq!(http.len(), 2, "{http:?}");
    }
}

#[test]
fn an_app_that_sends_no_requests_is_refused_with_a_reason() {
    let options = OutboundOptions::default();
    // The adapter imports no wasi:http/outgoing-handler.
    let e = compose_outbound(STANDALONE_WASM, COMPONENT_WASM, OUTBOUND_WASM, &options);
    let e = e.unwrap_err().to_string();
    assert!(
        e.contains("imports neither wasi:http/outgoing-handler@0.2 nor wasi:http/client@0.3"),
        "{e}"
    );
    let e = compose_outbound(b"not wasm", COMPONENT_WASM, OUTBOUND_WASM, &options);
    let e = e.unwrap_err().to_string();
    assert!(e.contains("the app is not a WebAssembly component"), "{e}");
}

/// How many times `part` is embedded in `composed` (wac embeds each component as it is).
fn copies_of(part: &[u8], composed: &[u8]) -> usize {
    let middle = &part[part.len() / 2..part.len() / 2 + 64];
    composed
        .windows(middle.len())
        .filter(|w| *w == middle)
        .count()
}

#[test]
fn outbound_with_inbound_is_one_virtual_http_and_one_identity_component() {
    let options = OutboundOptions {
        rules: vec!["api.contoso.com=api://contoso/.default".into()],
        standalone: false,
    };
    let inbound = Inbound::new("contoso.onmicrosoft.com", &["api://orders"]);
    let app = example("fetch-echo");
    let both = compose_outbound_inbound(&app, COMPONENT_WASM, OUTBOUND_WASM, &options, &inbound)
        .expect("composes");
    assert_eq!(
        copies_of(OUTBOUND_WASM, &both),
        1,
        "the outbound virtual wasi:http"
    );
    assert_eq!(
        copies_of(INBOUND_VIRTUAL_HTTP_WASM, &both),
        0,
        "no second virtual wasi:http for the gate"
    );
    assert_eq!(
        copies_of(COMPONENT_WASM, &both),
        1,
        "the identity component"
    );
}
