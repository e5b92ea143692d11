//! Cloud Shell, Azure ML and Service Fabric: the wire format of each and the inputs
//! each refuses.

use super::*;
use crate::http::Method;
use crate::testing::*;

const SCOPE: &str = "https://vault.azure.net/.default";

fn rig(options: ManagedIdentityOptions, vars: &[(&str, &str)]) -> Result<Rig, Error> {
    Ok(Rig::new(flow(options, &env(vars))?))
}

fn uami(id: UserAssignedId) -> ManagedIdentityOptions {
    ManagedIdentityOptions::default().user_assigned(id)
}

const CLOUD_SHELL: &[(&str, &str)] = &[("MSI_ENDPOINT", "http://localhost:50342/oauth2/token")];
const AZURE_ML: &[(&str, &str)] = &[
    ("MSI_ENDPOINT", "http://127.0.0.1:46808/token"),
    ("MSI_SECRET", "ml-secret-0123456789"),
    ("DEFAULT_IDENTITY_CLIENT_ID", "default-client"),
];
const SERVICE_FABRIC: &[(&str, &str)] = &[
    (
        "IDENTITY_ENDPOINT",
        "https://localhost:2377/metadata/identity/oauth2/token",
    ),
    ("IDENTITY_HEADER", "sf-secret-0123456789"),
    (
        "IDENTITY_SERVER_THUMBPRINT",
        "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01",
    ),
];

