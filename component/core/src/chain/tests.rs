use super::*;
use crate::cache::MemoryStore;
use crate::credential::SharedStore;
use crate::platform::TransportError;
use crate::testing::*;
use std::cell::RefCell;
use std::rc::Rc;

/// A chain whose members all share one fake transport, clock and file system.
fn chain(vars: &[(&str, &str)]) -> (Result<ChainedCredential, Error>, FakeTransport, FakeTime) {
    chain_with(ChainOptions::default(), vars)
}

fn chain_with(
    options: ChainOptions,
    vars: &[(&str, &str)],
) -> (Result<ChainedCredential, Error>, FakeTransport, FakeTime) {
    let time = FakeTime::at(T0);
    let transport = FakeTransport::new(&time);
    let store: SharedStore = Rc::new(RefCell::new(MemoryStore::default()));
    let (t, tm) = (transport.clone(), time.clone());
    let make = move |flow: Box<dyn Flow>| {
        Credential::new(
            flow,
            Box::new(t.clone()),
            Box::new(crate::testing::FakePlatform::new(&tm)),
            Rc::clone(&store),
        )
    };
    (default_chain(options, &env(vars), &make), transport, time)
}

fn get(c: &ChainedCredential) -> Result<AccessToken, Error> {
    c.get_token(&TokenRequest::new(&["https://vault.azure.net/.default"]))
}

fn entra_ok() -> Result<crate::http::Response, TransportError> {
    json(200, r#"{"access_token":"entra","expires_in":3600}"#)
}

#[test]
fn without_configuration_it_falls_through_to_managed_identity_after_a_probe() {
    let (c, transport, _) = chain(&[]);
    let c = c.unwrap();
    transport
        .then(json(400, "no Metadata header"))
        .then(token_body("vm", T0, 86_400));
    assert_eq!(get(&c).unwrap().secret(), "vm");
    let sent = transport.sent.borrow().clone();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].header_value("Metadata"), None);
    assert!(c.describe().contains("in use: managed identity via IMDS"));
}

