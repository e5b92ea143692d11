//! On-behalf-of through `spin-protected-api`: the API exchanges each caller's token for
//! a Key Vault token as that user, caches it per user (in the shared cache, since every
//! request is a fresh instance), and hands an MFA requirement back to the client as a
//! 401 claims challenge.

use crate::serve::{get, start};
use crate::support::*;
use base64::Engine;
use entra_emulator::{AppRegistration, Endpoint, UserToken};
use entra_identity_host::serve::Server;
use std::net::SocketAddr;

const API: &str = "api://spin-protected-api";
const ROLE: &str = "Secrets.Read";
const OBO_APP: &str = "22222222-bbbb-4000-8000-0000000000b0";
const OBO_SECRET: &str = "obo-s3cret-value";
const ALICE: &str = "33333333-cccc-4000-8000-00000000a11c";
const BOB: &str = "33333333-cccc-4000-8000-0000000000b0";

async fn start_api(world: &World) -> Server {
    world.emulator.set_secret("db-password", "s3cr3t-value");
    world.emulator.register_app(
        AppRegistration::new(OBO_APP)
            .with_secret(OBO_SECRET)
            .with_identifier_uri(API),
    );
    start(
        world,
        "spin-protected-api",
        &[
            ("tenant_id", world.emulator.tenant_id().to_string()),
            ("audience", format!("{API},{OBO_APP}")),
            ("required_role", ROLE.to_string()),
            ("required_scope", "access_as_user".to_string()),
            ("authority", world.emulator.base_url()),
            ("client_id", OBO_APP.to_string()),
            ("client_secret", OBO_SECRET.to_string()),
            ("vault_url", world.emulator.key_vault_url()),
        ],
    )
    .await
}

fn user_token(world: &World, oid: &str, scopes: &[&str]) -> String {
    world
        .emulator
        .mint_user_token(&UserToken::new(oid, API).scopes(scopes))
}

async fn read_secret(addr: SocketAddr, token: &str) -> serde_json::Value {
    let a = get(addr, "/secrets/db-password", Some(token)).await;
    assert_eq!(a.status, 200, "{} {}", a.head, a.body);
    assert!(!a.body.contains("eyJ"), "no token in the answer");
    serde_json::from_str(&a.body).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_caller_reads_as_themselves_and_a_second_call_is_a_cache_hit() {
    let world = World::start().await;
    let server = start_api(&world).await;
    let addr = server.local_addr();
    let alice = user_token(&world, ALICE, &["access_as_user"]);
    let bob = user_token(&world, BOB, &["access_as_user"]);

    assert_eq!(read_secret(addr, &alice).await["value"], "s3cr3t-value");
    let exchange = world.emulator.requests(Endpoint::Token).pop().unwrap();
    assert_eq!(
        exchange.form_param("grant_type").as_deref(),
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    );
    assert_eq!(
        exchange.form_param("requested_token_use").as_deref(),
        Some("on_behalf_of")
    );
    assert_eq!(
        exchange.form_param("assertion").as_deref(),
        Some(alice.as_str())
    );
    assert_eq!(exchange.form_param("client_id").as_deref(), Some(OBO_APP));

    // Every request is a fresh instance: the hit comes from the shared cache.
    read_secret(addr, &alice).await;
    assert_eq!(
        world.emulator.count(Endpoint::Token),
        1,
        "the same user token again is a cache hit"
    );

    read_secret(addr, &bob).await;
    read_secret(addr, &alice).await;
    read_secret(addr, &bob).await;
    assert_eq!(
        world.emulator.count(Endpoint::Token),
        2,
        "one exchange per user"
    );
    assert_eq!(
        vault_oids(&world.emulator, 0),
        [ALICE, ALICE, BOB, ALICE, BOB],
        "Key Vault saw each user's own token, never the other's"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_without_the_delegated_scope_is_refused_before_any_exchange() {
    let world = World::start().await;
    let server = start_api(&world).await;
    let token = user_token(&world, ALICE, &["something.else"]);
    let a = get(server.local_addr(), "/secrets/db-password", Some(&token)).await;
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(a.head.contains("insufficient_scope"), "{}", a.head);
    assert_eq!(world.emulator.count(Endpoint::Token), 0);
    assert_eq!(world.emulator.count(Endpoint::KeyVault), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_mfa_requirement_reaches_the_client_as_a_claims_challenge() {
    let world = World::start().await;
    world.emulator.require_mfa_for("https://vault.azure.net");
    let server = start_api(&world).await;
    let addr = server.local_addr();
    let token = user_token(&world, ALICE, &["access_as_user"]);
    let a = get(addr, "/secrets/db-password", Some(&token)).await;
    assert_eq!(a.status, 401, "{} {}", a.head, a.body);
    let challenge = a
        .head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(name, _)| name.eq_ignore_ascii_case("www-authenticate"))
                .map(|(_, value)| value.trim().to_string())
        })
        .expect("a challenge");
    assert!(
        challenge.starts_with("Bearer ") && challenge.contains("error=\"insufficient_claims\""),
        "{challenge}"
    );
    // The claims Entra asked for, exactly, as the base64 MSAL decodes.
    let encoded = challenge
        .split("claims=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a claims parameter");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
    assert_eq!(
        claims,
        serde_json::json!({"access_token": {"capolids": {
            "essential": true,
            "values": ["7e57e000-0000-4000-8000-0000000ca001"]
        }}}),
        "the claims Entra's interaction_required answer carried"
    );
    assert_eq!(world.emulator.count(Endpoint::Token), 1);
    let body: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(body["error"], "insufficient_claims");
    assert!(!a.body.contains(&token) && !a.head.contains(&token));
    assert_eq!(world.emulator.count(Endpoint::KeyVault), 0);

    // The client signs the user in again with MFA: the new token goes through.
    let with_mfa = world.emulator.mint_user_token(
        &UserToken::new(ALICE, API)
            .scopes(&["access_as_user"])
            .amr(&["pwd", "mfa"]),
    );
    assert_eq!(read_secret(addr, &with_mfa).await["value"], "s3cr3t-value");
}
