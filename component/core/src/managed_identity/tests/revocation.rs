//! Claims challenges and client capabilities on managed identity: Service Fabric
//! passes them (`xms_cc`, `token_sha256_to_refresh`), every other source fetches a new
//! token without them and says so.

use super::*;
use crate::cache::MemoryStore;
use crate::credential::{Credential, SharedStore};
use crate::shared_cache::{Keyring, MemoryKeyValue, Protection, SharedCache};
use crate::testing::*;
use crate::token::TokenRequest;
use std::cell::RefCell;
use std::rc::Rc;

const SCOPE: &str = "https://vault.azure.net/.default";
const CHALLENGE: &str = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;
/// SHA-256 of `abc` (FIPS 180-2's example), lower-case hex.
const ABC_SHA256: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const SERVICE_FABRIC: &[(&str, &str)] = &[
    (
        "IDENTITY_ENDPOINT",
        "https://localhost:2377/metadata/identity/oauth2/token",
    ),
    ("IDENTITY_HEADER", "sf-secret-0123456789"),
    (
        "IDENTITY_SERVER_THUMBPRINT",
        "ABCDEF0123456789ABCDEF0123456789ABCDEF01",
    ),
];

fn caps() -> ManagedIdentityOptions {
    ManagedIdentityOptions::default().client_capabilities(&["cp1", "cp2"])
}

fn sf(options: ManagedIdentityOptions) -> Rig {
    Rig::new(flow(options, &env(SERVICE_FABRIC)).unwrap())
}

fn vault() -> TokenRequest {
    TokenRequest::new(&[SCOPE])
}

/// The query parameters of the last request other than `api-version` and `resource`.
fn extra(rig: &Rig) -> Vec<(String, String)> {
    query(&rig.transport.last().url)
        .into_iter()
        .filter(|(k, _)| k != "api-version" && k != "resource")
        .collect()
}