#[test]
fn cloud_shell_posts_a_form() {
    let r = rig(Default::default(), CLOUD_SHELL).unwrap();
    r.transport.then(token_body("cs", T0, 3600));
    assert_eq!(r.get(SCOPE).unwrap().secret(), "cs");
    let sent = r.transport.last();
    assert_eq!(sent.method, Method::Post);
    assert_eq!(sent.url, "http://localhost:50342/oauth2/token");
    assert_eq!(sent.header_value("Metadata"), Some("true"));
    assert_eq!(
        sent.header_value("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        form(&sent.body),
        [("resource".into(), "https://vault.azure.net".into())]
    );
}

#[test]
fn cloud_shell_refuses_user_assigned_identities() {
    let e = rig(uami(UserAssignedId::ClientId("c".into())), CLOUD_SHELL).err();
    assert!(matches!(e, Some(Error::InvalidInput(m)) if m.contains("signed-in user")));
}

#[test]
fn azure_ml_sends_clientid_and_the_secret_header() {
    let r = rig(Default::default(), AZURE_ML).unwrap();
    r.transport.then(token_body("ml", T0, 3600));
    r.get(SCOPE).unwrap();
    let sent = r.transport.last();
    assert_eq!(sent.method, Method::Get);
    assert!(sent.url.starts_with("http://127.0.0.1:46808/token?"));
    assert_eq!(
        query(&sent.url),
        [
            ("api-version".into(), "2017-09-01".into()),
            ("resource".into(), "https://vault.azure.net".into()),
            ("clientid".into(), "default-client".into())
        ]
    );
    assert_eq!(sent.header_value("secret"), Some("ml-secret-0123456789"));

    let r = rig(uami(UserAssignedId::ClientId("my-uami".into())), AZURE_ML).unwrap();
    r.transport.then(token_body("ml", T0, 3600));
    r.get(SCOPE).unwrap();
    assert_eq!(query(&r.transport.last().url)[2].1, "my-uami");
}

#[test]
fn azure_ml_refuses_other_selectors_and_a_missing_default_id() {
    for id in [
        UserAssignedId::ObjectId("o".into()),
        UserAssignedId::ResourceId("/r".into()),
    ] {
        assert!(
            matches!(rig(uami(id), AZURE_ML), Err(Error::InvalidInput(m)) if m.contains("client id only"))
        );
    }
    let e = rig(Default::default(), &AZURE_ML[..2]).err();
    assert!(matches!(e, Some(Error::InvalidInput(m)) if m.contains("DEFAULT_IDENTITY_CLIENT_ID")));
}

#[test]
fn azure_ml_secret_stays_out_of_errors() {
    let r = rig(Default::default(), AZURE_ML).unwrap();
    r.transport.then(json(
        401,
        r#"{"error":"placeholder","message":"got secret ml-secret-0123456789"}"#,
    ));
    let e = r.get(SCOPE).unwrap_err();
    assert!(!shown(&e).contains("ml-secret-0123456789"), "{e}");
    assert!(shown(&e).contains("MSI_SECRET"));
}

#[test]
fn service_fabric_request_and_pinned_thumbprint() {
    let r = rig(Default::default(), SERVICE_FABRIC).unwrap();
    assert_eq!(
        r.credential.pinned_thumbprint().as_deref(),
        Some("ABCDEF0123456789ABCDEF0123456789ABCDEF01")
    );
    r.transport.then(json(
        200,
        &format!(
            r#"{{"access_token":"sf","expires_on":{},"resource":"R","token_type":"Bearer"}}"#,
            T0 + 3600
        ),
    ));
    assert_eq!(r.get(SCOPE).unwrap().secret(), "sf");
    let sent = r.transport.last();
    assert!(
        sent.url
            .starts_with("https://localhost:2377/metadata/identity/oauth2/token?")
    );
    assert_eq!(
        query(&sent.url),
        [
            ("api-version".into(), "2019-07-01-preview".into()),
            ("resource".into(), "https://vault.azure.net".into())
        ]
    );
    assert_eq!(sent.header_value("secret"), Some("sf-secret-0123456789"));
    assert!(!r.credential.describe().contains("sf-secret"));
}

#[test]
fn service_fabric_refuses_http_bad_thumbprints_and_user_assigned() {
    let with = |name: &str, value: &str| {
        let mut vars = SERVICE_FABRIC.to_vec();
        vars.retain(|(k, _)| *k != name);
        vars.push((name, value));
        rig(Default::default(), &vars).err()
    };
    assert!(
        matches!(with("IDENTITY_ENDPOINT", "http://localhost:2377/token"), Some(Error::InvalidInput(m)) if m.contains("https"))
    );
    for bad in [
        "abcd",
        "zz:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01",
        &"a".repeat(64),
    ] {
        assert!(
            matches!(with("IDENTITY_SERVER_THUMBPRINT", bad), Some(Error::InvalidInput(m)) if m.contains("40 hex")),
            "{bad}"
        );
    }
    assert_eq!(
        normalize_thumbprint(" ab cd ef 01 23 45 67 89 ab cd ef 01 23 45 67 89 ab cd ef 01 ")
            .unwrap(),
        "ABCDEF0123456789ABCDEF0123456789ABCDEF01"
    );
    let e = rig(uami(UserAssignedId::ClientId("c".into())), SERVICE_FABRIC).err();
    assert!(matches!(e, Some(Error::InvalidInput(m)) if m.contains("manifest")));
}

#[test]
fn service_fabric_errors_are_typed_without_the_header() {
    let r = rig(Default::default(), SERVICE_FABRIC).unwrap();
    r.transport.always(json(
        404,
        r#"{"error":{"correlationId":"corr-1","code":"SecretHeaderNotFound","message":"Secret sf-secret-0123456789 is not found in the request headers."}}"#,
    ));
    match r.get(SCOPE) {
        Err(e @ Error::AuthenticationFailed(_)) => {
            assert!(!shown(&e).contains("sf-secret-0123456789"), "{e}");
            let Error::AuthenticationFailed(s) = e else {
                unreachable!()
            };
            assert_eq!(
                (s.code.as_str(), s.correlation_id.as_deref()),
                ("SecretHeaderNotFound", Some("corr-1"))
            );
            assert!(s.context.contains("IDENTITY_HEADER"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_imds_probe_runs_once_without_metadata_and_fails_fast() {
    let probing = || {
        Rig::new(
            flow_with(
                Default::default(),
                SourceSettings { probe_imds: true },
                &env(&[]),
            )
            .unwrap(),
        )
    };
    let r = probing();
    r.transport
        .then(json(400, "Required metadata header not specified"));
    r.transport.then(token_body("vm", T0, 86_400));
    assert_eq!(r.get(SCOPE).unwrap().secret(), "vm");
    let sent = r.sent();
    assert_eq!(
        sent[0].url,
        "http://169.254.169.254/metadata/identity/oauth2/token"
    );
    assert_eq!(sent[0].header_value("Metadata"), None);
    assert_eq!(sent[1].header_value("Metadata"), Some("true"));
    r.transport.then(token_body("vm2", T0, 86_400));
    r.credential
        .get_token(&crate::token::TokenRequest::new(&[
            "https://storage.azure.com/.default",
        ]))
        .unwrap();
    assert_eq!(r.transport.count(), 3, "probed once only");

    let r = probing();
    r.transport
        .then(Err(crate::platform::TransportError::Timeout));
    match r.get(SCOPE) {
        Err(Error::Unavailable(m)) => assert!(m.contains("1000 ms"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(r.transport.count(), 1, "no retries, no token request");
    assert_eq!(r.time.elapsed(), PROBE_TIMEOUT);
}
