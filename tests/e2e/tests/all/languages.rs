//! The apps of `examples/apps/` in JavaScript (componentize-js), Python
//! (componentize-py) and Rust, which hold no identity code, uncomposed: in our `serve`
//! their plain HTTP clients reach the emulator's Key Vault without a token (401); their
//! imports are what Spin 4.1 and `wasmtime serve` 48 provide; the real `wasmtime serve`
//! runs each one. Composed with the outbound part each reads the secret with a token it
//! never holds; composed with the inbound part each answers only callers with a valid
//! token, and sees the caller in Easy Auth's headers.

use crate::examples::example;
use crate::serve::{Answer, exchange};
use crate::support::*;
use crate::wasmtime_serve::{Wasmtime, imds};
use entra_emulator::Endpoint;
use entra_identity_host::COMPONENT_WASM;
use entra_identity_host::serve::{
    Inbound, OUTBOUND_WASM, OutboundOptions, ServeOptions, Server, compose_inbound,
    compose_outbound, compose_outbound_inbound, serve,
};
use entra_test_support::apps::{Language, app};
use examples_imports_check::{interfaces, parse_list, satisfies};
use std::net::SocketAddr;

/// The three apps, each as its toolchain builds it (once per source hash).
pub(crate) fn apps() -> [(&'static str, Vec<u8>); 3] {
    [
        ("js", app(Language::JavaScript, "app.js", "app")),
        ("python", app(Language::Python, "app.py", "app")),
        ("rust", example("app-rust")),
    ]
}

/// `app` in our `serve`, allowed to call the emulator's vault.
pub(crate) async fn serve_app(world: &World, app: Vec<u8>) -> Server {
    let mut options = ServeOptions::new(
        app,
        "127.0.0.1:0".parse().unwrap(),
        world.config(Source::Imds),
    );
    options.allowed_outbound = vec![world.emulator.key_vault_url()];
    serve(options).await.expect("the app is served")
}

/// The app's `/secret` route, asked to read `name` from the emulator's vault.
pub(crate) async fn secret(addr: SocketAddr, world: &World, name: &str) -> Answer {
    request(addr, &secret_path(world, name), &[]).await
}

/// The path of the app's `/secret` route for `name` in the emulator's vault.
fn secret_path(world: &World, name: &str) -> String {
    let url = format!(
        "{}/secrets/{name}?api-version=7.5",
        world.emulator.key_vault_url()
    );
    let encoded: String = url
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect();
    format!("/secret?url={encoded}")
}

/// The app's `/headers` route: the request headers it received, as a JSON object.
pub(crate) async fn headers(addr: SocketAddr, sent: &[(&str, &str)]) -> serde_json::Value {
    let a = request(addr, "/headers", sent).await;
    assert_eq!(a.status, 200, "{} {}", a.head, a.body);
    serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("{e}: {}", a.body))
}

