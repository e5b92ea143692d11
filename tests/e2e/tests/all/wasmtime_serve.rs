//! The stock `wasmtime serve` (wasmtime-cli 48.0.8, which has no `wasi:keyvalue`
//! draft2 and no `wasi:config` of our draft) running `wasi-http-token` composed with
//! `--standalone`, against the emulator over loopback. `scripts/test` builds the CLI
//! (tests/wasmtime-cli).

use crate::examples::example;
use crate::serve::{Answer, get};
use crate::support::*;
use entra_emulator::Endpoint;
use entra_identity_host::COMPONENT_WASM;
use entra_identity_host::serve::{STANDALONE_WASM, compose_standalone};
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WASMTIME_VERSION: &str = "48.0.8";

/// Guards against a wasmtime that never announces its address; not a timing assertion.
const START_LIMIT: Duration = Duration::from_secs(300);

/// `$WASMTIME`, else the build `scripts/test` makes (tests/wasmtime-cli), else
/// `wasmtime` on the `PATH`, else cargo's bin directory; exactly 48.0.8, or the test
/// fails saying how to get it.
fn wasmtime() -> PathBuf {
    let built = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/wasmtime-cli/debug/wasmtime");
    let candidates = std::env::var_os("WASMTIME")
        .map(PathBuf::from)
        .into_iter()
        .chain([built, PathBuf::from("wasmtime")])
        .chain(std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin/wasmtime")));
    let mut seen = Vec::new();
    for candidate in candidates {
        match Command::new(&candidate).arg("--version").output() {
            Ok(out) => {
                let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
                if version.split(' ').nth(1) == Some(WASMTIME_VERSION) {
                    return candidate;
                }
                seen.push(format!("{}: {version}", candidate.display()));
            }
            Err(e) => seen.push(format!("{}: {e}", candidate.display())),
        }
    }
    panic!(
        "these tests need wasmtime-cli {WASMTIME_VERSION}; run scripts/test, which builds \
         it from tests/wasmtime-cli (or set WASMTIME to its path). Found: {seen:?}"
    );
}

/// The example `app` composed for a host without wasi:keyvalue or wasi:config.
fn composed_app(dir: &std::path::Path, app: &str) -> PathBuf {
    let composed =
        compose_standalone(&example(app), COMPONENT_WASM, STANDALONE_WASM).expect("composes");
    let file = dir.join(format!("{app}.standalone.wasm"));
    std::fs::write(&file, composed).unwrap();
    file
}

/// A running `wasmtime serve`, killed when dropped; everything it wrote is kept.
pub(crate) struct Wasmtime {
    child: Child,
    addr: SocketAddr,
    output: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    _dir: entra_test_support::TempDir,
}

impl Wasmtime {
    /// Serves the composed app with `env` in wasmtime's own environment, passed on by
    /// name (`--env NAME`) so that no value, secret or not, is on its command line.
    fn start(env: &[(&str, String)], extra: &[&str]) -> Wasmtime {
        Wasmtime::start_app("wasi-http-token", env, extra)
    }

    fn start_app(app: &str, env: &[(&str, String)], extra: &[&str]) -> Wasmtime {
        let dir = temp_dir();
        let app = composed_app(dir.path(), app);
        Wasmtime::start_file(dir, &app, env, extra)
    }

    /// Serves `composed`, a component made for it already.
    pub(crate) fn start_composed(composed: &[u8], env: &[(&str, String)]) -> Wasmtime {
        let dir = temp_dir();
        let app = dir.path().join("composed.wasm");
        std::fs::write(&app, composed).unwrap();
        Wasmtime::start_file(dir, &app, env, &[])
    }

    fn start_file(
        dir: entra_test_support::TempDir,
        app: &std::path::Path,
        env: &[(&str, String)],
        extra: &[&str],
    ) -> Wasmtime {
        let mut command = Command::new(wasmtime());
        command
            .args(["serve", "-Scli", "--addr", "127.0.0.1:0"])
            .args(extra)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.arg("--env").arg(name).env(name, value);
        }
        let mut child = command.arg(app).spawn().expect("wasmtime starts");
        let output = Arc::new(Mutex::new(String::new()));
        let (announced, address) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let stderr_reader = std::thread::spawn({
            let output = output.clone();
            move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(addr) = line
                        .strip_prefix("Serving HTTP on http://")
                        .and_then(|rest| rest.trim_end_matches('/').parse::<SocketAddr>().ok())
                    {
                        let _ = announced.send(addr);
                    }
                    let mut all = output.lock().unwrap();
                    all.push_str(&line);
                    all.push('\n');
                }
            }
        });
        let mut stdout = child.stdout.take().unwrap();
        let stdout_reader = std::thread::spawn({
            let output = output.clone();
            move || {
                let mut text = String::new();
                let _ = stdout.read_to_string(&mut text);
                output.lock().unwrap().push_str(&text);
            }
        });
        // The announcement comes once the listener is bound: no port polling needed.
        let addr = address.recv_timeout(START_LIMIT).unwrap_or_else(|_| {
            let _ = child.kill();
            let _ = child.wait();
            panic!("wasmtime serve did not start:\n{}", output.lock().unwrap());
        });
        Wasmtime {
            child,
            addr,
            output,
            readers: vec![stderr_reader, stdout_reader],
            _dir: dir,
        }
    }

    /// The address it serves on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.get_with(path, None).await
    }

    /// GET `path`, with `bearer` as the caller's token.
    pub(crate) async fn get_with(&self, path: &str, bearer: Option<&str>) -> Answer {
        tokio::time::timeout(START_LIMIT, get(self.addr, path, bearer))
            .await
            .unwrap_or_else(|_| panic!("no answer to {path}:\n{}", self.output()))
    }

    /// What wasmtime and the component wrote so far, on stdout and stderr.
    pub(crate) fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Stops wasmtime and waits for it, so that its output is complete.
    pub(crate) fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The readers end at EOF, when the child's pipes close.
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        self.output()
    }
}

