use super::{Error, PAGE, Stores};

fn bucket() -> super::Bucket {
    Stores::default().open("default").unwrap()
}

#[test]
fn one_identifier_is_one_bucket_and_two_are_two() {
    let mut stores = Stores::default();
    let a = stores.open("a").unwrap();
    a.set("k", b"1".to_vec());
    assert_eq!(stores.open("a").unwrap().get("k"), Some(b"1".to_vec()));
    assert_eq!(stores.open("b").unwrap().get("k"), None);
}

#[test]
fn an_empty_identifier_is_no_such_store() {
    assert_eq!(Stores::default().open("").err(), Some(Error::NoSuchStore));
}

#[test]
fn set_get_exists_and_delete_read_their_writes() {
    let b = bucket();
    assert_eq!(b.get("k"), None);
    assert!(!b.exists("k"));
    b.set("k", b"v1".to_vec());
    b.set("k", b"v2".to_vec());
    assert_eq!(b.get("k"), Some(b"v2".to_vec()));
    assert!(b.exists("k"));
    b.delete("k");
    assert_eq!(b.get("k"), None);
    assert!(!b.exists("k"));
    b.delete("never-there");
}

#[test]
fn list_keys_pages_in_key_order_and_skips_deleted_keys() {
    let b = bucket();
    for i in 0..(PAGE + 5) {
        b.set(&format!("k{i:05}"), vec![]);
    }
    b.delete("k00003");
    let (first, cursor) = b.list_keys(None);
    assert_eq!(first.len(), PAGE);
    assert_eq!(first[3], "k00004", "the deleted key is not listed");
    let cursor = cursor.expect("a second page");
    let (second, end) = b.list_keys(Some(&cursor));
    assert_eq!(second, ["k01001", "k01002", "k01003", "k01004"]);
    assert_eq!(end, None);
    assert_eq!(b.list_keys(Some("k01004")), (vec![], None));
}

#[test]
fn increment_counts_from_zero_in_decimal_text() {
    let b = bucket();
    assert_eq!(b.increment("n", 5), Ok(5));
    assert_eq!(b.increment("n", -7), Ok(-2));
    assert_eq!(b.get("n"), Some(b"-2".to_vec()));
}

#[test]
fn increment_refuses_a_non_number_and_an_overflow_without_showing_the_value() {
    let b = bucket();
    b.set("secret", b"eyJ-not-a-number".to_vec());
    let Err(Error::Other(why)) = b.increment("secret", 1) else {
        panic!("a non-number cannot be incremented");
    };
    assert!(
        why.contains("not a decimal") && !why.contains("eyJ"),
        "{why}"
    );
    assert_eq!(b.get("secret"), Some(b"eyJ-not-a-number".to_vec()));

    b.set("max", i64::MAX.to_string().into_bytes());
    assert!(matches!(b.increment("max", 1), Err(Error::Other(why)) if why.contains("overflow")));
    assert_eq!(b.get("max"), Some(i64::MAX.to_string().into_bytes()));
}

#[test]
fn a_swap_with_no_write_in_between_succeeds() {
    let b = bucket();
    let absent = b.cas("k");
    assert_eq!(absent.current(), None);
    assert!(absent.swap(b"1".to_vec()).is_ok());
    let cas = b.cas("k");
    assert_eq!(cas.current(), Some(b"1".to_vec()));
    assert!(cas.swap(b"2".to_vec()).is_ok());
    assert_eq!(b.get("k"), Some(b"2".to_vec()));
}

#[test]
fn a_swap_after_another_write_fails_and_hands_back_a_fresh_handle() {
    let b = bucket();
    b.set("k", b"old".to_vec());
    let stale = b.cas("k");
    b.set("k", b"theirs".to_vec());
    let Err(fresh) = stale.swap(b"mine".to_vec()) else {
        panic!("the swap must fail: the key changed after the handle read it");
    };
    assert_eq!(
        b.get("k"),
        Some(b"theirs".to_vec()),
        "the losing swap wrote nothing"
    );
    assert_eq!(fresh.current(), Some(b"theirs".to_vec()));
    assert!(fresh.swap(b"mine".to_vec()).is_ok());
    assert_eq!(b.get("k"), Some(b"mine".to_vec()));
}

#[test]
fn a_write_that_restores_the_same_bytes_still_fails_the_swap() {
    let b = bucket();
    b.set("k", b"a".to_vec());
    let stale = b.cas("k");
    b.set("k", b"b".to_vec());
    b.set("k", b"a".to_vec());
    assert!(stale.swap(b"c".to_vec()).is_err());
    assert_eq!(b.get("k"), Some(b"a".to_vec()));
}

#[test]
fn two_handles_on_an_absent_key_let_only_the_first_swap_win() {
    let b = bucket();
    let first = b.cas("k");
    let second = b.cas("k");
    assert!(first.swap(b"1".to_vec()).is_ok());
    assert!(second.swap(b"2".to_vec()).is_err());
    assert_eq!(b.get("k"), Some(b"1".to_vec()));
}

#[test]
fn a_delete_in_between_fails_the_swap() {
    let b = bucket();
    b.set("k", b"v".to_vec());
    let stale = b.cas("k");
    b.delete("k");
    let Err(fresh) = stale.swap(b"w".to_vec()) else {
        panic!("the swap must fail: the key was deleted");
    };
    assert_eq!(fresh.current(), None);
    assert_eq!(b.get("k"), None);
}
