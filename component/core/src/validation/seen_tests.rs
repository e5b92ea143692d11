//! The memory of validated tokens, through the validator and on its own.

use super::seen::SeenTokens;
use super::tests::*;
use super::*;
use serde_json::json;

fn remembered(h: &Harness) -> (usize, u64) {
    let r = h.validator.remembered_tokens();
    (r.entries, r.hits)
}

#[test]
fn a_token_seen_before_is_answered_from_memory_with_the_same_claims() {
    let h = single_tenant();
    let token = sign(&v1_claims(TENANT), "k1", KEY_PEM);
    let first = h.validator.validate(&token).unwrap();
    assert_eq!(remembered(&h), (1, 0));
    let again = h.validator.validate(&format!("Bearer {token}")).unwrap();
    assert_eq!(again, first);
    assert_eq!(remembered(&h), (1, 1), "the second answer came from memory");
    assert_eq!(h.transport.count(), 2, "keys fetched once");
}

#[test]
fn a_token_that_failed_is_never_remembered() {
    let h = single_tenant();
    let mut wrong_audience = v1_claims(TENANT);
    wrong_audience["aud"] = json!("api://someone-else");
    let token = sign(&wrong_audience, "k1", KEY_PEM);
    let good = sign(&v1_claims(TENANT), "k1", KEY_PEM);
    let parts: Vec<&str> = good.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        &parts[2][..parts[2].len() - 4]
    );
    for _ in 0..2 {
        assert!(matches!(
            rejected(&h, &token),
            ValidationError::WrongAudience(_)
        ));
        assert_eq!(rejected(&h, &forged), ValidationError::BadSignature);
    }
    assert_eq!(remembered(&h), (0, 0));
}

#[test]
fn an_expired_token_is_not_answered_from_memory() {
    let h = single_tenant();
    let mut claims = v1_claims(TENANT);
    claims["exp"] = json!(NOW + 60);
    let token = sign(&claims, "k1", KEY_PEM);
    h.validator.validate(&token).unwrap();
    // Still inside the leeway (300 s) after exp: accepted, as full validation would.
    h.time.advance(Duration::from_secs(60 + 300));
    h.validator.validate(&token).unwrap();
    assert_eq!(remembered(&h), (1, 1));
    h.time.advance(Duration::from_secs(1));
    assert_eq!(
        rejected(&h, &token),
        ValidationError::Expired {
            exp: NOW + 60,
            now: NOW + 361
        }
    );
    assert_eq!(remembered(&h), (0, 1), "the expired entry is gone");
}

#[test]
fn a_change_of_signing_keys_forgets_every_token() {
    let h = single_tenant();
    let token = sign(&v1_claims(TENANT), "k1", KEY_PEM);
    h.validator.validate(&token).unwrap();
    // The authority rotates: k1 withdrawn, k2 published. A token naming k2 makes the
    // validator fetch the new set.
    serve_keys(&h.transport, vec![jwk(OTHER_KEY_PEM, "k2")]);
    h.time.advance(Duration::from_secs(MIN_REFRESH_INTERVAL));
    h.validator
        .validate(&sign(&v1_claims(TENANT), "k2", OTHER_KEY_PEM))
        .unwrap();
    assert_eq!(remembered(&h), (1, 0), "only the k2 token is remembered");
    // The k1 token is checked again, and its key is no longer published.
    assert_eq!(
        rejected(&h, &token),
        ValidationError::UnknownKey("k1".into())
    );
}

#[test]
fn the_same_keys_fetched_again_keep_what_is_remembered() {
    let h = single_tenant();
    let token = sign(&v1_claims(TENANT), "k1", KEY_PEM);
    h.validator.validate(&token).unwrap();
    // An unknown kid makes the validator fetch again; the set it gets is unchanged.
    serve_keys(&h.transport, vec![jwk(KEY_PEM, "k1")]);
    h.time.advance(Duration::from_secs(MIN_REFRESH_INTERVAL));
    assert!(matches!(
        rejected(&h, &sign(&v1_claims(TENANT), "k9", KEY_PEM)),
        ValidationError::UnknownKey(_)
    ));
    assert_eq!(h.transport.count(), 4);
    h.validator.validate(&token).unwrap();
    assert_eq!(remembered(&h), (1, 1));
}

#[test]
fn the_memory_never_holds_the_token() {
    let h = single_tenant();
    let token = sign(&v1_claims(TENANT), "k1", KEY_PEM);
    h.validator.validate(&token).unwrap();
    let dump = h.validator.seen.borrow().dump();
    assert!(!dump.is_empty());
    for part in token.split('.') {
        assert!(!dump.contains(part), "a part of the token is kept");
    }
    let hex: String = (h.validator.seen.borrow().hash(&token))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(dump.contains(&hex), "entries are keyed by the token's hash");
}

#[test]
fn the_hash_is_keyed_per_validator_and_covers_every_byte_of_the_token() {
    let a = SeenTokens::new(8, [1; 32]);
    let b = SeenTokens::new(8, [2; 32]);
    let token = sign(&v1_claims(TENANT), "k1", KEY_PEM);
    assert_eq!(a.hash(&token), a.hash(&token));
    assert_ne!(
        a.hash(&token),
        b.hash(&token),
        "another validator's key: another hash"
    );
    // A token changed anywhere (header, payload, signature) is another entry.
    for at in [0, token.len() / 2, token.len() - 1] {
        let mut changed = token.clone().into_bytes();
        changed[at] = if changed[at] == b'A' { b'B' } else { b'A' };
        let changed = String::from_utf8(changed).unwrap();
        assert_ne!(a.hash(&changed), a.hash(&token), "byte {at}");
    }
}

fn claims_until(exp: u64) -> Claims {
    let mut claims = Claims::new(TENANT);
    claims.expires_on = exp;
    claims
}

#[test]
fn the_memory_is_bounded_and_makes_room_from_the_soonest_to_expire() {
    let mut seen = SeenTokens::new(3, [7; 32]);
    for (i, exp) in [
        (1u8, NOW + 300),
        (2, NOW + 100),
        (3, NOW + 200),
        (4, NOW + 400),
    ] {
        seen.insert([i; 32], &claims_until(exp), None, 0, NOW, 0);
    }
    assert_eq!(seen.len(), 3);
    assert!(seen.get(&[2; 32], 0, NOW, 0).is_none(), "the soonest went");
    for kept in [1, 3, 4] {
        assert!(seen.get(&[kept; 32], 0, NOW, 0).is_some());
    }
    // Expired entries make room before any live one is given up.
    seen.insert([5; 32], &claims_until(NOW + 500), None, 0, NOW + 250, 0);
    assert_eq!(seen.len(), 3);
    assert!(seen.get(&[1; 32], 0, NOW + 250, 0).is_some());
    assert!(seen.get(&[4; 32], 0, NOW + 250, 0).is_some());
    assert!(seen.get(&[3; 32], 0, NOW + 250, 0).is_none());
}

#[test]
fn a_remembered_token_still_meets_nbf_with_the_leeway() {
    let mut seen = SeenTokens::new(8, [7; 32]);
    seen.insert([1; 32], &claims_until(NOW + 3600), Some(NOW), 0, NOW, 300);
    // A clock set back further than the leeway allows.
    assert!(seen.get(&[1; 32], 0, NOW - 301, 300).is_none());
    seen.insert([1; 32], &claims_until(NOW + 3600), Some(NOW), 0, NOW, 300);
    assert!(seen.get(&[1; 32], 0, NOW - 300, 300).is_some());
    assert!(
        seen.get(&[1; 32], 1, NOW, 300).is_none(),
        "another key generation"
    );
}
