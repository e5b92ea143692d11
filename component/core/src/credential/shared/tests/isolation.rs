//! Isolation over a shared store: a token, a failure or a lease only for the
//! credential that earned it; a claims answer replaces the refused token; a store
//! that lies about leases costs one request; a rotated key still finds old tokens.

use super::*;
use crate::shared_cache::StoredKind;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

fn secret_flow(secret: &str) -> Box<dyn Flow> {
    let app = crate::confidential::AppOptions::default()
        .client_id("app-id")
        .tenant_id(TENANT);
    crate::confidential::client_secret(app, secret.into(), &env(&[])).unwrap()
}

fn app_with_secret(fleet: &Fleet, secret: &str) -> Credential {
    fleet.instance_of(secret_flow(secret))
}

fn invalid_client() -> crate::testing::Reply {
    json(
        401,
        r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}"#,
    )
}

#[test]
fn a_wrong_secret_is_never_answered_with_the_right_secrets_token() {
    let fleet = Fleet::new();
    fleet.serve("earned-by-a", DAY);
    let a = app_with_secret(&fleet, "right-secret-value");
    assert_eq!(get(&a).unwrap().secret(), "earned-by-a");
    // Same app id and tenant, wrong secret: it must ask, and be refused.
    fleet.transport.then(invalid_client());
    let b = app_with_secret(&fleet, "wrong-secret-value");
    let refused = get(&b).unwrap_err();
    assert!(
        matches!(&refused, Error::AuthenticationFailed(e) if e.code == "AADSTS7000215"),
        "{refused:?}"
    );
    assert_eq!(
        fleet.transport.count(),
        2,
        "B's request reached the token service"
    );
    // A still gets its own token from the store, not B's remembered refusal.
    assert_eq!(
        get(&app_with_secret(&fleet, "right-secret-value"))
            .unwrap()
            .secret(),
        "earned-by-a"
    );
    assert_eq!(fleet.transport.count(), 2);
}

#[test]
fn a_wrong_secrets_refusal_is_never_served_to_the_right_secret() {
    let fleet = Fleet::new();
    fleet.transport.then(invalid_client());
    let b = app_with_secret(&fleet, "wrong-secret-value");
    assert!(get(&b).is_err());
    // B's refusal is remembered for B: another instance of B is answered with it.
    assert!(get(&app_with_secret(&fleet, "wrong-secret-value")).is_err());
    assert_eq!(fleet.transport.count(), 1);
    // A asks for itself, at once.
    fleet.serve("earned-by-a", DAY);
    let a = app_with_secret(&fleet, "right-secret-value");
    assert_eq!(get(&a).unwrap().secret(), "earned-by-a");
    assert_eq!(fleet.transport.count(), 2);
}

