//! Client secret and the environment credential on the wire, tenants, Entra errors
//! and the STS retry policy.

use super::*;
use crate::http::Method;
use crate::platform::TransportError;
use crate::testing::*;
use crate::token::TokenRequest;

mod capabilities;
mod federated;
mod on_behalf_of;

const SECRET: &str = "s3cr3t~value.0123456789";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

fn entra_token(token: &str) -> Result<crate::http::Response, TransportError> {
    json(
        200,
        &format!(
            r#"{{"access_token":"{token}","expires_in":3600,"ext_expires_in":3600,"token_type":"Bearer"}}"#
        ),
    )
}

fn app() -> AppOptions {
    AppOptions::default().client_id("app-id").tenant_id(TENANT)
}

fn secret_rig(app: AppOptions, vars: &[(&str, &str)]) -> Rig {
    Rig::new(client_secret(app, SECRET.into(), &env(vars)).unwrap())
}

#[test]
fn client_secret_request_is_the_v2_form_in_order() {
    let rig = secret_rig(app(), &[]);
    rig.transport.then(entra_token("app-tok"));
    let t = rig
        .credential
        .get_token(&TokenRequest::new(&[
            "https://graph.microsoft.com/.default",
            "offline_access",
        ]))
        .unwrap();
    assert_eq!((t.secret(), t.expires_on()), ("app-tok", T0 + 3600));
    let r = rig.transport.last();
    assert_eq!(r.method, Method::Post);
    assert_eq!(
        r.url,
        format!("https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token")
    );
    assert_eq!(
        r.header_value("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let f = form(&r.body);
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        pairs,
        [
            ("client_id", "app-id"),
            ("client_secret", SECRET),
            ("grant_type", "client_credentials"),
            (
                "scope",
                "https://graph.microsoft.com/.default offline_access"
            ),
        ]
    );
    assert!(!format!("{r:?}").contains(SECRET));
    assert!(!rig.credential.describe().contains(SECRET));
}

#[test]
fn options_override_the_environment_and_sovereign_hosts_work() {
    let vars = [
        ("AZURE_CLIENT_ID", "env-app"),
        ("AZURE_TENANT_ID", "env-tenant"),
        ("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us"),
    ];
    let rig = secret_rig(AppOptions::default(), &vars);
    rig.transport.then(entra_token("t"));
    rig.get("https://x/.default").unwrap();
    let r = rig.transport.last();
    assert_eq!(
        r.url,
        "https://login.microsoftonline.us/env-tenant/oauth2/v2.0/token"
    );
    assert_eq!(form(&r.body)[0].1, "env-app");

    let rig = secret_rig(app(), &vars);
    rig.transport.then(entra_token("t"));
    rig.get("https://x/.default").unwrap();
    assert!(rig.transport.last().url.contains(TENANT));
}

#[test]
fn bad_configuration_is_refused_before_any_request() {
    for tenant in ["a/b", "t?x=1", "../etc", ""] {
        let e = client_secret(app().tenant_id(tenant), SECRET.into(), &env(&[])).err();
        assert!(matches!(e, Some(Error::InvalidInput(_))), "{tenant:?}");
    }
    let e = client_secret(
        app().authority_host("http://login.microsoftonline.com"),
        SECRET.into(),
        &env(&[]),
    )
    .err();
    assert!(matches!(e, Some(Error::InvalidInput(m)) if m.contains("https")));
    let e = client_secret(AppOptions::default(), SECRET.into(), &env(&[])).err();
    assert!(matches!(e, Some(Error::InvalidInput(m)) if m.contains("AZURE_CLIENT_ID")));
}

#[test]
fn per_request_tenants_follow_the_allow_list() {
    let rig = secret_rig(
        app(),
        &[("AZURE_ADDITIONALLY_ALLOWED_TENANTS", "other-tenant")],
    );
    let in_tenant = |t: &str| {
        rig.credential
            .get_token(&TokenRequest::new(&["https://x/.default"]).tenant(t))
    };
    rig.transport.then(entra_token("t"));
    in_tenant("other-tenant").unwrap();
    assert!(rig.transport.last().url.contains("/other-tenant/oauth2"));
    assert!(
        matches!(in_tenant("third"), Err(Error::InvalidInput(m)) if m.contains("AZURE_ADDITIONALLY_ALLOWED_TENANTS"))
    );
    assert!(matches!(in_tenant("x/../y"), Err(Error::InvalidInput(_))));
    assert_eq!(rig.transport.count(), 1);
}

#[test]
fn entra_errors_are_typed_with_code_and_correlation_id_and_no_secret() {
    let rig = secret_rig(app(), &[]);
    rig.transport.then(json(
        401,
        &format!(r#"{{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID. Echo {SECRET}\r\nTrace ID: t\r\nCorrelation ID: corr-7000215","error_codes":[7000215],"correlation_id":"corr-7000215"}}"#),
    ));
    let e = rig.get("https://x/.default").unwrap_err();
    assert!(!shown(&e).contains(SECRET), "{e}");
    let Error::AuthenticationFailed(s) = e else {
        panic!("{e:?}")
    };
    assert_eq!(
        (s.status, s.code.as_str(), s.correlation_id.as_deref()),
        (401, "AADSTS7000215", Some("corr-7000215"))
    );
    assert!(s.context.contains("secret's value"));
    assert_eq!(rig.transport.count(), 1, "4xx is not retried");
}

#[test]
fn sts_5xx_is_retried_once_but_not_when_told_to_back_off() {
    let rig = secret_rig(app(), &[]);
    rig.transport.then(json(503, "busy")).then(entra_token("t"));
    rig.get("https://x/.default").unwrap();
    assert_eq!(rig.transport.count(), 2);

    let rig = secret_rig(app(), &[]);
    rig.transport.always(json(500, "down"));
    assert!(
        matches!(rig.get("https://x/.default"), Err(Error::AuthenticationFailed(s)) if s.status == 500)
    );
    assert_eq!(rig.transport.count(), 2);

    let rig = secret_rig(app(), &[]);
    rig.transport
        .always(with_header(json(429, ""), "Retry-After", "30"));
    assert!(matches!(
        rig.get("https://x/.default"),
        Err(Error::Throttled {
            retry_after: 30,
            ..
        })
    ));
    assert_eq!(rig.transport.count(), 1);
}

#[test]
fn the_environment_credential_picks_secret_or_certificate() {
    let e = environment(&env(&[("AZURE_CLIENT_ID", "a")])).err();
    match e {
        Some(Error::Unavailable(m)) => {
            assert!(
                m.contains("AZURE_TENANT_ID") && m.contains("AZURE_CLIENT_SECRET"),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }
    let flow = environment(&env(&[
        ("AZURE_CLIENT_ID", "a"),
        ("AZURE_TENANT_ID", "t"),
        ("AZURE_CLIENT_SECRET", SECRET),
    ]))
    .unwrap();
    assert!(flow.describe().contains("client secret"));
    let flow = environment(&env(&[
        ("AZURE_CLIENT_ID", "a"),
        ("AZURE_TENANT_ID", "t"),
        ("AZURE_CLIENT_CERTIFICATE_PATH", "/certs/app.pem"),
    ]))
    .unwrap();
    assert!(flow.describe().contains("client certificate"));
    let e = environment(&env(&[
        ("AZURE_CLIENT_ID", "a"),
        ("AZURE_TENANT_ID", "t"),
        ("AZURE_CLIENT_CERTIFICATE_PATH", "/certs/app.pfx"),
    ]))
    .err();
    assert!(matches!(e, Some(Error::InvalidInput(m)) if m.contains("PKCS#12")));
}
