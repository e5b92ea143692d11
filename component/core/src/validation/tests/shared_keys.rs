//! The authority's keys in the shared cache: what a fresh instance takes from it,
//! and what it must not do because of it.

use super::*;
use crate::shared_cache::{KeyValue, Keyring, MemoryKeyValue, Protection, SharedCache, StoreError};

const SEALING_KEY: [u8; 32] = [5; 32];

/// Instances over one store and one authority, each created fresh, as Spin and
/// `serve` create one per request.
#[derive(Clone)]
struct Fleet {
    store: MemoryKeyValue,
    time: FakeTime,
    transport: FakeTransport,
}

impl Fleet {
    fn new() -> Self {
        let time = FakeTime::at(NOW);
        Fleet {
            store: MemoryKeyValue::default(),
            transport: FakeTransport::new(&time),
            time,
        }
    }

    /// A fresh instance whose shared cache seals with `sealing_key`.
    fn instance(&self, sealing_key: [u8; 32]) -> Validator {
        self.instance_over(Box::new(self.store.clone()), sealing_key)
    }

    /// A fresh instance that reaches the fleet's store through `store`.
    fn instance_over(&self, store: Box<dyn KeyValue>, sealing_key: [u8; 32]) -> Validator {
        let platform = FakePlatform::new(&self.time);
        let shared = SharedCache::new(
            store,
            Protection::Encrypted(Keyring::from_keys(&[sealing_key])),
            &platform,
        );
        Validator::new(
            ValidatorOptions::new(TENANT, &[AUDIENCE]),
            Rc::new(RefCell::new(KeyCache::default())),
            Box::new(self.transport.clone()),
            Box::new(platform),
        )
        .unwrap()
        .with_shared_cache(Rc::new(shared))
    }

    /// Scripts the authority's answers for `fetches` fetches of metadata and keys.
    fn serve_keys(&self, fetches: usize) {
        for _ in 0..fetches {
            serve_keys(&self.transport, vec![jwk(KEY_PEM, "k1")]);
        }
    }
}

#[test]
fn keys_fetched_by_one_instance_serve_a_fresh_one_through_the_shared_cache() {
    let fleet = Fleet::new();
    fleet.serve_keys(1);
    let token = sign(&v1_claims(TENANT), "k1", KEY_PEM);
    fleet.instance(SEALING_KEY).validate(&token).unwrap();
    assert_eq!(fleet.transport.count(), 2, "metadata and keys");
    for _ in 0..10 {
        fleet.instance(SEALING_KEY).validate(&token).unwrap();
    }
    assert_eq!(
        fleet.transport.count(),
        2,
        "fresh instances used the shared keys"
    );
    // A day later the shared keys are stale: the next instance fetches again.
    fleet.time.advance(Duration::from_secs(KEYS_TTL));
    fleet.serve_keys(1);
    let token = sign(
        &json!({"aud": AUDIENCE, "iss": format!("https://sts.windows.net/{TENANT}/"), "tid": TENANT,
                "appid": "app-1", "iat": NOW + KEYS_TTL - 60, "nbf": NOW + KEYS_TTL - 60, "exp": NOW + KEYS_TTL + 3600}),
        "k1",
        KEY_PEM,
    );
    fleet.instance(SEALING_KEY).validate(&token).unwrap();
    assert_eq!(fleet.transport.count(), 4);
}

/// The limit on refreshes for unknown kids holds across instances: the last attempt
/// is kept with the shared keys, so a fresh instance that does not know a kid does
/// not refresh when another one just did.
#[test]
fn forged_kids_in_fresh_instances_refresh_the_keys_at_most_once_per_five_minutes() {
    let fleet = Fleet::new();
    // Enough answers for a refresh per forged token, so the count tells.
    fleet.serve_keys(21);
    fleet
        .instance(SEALING_KEY)
        .validate(&sign(&v1_claims(TENANT), "k1", KEY_PEM))
        .unwrap();
    assert_eq!(fleet.transport.count(), 2, "the first fetch");
    let forge_ten = |round: &str| {
        for i in 0..10 {
            let kid = format!("{round}-{i}");
            let forged = sign(&v1_claims(TENANT), &kid, KEY_PEM);
            assert_eq!(
                fleet.instance(SEALING_KEY).validate(&forged),
                Err(ValidationError::UnknownKey(kid))
            );
        }
    };
    forge_ten("made-up");
    assert_eq!(
        fleet.transport.count(),
        2,
        "no refresh within five minutes of the fetch"
    );
    fleet
        .time
        .advance(Duration::from_secs(MIN_REFRESH_INTERVAL));
    forge_ten("later");
    assert_eq!(
        fleet.transport.count(),
        4,
        "one refresh in the next five minutes"
    );
}