async fn request(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Answer {
    let headers: String = headers
        .iter()
        .map(|(n, v)| format!("{n}: {v}\r\n"))
        .collect();
    let request =
        format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\n{headers}connection: close\r\n\r\n");
    exchange(addr, request.as_bytes()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn each_app_reaches_key_vault_without_a_token_and_gets_401() {
    for (language, app) in apps() {
        let world = World::start().await;
        world.emulator.set_secret("db-password", "s3cr3t-value");
        let server = serve_app(&world, app).await;
        let a = secret(server.local_addr(), &world, "db-password").await;
        assert_eq!(a.status, 401, "{language}: {} {}", a.head, a.body);
        assert!(!a.body.contains("s3cr3t-value"), "{language}: {}", a.body);
        let sent = world.emulator.requests(Endpoint::KeyVault);
        assert_eq!(sent.len(), 1, "{language}");
        assert_eq!(
            sent[0].header("authorization"),
            None,
            "{language} sent a token"
        );
        assert_eq!(
            world.emulator.count(Endpoint::Imds),
            0,
            "{language}: nobody asked for one"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_apps_imports_are_in_the_spin_41_and_wasmtime_serve_48_import_lists() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for list in ["spin-4.1-imports.txt", "wasmtime-serve-48-imports.txt"] {
        let text = std::fs::read_to_string(examples.join(list)).unwrap();
        let provided = parse_list(&text);
        for (language, app) in apps() {
            let found = interfaces(&app).unwrap();
            let missing: Vec<_> = (found.imports.iter())
                .filter(|import| !provided.iter().any(|p| satisfies(import, p)))
                .collect();
            assert!(missing.is_empty(), "{language}: {list} lacks {missing:?}");
            assert!(
                found
                    .exports
                    .iter()
                    .any(|e| satisfies(e, "wasi:http/incoming-handler@0.2.0")),
                "{language} exports {:?}",
                found.exports
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_app_answers_its_headers_route_under_wasmtime_serve_48() {
    for (language, app) in apps() {
        let served = Wasmtime::start_composed(&app, &[]);
        let received = headers(served.addr(), &[("x-probe", "from the test")]).await;
        assert_eq!(
            received["x-probe"],
            "from the test",
            "{language}: {received}\n{}",
            served.output()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_app_answers_its_headers_route_in_our_serve() {
    let world = World::start().await;
    for (language, app) in apps() {
        let server = serve_app(&world, app).await;
        let received = headers(server.local_addr(), &[("x-probe", "from the test")]).await;
        assert_eq!(
            received["x-probe"], "from the test",
            "{language}: {received}"
        );
    }
}

/// The by-hand path: JS and Python apps that import `entra:identity/tokens` themselves
/// (world `app-by-hand`), composed with the identity component the way
/// `entra-identity compose` does (our `serve` composes an app that imports it).
#[tokio::test(flavor = "multi_thread")]
async fn a_by_hand_app_composed_with_the_identity_component_reads_the_secret() {
    let by_hand = [
        ("js", app(Language::JavaScript, "by-hand.js", "app-by-hand")),
        ("python", app(Language::Python, "by_hand.py", "app-by-hand")),
    ];
    for (language, app) in by_hand {
        let world = World::start().await;
        world.emulator.set_secret("db-password", "s3cr3t-value");
        let server = serve_app(&world, app).await;
        let a = secret(server.local_addr(), &world, "db-password").await;
        assert_eq!(a.status, 200, "{language}: {} {}", a.head, a.body);
        assert!(a.body.contains("s3cr3t-value"), "{language}: {}", a.body);
        let sent = world.emulator.requests(Endpoint::KeyVault);
        assert!(
            sent[0]
                .header("authorization")
                .is_some_and(|h| h.starts_with("Bearer ")),
            "{language}: the vault got the identity component's token"
        );
    }
}

/// The emulated vault is plain HTTP on loopback, which no built-in rule names: the
/// rule a test deployment bakes in for it.
fn vault_rule(world: &World) -> OutboundOptions {
    OutboundOptions {
        rules: vec![format!(
            "{}=https://vault.azure.net/.default",
            world.emulator.key_vault_url()
        )],
        standalone: false,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_app_composed_with_the_outbound_part_reads_the_secret_without_seeing_the_token() {
    for (language, app) in apps() {
        let world = World::start().await;
        world.emulator.set_secret("db-password", "s3cr3t-value");
        let composed = compose_outbound(&app, COMPONENT_WASM, OUTBOUND_WASM, &vault_rule(&world))
            .unwrap_or_else(|e| panic!("{language}: {e}"));
        let server = serve_app(&world, composed).await;
        let a = secret(server.local_addr(), &world, "db-password").await;
        assert_eq!(a.status, 200, "{language}: {} {}", a.head, a.body);
        assert!(a.body.contains("s3cr3t-value"), "{language}: {}", a.body);
        let sent = world.emulator.requests(Endpoint::KeyVault);
        let bearer = (sent[0].header("authorization"))
            .and_then(|h| h.strip_prefix("Bearer "))
            .unwrap_or_else(|| panic!("{language}: the vault got no token"))
            .to_string();
        assert!(
            !a.head.contains(&bearer) && !a.body.contains(&bearer),
            "{language}: the app's answer holds the token it never had"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_app_composed_with_the_inbound_part_answers_only_callers_with_a_valid_token() {
    const API: &str = "api://any-language";
    for (language, app) in apps() {
        let world = World::start().await;
        let inbound =
            Inbound::new(world.emulator.tenant_id(), &[API]).authority(world.emulator.base_url());
        let composed = compose_inbound(&app, COMPONENT_WASM, None, &inbound)
            .unwrap_or_else(|e| panic!("{language}: {e}"));
        let server = serve_app(&world, composed).await;
        let addr = server.local_addr();

        let refused = request(addr, "/headers", &[("x-ms-client-principal-id", "forged")]).await;
        assert_eq!(
            refused.status, 401,
            "{language}: {} {}",
            refused.head, refused.body
        );

        let token = world.emulator.mint_api_token(API, &[]);
        let bearer = format!("Bearer {token}");
        let received = headers(
            addr,
            &[
                ("authorization", &bearer),
                ("X-MS-CLIENT-PRINCIPAL-ID", "forged"),
            ],
        )
        .await;
        let oid = jwt_claims(&token)["oid"].as_str().unwrap().to_string();
        let id = (received.as_object().unwrap().iter())
            .find(|(name, _)| name.eq_ignore_ascii_case("x-ms-client-principal-id"))
            .map(|(_, value)| value.clone());
        assert_eq!(
            id,
            Some(serde_json::Value::String(oid)),
            "{language}: {received}"
        );
    }
}

/// `compose --outbound --inbound`: the gate in front of the app, over one virtual
/// `wasi:http` that is also its outbound part.
fn both_parts(world: &World, app: &[u8], api: &str, standalone: bool) -> Vec<u8> {
    let options = OutboundOptions {
        standalone,
        ..vault_rule(world)
    };
    let inbound =
        Inbound::new(world.emulator.tenant_id(), &[api]).authority(world.emulator.base_url());
    compose_outbound_inbound(app, COMPONENT_WASM, OUTBOUND_WASM, &options, &inbound).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_with_both_parts_reads_the_secret_for_a_caller_with_a_token_and_for_no_one_else() {
    const API: &str = "api://both-parts";
    let world = World::start().await;
    world.emulator.set_secret("db-password", "s3cr3t-value");
    let composed = both_parts(&world, &example("app-rust"), API, false);
    let server = serve_app(&world, composed).await;
    let addr = server.local_addr();

    let refused = secret(addr, &world, "db-password").await;
    assert_eq!(refused.status, 401, "{} {}", refused.head, refused.body);
    assert_eq!(
        world.emulator.count(Endpoint::KeyVault),
        0,
        "the app did not run"
    );

    let bearer = format!("Bearer {}", world.emulator.mint_api_token(API, &[]));
    let path = secret_path(&world, "db-password");
    let a = request(addr, &path, &[("authorization", &bearer)]).await;
    assert_eq!(a.status, 200, "{} {}", a.head, a.body);
    assert!(a.body.contains("s3cr3t-value"), "{}", a.body);
    let sent = world.emulator.requests(Endpoint::KeyVault);
    let to_vault = sent[0].header("authorization").unwrap();
    assert_ne!(
        to_vault, bearer,
        "the caller's token is not what reaches the vault"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_with_both_parts_runs_under_wasmtime_serve_48() {
    const API: &str = "api://both-parts";
    let world = World::start().await;
    world.emulator.set_secret("db-password", "s3cr3t-value");
    let composed = both_parts(&world, &example("app-rust"), API, true);
    let served = Wasmtime::start_composed(&composed, &imds(&world));
    let bearer = format!("Bearer {}", world.emulator.mint_api_token(API, &[]));
    let path = secret_path(&world, "db-password");
    let refused = request(served.addr(), &path, &[]).await;
    assert_eq!(refused.status, 401, "{}\n{}", refused.head, served.output());
    let a = request(served.addr(), &path, &[("authorization", &bearer)]).await;
    assert_eq!(a.status, 200, "{} {}\n{}", a.head, a.body, served.output());
    assert!(a.body.contains("s3cr3t-value"), "{}", a.body);
}
