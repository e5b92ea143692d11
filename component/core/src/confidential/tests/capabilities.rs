//! Client capabilities and claims challenges on confidential flows: sent on every
//! request, merged with a challenge, part of the cache identity; bad claims refused
//! before anything is sent; refusals only the user can resolve are typed.

use super::*;
use crate::cache::MemoryStore;
use crate::credential::{Credential, SharedStore};
use crate::managed_identity::{self, ManagedIdentityOptions};
use std::cell::RefCell;
use std::rc::Rc;

const CP1: &str = r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#;
const CHALLENGE: &str = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;

fn claims_sent(rig: &Rig) -> Vec<Option<String>> {
    rig.sent()
        .iter()
        .map(|r| {
            form(&r.body)
                .into_iter()
                .find(|(k, _)| k == "claims")
                .map(|(_, v)| v)
        })
        .collect()
}

fn vault() -> TokenRequest {
    TokenRequest::new(&["https://vault.azure.net/.default"])
}

#[test]
fn capabilities_go_in_claims_on_every_request_merged_with_a_challenge() {
    let rig = secret_rig(app().client_capabilities(&["cp1"]), &[]);
    rig.transport.then(entra_token("one"));
    rig.transport.then(entra_token("two"));
    rig.credential.get_token(&vault()).unwrap();
    let answered = rig
        .credential
        .get_token(&vault().claims(CHALLENGE))
        .unwrap();
    assert_eq!(answered.secret(), "two");
    let merged: serde_json::Value =
        serde_json::from_str(claims_sent(&rig)[1].as_deref().unwrap()).unwrap();
    assert_eq!(
        merged,
        serde_json::json!({"access_token":{
            "xms_cc":{"values":["cp1"]},
            "nbf":{"essential":true,"value":"1700000000"}
        }})
    );
    assert_eq!(claims_sent(&rig)[0].as_deref(), Some(CP1));
    // The claims answer replaced the token: a plain caller gets it from the cache.
    assert_eq!(rig.credential.get_token(&vault()).unwrap().secret(), "two");
    assert_eq!(rig.transport.count(), 2);
}

#[test]
fn without_capabilities_a_challenge_goes_verbatim_and_nothing_otherwise() {
    let rig = secret_rig(app(), &[]);
    rig.transport.always(entra_token("t"));
    rig.credential.get_token(&vault()).unwrap();
    rig.credential
        .get_token(&vault().claims(CHALLENGE))
        .unwrap();
    assert_eq!(claims_sent(&rig), [None, Some(CHALLENGE.to_string())]);
}

#[test]
fn claims_that_are_not_a_json_object_are_refused_before_any_request() {
    let b64 = "eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZX19fQ==";
    for caps in [&[][..], &["cp1"][..]] {
        let rig = secret_rig(app().client_capabilities(caps), &[]);
        for bad in [b64, "[]", "\"x\"", "not json"] {
            let e = rig.credential.get_token(&vault().claims(bad)).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidInput(m) if m.contains("must be a JSON object") && m.contains("base64")),
                "{e:?}"
            );
        }
        assert_eq!(rig.transport.count(), 0);
    }
    // Not even the managed identity's assertion is fetched.
    let (app, mi) = fic_with_capabilities(&["cp1"]);
    let e = app.credential.get_token(&vault().claims(b64)).unwrap_err();
    assert!(matches!(e, Error::InvalidInput(_)), "{e:?}");
    assert_eq!((app.transport.count(), mi.count()), (0, 0));
}

#[test]
fn bad_capabilities_are_refused_when_the_credential_is_made() {
    let e = client_secret(
        app().client_capabilities(&["cp 1"]),
        SECRET.into(),
        &env(&[]),
    )
    .err();
    assert!(matches!(e, Some(Error::InvalidInput(m)) if m.contains("\"cp 1\"")));
}

