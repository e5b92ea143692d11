use super::entry::{open, seal};
use super::*;
use crate::cache::CacheKey;
use crate::testing::{FakePlatform, FakeTime, T0};
use crate::token::{AccessToken, TokenRequest};
use base64::Engine;

const KEY_A: [u8; 32] = [7; 32];
const KEY_B: [u8; 32] = [9; 32];

fn token() -> AccessToken {
    AccessToken::new("eyJ.secret-token.sig", T0 + 3600).with_refresh_on(T0 + 1800)
}

fn key() -> CacheKey {
    CacheKey::new(
        "imds|system",
        &TokenRequest::new(&["https://vault.azure.net/.default"]),
    )
}

fn encrypted(keys: &[[u8; 32]]) -> Protection {
    Protection::Encrypted(Keyring::from_keys(keys))
}

struct Rig {
    time: FakeTime,
    platform: FakePlatform,
    store: MemoryKeyValue,
}

impl Rig {
    fn new() -> Self {
        let time = FakeTime::at(T0);
        Rig {
            platform: FakePlatform::new(&time),
            time,
            store: MemoryKeyValue::default(),
        }
    }
    fn cache(&self, protection: Protection) -> SharedCache {
        SharedCache::new(Box::new(self.store.clone()), protection, &self.platform)
    }
    fn only_value(&self) -> (String, Vec<u8>) {
        let map = self.store.map.borrow();
        assert_eq!(map.len(), 1, "{:?}", map.keys().collect::<Vec<_>>());
        let (k, v) = map.iter().next().unwrap();
        (k.clone(), v.clone())
    }
    fn overwrite(&self, value: Vec<u8>) {
        let (k, _) = self.only_value();
        self.store.map.borrow_mut().insert(k, value);
    }
}

#[test]
fn a_token_round_trips_and_is_never_stored_in_clear() {
    let rig = Rig::new();
    let cache = rig.cache(encrypted(&[KEY_A]));
    cache.put_token(&key(), &token(), &rig.platform).unwrap();
    let (storage_key, bytes) = rig.only_value();
    assert_eq!(StoredKind::of_key(&storage_key), Some(StoredKind::Token));
    // Neither the token nor what it is for is readable in the store.
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("secret-token") && !storage_key.contains("vault"));
    assert_eq!(value_expiry(&bytes), Some(T0 + 3600));
    assert!(!value_in_clear(&bytes));
    assert_eq!(
        cache.token(&key(), T0, &rig.platform).unwrap(),
        Some(token())
    );
}

/// Redis Cluster's hash tag: what lies between a key's first `{` and the next `}`,
/// when that is not empty; the slot is computed from it alone.
fn hash_tag(key: &str) -> Option<&str> {
    let start = key.find('{')? + 1;
    let len = key[start..].find('}')?;
    (len > 0).then(|| &key[start..start + len])
}

#[test]
fn a_tokens_entry_lease_and_failure_share_one_redis_cluster_hash_tag() {
    let rig = Rig::new();
    let cache = rig.cache(encrypted(&[KEY_A]));
    let p = &rig.platform;
    cache.put_token(&key(), &token(), p).unwrap();
    let failure = Remembered {
        error: crate::Error::Throttled {
            retry_after: 30,
            message: "IMDS answered 429".into(),
        },
        at: T0,
        until: T0 + 30,
    };
    cache.remember(&key(), &failure, p).unwrap();
    assert!(matches!(
        cache.try_lease(&key(), T0, 30, None, p).unwrap(),
        Lease::Acquired(_)
    ));
    let other = CacheKey::new(
        "imds|system",
        &TokenRequest::new(&["https://storage.azure.com/.default"]),
    );
    cache.put_token(&other, &token(), p).unwrap();
    let keys: Vec<String> = rig.store.map.borrow().keys().cloned().collect();
    let tags_of = |kind| -> Vec<&str> {
        keys.iter()
            .filter(|k| StoredKind::of_key(k) == Some(kind))
            .map(|k| hash_tag(k).unwrap_or_else(|| panic!("{k} has no hash tag")))
            .collect()
    };
    let [failure_tag] = tags_of(StoredKind::Failure)[..] else {
        panic!("one failure record: {keys:?}")
    };
    assert_eq!(tags_of(StoredKind::Lease), [failure_tag], "{keys:?}");
    let tokens = tags_of(StoredKind::Token);
    assert_eq!(tokens.len(), 2, "{keys:?}");
    assert_eq!(
        tokens.iter().filter(|t| **t == failure_tag).count(),
        1,
        "the token's entry is with its lease; the other scope's hashes elsewhere: {keys:?}"
    );
}

