//! The inbound part for WASIp3 apps (`compose --inbound` in front of
//! `wasi:http/handler@0.3.0`): `echo-p3` (tests/e2e/apps/echo-p3, spin-sdk 7, no
//! identity code), which answers with the request it got and its environment's names,
//! behind the p3 gate in our `serve`, with tokens from the emulator.

use crate::examples::example;
use crate::inbound::{
    APP_VARIABLE, assert_app_environment_is_its_own, challenge, seen, seen_headers,
};
use crate::outbound_p3::lacking;
use crate::serve::{Answer, exchange, get};
use crate::support::*;
use entra_identity_host::COMPONENT_WASM;
use entra_identity_host::serve::{
    Inbound, STANDALONE_WASM, ServeOptions, Server, compose_inbound, serve,
};
use entra_test_support::logs::Logs;
use examples_imports_check::interfaces;
use serde_json::Value;

const API: &str = "api://inbound-echo-p3";
const ROLE: &str = "Echo.Write";
const HANDLER: &str = "wasi:http/handler@0.3.0";

fn inbound(world: &World) -> Inbound {
    Inbound::new(world.emulator.tenant_id(), &[API]).authority(world.emulator.base_url())
}

fn composed(inbound: &Inbound, adapter: Option<&[u8]>) -> Vec<u8> {
    compose_inbound(&example("echo-p3"), COMPONENT_WASM, adapter, inbound).expect("composes")
}

/// `--standalone`: the adapter gives the gate and the identity component
/// `wasi:config` and `wasi:keyvalue`.
fn composed_with_adapter(inbound: &Inbound) -> Vec<u8> {
    composed(inbound, Some(STANDALONE_WASM))
}

async fn serve_composed(world: &World, composed: Vec<u8>) -> Server {
    let mut options = ServeOptions::new(
        composed,
        "127.0.0.1:0".parse().unwrap(),
        world.config(Source::Imds),
    );
    options.env = [(APP_VARIABLE.0.to_string(), APP_VARIABLE.1.to_string())].into();
    serve(options).await.expect("the composed app is served")
}

/// The app's stderr lines (our host logs them as warnings), from every test at once:
/// each test here asks for paths of its own.
fn app_lines() -> Logs {
    Logs::everywhere("entra_identity_core::component=warn")
}