/// A refresh that fails still counts as the attempt: instances after it do not try
/// again within the interval, and keep validating with the keys they have.
#[test]
fn a_failed_refresh_is_the_attempt_other_instances_wait_for() {
    let fleet = Fleet::new();
    fleet.serve_keys(1);
    let good = sign(&v1_claims(TENANT), "k1", KEY_PEM);
    fleet.instance(SEALING_KEY).validate(&good).unwrap();
    fleet
        .time
        .advance(Duration::from_secs(MIN_REFRESH_INTERVAL));
    fleet.transport.always(json(503, "down"));
    for i in 0..5 {
        let forged = sign(&v1_claims(TENANT), &format!("made-up-{i}"), KEY_PEM);
        assert!(matches!(
            fleet.instance(SEALING_KEY).validate(&forged),
            Err(ValidationError::UnknownKey(_))
        ));
        fleet.instance(SEALING_KEY).validate(&good).unwrap();
    }
    assert_eq!(
        fleet.transport.count(),
        3,
        "the first fetch, then one metadata request that failed"
    );
}

/// Deployments sharing a store with different sealing keys cannot open each other's
/// records; each must find its own, not replace the other's on every fetch.
#[test]
fn deployments_with_different_cache_keys_keep_their_own_signing_key_records() {
    let fleet = Fleet::new();
    fleet.serve_keys(8);
    let token = sign(&v1_claims(TENANT), "k1", KEY_PEM);
    let (a, b) = ([1; 32], [2; 32]);
    fleet.instance(a).validate(&token).unwrap();
    fleet.instance(b).validate(&token).unwrap();
    assert_eq!(fleet.transport.count(), 4, "each deployment fetched once");
    for _ in 0..3 {
        fleet.instance(a).validate(&token).unwrap();
        fleet.instance(b).validate(&token).unwrap();
    }
    assert_eq!(
        fleet.transport.count(),
        4,
        "fresh instances of both found their own deployment's record"
    );
    assert!(
        fleet.time.warnings.borrow().is_empty(),
        "neither met the other's record: {:?}",
        fleet.time.warnings.borrow()
    );
}

/// The fleet's store, where another instance acts between this instance's read and
/// its first compare-and-swap: two instances deciding at once.
struct Overtaken {
    store: MemoryKeyValue,
    other: std::cell::RefCell<Option<Box<dyn FnOnce()>>>,
}

impl KeyValue for Overtaken {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get(key)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.store.set(key, value)
    }

    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, StoreError> {
        let other = self.other.borrow_mut().take();
        if let Some(other) = other {
            other();
        }
        self.store.compare_and_swap(key, expected, new)
    }
}

/// Two instances that both decide to refresh for an unknown kid: the one whose claim
/// on the shared record comes second does not fetch, and takes the first one's keys.
#[test]
fn of_two_instances_refreshing_at_once_only_one_fetches() {
    let fleet = Fleet::new();
    fleet.serve_keys(1);
    fleet
        .instance(SEALING_KEY)
        .validate(&sign(&v1_claims(TENANT), "k1", KEY_PEM))
        .unwrap();
    fleet
        .time
        .advance(Duration::from_secs(MIN_REFRESH_INTERVAL));
    // The authority has rotated: k2 is published now.
    serve_keys(
        &fleet.transport,
        vec![jwk(KEY_PEM, "k1"), jwk(OTHER_KEY_PEM, "k2")],
    );
    let rotated = sign(&v1_claims(TENANT), "k2", OTHER_KEY_PEM);
    let first = fleet.clone();
    let first_token = rotated.clone();
    let second = fleet.instance_over(
        Box::new(Overtaken {
            store: fleet.store.clone(),
            other: std::cell::RefCell::new(Some(Box::new(move || {
                first.instance(SEALING_KEY).validate(&first_token).unwrap();
            }))),
        }),
        SEALING_KEY,
    );
    second.validate(&rotated).unwrap();
    assert_eq!(
        fleet.transport.count(),
        4,
        "the first fetch, then one refresh for both"
    );
}
