//! The plugin host against the emulator: scope policy, the shared cache, outbound
//! policy, deadlines, memory and rate limits, and what reaches the operator's log.
//!
//! Plugins: the example guest (`examples/wasmtime-plugin/guest`: `plugin <url> <scope>`
//! gets a token, GETs the URL with it, prints `<status> <body>`), built for
//! wasm32-wasip2 as `examples/imports-check` builds it, and tiny components in WAT for
//! what no honest plugin does (loop forever, grow memory without end).

use entra_emulator::{Emulator, EmulatorConfig, Endpoint};
use entra_identity_host::plugin::{
    Plugin, PluginError, PluginHost, PluginPolicy, PluginRules, RunOutcome, TokenRate,
};
use entra_identity_host::{Identity, IdentityConfig, Resolver};
use entra_test_support::Logs;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

pub(super) const VAULT: &str = "https://vault.azure.net/.default";
const STORAGE: &str = "https://storage.azure.com/.default";
const SECRET: &str = "s3cret-value-for-the-plugin";

// ---------------------------------------------------------------------------------
// The operator's log.

/// Everything logged since the first plugin test started, by any test of this binary,
/// at debug level and up: the plugin host logs from the runtime's worker threads.
fn logs() -> String {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    // Debug and up from the host and what it runs; the compiler's own debug output
    // is noise, and the emulator (the token service itself) is not under test.
    let filter = "debug,entra_emulator=warn,cranelift_codegen=info,cranelift_frontend=info,\
                  regalloc2=info,wasmtime_cranelift=info,wasmtime_environ=info,wasmparser=info";
    LOGS.get_or_init(|| Logs::everywhere(filter)).text()
}

/// The log lines that mention `needle`.
fn log_lines(needle: &str) -> Vec<String> {
    logs()
        .lines()
        .filter(|l| l.contains(needle))
        .map(String::from)
        .collect()
}

// ---------------------------------------------------------------------------------
// Plugins.

fn guest_wasm() -> &'static [u8] {
    entra_test_support::plugin_guest_wasm()
}

/// A command component whose `run` never returns and calls nothing.
const LOOPS_FOREVER: &str = r#"
(component
  (core module $m
    (func (export "run") (result i32)
      (loop $forever (br $forever))
      (i32.const 0)))
  (core instance $i (instantiate $m))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $cli (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $cli)))
"#;

/// A command component that asks for 128 MiB and traps when refused.
const GREEDY: &str = r#"
(component
  (core module $m
    (memory 1)
    (func (export "run") (result i32)
      (if (i32.lt_s (memory.grow (i32.const 2048)) (i32.const 0))
        (then unreachable))
      (i32.const 0)))
  (core instance $i (instantiate $m))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $cli (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $cli)))
"#;

fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).expect("valid WAT")
}

// ---------------------------------------------------------------------------------
// The world: an emulator, one identity pointing at it, and a plugin host.

pub(super) struct World {
    pub(super) emulator: Emulator,
    pub(super) identity: Identity,
}

impl World {
    pub(super) async fn start() -> World {
        Self::start_with(EmulatorConfig::default()).await
    }

    pub(super) async fn start_with(config: EmulatorConfig) -> World {
        logs();
        let emulator = Emulator::start(config).await.expect("emulator starts");
        emulator.set_secret("report", SECRET);
        let mut config = IdentityConfig::default();
        config.env.insert(
            "AZURE_POD_IDENTITY_AUTHORITY_HOST".into(),
            emulator.base_url(),
        );
        let identity = Identity::new(config).expect("identity starts");
        World { emulator, identity }
    }

    pub(super) fn host(&self, policy: PluginPolicy) -> PluginHost {
        PluginHost::new(self.identity.clone(), policy).expect("plugin host starts")
    }

    /// The emulated Key Vault's URL of the secret `report`.
    pub(super) fn secret_url(&self) -> String {
        format!(
            "{}/secrets/report?api-version=7.4",
            self.emulator.key_vault_url()
        )
    }

    /// Rules that allow Key Vault tokens and requests to the emulator.
    pub(super) fn vault_reader(&self) -> PluginRules {
        PluginRules {
            scopes: vec![VAULT.into()],
            outbound: vec![self.emulator.key_vault_url()],
            ..Default::default()
        }
    }
}

