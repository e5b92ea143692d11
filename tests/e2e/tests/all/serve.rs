//! Serve mode: the Spin example apps, composed with the identity component, answering
//! real HTTP over loopback, against the emulator's token endpoints, Key Vault and keys.

use crate::examples::example;
use crate::support::*;
use entra_emulator::Endpoint;
use entra_identity_host::serve::{ServeOptions, Server, serve};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const API: &str = "api://spin-protected-api";
const ROLE: &str = "Secrets.Read";

pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) head: String,
    pub(crate) body: String,
}

/// One HTTP/1.1 GET, the connection closed after it.
pub(crate) async fn get(addr: SocketAddr, path: &str, bearer: Option<&str>) -> Answer {
    let auth = bearer
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\n{auth}connection: close\r\n\r\n");
    exchange(addr, request.as_bytes()).await
}

/// Sends `request` verbatim on a new connection and reads until the server closes it.
pub(crate) async fn exchange(addr: SocketAddr, request: &[u8]) -> Answer {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    // Small bodies in one chunk: strip the chunk framing if there is any.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body.split("\r\n")
            .skip(1)
            .step_by(2)
            .collect::<Vec<_>>()
            .join("")
    } else {
        body.to_string()
    };
    Answer {
        status,
        head: head.to_string(),
        body,
    }
}

pub(crate) async fn start(world: &World, app: &str, variables: &[(&str, String)]) -> Server {
    let mut options = ServeOptions::new(
        example(app),
        "127.0.0.1:0".parse().unwrap(),
        world.config(Source::Imds),
    );
    options.variables = variables
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    serve(options).await.expect("the app is served")
}

#[tokio::test(flavor = "multi_thread")]
async fn spin_call_azure_reads_a_secret_with_one_token_for_200_requests() {
    let world = World::start().await;
    world.emulator.set_secret("db-password", "s3cr3t-value");
    let server = start(
        &world,
        "spin-call-azure",
        &[("vault_url", world.emulator.key_vault_url())],
    )
    .await;
    let addr = server.local_addr();
    for round in 0..10 {
        let answers =
            futures::future::join_all((0..20).map(|_| get(addr, "/secrets/db-password", None)))
                .await;
        for a in answers {
            assert_eq!(a.status, 200, "round {round}: {} {}", a.head, a.body);
            assert_eq!(a.body, "s3cr3t-value");
        }
    }
    assert_eq!(world.emulator.count(Endpoint::KeyVault), 200);
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        1,
        "one token for every instance, through the shared cache"
    );
    // The vault saw the bearer token the identity component obtained.
    let sent = world.emulator.requests(Endpoint::KeyVault);
    assert!(sent.iter().all(|r| {
        r.header("authorization")
            .is_some_and(|h| h.starts_with("Bearer "))
    }));
}

