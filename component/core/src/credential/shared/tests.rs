//! Many instances over one shared store, played one call at a time: each instance is
//! a `Credential` with its own L1 over the same `MemoryKeyValue`. What a real
//! concurrent herd does is covered end to end; here each rule is pinned exactly.

use super::FAILURE_MEMORY;
use crate::cache::MemoryStore;
use crate::credential::*;
use crate::managed_identity::{self, ManagedIdentityOptions};
use crate::shared_cache::{Keyring, Lease, MemoryKeyValue, Protection, Remembered};
use crate::testing::*;
use sha2::Digest;
use std::cell::Cell;

const DAY: u64 = 86_400;

type SleepHook = Rc<RefCell<Option<Box<dyn FnMut()>>>>;

/// A platform for one instance: the shared fake clock, its own random numbers (so
/// leases and nonces differ between instances), and a hook that runs on every sleep,
/// standing for what other instances do while this one waits.
struct Node {
    inner: FakePlatform,
    next: Rc<Cell<u64>>,
    on_sleep: SleepHook,
}

impl Platform for Node {
    fn now_unix(&self) -> u64 {
        self.inner.now_unix()
    }
    fn monotonic(&self) -> Duration {
        self.inner.monotonic()
    }
    fn sleep(&self, duration: Duration) {
        self.inner.sleep(duration);
        if let Some(hook) = self.on_sleep.borrow_mut().as_mut() {
            hook();
        }
    }
    fn random_u64(&self) -> u64 {
        self.next
            .set(self.next.get().wrapping_add(0x9e37_79b9_7f4a_7c15));
        self.next.get()
    }
    fn warn(&self, message: &str) {
        self.inner.warn(message)
    }
}

struct Fleet {
    time: FakeTime,
    transport: FakeTransport,
    store: MemoryKeyValue,
    next: Rc<Cell<u64>>,
    on_sleep: SleepHook,
    env: Vec<(&'static str, &'static str)>,
    plaintext: bool,
}

impl Fleet {
    fn new() -> Self {
        let time = FakeTime::at(T0);
        Fleet {
            transport: FakeTransport::new(&time),
            time,
            store: MemoryKeyValue::default(),
            next: Rc::default(),
            on_sleep: Rc::default(),
            env: vec![],
            plaintext: false,
        }
    }

    fn node(&self) -> Node {
        Node {
            inner: FakePlatform::new(&self.time),
            next: self.next.clone(),
            on_sleep: self.on_sleep.clone(),
        }
    }

    fn cache(&self) -> Rc<SharedCache> {
        let protection = if self.plaintext {
            Protection::Plaintext
        } else {
            Protection::Encrypted(Keyring::from_keys(&[[3; 32]]))
        };
        Rc::new(SharedCache::new(
            Box::new(self.store.clone()),
            protection,
            &self.node(),
        ))
    }

    /// A fresh instance: empty L1, same store, same upstream.
    fn instance(&self) -> Credential {
        let flow =
            managed_identity::flow(ManagedIdentityOptions::default(), &env(&self.env)).unwrap();
        self.instance_of(flow)
    }

    /// A fresh instance running `flow`, over the same store and upstream.
    fn instance_of(&self, flow: Box<dyn Flow>) -> Credential {
        self.instance_over(flow, self.cache())
    }

    /// A fresh instance running `flow` over `cache` (another key, a lying store)
    /// instead of the fleet's own, with the same upstream.
    fn instance_over(&self, flow: Box<dyn Flow>, cache: Rc<SharedCache>) -> Credential {
        let store: SharedStore = Rc::new(RefCell::new(MemoryStore::default()));
        Credential::new(
            flow,
            Box::new(self.transport.clone()),
            Box::new(self.node()),
            store,
        )
        .with_shared_cache(cache)
    }

    fn key(&self) -> CacheKey {
        CacheKey::new(&self.instance().bound_identity().unwrap(), &vault())
    }

    fn serve(&self, token: &str, lifetime: u64) {
        self.transport
            .then(token_body(token, self.time.now(), lifetime));
    }