pub(super) fn guest(host: &PluginHost, name: &str) -> Plugin {
    host.load(name, guest_wasm()).expect("the guest loads")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The guest exited 0 having printed the vault's secret.
pub(super) fn assert_read_the_secret(run: &RunOutcome) {
    assert!(
        run.success() && text(&run.stdout).contains(SECRET),
        "{}",
        show(run)
    );
}

/// A run's code and output, for assertion messages (`RunOutcome`'s `Debug` shows sizes only).
fn show(run: &RunOutcome) -> String {
    format!(
        "exit {}\nstdout: {}\nstderr: {}",
        run.code,
        text(&run.stdout),
        text(&run.stderr)
    )
}

// ---------------------------------------------------------------------------------

#[tokio::test]
async fn allowed_scope_gets_a_token_and_plugins_share_one_cache() {
    let world = World::start().await;
    let policy = PluginPolicy::default()
        .with_plugin("reader-a", world.vault_reader())
        .with_plugin("reader-b", world.vault_reader());
    let host = world.host(policy);

    let a = guest(&host, "reader-a")
        .run_captured(&[world.secret_url().as_str(), VAULT])
        .await
        .unwrap();
    // The vault checked the token's signature, audience and expiry before answering.
    assert!(a.success(), "{}", show(&a));
    assert!(text(&a.stdout).starts_with("200 "), "{}", show(&a));
    assert!(text(&a.stdout).contains(SECRET), "{}", show(&a));
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);
    assert_eq!(world.emulator.count(Endpoint::KeyVault), 1);

    // Another plugin, another store, same scope: answered from the shared cache.
    let b = guest(&host, "reader-b")
        .run_captured(&[world.secret_url().as_str(), VAULT])
        .await
        .unwrap();
    assert_read_the_secret(&b);
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);
    assert_eq!(world.emulator.count(Endpoint::KeyVault), 2);

    // The plugins' token is the identity's; it never reaches the log.
    let token = world
        .identity
        .get_token(&[VAULT])
        .await
        .unwrap()
        .into_secret();
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);
    assert!(
        log_lines("reader-a")
            .iter()
            .any(|l| l.contains("token handed to a plugin"))
    );
    assert!(!logs().contains(&token), "a token was logged");
    let signature = token.rsplit('.').next().unwrap();
    assert!(
        !logs().contains(signature),
        "a token's signature was logged"
    );
}

#[tokio::test]
async fn other_scope_is_denied_and_logged_for_the_operator() {
    let world = World::start().await;
    let host = world.host(PluginPolicy::default().with_plugin("nosy", world.vault_reader()));

    let run = guest(&host, "nosy")
        .run_captured(&[world.secret_url().as_str(), STORAGE])
        .await
        .unwrap();
    assert_eq!(run.code, 1, "{}", show(&run));
    let stderr = text(&run.stderr);
    assert!(stderr.contains("denied by the host"), "{stderr}");
    assert!(stderr.contains(STORAGE), "{stderr}");
    assert_eq!(world.emulator.count(Endpoint::Imds), 0);
    assert_eq!(world.emulator.count(Endpoint::KeyVault), 0);

    let lines = log_lines("plugin=nosy");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("WARN") && l.contains("denied") && l.contains(STORAGE)),
        "{lines:#?}"
    );

    // A plugin without a section gets nothing, not even its neighbour's scopes.
    let stranger = guest(&host, "stranger")
        .run_captured(&[world.secret_url().as_str(), VAULT])
        .await
        .unwrap();
    assert_eq!(stranger.code, 1);
    assert!(
        text(&stranger.stderr).contains("denied"),
        "{}",
        show(&stranger)
    );
    assert_eq!(world.emulator.count(Endpoint::Imds), 0);
}

#[tokio::test]
async fn outbound_request_to_a_host_not_in_the_policy_is_denied_before_connecting() {
    let world = World::start().await;
    // A listener that would see any connection attempt in its backlog.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let elsewhere = format!("http://{}/exfiltrate", listener.local_addr().unwrap());
    let host = world.host(PluginPolicy::default().with_plugin("leaky", world.vault_reader()));

    let run = guest(&host, "leaky")
        .run_captured(&[elsewhere.as_str(), VAULT])
        .await
        .unwrap();
    assert_eq!(run.code, 1, "{}", show(&run));
    assert!(
        text(&run.stderr).contains("HttpRequestDenied"),
        "{}",
        show(&run)
    );
    // It got its token (allowed), then its request went nowhere.
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the denied request reached the listener: {other:?}"),
    }
    let port = listener.local_addr().unwrap().port().to_string();
    let lines = log_lines("plugin=leaky");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("denied a plugin's outbound request") && l.contains(&port)),
        "{lines:#?}"
    );
}

