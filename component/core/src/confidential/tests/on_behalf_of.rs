//! On-behalf-of: the form, per-user caching in L1 and L2 (never the assertion in a
//! key or the store), binding to the client's proof, and Conditional Access refusals.

use super::*;
use crate::cache::MemoryStore;
use crate::credential::{Credential, SharedStore};
use crate::managed_identity::{self, ManagedIdentityOptions};
use crate::shared_cache::{Keyring, MemoryKeyValue, Protection, SharedCache};
use std::cell::RefCell;
use std::rc::Rc;

const USER_A: &str = "eyJhbGciOiJSUzI1NiJ9.user-a-payload-0123456789.sig-a-0123456789";
const USER_B: &str = "eyJhbGciOiJSUzI1NiJ9.user-b-payload-0123456789.sig-b-0123456789";
const CERT: &str = concat!(
    include_str!("../../../../../tests/support/keys/client-cert.pem"),
    include_str!("../../../../../tests/support/keys/client-cert-key.pem")
);

fn obo(app: AppOptions, secret: &str, user: &str) -> Box<dyn crate::credential::Flow> {
    on_behalf_of(
        app,
        ClientCredential::Secret(secret.into()),
        user.into(),
        &env(&[]),
    )
    .unwrap()
}

fn downstream() -> TokenRequest {
    TokenRequest::new(&["api://downstream/.default"])
}

/// Credentials over one L1 store (as in one component instance) and one upstream.
struct Instance {
    time: FakeTime,
    transport: FakeTransport,
    store: SharedStore,
}

impl Instance {
    fn new() -> Self {
        let time = FakeTime::at(T0);
        Instance {
            transport: FakeTransport::new(&time),
            time,
            store: Rc::new(RefCell::new(MemoryStore::default())),
        }
    }

    fn credential(&self, flow: Box<dyn crate::credential::Flow>) -> Credential {
        Credential::new(
            flow,
            Box::new(self.transport.clone()),
            Box::new(FakePlatform::new(&self.time)),
            self.store.clone(),
        )
    }
}

#[test]
fn the_request_is_the_v2_on_behalf_of_form() {
    let rig = Rig::new(obo(
        app().client_capabilities(&["cp1"]),
        SECRET,
        &format!("Bearer {USER_A}"),
    ));
    rig.transport.then(entra_token("downstream-tok"));
    let t = rig.credential.get_token(&downstream()).unwrap();
    assert_eq!(t.secret(), "downstream-tok");
    let r = rig.transport.last();
    assert_eq!(
        r.url,
        format!("https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token")
    );
    let f = form(&r.body);
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        pairs,
        [
            ("assertion", USER_A),
            ("client_id", "app-id"),
            ("client_secret", SECRET),
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("requested_token_use", "on_behalf_of"),
            ("scope", "api://downstream/.default"),
            (
                "claims",
                r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#
            ),
        ]
    );
    let d = rig.credential.describe();
    assert_eq!(
        d,
        format!("on-behalf-of for app app-id in tenant {TENANT} (client secret)")
    );
}

#[test]
fn certificates_and_managed_identities_authenticate_the_app() {
    let cert = CertificateOptions::from_pem(CERT);
    let how = |auth| client_credential(auth, &app(), &|_| unreachable!(), &env(&[])).unwrap();
    let flow = on_behalf_of(
        app(),
        how(ClientAuthentication::Certificate(cert)),
        USER_A.into(),
        &env(&[]),
    )
    .unwrap();
    assert!(flow.describe().ends_with("(certificate)"));
    let rig = Rig::new(flow);
    rig.transport.then(entra_token("t"));
    rig.credential.get_token(&downstream()).unwrap();
    let f = form(&rig.transport.last().body);
    let keys: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "assertion",
            "client_assertion",
            "client_assertion_type",
            "client_id",
            "grant_type",
            "requested_token_use",
            "scope"
        ]
    );

    // A managed identity's token for the exchange audience is the client assertion.
    let time = FakeTime::at(T0);
    let mi_transport = FakeTransport::new(&time);
    let make_mi = |o: ManagedIdentityOptions| {
        Ok(Credential::new(
            managed_identity::flow(o, &env(&[]))?,
            Box::new(mi_transport.clone()),
            Box::new(FakePlatform::new(&time)),
            Rc::new(RefCell::new(MemoryStore::default())),
        ))
    };
    let auth = ClientAuthentication::ManagedIdentity(ManagedIdentityOptions::default());
    let credential = client_credential(auth, &app(), &make_mi, &env(&[])).unwrap();
    let flow = on_behalf_of(app(), credential, USER_A.into(), &env(&[])).unwrap();
    assert!(
        flow.describe()
            .ends_with("(managed identity as federated credential)")
    );
    let rig = Rig::at(flow, &time);
    mi_transport.then(token_body("mi-assertion", T0, 86_400));
    rig.transport.then(entra_token("t"));
    rig.credential.get_token(&downstream()).unwrap();
    assert!(
        mi_transport
            .last()
            .url
            .contains("api%3A%2F%2FAzureADTokenExchange")
    );
    let f = form(&rig.transport.last().body);
    assert!(f.contains(&("client_assertion".into(), "mi-assertion".into())));
    assert!(f.contains(&("assertion".into(), USER_A.into())));
}