    fn advance(&self, secs: u64) {
        self.time.advance(Duration::from_secs(secs));
    }

    fn on_sleep(&self, hook: impl FnMut() + 'static) {
        *self.on_sleep.borrow_mut() = Some(Box::new(hook));
    }

    fn warnings(&self) -> Vec<String> {
        self.time.warnings.borrow().clone()
    }
}

fn vault() -> TokenRequest {
    TokenRequest::new(&["https://vault.azure.net/.default"])
}

fn get(c: &Credential) -> Result<AccessToken, Error> {
    c.get_token(&vault())
}

#[test]
fn sixteen_cold_instances_make_one_request() {
    let fleet = Fleet::new();
    fleet.serve("shared", DAY);
    let instances: Vec<Credential> = (0..16).map(|_| fleet.instance()).collect();
    for c in &instances {
        assert_eq!(get(c).unwrap().secret(), "shared");
    }
    assert_eq!(fleet.transport.count(), 1);
}

#[test]
fn a_new_instance_per_call_makes_one_request_per_token_lifetime() {
    let fleet = Fleet::new();
    fleet.serve("first", DAY);
    for _ in 0..1000 {
        assert_eq!(get(&fleet.instance()).unwrap().secret(), "first");
    }
    assert_eq!(fleet.transport.count(), 1);
    // Half a day on (± jitter), the next caller refreshes once for everyone.
    fleet.advance(DAY / 2 + 301);
    fleet.serve("second", DAY);
    for _ in 0..100 {
        assert_eq!(get(&fleet.instance()).unwrap().secret(), "second");
    }
    assert_eq!(fleet.transport.count(), 2);
}

#[test]
fn an_instance_with_a_due_token_picks_up_another_instances_refresh() {
    let fleet = Fleet::new();
    let (a, b) = (fleet.instance(), fleet.instance());
    fleet.serve("old", DAY);
    get(&a).unwrap();
    get(&b).unwrap();
    fleet.advance(DAY / 2 + 301);
    fleet.serve("new", DAY);
    assert_eq!(get(&a).unwrap().secret(), "new");
    // B's own copy is due, but L2 has A's refresh: no second request.
    assert_eq!(get(&b).unwrap().secret(), "new");
    assert_eq!(fleet.transport.count(), 2);
}

#[test]
fn while_another_instance_refreshes_the_old_token_is_served_at_once() {
    let fleet = Fleet::new();
    fleet.serve("old", DAY);
    get(&fleet.instance()).unwrap();
    fleet.advance(DAY / 2 + 301);
    let other = fleet.cache();
    let Lease::Acquired(_held) = other
        .try_lease(&fleet.key(), fleet.time.now(), 60, None, &fleet.node())
        .unwrap()
    else {
        panic!("lease")
    };
    assert_eq!(get(&fleet.instance()).unwrap().secret(), "old");
    assert_eq!(fleet.transport.count(), 1);
    assert!(fleet.time.sleeps().is_empty(), "nobody waited");
}

#[test]
fn a_waiter_gets_the_leaders_token_without_asking() {
    let fleet = Fleet::new();
    let leader = fleet.cache();
    let Lease::Acquired(held) = leader
        .try_lease(&fleet.key(), T0, 60, None, &fleet.node())
        .unwrap()
    else {
        panic!("lease")
    };
    // The leader finishes while the waiter sleeps for the third time.
    let (key, node, sleeps) = (fleet.key(), fleet.node(), Rc::new(Cell::new(0)));
    let mut held = Some(held);
    fleet.on_sleep(move || {
        sleeps.set(sleeps.get() + 1);
        if sleeps.get() == 3 {
            let token = AccessToken::new("from-leader", T0 + DAY).with_refresh_on(T0 + DAY / 2);
            leader.put_token(&key, &token, &node).unwrap();
            leader.release(held.take().unwrap(), &node).unwrap();
        }
    });
    assert_eq!(get(&fleet.instance()).unwrap().secret(), "from-leader");
    assert_eq!(fleet.transport.count(), 0);
    assert_eq!(fleet.time.sleeps().len(), 3);
}