/// A resolver that answers 127.0.0.1 for `vault.example`, as a hostile or careless DNS
/// record would, and counts its lookups.
fn vault_example_is_loopback(lookups: Arc<AtomicUsize>) -> Resolver {
    Resolver::new(move |host, port| {
        assert_eq!(host, "vault.example");
        lookups.fetch_add(1, Ordering::SeqCst);
        async move { Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))]) }
    })
}

/// Runs plugin `name`, allowed to reach the emulator's vault by the name
/// `vault.example` (which resolves to loopback) and the addresses `allow_addresses`;
/// returns its outcome and how many lookups the host made.
async fn run_against_vault_by_name(
    world: &World,
    name: &str,
    allow_addresses: Vec<String>,
) -> (RunOutcome, usize) {
    let port = world.emulator.addr().port();
    let rules = PluginRules {
        scopes: vec![VAULT.into()],
        outbound: vec![format!("http://vault.example:{port}")],
        allow_addresses,
        ..Default::default()
    };
    let lookups = Arc::new(AtomicUsize::new(0));
    let host = world
        .host(PluginPolicy::default().with_plugin(name, rules))
        .with_resolver(vault_example_is_loopback(lookups.clone()));
    let url = format!("http://vault.example:{port}/secrets/report?api-version=7.4");
    let run = guest(&host, name)
        .run_captured(&[url.as_str(), VAULT])
        .await
        .unwrap();
    (run, lookups.load(Ordering::SeqCst))
}

#[tokio::test]
async fn an_allowed_name_that_resolves_to_loopback_is_denied_before_any_byte() {
    let world = World::start().await;
    let (run, lookups) = run_against_vault_by_name(&world, "rebinder", vec![]).await;
    assert_eq!(run.code, 1, "{}", show(&run));
    assert!(
        text(&run.stderr).contains("DestinationIpProhibited"),
        "{}",
        show(&run)
    );
    assert_eq!(lookups, 1, "resolved once");
    // Its token came from the identity (allowed); its request reached nothing.
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);
    assert_eq!(world.emulator.count(Endpoint::KeyVault), 0);
    let lines = log_lines("plugin=rebinder");
    assert!(
        lines.iter().any(|l| l.contains("WARN")
            && l.contains("restricted addresses")
            && l.contains("vault.example")
            && l.contains("127.0.0.1 (loopback)")),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn a_name_resolving_to_an_explicitly_allowed_address_is_reached() {
    let world = World::start().await;
    let (run, lookups) =
        run_against_vault_by_name(&world, "local-vault", vec!["127.0.0.1/32".into()]).await;
    assert_read_the_secret(&run);
    assert_eq!(lookups, 1);
    assert_eq!(world.emulator.count(Endpoint::KeyVault), 1);
}

// Two workers: a looping plugin holds its thread between epoch ticks (100 ms), as a
// busy task would; the runtime's other threads keep serving everything else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_loops_forever_is_stopped_while_another_completes() {
    let world = World::start().await;
    let policy = PluginPolicy::default()
        .with_plugin(
            "spinner",
            PluginRules {
                deadline_ms: 5000,
                ..Default::default()
            },
        )
        .with_plugin("reader", world.vault_reader());
    let host = world.host(policy);
    let spinner = host.load("spinner", &wat(LOOPS_FOREVER)).unwrap();
    let reader = guest(&host, "reader");

    let spinning = tokio::spawn(async move { spinner.run_captured::<&str>(&[]).await });
    let done = reader
        .run_captured(&[world.secret_url().as_str(), VAULT])
        .await
        .unwrap();
    assert_read_the_secret(&done);
    assert!(
        !spinning.is_finished(),
        "the loop ended before the other plugin finished: {:?}",
        spinning.await
    );

    let stopped = spinning.await.unwrap().unwrap_err();
    assert!(
        matches!(&stopped, PluginError::Deadline { plugin, .. } if plugin == "spinner"),
        "{stopped:?}"
    );
    assert_eq!(
        stopped.to_string(),
        "plugin spinner ran past its deadline of 5000 ms and was stopped"
    );
}