#[test]
fn an_entry_in_clear_says_so_in_its_header() {
    let rig = Rig::new();
    let cache = rig.cache(Protection::Plaintext);
    cache.put_token(&key(), &token(), &rig.platform).unwrap();
    let (_, bytes) = rig.only_value();
    assert!(value_in_clear(&bytes));
    assert!(!value_in_clear(b"an app's own value"));
}

#[test]
fn every_flipped_byte_and_every_truncation_is_rejected_and_reported() {
    let rig = Rig::new();
    let cache = rig.cache(encrypted(&[KEY_A]));
    cache.put_token(&key(), &token(), &rig.platform).unwrap();
    let (_, good) = rig.only_value();
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x01;
        rig.overwrite(bad);
        // A flipped expiry byte may push the entry into the past: absent either way.
        assert_eq!(
            cache.token(&key(), T0, &rig.platform).unwrap(),
            None,
            "byte {i}"
        );
    }
    for len in 0..good.len() {
        rig.overwrite(good[..len].to_vec());
        assert_eq!(
            cache.token(&key(), T0, &rig.platform).unwrap(),
            None,
            "len {len}"
        );
    }
    let warnings = rig.time.warnings.borrow();
    assert!(warnings.iter().any(|w| w.contains("failed authentication")));
    assert!(warnings.iter().any(|w| w.contains("truncated")));
    assert!(warnings.iter().all(|w| !w.contains("secret-token")));
}

#[test]
fn an_entry_moved_to_another_key_does_not_open() {
    let rig = Rig::new();
    let cache = rig.cache(encrypted(&[KEY_A]));
    cache.put_token(&key(), &token(), &rig.platform).unwrap();
    let (_, bytes) = rig.only_value();
    let other = CacheKey::new(
        "imds|system",
        &TokenRequest::new(&["https://graph.microsoft.com/.default"]),
    );
    cache.put_token(&other, &token(), &rig.platform).unwrap();
    let other_key = rig
        .store
        .map
        .borrow()
        .keys()
        .find(|k| **k != rig.only_value_key_for(&bytes))
        .cloned()
        .unwrap();
    rig.store.map.borrow_mut().insert(other_key, bytes);
    assert_eq!(cache.token(&other, T0, &rig.platform).unwrap(), None);
}

impl Rig {
    fn only_value_key_for(&self, bytes: &[u8]) -> String {
        self.store
            .map
            .borrow()
            .iter()
            .find(|(_, v)| v.as_slice() == bytes)
            .map(|(k, _)| k.clone())
            .unwrap()
    }
}

#[test]
fn keys_rotate_old_entries_still_open_new_ones_use_the_first_key() {
    let rig = Rig::new();
    rig.cache(encrypted(&[KEY_A]))
        .put_token(&key(), &token(), &rig.platform)
        .unwrap();
    let rotated = rig.cache(encrypted(&[KEY_B, KEY_A]));
    assert_eq!(
        rotated.token(&key(), T0, &rig.platform).unwrap(),
        Some(token())
    );
    rotated.put_token(&key(), &token(), &rig.platform).unwrap();
    // Written with B now: an instance with only A cannot read it, one with only B can.
    assert_eq!(
        rig.cache(encrypted(&[KEY_A]))
            .token(&key(), T0, &rig.platform)
            .unwrap(),
        None
    );
    assert_eq!(
        rig.cache(encrypted(&[KEY_B]))
            .token(&key(), T0, &rig.platform)
            .unwrap(),
        Some(token())
    );
    assert!(
        rig.time
            .warnings
            .borrow()
            .iter()
            .any(|w| w.contains("not in ENTRA_IDENTITY_CACHE_KEY"))
    );
}

#[test]
fn clear_entries_are_refused_where_encryption_is_configured() {
    let rig = Rig::new();
    rig.cache(Protection::Plaintext)
        .put_token(&key(), &token(), &rig.platform)
        .unwrap();
    let (_, bytes) = rig.only_value();
    assert!(String::from_utf8_lossy(&bytes).contains("secret-token"));
    assert_eq!(
        rig.cache(encrypted(&[KEY_A]))
            .token(&key(), T0, &rig.platform)
            .unwrap(),
        None
    );
    assert_eq!(
        rig.cache(Protection::Plaintext)
            .token(&key(), T0, &rig.platform)
            .unwrap(),
        Some(token())
    );
}

