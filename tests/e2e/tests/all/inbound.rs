//! The inbound part (`compose --inbound`): `echo-headers`, an app with no identity code
//! that answers with the headers it got, behind the gate, in our `serve` and in the
//! stock `wasmtime serve` (`--standalone`), with tokens from the emulator.

use crate::examples::example;
use crate::serve::{Answer, exchange, get};
use crate::support::*;
use crate::wasmtime_serve::Wasmtime;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use entra_emulator::UserToken;
use entra_identity_host::COMPONENT_WASM;
use entra_identity_host::serve::{
    Inbound, STANDALONE_WASM, ServeOptions, Server, compose_inbound, serve,
};
use examples_imports_check::{interfaces, parse_list, satisfies};
use serde_json::Value;
use std::time::{Duration, SystemTime};

const API: &str = "api://inbound-echo";
const ROLE: &str = "Echo.Read";
const OTHER_TENANT: &str = "0babe000-0000-4000-8000-000000000002";

fn inbound(world: &World) -> Inbound {
    Inbound::new(world.emulator.tenant_id(), &[API]).authority(world.emulator.base_url())
}

fn composed(inbound: &Inbound, standalone: bool) -> Vec<u8> {
    let adapter = standalone.then_some(STANDALONE_WASM);
    compose_inbound(&example("echo-headers"), COMPONENT_WASM, adapter, inbound).expect("composes")
}

/// A variable the host gives the app: the baked settings must not replace it.
pub(crate) const APP_VARIABLE: (&str, &str) = ("ECHO_GREETING", "hello");

async fn serve_composed(world: &World, composed: Vec<u8>) -> Server {
    let mut options = ServeOptions::new(
        composed,
        "127.0.0.1:0".parse().unwrap(),
        world.config(Source::Imds),
    );
    options.env = [(APP_VARIABLE.0.to_string(), APP_VARIABLE.1.to_string())].into();
    serve(options).await.expect("the composed app is served")
}

/// The names of the environment variables the app saw, from its echo; none of the
/// gate's settings may be among them, and [`APP_VARIABLE`] must.
pub(crate) fn assert_app_environment_is_its_own(echo: &Value) {
    let environment: Vec<&str> = (echo["environment"].as_array().unwrap().iter())
        .map(|name| name.as_str().unwrap())
        .collect();
    assert!(
        !environment
            .iter()
            .any(|n| n.starts_with("ENTRA_IDENTITY_INBOUND")),
        "{environment:?}"
    );
    assert!(environment.contains(&APP_VARIABLE.0), "{environment:?}");
}

/// The `WWW-Authenticate` line of an answer.
pub(crate) fn challenge(a: &Answer) -> &str {
    (a.head.lines())
        .find(|l| l.to_ascii_lowercase().starts_with("www-authenticate:"))
        .unwrap_or_else(|| panic!("no challenge in {}", a.head))
}

/// The headers the app saw, lower-cased names.
pub(crate) fn seen_headers(a: &Answer) -> Vec<(String, String)> {
    let echo: Value = serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("{e}: {}", a.body));
    (echo["headers"].as_array().unwrap().iter())
        .map(|pair| {
            let name = pair[0].as_str().unwrap().to_ascii_lowercase();
            (name, pair[1].as_str().unwrap().to_string())
        })
        .collect()
}

pub(crate) fn seen<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    (headers.iter())
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// A token of the emulator's tenant for `API` that expired an hour ago, beyond any
/// leeway (the emulator mints on its own clock, set back for this one token).
fn expired_token(world: &World) -> String {
    let lifetime = world.emulator.token_lifetime();
    world.emulator.set_token_lifetime(Duration::from_secs(3600));
    world
        .clock
        .set(SystemTime::now() - Duration::from_secs(7200));
    let token = world.emulator.mint_api_token(API, &[ROLE]);
    world.clock.set(SystemTime::now());
    world.emulator.set_token_lifetime(lifetime);
    let exp = jwt_claims(&token)["exp"].as_u64().unwrap();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(exp + 3000 < now, "the token expired an hour ago");
    token
}

