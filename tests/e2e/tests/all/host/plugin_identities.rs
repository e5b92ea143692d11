//! An identity per plugin: a policy's `[identities.<name>]` answers the plugins that
//! name it, and no other plugin can obtain its tokens.

use super::plugin::{VAULT, World, assert_read_the_secret, guest};
use crate::support::vault_oids;
use entra_emulator::{Emulator, EmulatorConfig, Endpoint};
use entra_identity_host::plugin::{PluginHost, PluginPolicy, PluginRules};

/// The `client_id` every IMDS request since `from` named (`None`: system-assigned).
fn imds_client_ids(emulator: &Emulator, from: usize) -> Vec<Option<String>> {
    emulator.requests(Endpoint::Imds)[from..]
        .iter()
        .map(|r| r.query_param("client_id").map(String::from))
        .collect()
}

#[tokio::test]
async fn each_plugin_is_answered_by_the_identity_its_policy_names_and_no_other() {
    // Two user-assigned identities: the emulator's own and another.
    let mut config = EmulatorConfig::default();
    let mut second = config.user_assigned[0].clone();
    second.client_id = "7e57e000-0000-4000-8000-00000000a0b2".into();
    second.object_id = "7e57e000-0000-4000-8000-00000000b0b2".into();
    second.resource_id.push_str("-beta");
    config.user_assigned.push(second);
    let world = World::start_with(config).await;
    let users = world.emulator.user_assigned();
    assert_eq!(users.len(), 2);
    let (alpha, beta) = (users[0].clone(), users[1].clone());
    let system = world.emulator.system_assigned().clone();
    assert!(alpha.object_id != beta.object_id && alpha.object_id != system.object_id);

    let policy = PluginPolicy::from_toml(&format!(
        r#"
        [identities.alpha]
        kind = "managed-identity"
        client_id = "{}"

        [identities.beta]
        kind = "managed-identity"
        client_id = "{}"
        "#,
        alpha.client_id, beta.client_id
    ))
    .unwrap();
    let named = |identity: &str| PluginRules {
        identity: Some(identity.into()),
        ..world.vault_reader()
    };
    let policy = policy
        .with_plugin("plugin-a", named("alpha"))
        .with_plugin("plugin-b", named("beta"))
        .with_plugin("plugin-host", world.vault_reader());
    let host = world.host(policy);
    let url = world.secret_url();
    let run = |name: &'static str| {
        let plugin = guest(&host, name);
        let url = url.clone();
        async move {
            let run = plugin.run_captured(&[url.as_str(), VAULT]).await.unwrap();
            assert_read_the_secret(&run);
        }
    };

    // A: alpha's token, fetched naming only alpha.
    run("plugin-a").await;
    assert_eq!(
        imds_client_ids(&world.emulator, 0),
        [Some(alpha.client_id.clone())]
    );
    assert_eq!(vault_oids(&world.emulator, 0), [alpha.object_id.as_str()]);

    // B, same scope: not A's cached token; beta's, fetched naming only beta.
    run("plugin-b").await;
    assert_eq!(
        imds_client_ids(&world.emulator, 1),
        [Some(beta.client_id.clone())]
    );
    assert_eq!(vault_oids(&world.emulator, 1), [beta.object_id.as_str()]);

    // Each again, alternating: from each identity's own cache, each its own oid.
    for name in ["plugin-a", "plugin-b", "plugin-a"] {
        run(name).await;
    }
    assert_eq!(world.emulator.count(Endpoint::Imds), 2, "both were cached");
    assert_eq!(
        vault_oids(&world.emulator, 2),
        [
            alpha.object_id.clone(),
            beta.object_id.clone(),
            alpha.object_id.clone()
        ]
    );

    // A plugin naming no identity gets the host's (system-assigned), not alpha's or beta's.
    run("plugin-host").await;
    assert_eq!(imds_client_ids(&world.emulator, 2), [None]);
    assert_eq!(vault_oids(&world.emulator, 5), [system.object_id.as_str()]);

    // The host's handles say the same, and several loads share one identity per name.
    let token_of = |name: &'static str| {
        let identity = host.identity_of(name).clone();
        async move {
            let token = identity.get_token(&[VAULT]).await.unwrap();
            crate::support::jwt_claims(token.secret())["oid"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    assert_eq!(token_of("plugin-a").await, alpha.object_id);
    assert_eq!(token_of("plugin-b").await, beta.object_id);
    assert_eq!(token_of("plugin-host").await, system.object_id);
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        3,
        "all from the caches"
    );

    // Every IMDS request named exactly one identity, and only the one its plugin was given.
    let ids = imds_client_ids(&world.emulator, 0);
    assert_eq!(
        ids,
        [
            Some(alpha.client_id.clone()),
            Some(beta.client_id.clone()),
            None
        ]
    );
}

#[tokio::test]
async fn a_named_identity_whose_secret_is_missing_stops_the_host_naming_the_field() {
    let world = World::start().await;
    let policy = PluginPolicy::from_toml(
        r#"
        [identities.billing]
        kind = "client-secret"
        tenant_id = "t"
        client_id = "c"
        client_secret_env = "ENTRA_E2E_SURELY_UNSET_SECRET_VARIABLE"

        [plugins.bill]
        identity = "billing"
        "#,
    )
    .unwrap();
    let why = PluginHost::new(world.identity.clone(), policy)
        .unwrap_err()
        .to_string();
    assert!(
        why.contains("identities.billing.client_secret_env"),
        "{why}"
    );
    assert!(
        why.contains("ENTRA_E2E_SURELY_UNSET_SECRET_VARIABLE"),
        "{why}"
    );
}