#[test]
fn a_header_edited_to_extend_life_fails_authentication() {
    let protection = encrypted(&[KEY_A]);
    let sealed = seal(&protection, b't', "k", T0 + 10, b"payload", [1; 24]);
    let mut extended = sealed.clone();
    extended[4..12].copy_from_slice(&(T0 + 999_999).to_be_bytes());
    assert_eq!(
        open(&protection, b't', "k", &extended),
        Err(EntryError::Tampered)
    );
    assert_eq!(
        open(&protection, b'f', "k", &sealed),
        Err(EntryError::WrongKind)
    );
    assert_eq!(
        open(&protection, b't', "k", &sealed).unwrap().payload,
        b"payload"
    );
}

#[test]
fn expired_entries_read_as_absent() {
    let rig = Rig::new();
    let cache = rig.cache(encrypted(&[KEY_A]));
    cache.put_token(&key(), &token(), &rig.platform).unwrap();
    assert_eq!(cache.token(&key(), T0 + 3600, &rig.platform).unwrap(), None);
}

#[test]
fn one_lease_at_a_time_until_released_or_expired_or_abandoned() {
    let rig = Rig::new();
    let a = rig.cache(encrypted(&[KEY_A]));
    let b = rig.cache(encrypted(&[KEY_A]));
    let p = &rig.platform;
    let Lease::Acquired(held) = a.try_lease(&key(), T0, 30, None, p).unwrap() else {
        panic!("free lease not acquired");
    };
    let Lease::Busy { observed } = b.try_lease(&key(), T0, 30, None, p).unwrap() else {
        panic!("held lease acquired twice");
    };
    // Past its length, anyone may take it.
    assert!(matches!(
        b.try_lease(&key(), T0 + 30, 30, None, p).unwrap(),
        Lease::Acquired(_)
    ));
    // A holder that lost its lease cannot release the new holder's.
    a.release(held, p).unwrap();
    assert!(matches!(
        a.try_lease(&key(), T0 + 31, 30, None, p).unwrap(),
        Lease::Busy { .. }
    ));
    // A lease seen unchanged (abandoned) is taken over, by exactly one of two takers.
    let current = b.lease_bytes(&key()).unwrap();
    assert_ne!(current, observed);
    let first = a.try_lease(&key(), T0 + 31, 30, Some(&current), p).unwrap();
    let second = b.try_lease(&key(), T0 + 31, 30, Some(&current), p).unwrap();
    assert!(matches!(first, Lease::Acquired(_)));
    assert!(matches!(second, Lease::Busy { .. }));
    let Lease::Acquired(held) = first else {
        unreachable!()
    };
    a.release(held, p).unwrap();
    assert!(matches!(
        b.try_lease(&key(), T0 + 31, 30, None, p).unwrap(),
        Lease::Acquired(_)
    ));
}

