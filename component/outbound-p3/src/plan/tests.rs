use super::*;

#[test]
fn bodies_up_to_the_limit_are_replayable() {
    assert!(is_replayable(0));
    assert!(is_replayable(MAX_REPLAYED_BODY));
    assert!(!is_replayable(MAX_REPLAYED_BODY + 1));
}