#[tokio::test(flavor = "multi_thread")]
async fn inbound_refuses_callers_without_a_valid_token_with_401() {
    let world = World::start().await;
    let server = serve_composed(&world, composed(&inbound(&world), false)).await;
    let addr = server.local_addr();

    let none = get(addr, "/", None).await;
    assert_eq!(none.status, 401, "{} {}", none.head, none.body);
    let line = challenge(&none);
    assert!(
        line.contains("Bearer") && line.contains(world.emulator.tenant_id()),
        "{line}"
    );
    assert!(
        none.body.contains("\"error\""),
        "the gate's answer, not the app's: {}",
        none.body
    );

    let garbage = get(addr, "/", Some("not-a-jwt")).await;
    assert_eq!(garbage.status, 401, "{}", garbage.body);
    assert!(
        challenge(&garbage).contains("invalid_token"),
        "{}",
        garbage.head
    );

    let other_audience = world.emulator.mint_api_token("api://someone-else", &[ROLE]);
    let other_tenant = world
        .emulator
        .mint_user_token(&UserToken::new("user-oid", API).tenant(OTHER_TENANT));
    for (what, token) in [
        ("another audience", other_audience),
        ("another tenant", other_tenant),
        ("expired", expired_token(&world)),
    ] {
        let a = get(addr, "/", Some(&token)).await;
        assert_eq!(a.status, 401, "{what}: {} {}", a.head, a.body);
        assert!(
            challenge(&a).contains("invalid_token"),
            "{what}: {}",
            a.head
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn inbound_answers_403_without_the_required_role() {
    let world = World::start().await;
    let server = serve_composed(&world, composed(&inbound(&world).role(ROLE), false)).await;
    let no_role = world.emulator.mint_api_token(API, &[]);
    let a = get(server.local_addr(), "/", Some(&no_role)).await;
    assert_eq!(a.status, 403, "{} {}", a.head, a.body);
    assert!(a.head.contains("insufficient_scope"), "{}", a.head);
}

#[tokio::test(flavor = "multi_thread")]
async fn inbound_hands_a_valid_caller_to_the_app_with_the_principal_and_without_forged_headers() {
    let world = World::start().await;
    let server = serve_composed(&world, composed(&inbound(&world).role(ROLE), false)).await;
    let addr = server.local_addr();
    let token = world.emulator.mint_api_token(API, &[ROLE]);
    let oid = jwt_claims(&token)["oid"].as_str().unwrap().to_string();
    let request = format!(
        "GET /orders?id=7 HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         X-MS-CLIENT-PRINCIPAL-ID: forged-admin\r\nx-Ms-Client-Principal: e30=\r\n\
         x-ms-client-principal-name: mallory\r\nx-custom: kept\r\nconnection: close\r\n\r\n"
    );
    let a = exchange(addr, request.as_bytes()).await;
    assert_eq!(a.status, 200, "{} {}", a.head, a.body);
    let echo: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(echo["path"], "/orders?id=7");
    let headers = seen_headers(&a);
    assert_eq!(seen(&headers, "x-custom"), ["kept"]);
    assert_eq!(seen(&headers, "x-ms-client-principal-id"), [oid.as_str()]);
    assert_eq!(seen(&headers, "x-ms-client-principal-idp"), ["aad"]);
    assert_eq!(
        seen(&headers, "x-ms-client-principal-name").len(),
        1,
        "{headers:?}"
    );
    assert!(
        !a.body.contains("forged-admin") && !a.body.contains("mallory"),
        "{}",
        a.body
    );
    let principal = seen(&headers, "x-ms-client-principal");
    assert_eq!(principal.len(), 1, "{headers:?}");
    let principal: Value = serde_json::from_slice(&STANDARD.decode(principal[0]).unwrap()).unwrap();
    assert_eq!(principal["auth_typ"], "aad");
    assert_eq!(principal["role_typ"], "roles");
    let claims = principal["claims"].as_array().unwrap();
    assert!(
        claims.contains(&serde_json::json!({"typ": "oid", "val": oid})),
        "{claims:?}"
    );
    assert!(
        claims.contains(&serde_json::json!({"typ": "roles", "val": ROLE})),
        "{claims:?}"
    );
    let name_typ = principal["name_typ"].as_str().unwrap();
    let name = seen(&headers, "x-ms-client-principal-name")[0];
    assert!(
        claims.contains(&serde_json::json!({"typ": name_typ, "val": name})),
        "{claims:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn inbound_settings_stay_out_of_the_apps_environment_and_the_app_keeps_its_own() {
    let world = World::start().await;
    let server = serve_composed(&world, composed(&inbound(&world), false)).await;
    let token = world.emulator.mint_api_token(API, &[]);
    let a = get(server.local_addr(), "/", Some(&token)).await;
    assert_eq!(a.status, 200, "{} {}", a.head, a.body);
    assert_app_environment_is_its_own(&serde_json::from_str(&a.body).unwrap());
}

#[test]
fn inbound_compositions_import_only_what_spin_and_wasmtime_serve_provide() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let inbound = Inbound::new("contoso.onmicrosoft.com", &[API]);
    for (standalone, list) in [
        (false, "spin-4.1-imports.txt"),
        (true, "wasmtime-serve-48-imports.txt"),
    ] {
        let adapter = standalone.then_some(STANDALONE_WASM);
        let composed = compose_inbound(&example("echo-headers"), COMPONENT_WASM, adapter, &inbound)
            .expect("composes");
        let text = std::fs::read_to_string(examples.join(list)).unwrap();
        let provided = parse_list(&text);
        let found = interfaces(&composed).unwrap();
        let missing: Vec<_> = (found.imports.iter())
            .filter(|i| !provided.iter().any(|p| satisfies(i, p)))
            .collect();
        assert!(missing.is_empty(), "{list} lacks {missing:?}");
        // One import per interface: the app's wasi:*@0.2.4 and our @0.2.12 are merged
        // into the newest (wac-graph 0.12 does this for semver-compatible names), so
        // every part shares the host's streams and pollables.
        let mut unversioned: Vec<&str> = (found.imports.iter())
            .map(|i| i.split('@').next().unwrap())
            .collect();
        unversioned.sort();
        let count = unversioned.len();
        unversioned.dedup();
        assert_eq!(unversioned.len(), count, "{:?}", found.imports);
        assert!(
            (found.imports.iter())
                .all(|i| !i.starts_with("wasi:") || i.ends_with("@0.2.12") || i.contains("draft")),
            "{:?}",
            found.imports
        );
        assert_eq!(
            found.exports,
            ["wasi:http/incoming-handler@0.2.12"],
            "{list}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn inbound_under_wasmtime_serve_answers_401_without_running_the_app_and_200_with_a_token() {
    let world = World::start().await;
    let served = Wasmtime::start_composed(&composed(&inbound(&world), true), &[]);
    let refused = served.get_with("/refused", None).await;
    assert_eq!(refused.status, 401, "{} {}", refused.head, refused.body);
    let token = world.emulator.mint_api_token(API, &[]);
    let allowed = served.get_with("/allowed", Some(&token)).await;
    assert_eq!(allowed.status, 200, "{} {}", allowed.head, allowed.body);
    let oid = jwt_claims(&token)["oid"].as_str().unwrap().to_string();
    assert_eq!(
        seen(&seen_headers(&allowed), "x-ms-client-principal-id"),
        [oid.as_str()]
    );
    let output = served.stop();
    assert!(
        output.contains("echo-headers: handled /allowed"),
        "{output}"
    );
    assert!(
        !output.contains("handled /refused"),
        "the app ran for a refused caller:\n{output}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_inbound_part_alone_attaches_no_token_to_the_apps_requests() {
    let world = World::start().await;
    let app = example("fetch-echo");
    let composed = compose_inbound(&app, COMPONENT_WASM, None, &inbound(&world)).expect("composes");
    // The rule the outbound part would read: the inbound part must not act on it.
    let rule = format!(
        "{}=https://vault.azure.net/.default",
        world.emulator.key_vault_url()
    );
    let mut options = ServeOptions::new(
        composed,
        "127.0.0.1:0".parse().unwrap(),
        world.config(Source::Imds),
    );
    options.variables = [("entra_identity_outbound_rules".to_string(), rule)].into();
    let server = serve(options).await.expect("the composed app is served");
    let caller = world.emulator.mint_api_token(API, &[]);
    let url = format!(
        "{}/secrets/db-password?api-version=7.4",
        world.emulator.key_vault_url()
    );
    let a = get(server.local_addr(), &format!("/?url={url}"), Some(&caller)).await;
    assert_eq!(a.status, 200, "{} {}", a.head, a.body);
    let answer: Value = serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("{e}: {}", a.body));
    assert_eq!(answer["status"], 401, "{answer}");
    let requests = world.emulator.requests(entra_emulator::Endpoint::KeyVault);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("authorization"), None);
    assert_eq!(
        world.emulator.count(entra_emulator::Endpoint::Imds),
        0,
        "no token was fetched"
    );
}