#[test]
fn each_user_gets_their_own_cached_token() {
    let i = Instance::new();
    let (a, b) = (
        i.credential(obo(app(), SECRET, USER_A)),
        i.credential(obo(app(), SECRET, USER_B)),
    );
    i.transport.then(entra_token("token-for-a"));
    i.transport.then(entra_token("token-for-b"));
    assert_eq!(a.get_token(&downstream()).unwrap().secret(), "token-for-a");
    assert_eq!(b.get_token(&downstream()).unwrap().secret(), "token-for-b");
    // Cache hits, each their own.
    assert_eq!(a.get_token(&downstream()).unwrap().secret(), "token-for-a");
    assert_eq!(b.get_token(&downstream()).unwrap().secret(), "token-for-b");
    // A new credential for user A (one per incoming request) hits the cache too.
    let again = i.credential(obo(app(), SECRET, &format!("Bearer {USER_A}")));
    assert_eq!(
        again.get_token(&downstream()).unwrap().secret(),
        "token-for-a"
    );
    assert_eq!(i.transport.count(), 2);
}

#[test]
fn the_cache_key_names_the_user_by_hash_and_never_the_assertion() {
    let flow = obo(app(), SECRET, USER_A);
    let identity = flow.identity();
    // Base64url SHA-256 without padding, as MSAL.NET's user_assertion_hash.
    use base64::Engine;
    use sha2::Digest;
    let hash = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(USER_A.as_bytes()));
    assert!(identity.contains(&format!("|user={hash}")), "{identity}");
    assert!(!identity.contains("user-a-payload"));
    assert_ne!(identity, obo(app(), SECRET, USER_B).identity());
    // Not the client-credentials identity of the same app either.
    assert_ne!(
        identity,
        client_secret(app(), SECRET.into(), &env(&[]))
            .unwrap()
            .identity()
    );
}

#[test]
fn a_different_client_secret_shares_nothing() {
    let i = Instance::new();
    i.transport.then(entra_token("earned-with-right-secret"));
    i.transport.then(entra_token("earned-with-other-secret"));
    let right = i.credential(obo(app(), SECRET, USER_A));
    let other = i.credential(obo(app(), "another-secret-value", USER_A));
    assert_eq!(
        right.get_token(&downstream()).unwrap().secret(),
        "earned-with-right-secret"
    );
    assert_eq!(
        other.get_token(&downstream()).unwrap().secret(),
        "earned-with-other-secret"
    );
    assert_eq!(i.transport.count(), 2);
}