impl Drop for Wasmtime {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn imds(world: &World) -> Vec<(&'static str, String)> {
    vec![(
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
        world.emulator.base_url(),
    )]
}

fn assert_token_answer(a: &Answer, output: &str) {
    assert_eq!(a.status, 200, "{} {}\nwasmtime:\n{output}", a.head, a.body);
    let body: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(body["scope"], VAULT);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_on"].as_u64().unwrap() > 0, "{}", a.body);
    assert!(!a.body.contains("eyJ"), "the token itself is never shown");
}

#[tokio::test(flavor = "multi_thread")]
async fn wasmtime_serve_answers_with_a_token_from_imds() {
    let world = World::start().await;
    let served = Wasmtime::start(&imds(&world), &[]);
    let a = served.get("/token").await;
    assert_token_answer(&a, &served.output());

    assert_eq!(world.emulator.count(Endpoint::Imds), 1);
    let sent = &world.emulator.requests(Endpoint::Imds)[0];
    assert_eq!(sent.path, "/metadata/identity/oauth2/token");
    assert_eq!(sent.header("metadata"), Some("true"));
    assert_eq!(
        sent.query_param("resource"),
        Some("https://vault.azure.net")
    );
}

/// wasmtime serve's p2 default is one instance per request, and the adapter's store
/// lives in the instance: every request fetches its own token, even with the shared
/// cache switched on (which here exercises the adapter's store and CAS for real).
#[tokio::test(flavor = "multi_thread")]
async fn every_fresh_instance_fetches_its_own_token() {
    let world = World::start().await;
    let mut env = imds(&world);
    env.push(("ENTRA_IDENTITY_CACHE_PLAINTEXT", "true".into()));
    let served = Wasmtime::start(&env, &[]);
    for _ in 0..3 {
        let a = served.get("/token").await;
        assert_token_answer(&a, &served.output());
    }
    let output = served.stop();
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        3,
        "three instances, three stores, three tokens\n{output}"
    );
    assert!(
        !output.contains("shared token cache is off"),
        "the adapter's store opened: {output}"
    );
}