#[test]
fn managed_identities_on_different_endpoints_never_share_tokens() {
    let fleet = Fleet::new();
    let on = |base: &str| {
        let env = env(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", base)]);
        fleet.instance_of(managed_identity::flow(ManagedIdentityOptions::default(), &env).unwrap())
    };
    fleet.serve("from-the-real-imds", DAY);
    assert_eq!(
        get(&on("http://169.254.169.254")).unwrap().secret(),
        "from-the-real-imds"
    );
    // An identity pointed elsewhere cannot read it, nor plant one for the first.
    fleet.serve("planted", DAY);
    assert_eq!(get(&on("http://127.0.0.1:9")).unwrap().secret(), "planted");
    assert_eq!(
        get(&on("http://169.254.169.254")).unwrap().secret(),
        "from-the-real-imds"
    );
    assert_eq!(fleet.transport.count(), 2);
}

#[test]
fn the_store_holds_no_trace_of_the_secret_and_keys_follow_the_sealing_key() {
    let fleet = Fleet::new();
    fleet.serve("t", DAY);
    get(&app_with_secret(&fleet, "right-secret-value")).unwrap();
    let secret_hash: String = sha2::Sha256::digest(b"right-secret-value")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for (key, value) in fleet.store.map.borrow().iter() {
        assert!(!key.contains("right-secret") && !key.contains(&secret_hash));
        assert!(!value.windows(12).any(|w| w == b"right-secret"));
    }
    // The fingerprint is keyed: the same credential over another sealing key has
    // another cache identity, so nobody without the key can test a guess.
    let a = app_with_secret(&fleet, "right-secret-value")
        .bound_identity()
        .unwrap();
    let other = fleet.instance_over(
        secret_flow("right-secret-value"),
        Rc::new(SharedCache::new(
            Box::new(MemoryKeyValue::default()),
            Protection::Encrypted(Keyring::from_keys(&[[4; 32]])),
            &fleet.node(),
        )),
    );
    assert_ne!(a, other.bound_identity().unwrap());
    assert!(!a.contains("right-secret"));
}

#[test]
fn a_claims_answer_replaces_the_token_for_every_instance() {
    let fleet = Fleet::new();
    fleet.serve("revoked", DAY);
    assert_eq!(get(&fleet.instance()).unwrap().secret(), "revoked");
    fleet.serve("after-challenge", DAY);
    let challenged = fleet
        .instance()
        .get_token(&vault().claims(r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#));
    assert_eq!(challenged.unwrap().secret(), "after-challenge");
    // Another instance, asking without claims, gets the new token from the store.
    assert_eq!(get(&fleet.instance()).unwrap().secret(), "after-challenge");
    assert_eq!(fleet.transport.count(), 2, "one request for the challenge");
}

// ---- A store that lies about leases: callers still get a token, with one request.

/// `inner`, except that every lease read returns fresh random bytes and every
/// compare-and-swap on a lease fails: a writer rewriting garbage, no key needed.
struct GarbageLeases {
    inner: MemoryKeyValue,
    counter: Cell<u64>,
}

impl crate::shared_cache::KeyValue for GarbageLeases {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, crate::shared_cache::StoreError> {
        if StoredKind::of_key(key) == Some(StoredKind::Lease) {
            self.counter.set(self.counter.get() + 1);
            let noise = sha2::Sha256::digest(self.counter.get().to_le_bytes());
            return Ok(Some(noise.to_vec()));
        }
        self.inner.get(key)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), crate::shared_cache::StoreError> {
        self.inner.set(key, value)
    }
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, crate::shared_cache::StoreError> {
        if StoredKind::of_key(key) == Some(StoredKind::Lease) {
            return Ok(false);
        }
        self.inner.compare_and_swap(key, expected, new)
    }
}

#[test]
fn a_lease_that_can_be_neither_read_nor_won_costs_one_request_not_a_stall() {
    let fleet = Fleet::new();
    fleet.serve("fetched-alone", DAY);
    let liar = Rc::new(SharedCache::new(
        Box::new(GarbageLeases {
            inner: fleet.store.clone(),
            counter: Cell::new(0),
        }),
        Protection::Encrypted(Keyring::from_keys(&[[3; 32]])),
        &fleet.node(),
    ));
    let flow = managed_identity::flow(ManagedIdentityOptions::default(), &env(&fleet.env)).unwrap();
    let instance = fleet.instance_over(flow, liar);
    assert_eq!(get(&instance).unwrap().secret(), "fetched-alone");
    assert_eq!(fleet.transport.count(), 1);
    let policy = RetryPolicy::imds();
    let length = policy.max_elapsed + policy.attempt_timeout;
    assert!(fleet.time.elapsed() < length, "{:?}", fleet.time.elapsed());
    let said: Vec<String> = fleet
        .warnings()
        .into_iter()
        .filter(|w| w.contains("neither read nor taken"))
        .collect();
    assert_eq!(said.len(), 1, "{:?}", fleet.warnings());
    // The token it fetched went to the store for the others.
    assert_eq!(get(&fleet.instance()).unwrap().secret(), "fetched-alone");
    assert_eq!(fleet.transport.count(), 1);
}

#[test]
fn a_lease_rewritten_forever_is_waited_for_one_lease_length_then_fetched_alone() {
    let fleet = Fleet::new();
    fleet.serve("fetched-alone", DAY);
    // Another instance (with the key) takes a fresh lease at every poll.
    let (key, node, writer) = (fleet.key(), fleet.node(), fleet.cache());
    let _first = writer.try_lease(&key, T0, 60, None, &node).unwrap();
    let mut round = 0u64;
    fleet.on_sleep(move || {
        round += 1;
        let lease = writer.lease_bytes(&key).unwrap();
        let _ = writer.try_lease(&key, T0 + round, 60, Some(&lease), &node);
    });
    assert_eq!(get(&fleet.instance()).unwrap().secret(), "fetched-alone");
    assert_eq!(fleet.transport.count(), 1);
    let policy = RetryPolicy::imds();
    let length = policy.max_elapsed + policy.attempt_timeout + Duration::from_secs(5);
    let waited = fleet.time.elapsed();
    assert!(
        waited >= length && waited <= length + Duration::from_secs(2),
        "{waited:?}"
    );
    assert!(
        fleet
            .warnings()
            .iter()
            .any(|w| w.contains("was not released or won")),
        "{:?}",
        fleet.warnings()
    );
}

#[test]
fn a_rotated_sealing_key_still_finds_the_tokens_bound_under_the_old_one() {
    let fleet = Fleet::new();
    fleet.serve("before-rotation", DAY);
    assert_eq!(get(&fleet.instance()).unwrap().secret(), "before-rotation");
    let rotated = |keys: &[[u8; 32]]| {
        let flow =
            managed_identity::flow(ManagedIdentityOptions::default(), &env(&fleet.env)).unwrap();
        fleet.instance_over(
            flow,
            Rc::new(SharedCache::new(
                Box::new(fleet.store.clone()),
                Protection::Encrypted(Keyring::from_keys(keys)),
                &fleet.node(),
            )),
        )
    };
    // The new key seals, the old one (listed second) still opens and still binds.
    assert_eq!(
        get(&rotated(&[[9; 32], [3; 32]])).unwrap().secret(),
        "before-rotation"
    );
    // Copied under the new key's binding: the old key can now be dropped.
    assert_eq!(
        get(&rotated(&[[9; 32]])).unwrap().secret(),
        "before-rotation"
    );
    assert_eq!(fleet.transport.count(), 1);
}
