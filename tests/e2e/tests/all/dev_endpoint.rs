//! The developer's sign-in on a laptop: stand-in `az`/`azd` executables (the real
//! tools' output), the host's developer endpoint, and the identity component on its
//! unchanged App Service managed-identity path.

use crate::examples::example;
use crate::serve::get;
use crate::support::*;
use entra_emulator::Endpoint;
use entra_identity_host::dev_tools::{DevEndpoint, DevToolsOptions};
use entra_identity_host::serve::{ServeOptions, serve};
use entra_identity_host::{CredentialKind, Identity};
use entra_test_support::dev_tools::StandIns;
use std::time::{SystemTime, UNIX_EPOCH};

const VAULT: &str = "https://vault.azure.net";

fn in_an_hour() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spin_app_reads_key_vault_with_the_developers_az_token_through_the_dev_endpoint() {
    let world = World::start().await;
    world.emulator.set_secret("db-password", "s3cr3t-value");
    // What `az login` would give the developer: a token Key Vault accepts.
    let developer_token = world.emulator.mint_api_token(VAULT, &[]);
    let tools = StandIns::new();
    tools.az_signed_in(&developer_token, in_an_hour());
    let endpoint = DevEndpoint::start(DevToolsOptions::default().path(tools.path()), 0).unwrap();

    // The production configuration of App Service, pointed at the developer endpoint.
    let config = world.config(Source::AppService).with_env(
        endpoint
            .env()
            .map(|(name, value)| (name.to_string(), value))
            .into(),
    );
    let mut options = ServeOptions::new(
        example("spin-call-azure"),
        "127.0.0.1:0".parse().unwrap(),
        config,
    );
    options.variables = [("vault_url".to_string(), world.emulator.key_vault_url())].into();
    options.allowed_outbound = vec![world.emulator.key_vault_url()];
    let server = serve(options).await.unwrap();
    for _ in 0..5 {
        let answer = get(server.local_addr(), "/secrets/db-password", None).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, "s3cr3t-value"),
            "{}",
            answer.head
        );
    }
    let sent = world.emulator.requests(Endpoint::KeyVault);
    assert!(
        sent.iter()
            .all(|r| r.header("authorization") == Some(&format!("Bearer {developer_token}")))
    );
    assert_eq!(
        world.emulator.count(Endpoint::AppService),
        0,
        "the emulator's managed identity was not asked"
    );
    assert_eq!(
        tools.calls().len(),
        1,
        "one az run for every request: {:?}",
        tools.calls()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn azure_token_credentials_dev_makes_the_default_chain_use_the_developers_tools() {
    let world = World::start().await;
    let tools = StandIns::new();
    tools.az_signed_out();
    tools.azd_signed_in("azd-token-for-the-developer", in_an_hour());
    let config = |selection: &str| {
        let mut config = world
            .config(Source::Imds)
            .with_credential(CredentialKind::DefaultChain)
            .with_developer_tools(DevToolsOptions::default().path(tools.path()));
        config
            .env
            .insert("AZURE_TOKEN_CREDENTIALS".into(), selection.into());
        // A deployed service's variables are set aside for the developer's sign-in.
        config.env.insert(
            "AZURE_CLIENT_ID".into(),
            "00000000-0000-0000-0000-00000000c1d0".into(),
        );
        config
    };

    let dev = Identity::new(config("dev")).unwrap();
    let token = dev.get_token(&[format!("{VAULT}/.default")]).await.unwrap();
    assert_eq!(token.secret(), "azd-token-for-the-developer");
    assert_eq!(world.emulator.count(Endpoint::Imds), 0);

    // One tool by its Azure SDK name: only it is asked, and its advice is the answer.
    let cli_only = Identity::new(config("AzureCliCredential")).unwrap();
    let e = cli_only
        .get_token(&[format!("{VAULT}/.default")])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("run `az login`"), "{e}");
    assert!(!e.to_string().contains("azd"), "{e}");
}