/// The instances that said the shared cache is off, as wasmtime numbers them in the
/// prefix of their stderr lines: the identity component says it once per instance.
fn instances(output: &str) -> std::collections::BTreeSet<u64> {
    (output.lines())
        .filter(|line| line.contains("shared token cache is off"))
        .filter_map(|line| {
            line.strip_prefix("stderr [")?
                .split_once(']')?
                .0
                .parse()
                .ok()
        })
        .collect()
}

/// With instance reuse the identity component's in-instance caches answer again: each
/// instance fetches one token however many requests it serves. (A request that arrives
/// while the previous one is still winding down can get a new instance; the count of
/// instances is read from wasmtime's output rather than assumed.)
#[tokio::test(flavor = "multi_thread")]
async fn a_reused_instance_answers_from_its_cache() {
    const REQUESTS: usize = 5;
    let world = World::start().await;
    let served = Wasmtime::start(
        &imds(&world),
        &[
            "--max-instance-reuse-count",
            "100",
            // Long enough that an idle instance is still there for the next request.
            "--idle-instance-timeout",
            "600s",
        ],
    );
    for _ in 0..REQUESTS {
        let a = served.get("/token").await;
        assert_token_answer(&a, &served.output());
    }
    let output = served.stop();
    let instances = instances(&output);
    eprintln!("{REQUESTS} requests served by wasmtime instances {instances:?}");
    assert!(
        !instances.is_empty() && instances.len() < REQUESTS,
        "instances were reused: {instances:?}\n{output}"
    );
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        instances.len(),
        "one token per instance, not per request\n{output}"
    );
}

/// An app's own `wasi:config` import is the adapter's too: spin-call-azure's
/// `vault_url` variable comes from `VAULT_URL` (a WASIp3 handler, which wasmtime serve
/// runs as such).
#[tokio::test(flavor = "multi_thread")]
async fn a_spin_app_reads_its_variable_from_the_environment() {
    let world = World::start().await;
    world.emulator.set_secret("db-password", "s3cr3t-value");
    let mut env = imds(&world);
    env.push(("VAULT_URL", world.emulator.key_vault_url()));
    let served = Wasmtime::start_app("spin-call-azure", &env, &[]);
    let a = served.get("/secrets/db-password").await;
    assert_eq!(a.status, 200, "{} {}\n{}", a.head, a.body, served.output());
    assert_eq!(a.body, "s3cr3t-value");
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);
    let sent = world.emulator.requests(Endpoint::KeyVault);
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0]
            .header("authorization")
            .is_some_and(|h| h.starts_with("Bearer ")),
        "the vault got the identity component's token"
    );
}

/// The App Service header reaches the endpoint and nothing else: not the answer, not
/// what wasmtime or the component print, even when the endpoint fails.
#[tokio::test(flavor = "multi_thread")]
async fn the_identity_header_stays_out_of_wasmtimes_output() {
    let world = World::start().await;
    let header = world.emulator.identity_header().to_string();
    let served = Wasmtime::start(
        &[
            ("IDENTITY_ENDPOINT", world.emulator.app_service_endpoint()),
            ("IDENTITY_HEADER", header.clone()),
        ],
        &[],
    );
    let ok = served.get("/token").await;
    assert_token_answer(&ok, &served.output());
    let sent = &world.emulator.requests(Endpoint::AppService)[0];
    assert_eq!(sent.header("x-identity-header"), Some(header.as_str()));

    world.emulator.push_faults(
        Endpoint::AppService,
        (0..10).map(|_| entra_emulator::Fault::Status(400)),
    );
    let failed = served.get("/token").await;
    assert_eq!(failed.status, 502, "{}", failed.body);
    let output = served.stop();
    for text in [&ok.body, &failed.body, &output] {
        assert!(!text.contains(&header), "IDENTITY_HEADER leaked: {text}");
        assert!(!text.contains("eyJ"), "a token leaked: {text}");
    }
}
