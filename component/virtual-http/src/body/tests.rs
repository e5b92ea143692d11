use super::BodyState::*;

#[test]
fn only_a_body_never_taken_or_finished_unwritten_without_trailers_is_known_empty() {
    assert!(Untouched.is_known_empty());
    assert!(Open.finished(false).is_known_empty());
    assert!(!Open.finished(true).is_known_empty(), "trailers went out");
    assert!(!Written.finished(false).is_known_empty());
    for state in [Open, Written, Abandoned] {
        assert!(!state.is_known_empty(), "{state:?}");
    }
}

#[test]
fn a_body_still_open_or_abandoned_at_send_gets_the_hosts_body() {
    assert!(Open.needs_host_body_at_send());
    assert!(Abandoned.needs_host_body_at_send());
    for state in [Untouched, Written, Open.finished(false)] {
        assert!(!state.needs_host_body_at_send(), "{state:?}");
    }
}
