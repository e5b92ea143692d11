//! A signed assertion reused by the credential that signed it, and only by it.

use super::tests::*;
use crate::confidential::kept_assertion::{KeptAssertion, SignedFor};
use crate::confidential::*;
use crate::testing::*;
use crate::token::TokenRequest;
use jsonwebtoken::Algorithm;
use std::time::Duration;

const SCOPE: &str = "https://vault.azure.net/.default";

fn rig(client_id: &str) -> Rig {
    rig_at(client_id, T0)
}

fn rig_at(client_id: &str, now: u64) -> Rig {
    let flow = client_certificate(
        AppOptions::default()
            .client_id(client_id)
            .tenant_id(TENANT)
            .additionally_allowed_tenants(&["other-tenant"]),
        CertificateOptions::from_pem([CERT, KEY_PKCS8].concat()),
        &env(&[]),
    )
    .unwrap();
    Rig::at(flow, &FakeTime::at(now))
}

fn forced(rig: &Rig, tenant: Option<&str>) -> String {
    rig.transport.then(ok());
    let mut request = TokenRequest::new(&[SCOPE]).force_refresh();
    if let Some(tenant) = tenant {
        request = request.tenant(tenant);
    }
    rig.credential.get_token(&request).unwrap();
    sent_assertion(rig)
}

fn sent_assertion(rig: &Rig) -> String {
    form(&rig.transport.last().body)
        .into_iter()
        .find(|(k, _)| k == "client_assertion")
        .map(|(_, v)| v)
        .unwrap()
}

#[test]
fn an_assertion_is_reused_for_half_its_lifetime_then_signed_again() {
    let rig = rig("app-id");
    let first = forced(&rig, None);
    rig.time.advance(Duration::from_secs(ASSERTION_REUSE - 1));
    assert_eq!(forced(&rig, None), first, "reused within the window");
    rig.time.advance(Duration::from_secs(1));
    let second = forced(&rig, None);
    assert_ne!(second, first);
    let (_, body) = claims(&second);
    assert_eq!(body["nbf"], T0 + ASSERTION_REUSE);
    verify(
        &second,
        Algorithm::PS256,
        &format!("https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"),
    );
}

#[test]
fn another_audience_or_another_credential_never_gets_it() {
    let rig_a = rig("app-id");
    let first = forced(&rig_a, None);
    let other_tenant = forced(&rig_a, Some("other-tenant"));
    assert_ne!(other_tenant, first, "another tenant is another audience");
    let (_, body) = claims(&other_tenant);
    assert_eq!(
        body["aud"],
        "https://login.microsoftonline.com/other-tenant/oauth2/v2.0/token"
    );
    // Same certificate, app and audience, but another credential, a second later
    // (the fake randomness is fixed, so only the time tells two signings apart).
    let rig_b = rig_at("app-id", T0 + 1);
    assert_eq!(claims(&forced(&rig_b, None)).1["nbf"], T0 + 1);
    let rig_c = rig("another-app");
    let (_, body) = claims(&forced(&rig_c, None));
    assert_eq!(body["iss"], "another-app");
}

#[test]
fn a_clock_set_back_past_the_signing_does_not_get_it() {
    let kept = KeptAssertion::default();
    let signed_for = SignedFor {
        thumbprint: [7; 32],
        client_id: "app-id",
        audience: "https://login.microsoftonline.com/t/oauth2/v2.0/token",
    };
    kept.keep(&signed_for, T0, "a.b.c");
    assert_eq!(kept.get(&signed_for, T0).as_deref(), Some("a.b.c"));
    assert_eq!(kept.get(&signed_for, T0 - 1), None);
    let other_certificate = SignedFor {
        thumbprint: [8; 32],
        ..signed_for
    };
    assert_eq!(kept.get(&other_certificate, T0), None);
}

#[test]
fn an_expired_refusal_of_a_reused_assertion_sends_a_new_one_once() {
    let rig = rig("app-id");
    let first = forced(&rig, None);
    rig.time.advance(Duration::from_secs(60));
    rig.transport.then(json(
        400,
        r#"{"error":"invalid_client","error_description":"AADSTS700024: Client assertion is not within its valid time range.","error_codes":[700024]}"#,
    ));
    rig.transport.then(ok());
    let before = rig.transport.count();
    rig.credential
        .get_token(&TokenRequest::new(&[SCOPE]).force_refresh())
        .unwrap();
    let sent = rig.sent();
    assert_eq!(sent.len(), before + 2);
    let assertion = |i: usize| {
        form(&sent[i].body)
            .into_iter()
            .find(|(k, _)| k == "client_assertion")
            .unwrap()
            .1
    };
    assert_eq!(assertion(before), first, "the reused one was refused");
    let fresh = assertion(before + 1);
    assert_ne!(fresh, first);
    assert_eq!(claims(&fresh).1["nbf"], T0 + 60);
    // The fresh one is kept in place of the refused one.
    assert_eq!(forced(&rig, None), fresh);
}
