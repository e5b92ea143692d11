//! Workload identity (the token file: reads, rotation, bad files, AADSTS700024) and
//! managed identity as a federated credential.

use super::*;
use crate::managed_identity::{self, ManagedIdentityOptions};
use crate::token::TokenRequest;
use std::time::Duration;

const FILE: &str = "/var/run/secrets/azure/tokens/azure-identity-token";
const SA1: &str = "eyJhbGciOiJSUzI1NiJ9.sa-token-one.sig";
const SA2: &str = "eyJhbGciOiJSUzI1NiJ9.sa-token-two.sig";
const VARS: &[(&str, &str)] = &[
    ("AZURE_CLIENT_ID", "wi-client"),
    ("AZURE_TENANT_ID", "wi-tenant"),
    ("AZURE_FEDERATED_TOKEN_FILE", FILE),
    ("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com/"),
];

fn ok(token: &str) -> Result<crate::http::Response, crate::platform::TransportError> {
    json(
        200,
        &format!(r#"{{"access_token":"{token}","expires_in":3600,"token_type":"Bearer"}}"#),
    )
}

fn expired() -> Result<crate::http::Response, crate::platform::TransportError> {
    json(
        400,
        r#"{"error":"invalid_client","error_description":"AADSTS700024: Client assertion is not within its valid time range. Current time: 2024-08-05T10:07:04Z. Trace ID: t Correlation ID: corr-24 Timestamp: 2024-08-05 10:07:04Z","error_codes":[700024],"correlation_id":"corr-24"}"#,
    )
}

fn wi() -> Rig {
    let rig = Rig::new(workload_identity(AppOptions::default(), None, &env(VARS)).unwrap());
    rig.files.write(FILE, format!("{SA1}\n"));
    rig
}

fn forced(rig: &Rig) -> Result<crate::token::AccessToken, Error> {
    rig.credential
        .get_token(&TokenRequest::new(&["https://vault.azure.net/.default"]).force_refresh())
}

fn sent_assertion(rig: &Rig) -> String {
    form(&rig.transport.last().body)[0].1.clone()
}

#[test]
fn the_token_file_is_the_client_assertion() {
    let rig = wi();
    rig.transport.then(ok("wi-tok"));
    assert_eq!(
        rig.get("https://vault.azure.net/.default")
            .unwrap()
            .secret(),
        "wi-tok"
    );
    let r = rig.transport.last();
    assert_eq!(
        r.url,
        "https://login.microsoftonline.com/wi-tenant/oauth2/v2.0/token"
    );
    let f = form(&r.body);
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        pairs,
        [
            ("client_assertion", SA1),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            ),
            ("client_id", "wi-client"),
            ("grant_type", "client_credentials"),
            ("scope", "https://vault.azure.net/.default"),
        ]
    );
}

#[test]
fn the_file_is_reread_after_five_minutes_not_before() {
    let rig = wi();
    rig.transport.always(ok("t"));
    forced(&rig).unwrap();
    rig.files.write(FILE, SA2);
    rig.time.advance(REREAD_AFTER - Duration::from_secs(1));
    forced(&rig).unwrap();
    assert_eq!(
        (rig.files.reads.get(), sent_assertion(&rig)),
        (1, SA1.to_string())
    );
    rig.time.advance(Duration::from_secs(1));
    forced(&rig).unwrap();
    assert_eq!(
        (rig.files.reads.get(), sent_assertion(&rig)),
        (2, SA2.to_string())
    );
}

#[test]
fn bad_token_files() {
    let rig = wi();
    rig.files.write(FILE, " \n");
    assert!(
        matches!(rig.get("https://a/.default"), Err(Error::Unavailable(m)) if m.contains("empty"))
    );
    rig.files.remove(FILE);
    assert!(
        matches!(rig.get("https://a/.default"), Err(Error::Unavailable(m)) if m.contains("does not exist"))
    );
    rig.files.write(FILE, "x".repeat(MAX_TOKEN_FILE + 1));
    assert!(
        matches!(rig.get("https://a/.default"), Err(Error::InvalidInput(m)) if m.contains("larger than 65536"))
    );
    assert_eq!(rig.transport.count(), 0);

    // Deleted after a good read: the stale copy is not used past the re-read interval.
    let rig = wi();
    rig.transport.always(ok("t"));
    forced(&rig).unwrap();
    rig.files.remove(FILE);
    rig.time.advance(REREAD_AFTER);
    assert!(matches!(forced(&rig), Err(Error::Unavailable(m)) if m.contains(FILE)));
    assert_eq!(rig.transport.count(), 1);

    let e = workload_identity(AppOptions::default(), None, &env(&VARS[..2])).err();
    assert!(matches!(e, Some(Error::InvalidInput(m)) if m.contains("AZURE_FEDERATED_TOKEN_FILE")));
}