#[test]
fn a_remembered_failure_counts_down_and_says_it_was_remembered() {
    let rig = Rig::new();
    let cache = rig.cache(encrypted(&[KEY_A]));
    let r = Remembered {
        error: crate::Error::Throttled {
            retry_after: 30,
            message: "IMDS answered 429".into(),
        },
        at: T0,
        until: T0 + 30,
    };
    cache.remember(&key(), &r, &rig.platform).unwrap();
    let back = cache
        .failure(&key(), T0 + 10, &rig.platform)
        .unwrap()
        .unwrap();
    match back.error_at(T0 + 10) {
        crate::Error::Throttled {
            retry_after,
            message,
        } => {
            assert_eq!(retry_after, 20);
            assert!(message.contains("remembered"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(cache.failure(&key(), T0 + 30, &rig.platform).unwrap(), None);
}

#[test]
fn a_remembered_interaction_required_keeps_its_claims_and_suberror() {
    let rig = Rig::new();
    let cache = rig.cache(encrypted(&[KEY_A]));
    let claims = r#"{"access_token":{"polids":{"essential":true,"values":["p1"]}}}"#;
    let r = Remembered {
        error: crate::Error::InteractionRequired(
            crate::ServiceError::new(400)
                .code("AADSTS50079")
                .context("the user must act")
                .claims(claims)
                .suberror("basic_action"),
        ),
        at: T0,
        until: T0 + 5,
    };
    cache.remember(&key(), &r, &rig.platform).unwrap();
    let back = cache
        .failure(&key(), T0 + 1, &rig.platform)
        .unwrap()
        .unwrap()
        .error_at(T0 + 1);
    assert_eq!(back.claims_challenge(), Some(claims));
    let crate::Error::InteractionRequired(e) = back else {
        panic!("{back:?}")
    };
    assert_eq!(e.suberror.as_deref(), Some("basic_action"));
    assert!(e.context.contains("remembered"), "{}", e.context);
}

#[test]
fn key_configuration_errors_say_what_to_fix_without_the_value() {
    let short = base64::engine::general_purpose::STANDARD.encode([1u8; 16]);
    let env =
        |v: &'static str| move |k: &str| (k == "ENTRA_IDENTITY_CACHE_KEY").then(|| v.to_string());
    let leaked = format!(
        "{},{}",
        base64::engine::general_purpose::STANDARD.encode(KEY_A),
        short
    );
    let leaked: &'static str = Box::leak(leaked.into_boxed_str());
    let e = cache_config(&env(leaked)).unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(shown.contains("key 2 of 2 decodes to 16 bytes"), "{shown}");
    assert!(!shown.contains(&short) && !shown.contains(&leaked[..20]));
    let e = cache_config(&env("not base64!")).unwrap_err();
    assert!(e.to_string().contains("not base64"));
}

#[test]
fn without_a_key_the_cache_is_off_and_says_why_unless_plaintext_is_allowed() {
    let none = |_: &str| None;
    match cache_config(&none).unwrap() {
        SharedCacheConfig::Off { why: Some(why) } => {
            assert!(why.contains("ENTRA_IDENTITY_CACHE_KEY"))
        }
        other => panic!("{other:?}"),
    }
    let plain = |k: &str| (k == "ENTRA_IDENTITY_CACHE_PLAINTEXT").then(|| "true".to_string());
    assert!(matches!(
        cache_config(&plain).unwrap(),
        SharedCacheConfig::On {
            protection: Protection::Plaintext,
            ..
        }
    ));
    let off = |k: &str| (k == "ENTRA_IDENTITY_CACHE").then(|| "off".to_string());
    assert!(matches!(
        cache_config(&off).unwrap(),
        SharedCacheConfig::Off { why: None }
    ));
}

#[test]
fn debug_never_shows_key_material() {
    let keys = Keyring::from_keys(&[KEY_A]);
    let shown = format!("{keys:?}");
    assert!(
        shown.contains("key_ids") && !shown.contains("7, 7, 7"),
        "{shown}"
    );
}

#[test]
fn blobs_are_kept_per_sealing_key_and_neither_sees_the_other() {
    let rig = Rig::new();
    let (a, b) = (
        rig.cache(encrypted(&[KEY_A])),
        rig.cache(encrypted(&[KEY_B])),
    );
    a.put_blob("keys", T0 + 60, b"of a", &rig.platform).unwrap();
    assert_eq!(b.blob("keys", T0, &rig.platform).unwrap().payload, None);
    b.put_blob("keys", T0 + 60, b"of b", &rig.platform).unwrap();
    let payload = |cache: &SharedCache| cache.blob("keys", T0, &rig.platform).unwrap().payload;
    assert_eq!(payload(&a).as_deref(), Some(&b"of a"[..]));
    assert_eq!(payload(&b).as_deref(), Some(&b"of b"[..]));
    assert_eq!(rig.store.map.borrow().len(), 2);
    assert!(
        rig.time.warnings.borrow().is_empty(),
        "{:?}",
        rig.time.warnings.borrow()
    );
}

#[test]
fn a_blob_is_replaced_only_while_it_is_as_read() {
    let rig = Rig::new();
    let cache = rig.cache(encrypted(&[KEY_A]));
    let read_absent = cache.blob("keys", T0, &rig.platform).unwrap();
    assert!(
        cache
            .replace_blob("keys", &read_absent, T0 + 60, b"first", &rig.platform)
            .unwrap()
    );
    let read = cache.blob("keys", T0, &rig.platform).unwrap();
    // Another instance replaces it after our read: ours no longer applies.
    assert!(
        cache
            .replace_blob("keys", &read, T0 + 60, b"theirs", &rig.platform)
            .unwrap()
    );
    assert!(
        !cache
            .replace_blob("keys", &read, T0 + 60, b"ours", &rig.platform)
            .unwrap()
    );
    assert!(
        !cache
            .replace_blob("keys", &read_absent, T0 + 60, b"ours", &rig.platform)
            .unwrap()
    );
    let now = cache.blob("keys", T0, &rig.platform).unwrap();
    assert_eq!(now.payload.as_deref(), Some(&b"theirs"[..]));
}
