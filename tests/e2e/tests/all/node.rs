//! The component from JavaScript: the bytes the host embeds, transpiled by jco and run
//! on Node with `examples/node`'s key-value store (a `Map`) and config (the environment).
//! The node side reports facts as JSON; they are judged here against the emulator's
//! recording.

use crate::support::*;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use entra_emulator::{Endpoint, Fault};
use entra_identity_core::shared_cache::StoredKind;
use entra_identity_host::{CACHE_ENV_VARS, COMPONENT_WASM, IDENTITY_ENV_VARS};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/node")
}

/// Node with this test's environment only: nothing inherited picks another identity
/// source or cache.
fn node(args: &[&Path]) -> std::process::Command {
    let mut cmd =
        entra_test_support::command("node", IDENTITY_ENV_VARS.iter().chain(CACHE_ENV_VARS));
    cmd.current_dir(example()).args(args);
    cmd
}

fn succeeded(what: &str, output: Output) -> Output {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The component as jco transpiles it, in `dir`.
fn transpile(dir: &Path) -> PathBuf {
    assert!(
        example().join("node_modules/.bin/jco").exists(),
        "examples/node/node_modules is missing: run scripts/test, or npm ci --prefix examples/node"
    );
    let wasm = dir.join("entra_identity.wasm");
    std::fs::write(&wasm, COMPONENT_WASM).unwrap();
    let generated = dir.join("generated");
    succeeded(
        "node transpile.js",
        node(&[Path::new("transpile.js"), &wasm, &generated])
            .output()
            .expect("node runs (Node.js 20 or later on PATH)"),
    );
    generated
}

/// The JWT's claims, unverified: the emulator minted it, only `exp` is read.
fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_gets_a_token_caches_it_encrypted_and_throws_typed_errors() {
    let world = World::start().await;
    let minted = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = minted.clone();
    world
        .emulator
        .on_token_minted(move |t| seen.lock().unwrap().push(t.access_token.to_string()));
    // The failing endpoint: IMDS refusing with a 400, which is not retried.
    world
        .emulator
        .set_persistent_fault(Endpoint::Imds, Some(Fault::Status(400)));
    let cache_key = STANDARD.encode(uuid::Uuid::new_v4().as_bytes().repeat(2));

    let dir = temp_dir();
    let generated = transpile(dir.path());
    let mut facts = node(&[Path::new("facts.js"), &generated]);
    facts
        .arg(world.emulator.base_url())
        .env("IDENTITY_ENDPOINT", world.emulator.app_service_endpoint())
        .env("IDENTITY_HEADER", world.emulator.identity_header())
        .env("ENTRA_IDENTITY_CACHE_KEY", &cache_key);
    let output = tokio::task::spawn_blocking(move || facts.output().expect("node runs"))
        .await
        .unwrap();
    let output = succeeded("node facts.js", output);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let facts: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("facts.js printed no JSON line ({e}):\n{stdout}\n{stderr}"));

    // One upstream request for the first token, none for the 1,000 calls after it or
    // for the second instance, which read it from the store.
    let tokens = minted.lock().unwrap().clone();
    assert_eq!(tokens.len(), 1, "{facts}");
    assert_eq!(world.emulator.count(Endpoint::AppService), 1);
    let token = &tokens[0];
    assert_eq!(facts["sameToken"], 1000);
    assert_eq!(facts["fromStore"], true);
    assert_eq!(facts["expiresOn"], claims(token)["exp"]);
    assert_eq!(facts["tokenType"], "Bearer");

    // The key came through wasi:config: the component's environment lacks it.
    assert!(
        facts["configAsked"]
            .as_array()
            .unwrap()
            .contains(&Value::from("entra_identity_cache_key")),
        "{facts}"
    );
    // The store holds only ciphertext, under the component's versioned prefix.
    let store = facts["store"].as_array().unwrap();
    assert!(!store.is_empty(), "the token was written to the store");
    let segments: Vec<&str> = token.split('.').collect();
    for entry in store {
        let key = entry["key"].as_str().unwrap();
        assert!(StoredKind::of_key(key).is_some(), "{key}");
        let value = STANDARD.decode(entry["value"].as_str().unwrap()).unwrap();
        let text = String::from_utf8_lossy(&value);
        for secret in segments.iter().chain([&token.as_str()]) {
            assert!(!text.contains(secret), "{key} holds the token in clear");
        }
    }
    assert!(
        store
            .iter()
            .any(|e| is_token_entry(e["key"].as_str().unwrap())),
        "a token entry: {store:?}"
    );

    // A refusal is jco's ComponentError carrying the WIT variant.
    let failure = &facts["failure"];
    assert_eq!(failure["thrown"], true, "{failure}");
    assert_eq!(failure["class"], "ComponentError");
    assert_eq!(failure["tag"], "authentication-failed", "{failure}");
    assert_eq!(failure["status"], 400);
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);

    for secret in [token.as_str(), &cache_key, world.emulator.identity_header()] {
        assert!(!stdout.contains(secret), "a secret on stdout");
        assert!(!stderr.contains(secret), "a secret on stderr");
    }
}

/// The store's and the config's own contract tests (`node --test`): CAS that really
/// compares, the WIT error variants, lower-case settings from upper-case variables.
#[test]
fn node_stores_pass_their_own_tests() {
    succeeded(
        "node --test",
        node(&[Path::new("--test")])
            .output()
            .expect("node runs (Node.js 20 or later on PATH)"),
    );
}