#[test]
fn users_stay_apart_across_instances_sharing_the_store_which_never_sees_the_assertion() {
    let time = FakeTime::at(T0);
    let transport = FakeTransport::new(&time);
    let kv = MemoryKeyValue::default();
    let instance = |user: &str| {
        let platform = FakePlatform::new(&time);
        let shared = Rc::new(SharedCache::new(
            Box::new(kv.clone()),
            Protection::Encrypted(Keyring::from_keys(&[[3; 32]])),
            &platform,
        ));
        Credential::new(
            obo(app(), SECRET, user),
            Box::new(transport.clone()),
            Box::new(platform),
            Rc::new(RefCell::new(MemoryStore::default())),
        )
        .with_shared_cache(shared)
    };
    transport.then(entra_token("plain-token-for-a"));
    transport.then(entra_token("plain-token-for-b"));
    let get = |user| instance(user).get_token(&downstream()).unwrap();
    assert_eq!(get(USER_A).secret(), "plain-token-for-a");
    assert_eq!(get(USER_B).secret(), "plain-token-for-b");
    // Fresh instances: from L2, each their own.
    assert_eq!(get(USER_A).secret(), "plain-token-for-a");
    assert_eq!(get(USER_B).secret(), "plain-token-for-b");
    assert_eq!(transport.count(), 2);
    let raw: Vec<u8> = kv
        .map
        .borrow()
        .iter()
        .flat_map(|(k, v)| k.bytes().chain(v.iter().copied()))
        .collect();
    let raw = String::from_utf8_lossy(&raw);
    for secret in [
        "user-a-payload",
        "user-b-payload",
        "plain-token-for",
        SECRET,
    ] {
        assert!(!raw.contains(secret), "the store holds {secret}");
    }
    // Cached to their expiry (3600 s, minus the 300 s buffer): then asked again.
    time.advance(std::time::Duration::from_secs(3301));
    transport.then(entra_token("next-for-a"));
    assert_eq!(get(USER_A).secret(), "next-for-a");
}

#[test]
fn conditional_access_is_interaction_required_with_its_claims() {
    let rig = Rig::new(obo(app(), SECRET, USER_A));
    let claims = r#"{"access_token":{"polids":{"essential":true,"values":["9ab03e19-ed42-4168-b6b7-7001fb3e933a"]}}}"#;
    rig.transport.then(json(
        400,
        &serde_json::json!({
            "error": "interaction_required",
            "error_description": format!("AADSTS50079: MFA needed for the assertion {USER_A} (client {SECRET})."),
            "error_codes": [50079],
            "trace_id": "b72a68c3",
            "correlation_id": "73d656cf",
            "claims": claims,
        })
        .to_string(),
    ));
    let e = rig.credential.get_token(&downstream()).unwrap_err();
    assert_eq!(e.claims_challenge(), Some(claims));
    let Error::InteractionRequired(s) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(
        (s.code.as_str(), s.correlation_id.as_deref()),
        ("AADSTS50079", Some("73d656cf"))
    );
    let text = shown(&e);
    assert!(
        !text.contains("user-a-payload") && !text.contains(SECRET),
        "{text}"
    );
    assert!(text.contains("claims challenge"), "{text}");
}

#[test]
fn an_on_behalf_of_invalid_grant_needs_the_user_unless_the_app_is_at_fault() {
    let refusal = |suberror: &str| {
        let rig = Rig::new(obo(app(), SECRET, USER_A));
        rig.transport.then(json(
            400,
            &format!(
                r#"{{"error":"invalid_grant","error_description":"AADSTS50076: x","suberror":"{suberror}"}}"#
            ),
        ));
        rig.credential.get_token(&downstream()).unwrap_err()
    };
    for needs_user in ["basic_action", "consent_required", ""] {
        let e = refusal(needs_user);
        assert!(
            matches!(e, Error::InteractionRequired(_)),
            "{needs_user}: {e:?}"
        );
    }
    for app_fault in ["client_mismatch", "protection_policy_required"] {
        let e = refusal(app_fault);
        assert!(
            matches!(e, Error::AuthenticationFailed(_)),
            "{app_fault}: {e:?}"
        );
    }
}

#[test]
fn bad_assertions_are_refused_without_being_quoted() {
    for bad in [
        "",
        "Bearer ",
        "only.two-parts",
        "a.b.c.d.e",
        "a..c",
        "has space.b.c",
        "secret-ish-0123456789",
    ] {
        match on_behalf_of(
            app(),
            ClientCredential::Secret(SECRET.into()),
            bad.into(),
            &env(&[]),
        ) {
            Err(Error::InvalidInput(m)) => {
                assert!(m.contains("user assertion"), "{m}");
                assert!(bad.len() < 8 || !m.contains(bad), "{m}");
            }
            Ok(_) => panic!("{bad:?} accepted"),
            Err(other) => panic!("{bad:?}: {other:?}"),
        }
    }
    assert!(
        on_behalf_of(
            app(),
            ClientCredential::Secret(String::new()),
            USER_A.into(),
            &env(&[])
        )
        .is_err()
    );
}