#[test]
fn capabilities_are_part_of_the_cache_identity() {
    let caps = client_secret(
        app().client_capabilities(&["cp1"]),
        SECRET.into(),
        &env(&[]),
    );
    let plain = client_secret(app(), SECRET.into(), &env(&[]));
    assert!(caps.as_ref().unwrap().identity().ends_with("|cc=cp1"));
    assert!(!plain.as_ref().unwrap().identity().contains("cc="));
    // Over one store: the CAE token is not served to the credential without cp1.
    let time = FakeTime::at(T0);
    let transport = FakeTransport::new(&time);
    let store: SharedStore = Rc::new(RefCell::new(MemoryStore::default()));
    let over = |flow| {
        Credential::new(
            flow,
            Box::new(transport.clone()),
            Box::new(FakePlatform::new(&time)),
            store.clone(),
        )
    };
    let (caps, plain) = (over(caps.unwrap()), over(plain.unwrap()));
    transport.then(entra_token("cae-token"));
    transport.then(entra_token("plain-token"));
    assert_eq!(caps.get_token(&vault()).unwrap().secret(), "cae-token");
    assert_eq!(plain.get_token(&vault()).unwrap().secret(), "plain-token");
    assert_eq!(caps.get_token(&vault()).unwrap().secret(), "cae-token");
    assert_eq!(transport.count(), 2);
}

/// Managed identity as federated credential, the app declaring `caps`.
fn fic_with_capabilities(caps: &[&str]) -> (Rig, FakeTransport) {
    let time = FakeTime::at(T0);
    let mi = managed_identity::flow(
        ManagedIdentityOptions::default().client_capabilities(&["cp1"]),
        &env(&[]),
    )
    .unwrap();
    let Rig {
        transport: mi_transport,
        credential: mi,
        ..
    } = Rig::at(mi, &time);
    let flow = managed_identity_as_federated_credential(
        app().client_capabilities(caps),
        mi,
        None,
        &env(&[]),
    )
    .unwrap();
    (Rig::at(flow, &time), mi_transport)
}

#[test]
fn managed_identity_as_federated_sends_the_apps_capabilities_and_never_the_inner_claims() {
    let (app, mi) = fic_with_capabilities(&["cp1"]);
    mi.always(token_body("mi-assertion", T0, 86_400));
    app.transport.always(entra_token("app-tok"));
    app.credential.get_token(&vault()).unwrap();
    app.credential
        .get_token(&vault().claims(CHALLENGE))
        .unwrap();
    let sent = claims_sent(&app);
    assert_eq!(sent[0].as_deref(), Some(CP1));
    assert!(sent[1].as_deref().unwrap().contains("nbf"));
    assert!(app.credential.describe().contains("managed identity"));
    // The inner managed identity (IMDS) asked once, plainly: no claims, no xms_cc.
    assert_eq!(mi.count(), 1);
    let url = mi.last().url;
    assert!(!url.contains("claims") && !url.contains("xms_cc"), "{url}");
}

#[test]
fn workload_identity_sends_capabilities_too() {
    let mut app = AppOptions::default()
        .client_id("wi-client")
        .tenant_id(TENANT)
        .client_capabilities(&["cp1"]);
    app.authority_host = None;
    let rig = Rig::new(workload_identity(app, Some("/token".into()), &env(&[])).unwrap());
    rig.files.write("/token", "a.b.c");
    rig.transport.then(entra_token("t"));
    rig.credential.get_token(&vault()).unwrap();
    assert_eq!(claims_sent(&rig), [Some(CP1.to_string())]);
}

#[test]
fn interaction_required_is_typed_but_a_client_credentials_invalid_grant_is_not() {
    let rig = secret_rig(app(), &[]);
    let claims = r#"{"access_token":{"polids":{"essential":true,"values":["p1"]}}}"#;
    rig.transport.then(json(
        400,
        &serde_json::json!({
            "error": "interaction_required",
            "error_description": "AADSTS50079: enroll in multi-factor authentication.",
            "error_codes": [50079],
            "correlation_id": "corr-1",
            "claims": claims,
        })
        .to_string(),
    ));
    let e = rig.credential.get_token(&vault()).unwrap_err();
    assert_eq!(e.claims_challenge(), Some(claims));
    assert!(matches!(&e, Error::InteractionRequired(s) if s.code == "AADSTS50079"));
    rig.transport.then(json(
        400,
        r#"{"error":"invalid_grant","error_description":"AADSTS50173: grant expired.","suberror":"bad_token"}"#,
    ));
    let e = rig.credential.get_token(&vault()).unwrap_err();
    assert!(matches!(e, Error::AuthenticationFailed(_)), "{e:?}");
}