#[tokio::test]
async fn memory_past_the_limit_is_reported_as_such() {
    let world = World::start().await;
    let host = world.host(PluginPolicy::default());
    let greedy = host.load("greedy", &wat(GREEDY)).unwrap();
    let error = greedy.run_captured::<&str>(&[]).await.unwrap_err();
    assert!(
        matches!(&error, PluginError::Memory { limit_mib: 64, .. }),
        "{error:?}"
    );
}

/// A revoked token: Key Vault answers with a claims challenge, the plugin passes the
/// claims through `entra:identity/tokens`, and the identity's answer replaces the
/// revoked token for every later caller, the host's fast path included.
#[tokio::test]
async fn a_plugin_answers_a_claims_challenge_through_its_host() {
    let world = World::start().await;
    let host = world.host(PluginPolicy::default().with_plugin("reader", world.vault_reader()));
    let args = [world.secret_url(), VAULT.to_string()];
    assert_read_the_secret(&guest(&host, "reader").run_captured(&args).await.unwrap());
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);

    world.emulator.revoke_issued_tokens();
    let run = guest(&host, "reader").run_captured(&args).await.unwrap();
    assert_read_the_secret(&run);
    assert!(
        text(&run.stderr).contains("asked for new claims"),
        "{}",
        show(&run)
    );
    assert_eq!(world.emulator.count(Endpoint::Imds), 2, "one new token");
    assert_eq!(
        world.emulator.count(Endpoint::KeyVault),
        3,
        "the refused call and one retry"
    );

    assert_read_the_secret(&guest(&host, "reader").run_captured(&args).await.unwrap());
    assert_eq!(world.emulator.count(Endpoint::Imds), 2);
    assert_eq!(world.emulator.count(Endpoint::KeyVault), 4);
}

#[tokio::test]
async fn token_requests_past_the_burst_are_rate_limited() {
    let world = World::start().await;
    let rules = PluginRules {
        // Two at once, then one per 1000 s: no refill during the test.
        token_rate: TokenRate {
            per_second: 0.001,
            burst: 2,
        },
        ..world.vault_reader()
    };
    let host = world.host(PluginPolicy::default().with_plugin("eager", rules));
    let eager = guest(&host, "eager");
    let args = [world.secret_url(), VAULT.to_string()];
    for _ in 0..2 {
        let run = eager.run_captured(&args).await.unwrap();
        assert!(run.success(), "{}", show(&run));
    }
    let limited = eager.run_captured(&args).await.unwrap();
    assert_eq!(limited.code, 1, "{}", show(&limited));
    let stderr = text(&limited.stderr);
    assert!(
        stderr.contains("throttled") && stderr.contains("retry after 1000 s"),
        "{stderr}"
    );
    assert!(stderr.contains("rate limit"), "{stderr}");

    // The bucket belongs to the plugin's name: loading it again does not refill it.
    let reloaded = guest(&host, "eager").run_captured(&args).await.unwrap();
    assert_eq!(reloaded.code, 1, "{}", show(&reloaded));
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);
}

#[tokio::test]
async fn the_plugin_sees_only_its_own_environment_and_arguments() {
    let world = World::start().await;
    // The guest reads PLUGIN_URL and PLUGIN_SCOPE when given no arguments.
    let rules = PluginRules {
        env: [
            ("PLUGIN_URL".to_string(), world.secret_url()),
            ("PLUGIN_SCOPE".to_string(), VAULT.to_string()),
        ]
        .into(),
        ..world.vault_reader()
    };
    let host = world.host(PluginPolicy::default().with_plugin("configured", rules));
    let run = guest(&host, "configured")
        .run_captured::<&str>(&[])
        .await
        .unwrap();
    assert_read_the_secret(&run);

    // Without them it has no URL: the identity's variables are not its.
    let bare = guest(&host, "bare")
        .run_captured::<&str>(&[])
        .await
        .unwrap();
    assert_eq!(bare.code, 1);
    assert!(text(&bare.stderr).contains("usage"), "{}", show(&bare));
}

#[tokio::test]
async fn a_policy_file_with_a_typo_names_the_field() {
    let dir = entra_test_support::temp_dir();
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, "[plugins.reporter]\nscope = [\"x\"]\n").unwrap();
    let error = PluginPolicy::from_file(&path).unwrap_err().to_string();
    assert!(error.contains("unknown field `scope`"), "{error}");
    assert!(error.contains("policy.toml"), "{error}");
}