#[tokio::test(flavor = "multi_thread")]
async fn p3_inbound_refuses_callers_without_a_valid_token_with_401_and_the_app_never_runs() {
    let world = World::start().await;
    let lines = app_lines();
    let server = serve_composed(&world, composed(&inbound(&world), None)).await;
    let addr = server.local_addr();

    let none = get(addr, "/p3-refused-no-token", None).await;
    assert_eq!(none.status, 401, "{} {}", none.head, none.body);
    let line = challenge(&none);
    assert!(
        line.contains("Bearer") && line.contains(world.emulator.tenant_id()),
        "{line}"
    );
    let other_audience = world.emulator.mint_api_token("api://someone-else", &[ROLE]);
    let wrong = get(addr, "/p3-refused-audience", Some(&other_audience)).await;
    assert_eq!(wrong.status, 401, "{} {}", wrong.head, wrong.body);
    assert!(
        challenge(&wrong).contains("invalid_token"),
        "{}",
        wrong.head
    );

    // The same app logs a request it does get: the absence below means something.
    let token = world.emulator.mint_api_token(API, &[ROLE]);
    let allowed = get(addr, "/p3-allowed", Some(&token)).await;
    assert_eq!(allowed.status, 200, "{} {}", allowed.head, allowed.body);
    let text = lines.text();
    assert!(text.contains("echo-p3: handled /p3-allowed"), "{text}");
    assert!(
        !text.contains("handled /p3-refused"),
        "the app ran for a refused caller:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn p3_inbound_answers_403_without_the_required_role() {
    let world = World::start().await;
    let server = serve_composed(&world, composed(&inbound(&world).role(ROLE), None)).await;
    let no_role = world.emulator.mint_api_token(API, &[]);
    let a = get(server.local_addr(), "/", Some(&no_role)).await;
    assert_eq!(a.status, 403, "{} {}", a.head, a.body);
    assert!(a.head.contains("insufficient_scope"), "{}", a.head);
}

/// What the app got for a POST of `body` by a caller with `token` who also sent forged
/// principal headers (mixed case).
async fn post_as_caller(server: &Server, token: &str, body: &str) -> (Answer, Value) {
    let addr = server.local_addr();
    let request = format!(
        "POST /orders?id=7 HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         X-MS-CLIENT-PRINCIPAL-ID: forged-admin\r\nx-Ms-Client-Principal-Name: mallory\r\n\
         x-custom: kept\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let a = exchange(addr, request.as_bytes()).await;
    assert_eq!(a.status, 200, "{} {}", a.head, a.body);
    let echo = serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("{e}: {}", a.body));
    (a, echo)
}

#[tokio::test(flavor = "multi_thread")]
async fn p3_inbound_hands_a_valid_caller_to_the_app_with_the_principal_and_without_forged_headers()
{
    let world = World::start().await;
    let server = serve_composed(&world, composed(&inbound(&world).role(ROLE), None)).await;
    let token = world.emulator.mint_api_token(API, &[ROLE]);
    let oid = jwt_claims(&token)["oid"].as_str().unwrap().to_string();
    let (a, echo) = post_as_caller(&server, &token, "{}").await;
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/orders?id=7");
    let headers = seen_headers(&a);
    assert!(
        !a.body.contains("forged-admin") && !a.body.contains("mallory"),
        "{}",
        a.body
    );
    assert_eq!(seen(&headers, "x-custom"), ["kept"]);
    assert_eq!(seen(&headers, "x-ms-client-principal-id"), [oid.as_str()]);
    assert_eq!(seen(&headers, "x-ms-client-principal-idp"), ["aad"]);
    assert_eq!(
        seen(&headers, "x-ms-client-principal").len(),
        1,
        "{headers:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn p3_inbound_passes_the_callers_body_to_the_app_intact() {
    let world = World::start().await;
    let server = serve_composed(&world, composed(&inbound(&world), None)).await;
    let token = world.emulator.mint_api_token(API, &[]);
    let body: String = (0..3000).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    let (_, echo) = post_as_caller(&server, &token, &body).await;
    assert_eq!(
        echo["body"],
        body.as_str(),
        "the caller's body reaches the app"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn p3_inbound_settings_stay_out_of_the_apps_environment_and_the_app_keeps_its_own() {
    let world = World::start().await;
    let server = serve_composed(&world, composed(&inbound(&world), None)).await;
    let token = world.emulator.mint_api_token(API, &[]);
    let (_, echo) = post_as_caller(&server, &token, "").await;
    assert_app_environment_is_its_own(&echo);
}

#[test]
fn p3_inbound_compositions_import_only_what_spin_and_wasmtime_serve_provide() {
    let inbound = Inbound::new("contoso.onmicrosoft.com", &[API]);
    let composed = composed(&inbound, None);
    assert_eq!(interfaces(&composed).unwrap().exports, [HANDLER]);
    assert_eq!(
        lacking(&composed, "spin-4.1-imports.txt"),
        Vec::<String>::new()
    );
    // wasmtime serve has no wasi:keyvalue or wasi:config: the adapter provides them.
    let standalone = composed_with_adapter(&inbound);
    assert_eq!(interfaces(&standalone).unwrap().exports, [HANDLER]);
    assert_eq!(
        lacking(&standalone, "wasmtime-serve-48-imports.txt"),
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn p3_inbound_composed_standalone_still_checks_callers() {
    let world = World::start().await;
    let server = serve_composed(&world, composed_with_adapter(&inbound(&world))).await;
    let refused = get(server.local_addr(), "/", None).await;
    assert_eq!(refused.status, 401, "{} {}", refused.head, refused.body);
    let token = world.emulator.mint_api_token(API, &[]);
    let allowed = get(server.local_addr(), "/", Some(&token)).await;
    assert_eq!(allowed.status, 200, "{} {}", allowed.head, allowed.body);
}