#[test]
fn nothing_available_is_one_unavailable_error_naming_every_member() {
    let (c, transport, time) = chain(&[]);
    transport.then(Err(TransportError::Timeout));
    match get(&c.unwrap()) {
        Err(Error::Unavailable(m)) => {
            for name in MEMBERS {
                assert!(m.contains(name), "{m}");
            }
            assert!(
                m.contains("AZURE_CLIENT_SECRET") && m.contains("AZURE_FEDERATED_TOKEN_FILE"),
                "{m}"
            );
            assert!(m.contains("1000 ms"), "{m}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(transport.count(), 1);
    assert_eq!(time.elapsed(), managed_identity::PROBE_TIMEOUT);
}

#[test]
fn the_environment_wins_and_stays_chosen() {
    let (c, transport, _) = chain(&[
        ("AZURE_CLIENT_ID", "app"),
        ("AZURE_TENANT_ID", "tenant"),
        ("AZURE_CLIENT_SECRET", "s3cr3t-value-123"),
    ]);
    let c = c.unwrap();
    transport.then(entra_ok());
    get(&c).unwrap();
    assert!(
        transport
            .last()
            .url
            .starts_with("https://login.microsoftonline.com/tenant/")
    );
    transport.then(entra_ok());
    c.get_token(&TokenRequest::new(&["https://storage.azure.com/.default"]))
        .unwrap();
    assert_eq!(transport.count(), 2);
    assert!(
        transport
            .sent
            .borrow()
            .iter()
            .all(|r| r.url.contains("login.microsoftonline.com"))
    );
}

#[test]
fn the_chains_client_capabilities_reach_the_environment_credential() {
    let options = ChainOptions {
        managed_identity: ManagedIdentityOptions::default().client_capabilities(&["cp1"]),
    };
    let (c, transport, _) = chain_with(
        options,
        &[
            ("AZURE_CLIENT_ID", "app"),
            ("AZURE_TENANT_ID", "tenant"),
            ("AZURE_CLIENT_SECRET", "s3cr3t-value-123"),
        ],
    );
    transport.then(entra_ok());
    get(&c.unwrap()).unwrap();
    let claims = form(&transport.last().body)
        .into_iter()
        .find_map(|(k, v)| (k == "claims").then_some(v));
    assert_eq!(
        claims.as_deref(),
        Some(r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#)
    );
}

#[test]
fn authentication_failures_stop_the_chain() {
    let (c, transport, _) = chain(&[
        ("AZURE_CLIENT_ID", "app"),
        ("AZURE_TENANT_ID", "tenant"),
        ("AZURE_CLIENT_SECRET", "s3cr3t-value-123"),
    ]);
    transport.then(json(
        401,
        r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret."}"#,
    ));
    match get(&c.unwrap()) {
        Err(Error::AuthenticationFailed(s)) => assert_eq!(s.code, "AADSTS7000215"),
        other => panic!("{other:?}"),
    }
    assert_eq!(transport.count(), 1, "managed identity was not tried");
}

#[test]
fn workload_identity_comes_before_managed_identity() {
    let (c, transport, time) = chain(&[
        ("AZURE_CLIENT_ID", "wi"),
        ("AZURE_TENANT_ID", "tenant"),
        ("AZURE_FEDERATED_TOKEN_FILE", "/t/token"),
    ]);
    time.files.write("/t/token", "sa.jwt.sig");
    transport.then(entra_ok());
    assert_eq!(get(&c.unwrap()).unwrap().secret(), "entra");
    assert_eq!(form(&transport.last().body)[0].1, "sa.jwt.sig");
}

#[test]
fn azure_token_credentials_selects_members() {
    assert_eq!(selection(None).unwrap().len(), 3);
    assert_eq!(selection(Some(" Prod ")).unwrap().len(), 3);
    assert_eq!(
        selection(Some(" managedidentitycredential")).unwrap(),
        ["ManagedIdentityCredential"]
    );
    for bad in ["dev", "AzureCliCredential", "prod,dev"] {
        match selection(Some(bad)) {
            Err(Error::InvalidInput(m)) => {
                assert!(
                    m.contains("\"prod\"") && m.contains("WorkloadIdentityCredential"),
                    "{m}"
                )
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert!(chain(&[("AZURE_TOKEN_CREDENTIALS", "bogus")]).0.is_err());

    // Managed identity chosen alone: no probe, and it uses AZURE_CLIENT_ID as a UAMI.
    let (c, transport, _) = chain(&[
        ("AZURE_TOKEN_CREDENTIALS", "ManagedIdentityCredential"),
        ("AZURE_CLIENT_ID", "uami"),
    ]);
    transport.then(token_body("vm", T0, 86_400));
    get(&c.unwrap()).unwrap();
    assert_eq!(transport.count(), 1);
    assert_eq!(
        query(&transport.last().url)[2],
        ("client_id".into(), "uami".into())
    );
}

/// A DNS or connect failure of a configured member is that member failing, not the
/// member being absent: moving on would make managed identity answer (and stay
/// chosen for the instance's life) for an app configured to be someone else.
#[test]
fn a_configured_member_that_cannot_connect_stops_the_chain() {
    for vars in [
        &[
            ("AZURE_CLIENT_ID", "app"),
            ("AZURE_TENANT_ID", "tenant"),
            ("AZURE_CLIENT_SECRET", "s3cr3t-value-123"),
        ][..],
        &[
            ("AZURE_CLIENT_ID", "wi"),
            ("AZURE_TENANT_ID", "tenant"),
            ("AZURE_FEDERATED_TOKEN_FILE", "/t/token"),
        ][..],
    ] {
        let (c, transport, time) = chain(vars);
        time.files.write("/t/token", "sa.jwt.sig");
        let c = c.unwrap();
        transport.then(Err(TransportError::Connect("dns: no such host".into())));
        let err = get(&c).unwrap_err();
        assert!(
            err.to_string().contains("login.microsoftonline.com"),
            "{err}"
        );
        assert!(
            !err.to_string().contains("ManagedIdentityCredential"),
            "{err}"
        );
        assert_eq!(
            transport.count(),
            1,
            "managed identity was not tried: {err}"
        );
        assert!(!c.describe().contains("in use"), "{}", c.describe());
        // Once the network is back, the configured member answers.
        transport.then(entra_ok());
        assert_eq!(get(&c).unwrap().secret(), "entra");
        assert!(transport.last().url.contains("login.microsoftonline.com"));
    }
}

/// Workload identity configured but its token file not there (yet): an error to fix
/// in the deployment, not a reason to authenticate as the node's managed identity.
#[test]
fn a_configured_workload_identity_without_its_token_file_stops_the_chain() {
    let (c, transport, _) = chain(&[
        ("AZURE_CLIENT_ID", "wi"),
        ("AZURE_TENANT_ID", "tenant"),
        ("AZURE_FEDERATED_TOKEN_FILE", "/t/missing"),
    ]);
    let err = get(&c.unwrap()).unwrap_err();
    assert!(err.to_string().contains("/t/missing"), "{err}");
    assert_eq!(transport.count(), 0, "nothing was sent: {err}");
}
