//! Two `entra-identity` processes on one Redis: one upstream request between them.
//! The processes are the real CLI; the emulator and Redis are this test's.

use base64::Engine as _;
use entra_emulator::{Emulator, Endpoint, Fault, Hold};
use entra_test_support::{RedisServer, command};
use std::process::{Child, Command, Output, Stdio};

const VAULT: &str = "https://vault.azure.net/.default";

fn token_process(emulator: &Emulator, redis: &RedisServer, key: &str) -> Child {
    let cleared = entra_identity_host::IDENTITY_ENV_VARS
        .iter()
        .chain(entra_identity_host::CACHE_ENV_VARS);
    command(env!("CARGO_BIN_EXE_entra-identity"), cleared)
        .env("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.base_url())
        .env("ENTRA_IDENTITY_CACHE_STORE", redis.url())
        .env("ENTRA_IDENTITY_CACHE_KEY", key)
        .args(["token", "--scope", VAULT])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the entra-identity binary runs")
}

async fn finish(child: Child) -> Output {
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

fn token_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .trim()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_host_processes_on_one_redis_make_one_request() {
    let emulator = Emulator::start(Default::default()).await.unwrap();
    let redis = RedisServer::start();
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).unwrap();
    let key = base64::engine::general_purpose::STANDARD.encode(bytes);
    // Whichever process asks first is held until both have been started.
    let hold = Hold::new();
    emulator.push_faults(Endpoint::Imds, [Fault::Hold(hold.clone())]);
    let first = token_process(&emulator, &redis, &key);
    let second = token_process(&emulator, &redis, &key);
    hold.arrived().await;
    hold.release();
    let (a, b) = (finish(first).await, finish(second).await);
    assert_eq!(token_of(&a), token_of(&b));
    assert_eq!(emulator.count(Endpoint::Imds), 1);
    // A third process, later, also finds it in Redis.
    let c = finish(token_process(&emulator, &redis, &key)).await;
    assert_eq!(token_of(&c), token_of(&a));
    assert_eq!(emulator.count(Endpoint::Imds), 1);
    for out in [&a, &b, &c] {
        assert!(!String::from_utf8_lossy(&out.stderr).contains(&key));
    }
}

#[test]
fn plaintext_with_a_disk_store_is_refused_with_what_to_fix() {
    let out = Command::new(env!("CARGO_BIN_EXE_entra-identity"))
        .env(
            "ENTRA_IDENTITY_CACHE_STORE",
            "disk:/tmp/entra-identity-refused.redb",
        )
        .env("ENTRA_IDENTITY_CACHE_PLAINTEXT", "true")
        .env_remove("ENTRA_IDENTITY_CACHE_KEY")
        .args(["token", "--emulator", "--scope", VAULT])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ENTRA_IDENTITY_CACHE_PLAINTEXT") && stderr.contains("memory store"),
        "{stderr}"
    );
}

#[test]
fn help_documents_the_cache_settings() {
    let out = Command::new(env!("CARGO_BIN_EXE_entra-identity"))
        .args(["token", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for var in entra_identity_host::CACHE_ENV_VARS {
        assert!(help.contains(var), "{var} missing from:\n{help}");
    }
    assert!(help.contains("--cache-store"), "{help}");
}