#[test]
fn an_expired_assertion_is_reread_and_sent_once_more() {
    let rig = wi();
    rig.transport.then(ok("t"));
    forced(&rig).unwrap();
    // Rotated within the re-read interval, and Entra says the copy in hand expired.
    rig.files.write(FILE, SA2);
    rig.transport.then(expired()).then(ok("fresh"));
    assert_eq!(forced(&rig).unwrap().secret(), "fresh");
    assert_eq!(sent_assertion(&rig), SA2);
    assert_eq!(rig.transport.count(), 3);

    // Not rotated: sending the same token again is pointless; the error says why.
    rig.time.advance(REREAD_AFTER);
    rig.transport.then(expired());
    let e = forced(&rig).unwrap_err();
    assert_eq!(rig.transport.count(), 4);
    assert!(!shown(&e).contains(SA2));
    let Error::AuthenticationFailed(s) = e else {
        panic!("{e:?}")
    };
    assert_eq!(
        (s.code.as_str(), s.correlation_id.as_deref()),
        ("AADSTS700024", Some("corr-24"))
    );
    assert!(s.context.contains("re-read"));
}

#[test]
fn the_assertion_never_appears_in_errors() {
    let rig = wi();
    rig.transport.then(json(
        400,
        &format!(r#"{{"error":"invalid_request","error_description":"AADSTS70021: No matching federated identity record found for presented assertion {SA1}. Assertion Issuer: 'https://oidc.example'. Assertion Subject: 'system:serviceaccount:ns:sa'.","error_codes":[70021]}}"#),
    ));
    let e = rig.get("https://a/.default").unwrap_err();
    assert!(!shown(&e).contains(SA1), "{e}");
    let Error::AuthenticationFailed(s) = e else {
        panic!()
    };
    assert!(
        s.context.contains("issuer 'https://oidc.example'")
            && s.context.contains("subject 'system:serviceaccount:ns:sa'"),
        "{}",
        s.context
    );
}

/// A managed-identity credential (IMDS) and an app credential using it, on one clock.
fn fic(authority: Option<&str>) -> (Rig, FakeTransport) {
    let time = FakeTime::at(T0);
    let mi = managed_identity::flow(ManagedIdentityOptions::default(), &env(&[])).unwrap();
    let Rig {
        transport: mi_transport,
        credential: mi,
        ..
    } = Rig::at(mi, &time);
    let flow = managed_identity_as_federated_credential(
        {
            let mut v = AppOptions::default()
                .client_id("app-in-other-tenant")
                .tenant_id("other-tenant");
            v.authority_host = authority.map(Into::into);
            v
        },
        mi,
        None,
        &env(VARS),
    )
    .unwrap();
    (Rig::at(flow, &time), mi_transport)
}

#[test]
fn managed_identity_token_is_the_assertion_and_both_are_cached() {
    let (app, mi) = fic(None);
    mi.then(token_body("mi-assertion-0123", T0, 86_400));
    app.transport.then(ok("app-tok"));
    assert_eq!(
        app.get("https://graph.microsoft.com/.default")
            .unwrap()
            .secret(),
        "app-tok"
    );
    assert_eq!(
        query(&mi.last().url)[1],
        ("resource".into(), "api://AzureADTokenExchange".into())
    );
    let r = app.transport.last();
    assert_eq!(
        r.url,
        "https://login.microsoftonline.com/other-tenant/oauth2/v2.0/token"
    );
    let f = form(&r.body);
    assert_eq!(
        (f[0].1.as_str(), f[2].1.as_str()),
        ("mi-assertion-0123", "app-in-other-tenant")
    );
    // Outer cache hit: nothing sent anywhere.
    app.get("https://graph.microsoft.com/.default").unwrap();
    // Another scope: a new app token, but the managed-identity token comes from its cache.
    app.transport.then(ok("app-tok-2"));
    app.get("https://vault.azure.net/.default").unwrap();
    assert_eq!((mi.count(), app.transport.count()), (1, 2));

    // An app refusal never shows the managed-identity token.
    app.transport.then(json(400, r#"{"error":"invalid_client","error_description":"AADSTS700016: Application not found mi-assertion-0123"}"#));
    let e = app.get("https://storage.azure.com/.default").unwrap_err();
    assert!(!shown(&e).contains("mi-assertion-0123"), "{e}");
}

#[test]
fn the_exchange_audience_follows_the_cloud_and_mi_failures_pass_through() {
    for (host, audience) in [
        (
            "https://login.microsoftonline.us",
            "api://AzureADTokenExchangeUSGov",
        ),
        (
            "https://login.chinacloudapi.cn",
            "api://AzureADTokenExchangeChina",
        ),
    ] {
        let (app, mi) = fic(Some(host));
        mi.then(token_body("mi", T0, 86_400));
        app.transport.then(ok("t"));
        app.get("https://x/.default").unwrap();
        assert_eq!(query(&mi.last().url)[1].1, audience);
        assert!(app.transport.last().url.starts_with(host));
    }
    let (app, mi) = fic(None);
    mi.then(Err(crate::platform::TransportError::Connect(
        "refused".into(),
    )));
    assert!(matches!(
        app.get("https://x/.default"),
        Err(Error::Unavailable(_))
    ));
    assert_eq!(app.transport.count(), 0);
}

/// AKS identity binding: with the proxy enabled the same request goes to the proxy
/// (path and query rewritten, headers and body as they were); without it the
/// `AZURE_KUBERNETES_*` variables are ignored, even invalid ones.
#[test]
fn identity_binding_sends_the_same_request_to_the_proxy() {
    let mut vars = VARS.to_vec();
    vars.push((
        "AZURE_KUBERNETES_TOKEN_PROXY",
        "https://10.0.0.1:8443/aks/proxy/",
    ));
    vars.push(("AZURE_KUBERNETES_SNI_NAME", "aks-proxy.example.invalid"));
    let plain = wi();
    plain.transport.then(ok("t"));
    let request = TokenRequest::new(&["https://vault.azure.net/.default"])
        .claims(r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#);
    plain.credential.get_token(&request).unwrap();
    let direct = plain.transport.last();

    let rig = Rig::new(
        workload_identity_with_options(AppOptions::default(), None, true, &env(&vars)).unwrap(),
    );
    rig.files.write(FILE, format!("{SA1}\n"));
    rig.transport.then(ok("via-proxy"));
    assert_eq!(
        rig.credential.get_token(&request).unwrap().secret(),
        "via-proxy"
    );
    let proxied = rig.transport.last();
    assert_eq!(
        proxied.url,
        "https://10.0.0.1:8443/aks/proxy/wi-tenant/oauth2/v2.0/token"
    );
    assert_eq!(
        (proxied.method, &proxied.headers, &proxied.body),
        (direct.method, &direct.headers, &direct.body)
    );
    assert!(
        rig.credential
            .describe()
            .contains("through the AKS token proxy at https://10.0.0.1:8443/aks/proxy")
    );

    // Off: the variables are not even read, so invalid ones do not matter.
    vars.push(("AZURE_KUBERNETES_CA_DATA", "junk"));
    let off = Rig::new(
        workload_identity_with_options(AppOptions::default(), None, false, &env(&vars)).unwrap(),
    );
    off.files.write(FILE, SA1);
    off.transport.then(ok("t"));
    off.get("https://vault.azure.net/.default").unwrap();
    assert_eq!(
        off.transport.last().url,
        "https://login.microsoftonline.com/wi-tenant/oauth2/v2.0/token"
    );
    // On: refused when the credential is made, before anything is sent.
    let e = workload_identity_with_options(AppOptions::default(), None, true, &env(&vars)).err();
    assert!(
        matches!(&e, Some(Error::InvalidInput(m)) if m.starts_with("invalid AZURE_KUBERNETES_CA_DATA: contains no certificates")),
        "{e:?}"
    );
}