#[test]
fn a_waiter_shares_the_leaders_failure() {
    let fleet = Fleet::new();
    let leader = fleet.cache();
    let Lease::Acquired(_held) = leader
        .try_lease(&fleet.key(), T0, 60, None, &fleet.node())
        .unwrap()
    else {
        panic!("lease")
    };
    let (key, node) = (fleet.key(), fleet.node());
    fleet.on_sleep(move || {
        let failure = Remembered {
            error: Error::Transport("IMDS timed out".into()),
            at: T0,
            until: T0 + FAILURE_MEMORY,
        };
        leader.remember(&key, &failure, &node).unwrap();
    });
    let e = get(&fleet.instance()).unwrap_err();
    assert!(
        matches!(&e, Error::Transport(m) if m.contains("remembered")),
        "{e:?}"
    );
    assert_eq!(fleet.transport.count(), 0);
}

#[test]
fn a_lease_whose_holder_died_is_taken_over_after_its_length() {
    let fleet = Fleet::new();
    fleet.serve("taken-over", DAY);
    // Held and never released, with a wall clock that does not move (as in tests
    // with a manual clock): the waiter's monotonic clock decides.
    let dead = fleet.cache();
    let Lease::Acquired(_held) = dead
        .try_lease(&fleet.key(), T0, u64::MAX / 2, None, &fleet.node())
        .unwrap()
    else {
        panic!("lease")
    };
    let wall = fleet.time.now();
    assert_eq!(get(&fleet.instance()).unwrap().secret(), "taken-over");
    assert_eq!(fleet.transport.count(), 1);
    let waited: Duration = fleet.time.sleeps().iter().sum();
    let policy = RetryPolicy::imds();
    assert!(
        waited >= policy.max_elapsed + policy.attempt_timeout,
        "{waited:?}"
    );
    assert_eq!(fleet.time.now(), wall, "the wall clock never moved");
}

#[test]
fn a_429_is_remembered_until_retry_after_by_every_instance() {
    let fleet = Fleet::new();
    fleet.transport.then(with_header(
        json(429, r#"{"error":"too_many_requests"}"#),
        "Retry-After",
        "240",
    ));
    let e = get(&fleet.instance()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Throttled {
                retry_after: 240,
                ..
            }
        ),
        "{e:?}"
    );
    fleet.advance(100);
    for _ in 0..50 {
        match get(&fleet.instance()).unwrap_err() {
            // Rounded up: the clock has whole seconds, the wait is never shortened.
            Error::Throttled { retry_after, .. } => assert_eq!(retry_after, 141),
            other => panic!("{other:?}"),
        }
    }
    fleet.advance(140);
    get(&fleet.instance()).unwrap_err();
    assert_eq!(
        fleet.transport.count(),
        1,
        "not before Retry-After has fully passed"
    );
    fleet.advance(1);
    fleet.serve("after", DAY);
    assert_eq!(get(&fleet.instance()).unwrap().secret(), "after");
    assert_eq!(fleet.transport.count(), 2);
}

