//! Tokens the plugin host attaches to a plugin's own requests (`attach_tokens`): a
//! plugin with no identity code (`plugin-plain <url>`, no `entra:identity` import)
//! reads the vault, and the token goes nowhere a rule does not name.

use super::plugin::{VAULT, World, assert_read_the_secret};
use entra_emulator::Endpoint;
use entra_identity_host::plugin::PluginHost;
use entra_identity_host::plugin::{PluginPolicy, PluginRules, RunOutcome};

fn plain(host: &PluginHost) -> entra_identity_host::plugin::Plugin {
    host.load(
        "plain",
        entra_test_support::guest::plain_plugin_guest_wasm(),
    )
    .expect("the plain guest loads")
}

impl World {
    /// The emulated vault is plain HTTP on loopback, which no built-in rule names:
    /// the rule a test deployment writes for it.
    fn vault_rule(&self) -> String {
        let url = self.emulator.key_vault_url();
        format!("{url}={VAULT}")
    }

    fn attaching(&self, rules: Vec<String>) -> PluginRules {
        PluginRules {
            attach_tokens: true,
            attach_rules: rules,
            ..self.vault_reader()
        }
    }
}

fn stdout(run: &RunOutcome) -> String {
    String::from_utf8_lossy(&run.stdout).into_owned()
}

fn stderr(run: &RunOutcome) -> String {
    String::from_utf8_lossy(&run.stderr).into_owned()
}

#[tokio::test]
async fn a_plugin_without_an_identity_import_reads_the_vault_with_an_attached_token() {
    let wasm = entra_test_support::guest::plain_plugin_guest_wasm();
    let imports = examples_imports_check::interfaces(wasm).unwrap().imports;
    assert!(
        !imports.iter().any(|i| i.starts_with("entra:identity/")),
        "{imports:?}"
    );

    let world = World::start().await;
    let args = [world.secret_url()];
    // Without the policy option the same plugin is refused: it sends no token itself.
    let host = world.host(PluginPolicy::default().with_plugin("plain", world.vault_reader()));
    let run = plain(&host).run_captured(&args).await.unwrap();
    assert!(
        !run.success() && stdout(&run).starts_with("401"),
        "{}",
        stdout(&run)
    );

    let policy = world.attaching(vec![world.vault_rule()]);
    let host = world.host(PluginPolicy::default().with_plugin("plain", policy));
    assert_read_the_secret(&plain(&host).run_captured(&args).await.unwrap());
    assert_read_the_secret(&plain(&host).run_captured(&args).await.unwrap());
    assert_eq!(world.emulator.count(Endpoint::Imds), 1, "one token, cached");
    let sent = world.emulator.requests(Endpoint::KeyVault);
    let authorization = |i: usize| {
        sent[i]
            .headers
            .iter()
            .find(|(name, _)| name == "authorization")
            .map(|(_, value)| value.clone())
    };
    assert_eq!(authorization(0), None, "the run without attach_tokens");
    assert!(authorization(1).is_some_and(|v| v.starts_with("Bearer ")));
}

#[tokio::test]
async fn only_destinations_a_rule_names_get_a_token() {
    let world = World::start().await;
    // The vault is in the plugin's outbound list, but no rule names it: Azure's
    // built-in rules are HTTPS on 443 to Azure's hosts only.
    let host = world.host(PluginPolicy::default().with_plugin("plain", world.attaching(vec![])));
    let run = plain(&host)
        .run_captured(&[world.secret_url()])
        .await
        .unwrap();
    assert!(stdout(&run).starts_with("401"), "{}", stdout(&run));
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        0,
        "no token was even fetched"
    );
    let sent = world.emulator.requests(Endpoint::KeyVault);
    assert!(
        sent[0]
            .headers
            .iter()
            .all(|(name, _)| name != "authorization")
    );
}

#[tokio::test]
async fn an_attached_token_still_needs_its_scope_in_the_policy() {
    let world = World::start().await;
    let policy = PluginRules {
        scopes: vec!["https://storage.azure.com/.default".into()],
        ..world.attaching(vec![world.vault_rule()])
    };
    let host = world.host(PluginPolicy::default().with_plugin("plain", policy));
    let run = plain(&host)
        .run_captured(&[world.secret_url()])
        .await
        .unwrap();
    assert!(!run.success());
    let err = stderr(&run);
    assert!(
        err.contains("no token attached") && err.contains(VAULT) && err.contains("not allowed"),
        "{err}"
    );
    assert_eq!(
        world.emulator.count(Endpoint::KeyVault),
        0,
        "nothing sent without its token"
    );
    assert_eq!(world.emulator.count(Endpoint::Imds), 0);
}

#[tokio::test]
async fn the_host_answers_a_claims_challenge_for_the_plugin_once() {
    let world = World::start().await;
    let policy = world.attaching(vec![world.vault_rule()]);
    let host = world.host(PluginPolicy::default().with_plugin("plain", policy));
    let args = [world.secret_url()];
    assert_read_the_secret(&plain(&host).run_captured(&args).await.unwrap());

    world.emulator.revoke_issued_tokens();
    assert_read_the_secret(&plain(&host).run_captured(&args).await.unwrap());
    assert_eq!(world.emulator.count(Endpoint::Imds), 2, "one new token");
    assert_eq!(
        world.emulator.count(Endpoint::KeyVault),
        3,
        "the refused call and one retry"
    );
    let sent = world.emulator.requests(Endpoint::KeyVault);
    let bearer = |i: usize| {
        sent[i]
            .headers
            .iter()
            .find(|(n, _)| n == "authorization")
            .cloned()
    };
    assert_ne!(bearer(1), bearer(2), "the retry carries the new token");
}

#[test]
fn a_rule_without_attach_tokens_is_a_policy_error() {
    let err = PluginPolicy::from_toml(
        r#"
        [plugins.p]
        attach_rules = ["api.contoso.com=api://contoso/.default"]
        "#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("plugins.p.attach_rules") && err.contains("attach_tokens = true"),
        "{err}"
    );
    let err = PluginPolicy::from_toml(
        r#"
        [plugins.p]
        attach_tokens = true
        attach_rules = ["http://api.contoso.com=api://contoso/.default"]
        "#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("plugins.p.attach_rules") && err.contains("loopback"),
        "{err}"
    );
}
