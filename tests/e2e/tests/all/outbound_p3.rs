//! The outbound part for WASIp3 apps: a spin-sdk 7 app with NO identity code
//! (tests/e2e/apps/fetch-p3, `spin_sdk::http::send` over `wasi:http/client@0.3.0`)
//! gets tokens on its requests to the emulator's Key Vault from the p3 outbound
//! component, in our `serve`; a revoked token (CAE) is answered with one new token and
//! one retry, body included, while a body over 64 KiB is sent once and its 401
//! reaches the app; the app never sees a token.

use crate::examples::example;
use crate::serve::get;
use crate::support::*;
use entra_emulator::{Endpoint, Fault};
use entra_identity_host::COMPONENT_WASM;
use entra_identity_host::serve::{
    OUTBOUND_P3_WASM, STANDALONE_WASM, ServeOptions, Server, compose_outbound_p3,
    imports_http_client_p3, serve,
};
use examples_imports_check::{interfaces, parse_list, satisfies};

const SECRET: &str = "s3cr3t-value";

fn composed() -> Vec<u8> {
    composed_with(None)
}

fn composed_with(adapter: Option<&[u8]>) -> Vec<u8> {
    let app = example("fetch-p3");
    assert!(imports_http_client_p3(&app).unwrap());
    compose_outbound_p3(&app, COMPONENT_WASM, OUTBOUND_P3_WASM, adapter).expect("composes")
}

/// `app` served with the rule that names the emulator's (plain-HTTP, loopback) vault
/// as Key Vault, as the `wasi:config` variable the outbound component reads.
async fn start(world: &World, app: Vec<u8>) -> Server {
    let address = "127.0.0.1:0".parse().unwrap();
    let mut options = ServeOptions::new(app, address, world.config(Source::Imds));
    let rule = format!(
        "{}=https://vault.azure.net/.default",
        world.emulator.key_vault_url()
    );
    options.variables = [("entra_identity_outbound_rules".to_string(), rule)].into();
    serve(options).await.expect("the app is served")
}

/// What the app answered (the status the vault gave it, the headers and body it saw).
async fn fetch(server: &Server, method: &str, size: usize, url: &str) -> (u16, String) {
    let path = format!("/?method={method}&size={size}&url={url}");
    let answer = get(server.local_addr(), &path, None).await;
    assert_eq!(answer.status, 200, "{} {}", answer.head, answer.body);
    let status = (answer.body.strip_prefix("status: "))
        .and_then(|rest| rest.split_once('\n'))
        .and_then(|(status, _)| status.parse().ok())
        .unwrap_or_else(|| panic!("the app's request failed: {}", answer.body));
    (status, answer.body)
}

fn secret_url(world: &World) -> String {
    format!(
        "{}/secrets/db-password?api-version=7.4",
        world.emulator.key_vault_url()
    )
}

/// Every bearer token the vault received.
fn tokens_the_vault_saw(world: &World) -> Vec<String> {
    (world.emulator.requests(Endpoint::KeyVault).iter())
        .filter_map(|r| {
            r.header("authorization")?
                .strip_prefix("Bearer ")
                .map(String::from)
        })
        .collect()
}