fn pair(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

#[test]
fn service_fabric_answers_a_challenge_with_the_refused_tokens_hash_and_capabilities() {
    let rig = sf(caps());
    rig.transport.then(token_body("abc", T0, 86_400));
    rig.transport.then(token_body("new-token", T0, 86_400));
    assert_eq!(rig.get(SCOPE).unwrap().secret(), "abc");
    assert_eq!(extra(&rig), [pair("xms_cc", "cp1,cp2")]);
    let answered = rig
        .credential
        .get_token(&vault().claims(CHALLENGE))
        .unwrap();
    assert_eq!(answered.secret(), "new-token");
    assert_eq!(
        extra(&rig),
        [
            pair("xms_cc", "cp1,cp2"),
            pair("token_sha256_to_refresh", ABC_SHA256)
        ]
    );
    // Only the hash of the token left: never the token itself, never the claims.
    let url = rig.transport.last().url;
    assert!(!url.contains("=abc") && !url.contains("nbf"), "{url}");
    // The answer replaced the revoked token for plain callers.
    assert_eq!(rig.get(SCOPE).unwrap().secret(), "new-token");
    assert_eq!(rig.transport.count(), 2);
}

#[test]
fn service_fabric_sends_no_hash_without_a_cached_token_or_without_claims() {
    let rig = sf(caps());
    rig.transport.always(token_body("t", T0, 86_400));
    rig.credential
        .get_token(&vault().claims(CHALLENGE))
        .unwrap();
    assert_eq!(extra(&rig), [pair("xms_cc", "cp1,cp2")]);
    rig.credential.get_token(&vault().force_refresh()).unwrap();
    assert_eq!(extra(&rig), [pair("xms_cc", "cp1,cp2")]);
    // Without capabilities: nothing extra, but the hash still goes with claims.
    let rig = sf(ManagedIdentityOptions::default());
    rig.transport.then(token_body("abc", T0, 86_400));
    rig.transport.then(token_body("t", T0, 86_400));
    rig.get(SCOPE).unwrap();
    assert_eq!(extra(&rig), []);
    rig.credential
        .get_token(&vault().claims(CHALLENGE))
        .unwrap();
    assert_eq!(extra(&rig), [pair("token_sha256_to_refresh", ABC_SHA256)]);
}

#[test]
fn service_fabric_finds_the_refused_token_in_the_shared_cache() {
    let time = FakeTime::at(T0);
    let transport = FakeTransport::new(&time);
    let kv = MemoryKeyValue::default();
    // A fresh instance each time: its own empty L1, the same L2.
    let instance = || {
        let platform = FakePlatform::new(&time);
        let shared = Rc::new(SharedCache::new(
            Box::new(kv.clone()),
            Protection::Encrypted(Keyring::from_keys(&[[3; 32]])),
            &platform,
        ));
        let store: SharedStore = Rc::new(RefCell::new(MemoryStore::default()));
        Credential::new(
            flow(caps(), &env(SERVICE_FABRIC)).unwrap(),
            Box::new(transport.clone()),
            Box::new(platform),
            store,
        )
        .with_shared_cache(shared)
    };
    transport.then(token_body("abc", T0, 86_400));
    transport.then(token_body("new-token", T0, 86_400));
    instance().get_token(&vault()).unwrap();
    let answered = instance().get_token(&vault().claims(CHALLENGE)).unwrap();
    assert_eq!(answered.secret(), "new-token");
    let q = query(&transport.last().url);
    assert!(
        q.contains(&pair("token_sha256_to_refresh", ABC_SHA256)),
        "{q:?}"
    );
    assert_eq!(
        instance().get_token(&vault()).unwrap().secret(),
        "new-token"
    );
    assert_eq!(transport.count(), 2);
}

#[test]
fn capabilities_are_part_of_service_fabrics_cache_identity_only() {
    let with = flow(caps(), &env(SERVICE_FABRIC)).unwrap().identity();
    let without = flow(Default::default(), &env(SERVICE_FABRIC))
        .unwrap()
        .identity();
    assert_eq!(
        (with.as_str(), without.as_str()),
        ("service-fabric|app|cc=cp1,cp2", "service-fabric|app")
    );
    // IMDS sends none, so its tokens are the same with or without them.
    let imds = flow(caps(), &env(&[])).unwrap().identity();
    assert_eq!(
        imds,
        flow(Default::default(), &env(&[])).unwrap().identity()
    );
}

#[test]
fn imds_sends_neither_but_fetches_a_new_token_that_replaces_the_old() {
    let rig = Rig::new(flow(caps(), &env(&[])).unwrap());
    rig.transport.then(token_body("abc", T0, 86_400));
    rig.transport.then(token_body("new-token", T0, 86_400));
    rig.get(SCOPE).unwrap();
    let answered = rig
        .credential
        .get_token(&vault().claims(CHALLENGE))
        .unwrap();
    assert_eq!(answered.secret(), "new-token");
    assert_eq!(rig.transport.count(), 2, "the cache was bypassed");
    let url = rig.transport.last().url;
    assert!(
        !url.contains("xms_cc") && !url.contains("token_sha256"),
        "{url}"
    );
    assert_eq!(rig.get(SCOPE).unwrap().secret(), "new-token");
    assert_eq!(rig.transport.count(), 2);
}

#[test]
fn descriptions_say_which_sources_pass_claims() {
    let no = "cannot pass claims challenges or client capabilities: a claims request fetches a new token without them";
    let sources: &[&[(&str, &str)]] = &[
        &[],
        &[("IDENTITY_ENDPOINT", "http://e"), ("IDENTITY_HEADER", "h")],
        &[
            ("IDENTITY_ENDPOINT", "http://e"),
            ("IMDS_ENDPOINT", "http://i"),
        ],
        &[("MSI_ENDPOINT", "http://localhost:50342/oauth2/token")],
        &[
            ("MSI_ENDPOINT", "http://e"),
            ("MSI_SECRET", "s"),
            ("DEFAULT_IDENTITY_CLIENT_ID", "c"),
        ],
    ];
    for vars in sources {
        let d = flow(caps(), &env(vars)).unwrap().describe();
        assert!(d.ends_with(no), "{d}");
    }
    let d = flow(caps(), &env(SERVICE_FABRIC)).unwrap().describe();
    assert!(
        !d.contains("cannot pass") && d.contains("passes claims challenges"),
        "{d}"
    );
}

#[test]
fn bad_capabilities_are_refused_for_every_source() {
    for vars in [&[][..], SERVICE_FABRIC] {
        let bad = ManagedIdentityOptions::default().client_capabilities(&["cp1", "c p"]);
        assert!(
            matches!(flow(bad, &env(vars)).err(), Some(Error::InvalidInput(m)) if m.contains("\"c p\""))
        );
    }
}