#[test]
fn a_long_retry_after_is_remembered_for_five_minutes_at_most() {
    let fleet = Fleet::new();
    fleet.transport.always(with_header(
        json(429, r#"{"error":"too_many_requests"}"#),
        "Retry-After",
        "7200",
    ));
    get(&fleet.instance()).unwrap_err();
    fleet.advance(super::MAX_THROTTLE_MEMORY);
    get(&fleet.instance()).unwrap_err();
    assert_eq!(fleet.transport.count(), 1);
    fleet.advance(1);
    get(&fleet.instance()).unwrap_err();
    assert_eq!(fleet.transport.count(), 2, "asked again after five minutes");
}

#[test]
fn a_refusal_is_remembered_briefly_then_asked_again() {
    let fleet = Fleet::new();
    let refusal = r#"{"error":"invalid_request","error_description":"Identity not found"}"#;
    fleet.transport.always(json(400, refusal));
    for _ in 0..100 {
        let e = get(&fleet.instance()).unwrap_err();
        assert!(matches!(e, Error::AuthenticationFailed(_)), "{e:?}");
    }
    assert_eq!(fleet.transport.count(), 1);
    fleet.advance(FAILURE_MEMORY);
    get(&fleet.instance()).unwrap_err();
    assert_eq!(fleet.transport.count(), 2);
}

#[test]
fn a_failed_refresh_keeps_serving_the_old_token_everywhere() {
    let fleet = Fleet::new();
    fleet.serve("old", DAY);
    get(&fleet.instance()).unwrap();
    fleet.advance(DAY / 2 + 301);
    fleet.transport.always(json(500, "{}"));
    for _ in 0..20 {
        assert_eq!(get(&fleet.instance()).unwrap().secret(), "old");
    }
    assert_eq!(
        fleet.transport.count(),
        2,
        "one refresh attempt, remembered"
    );
}

#[test]
fn a_dead_store_degrades_to_l1_and_upstream_and_is_reported_once() {
    let fleet = Fleet::new();
    fleet.store.down.set(true);
    let c = fleet.instance();
    fleet.serve("direct", DAY);
    for _ in 0..10 {
        assert_eq!(get(&c).unwrap().secret(), "direct");
    }
    assert_eq!(fleet.transport.count(), 1);
    let reports: Vec<String> = fleet
        .warnings()
        .into_iter()
        .filter(|w| w.contains("key-value store failed"))
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    // Once it answers again, the next new instance uses it.
    fleet.store.down.set(false);
    fleet.serve("stored", DAY);
    assert_eq!(get(&fleet.instance()).unwrap().secret(), "stored");
    assert_eq!(get(&fleet.instance()).unwrap().secret(), "stored");
    assert_eq!(fleet.transport.count(), 2);
}

#[test]
fn a_tampered_entry_is_replaced_by_a_fresh_fetch() {
    let fleet = Fleet::new();
    fleet.serve("one", DAY);
    get(&fleet.instance()).unwrap();
    for value in fleet.store.map.borrow_mut().values_mut() {
        let last = value.len() - 1;
        value[last] ^= 0xff;
    }
    fleet.serve("two", DAY);
    assert_eq!(get(&fleet.instance()).unwrap().secret(), "two");
    assert_eq!(get(&fleet.instance()).unwrap().secret(), "two");
    assert_eq!(fleet.transport.count(), 2);
    assert!(
        fleet
            .warnings()
            .iter()
            .any(|w| w.contains("ignored a cached token"))
    );
}

#[test]
fn remembered_errors_are_scrubbed_before_they_are_stored() {
    let mut fleet = Fleet::new();
    fleet.plaintext = true;
    fleet.env = vec![
        ("IDENTITY_ENDPOINT", "http://localhost:42356/msi/token"),
        ("IDENTITY_HEADER", "header-secret-value"),
    ];
    // A proxy echoing the request's headers in its refusal.
    fleet.transport.always(json(
        400,
        r#"{"error":"bad","error_description":"got X-IDENTITY-HEADER: header-secret-value"}"#,
    ));
    let e = get(&fleet.instance()).unwrap_err();
    assert!(!shown(&e).contains("header-secret-value"));
    let stored = fleet.store.map.borrow();
    assert!(!stored.is_empty());
    for value in stored.values() {
        assert!(!String::from_utf8_lossy(value).contains("header-secret-value"));
    }
}

#[test]
fn force_refresh_asks_upstream_and_shares_the_result() {
    let fleet = Fleet::new();
    fleet.serve("one", DAY);
    get(&fleet.instance()).unwrap();
    fleet.serve("forced", DAY);
    let forced = fleet
        .instance()
        .get_token(&vault().force_refresh())
        .unwrap();
    assert_eq!(forced.secret(), "forced");
    assert_eq!(get(&fleet.instance()).unwrap().secret(), "forced");
    assert_eq!(fleet.transport.count(), 2);
}

// Binding, claims replacement, a store that lies about leases, key rotation.
mod isolation;