fn assert_no_token_in(world: &World, text: &str) {
    for token in tokens_the_vault_saw(world) {
        assert!(!text.contains(&token), "the app saw a token: {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_p3_app_alone_gets_401_and_composed_gets_the_secret_without_seeing_the_token() {
    let world = World::start().await;
    world.emulator.set_secret("db-password", SECRET);
    let url = secret_url(&world);

    let bare = start(&world, example("fetch-p3")).await;
    let (status, text) = fetch(&bare, "GET", 0, &url).await;
    assert_eq!(status, 401, "{text}");
    let (status, text) = fetch(&bare, "POST", 10, &url).await;
    assert_eq!(status, 401, "{text}");
    assert!(tokens_the_vault_saw(&world).is_empty());

    let server = start(&world, composed()).await;
    let (status, text) = fetch(&server, "GET", 0, &url).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains(SECRET), "{text}");
    // Past authentication, Key Vault refuses the method: the token and the body arrived.
    let (status, text) = fetch(&server, "POST", 10, &url).await;
    assert_eq!(status, 405, "{text}");
    let posted = world.emulator.requests(Endpoint::KeyVault);
    let posted = posted.last().unwrap();
    assert_eq!(posted.body, b"xxxxxxxxxx");
    assert!(posted.header("authorization").is_some());

    let tokens = tokens_the_vault_saw(&world);
    assert_eq!(tokens.len(), 2);
    assert!(
        tokens.iter().all(|t| t.len() > 100),
        "JWTs reached the vault"
    );
    assert_no_token_in(&world, &text);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_token_gets_one_new_token_and_one_retry_with_the_body() {
    let world = World::start().await;
    world.emulator.set_secret("db-password", SECRET);
    let url = secret_url(&world);
    let server = start(&world, composed()).await;
    let (status, text) = fetch(&server, "GET", 0, &url).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);
    assert_eq!(world.emulator.count(Endpoint::KeyVault), 1);

    world.emulator.revoke_issued_tokens();
    let (status, text) = fetch(&server, "GET", 0, &url).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains(SECRET), "{text}");
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        2,
        "exactly one extra token request"
    );
    assert_eq!(
        world.emulator.count(Endpoint::KeyVault),
        3,
        "the refused call and its one retry"
    );

    // A kept body goes out again with the retry.
    world.emulator.revoke_issued_tokens();
    let size = 60 * 1024;
    let (status, text) = fetch(&server, "POST", size, &url).await;
    assert_eq!(status, 405, "past authentication on the retry: {text}");
    assert_eq!(world.emulator.count(Endpoint::Imds), 3);
    let requests = world.emulator.requests(Endpoint::KeyVault);
    assert_eq!(requests.len(), 5, "the refused POST and its one retry");
    for sent in &requests[3..] {
        assert_eq!(sent.body.len(), size, "the whole body each time");
    }
    assert_no_token_in(&world, &text);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_64_kib_is_sent_once_and_its_401_reaches_the_app() {
    let world = World::start().await;
    world.emulator.set_secret("db-password", SECRET);
    let url = secret_url(&world);
    let server = start(&world, composed()).await;
    let (status, _) = fetch(&server, "GET", 0, &url).await;
    assert_eq!(status, 200);

    world.emulator.revoke_issued_tokens();
    let size = 64 * 1024 + 1;
    let (status, text) = fetch(&server, "POST", size, &url).await;
    assert_eq!(status, 401, "{text}");
    assert!(
        text.contains("insufficient_claims"),
        "the vault's challenge: {text}"
    );
    let requests = world.emulator.requests(Endpoint::KeyVault);
    assert_eq!(requests.len(), 2, "no retry");
    assert_eq!(requests[1].body.len(), size, "the whole body, streamed");
    assert_eq!(world.emulator.count(Endpoint::Imds), 1, "no new token");
    assert_no_token_in(&world, &text);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_with_its_own_authorization_goes_out_untouched() {
    let world = World::start().await;
    let server = start(&world, composed()).await;
    let url = secret_url(&world);
    let path = format!("/?auth=the-apps-own&url={url}");
    let answer = get(server.local_addr(), &path, None).await;
    assert!(answer.body.starts_with("status: 401"), "{}", answer.body);
    assert_eq!(tokens_the_vault_saw(&world), ["the-apps-own"]);
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        0,
        "no token was asked for"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_token_the_app_gets_an_internal_error_naming_destination_and_scope() {
    let world = World::start().await;
    // IMDS's "identity not found": final at once, no retries to wait out.
    world
        .emulator
        .set_persistent_fault(Endpoint::Imds, Some(Fault::Status(400)));
    let server = start(&world, composed()).await;
    let answer = get(
        server.local_addr(),
        &format!("/?url={}", secret_url(&world)),
        None,
    )
    .await;
    let authority = world.emulator.key_vault_url().replace("http://", "");
    let expected = format!(
        "no token for the request to {authority} (scope https://vault.azure.net/.default): "
    );
    assert!(answer.body.starts_with("error: "), "{}", answer.body);
    assert!(answer.body.contains("InternalError"), "{}", answer.body);
    assert!(answer.body.contains(&expected), "{}", answer.body);
    assert_eq!(
        world.emulator.count(Endpoint::KeyVault),
        0,
        "nothing went out without a token"
    );
}

/// The imports a host must provide for `component` that the list `file` (in
/// `examples/`) does not name.
pub(crate) fn lacking(component: &[u8], file: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let provided = parse_list(&text);
    let found = interfaces(component).expect("a component");
    (found.imports.into_iter())
        .filter(|import| !provided.iter().any(|p| satisfies(import, p)))
        .collect()
}

#[test]
fn the_composed_p3_app_imports_only_what_spin_and_wasmtime_serve_provide() {
    let composed = composed();
    let found = interfaces(&composed).unwrap();
    assert!(
        !found.imports.iter().any(|i| i.starts_with("entra:")),
        "{:?}",
        found.imports
    );
    assert_eq!(
        lacking(&composed, "spin-4.1-imports.txt"),
        Vec::<String>::new()
    );
    // wasmtime serve has no wasi:keyvalue or wasi:config: the adapter provides them.
    let standalone = composed_with(Some(STANDALONE_WASM));
    assert_eq!(
        lacking(&standalone, "wasmtime-serve-48-imports.txt"),
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn compose_outbound_puts_the_p3_part_in_front_of_a_p3_app_with_its_rules_baked_in() {
    let world = World::start().await;
    world.emulator.set_secret("db-password", SECRET);
    let options = entra_identity_host::serve::OutboundOptions {
        rules: vec![format!(
            "{}=https://vault.azure.net/.default",
            world.emulator.key_vault_url()
        )],
        standalone: false,
    };
    let composed = entra_identity_host::serve::compose_outbound(
        &example("fetch-p3"),
        COMPONENT_WASM,
        entra_identity_host::serve::OUTBOUND_WASM,
        &options,
    )
    .expect("composes");
    // No wasi:config rule this time: only the baked one names the vault.
    let address = "127.0.0.1:0".parse().unwrap();
    let served = ServeOptions::new(composed, address, world.config(Source::Imds));
    let server = serve(served).await.expect("the app is served");
    let (status, body) = fetch(&server, "GET", 0, &secret_url(&world)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(SECRET), "{body}");
    assert_no_token_in(&world, &body);
}