/// With the shared cache off, each instance fetches its own token: the count of token
/// requests is the count of instances.
#[tokio::test(flavor = "multi_thread")]
async fn fresh_instances_give_a_wasip3_app_one_instance_per_request() {
    for (fresh, instances) in [(false, 1), (true, 5)] {
        let world = World::start().await;
        world.emulator.set_secret("db-password", "s3cr3t-value");
        let mut identity = world.config(Source::Imds);
        identity.cache.enabled = false;
        let mut options = ServeOptions::new(
            example("spin-call-azure"),
            "127.0.0.1:0".parse().unwrap(),
            identity,
        );
        options.variables = [("vault_url".to_string(), world.emulator.key_vault_url())].into();
        options.fresh_instances = fresh;
        let server = serve(options).await.expect("the app is served");
        for _ in 0..5 {
            let a = get(server.local_addr(), "/secrets/db-password", None).await;
            assert_eq!(a.status, 200, "{}", a.body);
        }
        assert_eq!(
            world.emulator.count(Endpoint::Imds),
            instances,
            "fresh_instances = {fresh}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn spin_call_azure_reports_a_missing_secret_without_leaking_the_token() {
    let world = World::start().await;
    let server = start(
        &world,
        "spin-call-azure",
        &[("vault_url", world.emulator.key_vault_url())],
    )
    .await;
    let a = get(server.local_addr(), "/secrets/nope", None).await;
    assert_eq!(a.status, 502, "{}", a.body);
    assert!(
        a.body.contains("404") && !a.body.contains("eyJ"),
        "{}",
        a.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn spin_protected_api_answers_401_403_and_200() {
    let world = World::start().await;
    let server = start(
        &world,
        "spin-protected-api",
        &[
            ("tenant_id", world.emulator.tenant_id().to_string()),
            ("audience", API.to_string()),
            ("required_role", ROLE.to_string()),
            ("authority", world.emulator.base_url()),
        ],
    )
    .await;
    let addr = server.local_addr();

    let none = get(addr, "/", None).await;
    assert_eq!(none.status, 401, "{}", none.body);
    let challenge = none
        .head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("www-authenticate:"))
        .expect("a challenge");
    assert!(
        challenge.contains("Bearer") && challenge.contains(world.emulator.tenant_id()),
        "{challenge}"
    );

    let garbage = get(addr, "/", Some("not-a-jwt")).await;
    assert_eq!(garbage.status, 401);
    assert!(garbage.head.contains("invalid_token"), "{}", garbage.head);

    let other_api = world.emulator.mint_api_token("api://someone-else", &[ROLE]);
    assert_eq!(get(addr, "/", Some(&other_api)).await.status, 401);

    let no_role = world.emulator.mint_api_token(API, &[]);
    let forbidden = get(addr, "/", Some(&no_role)).await;
    assert_eq!(forbidden.status, 403, "{}", forbidden.body);
    assert!(
        forbidden.head.contains("insufficient_scope"),
        "{}",
        forbidden.head
    );

    let good = world.emulator.mint_api_token(API, &[ROLE]);
    let ok = get(addr, "/", Some(&good)).await;
    assert_eq!(ok.status, 200, "{} {}", ok.head, ok.body);
    let caller: serde_json::Value = serde_json::from_str(&ok.body).unwrap();
    assert_eq!(
        caller["oid"],
        world.emulator.system_assigned().object_id.as_str()
    );
    assert!(!ok.body.contains(&good), "the API never echoes the token");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wasi_http_0_2_handler_gets_a_fresh_instance_per_request_and_one_token() {
    let world = World::start().await;
    let server = start(&world, "wasi-http-token", &[]).await;
    let addr = server.local_addr();
    for _ in 0..5 {
        let answers = futures::future::join_all((0..20).map(|_| get(addr, "/token", None))).await;
        for a in answers {
            assert_eq!(a.status, 200, "{} {}", a.head, a.body);
            let body: serde_json::Value = serde_json::from_str(&a.body).unwrap();
            assert_eq!(body["scope"], VAULT);
            assert!(body["expires_on"].as_u64().unwrap() > 0);
            assert!(!a.body.contains("eyJ"), "the token itself is never shown");
        }
    }
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        1,
        "100 fresh instances, one token"
    );
}

/// In Spin the cache key belongs in a secret variable, not in spin.toml's environment:
/// the component reads `entra_identity_cache_key` through wasi:config when the
/// environment has none.
#[tokio::test(flavor = "multi_thread")]
async fn the_cache_key_can_come_from_a_wasi_config_variable() {
    use base64::Engine;
    let world = World::start().await;
    let dir = temp_dir();
    let file = dir.path().join("cache.redb");
    let mut identity = world.config(Source::Imds);
    identity.cache.store = entra_identity_host::KeyValueConfig::Disk { path: file.clone() };
    let mut options = ServeOptions::new(
        example("wasi-http-token"),
        "127.0.0.1:0".parse().unwrap(),
        identity,
    );
    let key = base64::engine::general_purpose::STANDARD.encode([42u8; 32]);
    options
        .variables
        .insert("entra_identity_cache_key".into(), key.clone());
    let server = serve(options).await.unwrap();
    for _ in 0..20 {
        let a = get(server.local_addr(), "/token", None).await;
        assert_eq!(a.status, 200, "{}", a.body);
    }
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        1,
        "fresh instances shared the disk cache"
    );
    drop(server);
    let stored = std::fs::read(&file).unwrap();
    let text = String::from_utf8_lossy(&stored);
    assert!(
        text.contains("entra-identity/v2/{") && text.contains("}/t"),
        "a token entry was written"
    );
    assert!(
        !text.contains("eyJ") && !text.contains(&key),
        "only ciphertext on disk"
    );
}
