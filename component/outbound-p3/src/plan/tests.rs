use super::*;
use entra_identity_core::attach::parse_rules;

const LOOPBACK: &str = "http://127.0.0.1:8080=https://vault.azure.net/.default";

fn rules() -> Rules {
    Rules::azure().with_all(parse_rules(LOOPBACK).unwrap())
}

#[test]
fn a_named_destination_gets_its_rules_scope() {
    let rules = rules();
    assert_eq!(
        scope_for(&rules, false, Some("https"), Some("v.vault.azure.net")),
        Some("https://vault.azure.net/.default")
    );
    assert_eq!(
        scope_for(&rules, false, Some("http"), Some("127.0.0.1:8080")),
        Some("https://vault.azure.net/.default")
    );
}

#[test]
fn own_authorization_unnamed_or_unknown_destinations_get_no_token() {
    let rules = rules();
    assert_eq!(
        scope_for(&rules, true, Some("https"), Some("v.vault.azure.net")),
        None
    );
    assert_eq!(
        scope_for(&rules, false, Some("https"), Some("example.com")),
        None
    );
    assert_eq!(
        scope_for(&rules, false, Some("http"), Some("127.0.0.1:8081")),
        None
    );
    assert_eq!(
        scope_for(&rules, false, None, Some("v.vault.azure.net")),
        None
    );
    assert_eq!(scope_for(&rules, false, Some("https"), None), None);
}

#[test]
fn the_no_token_text_names_destination_scope_and_reason() {
    let text = no_token(
        "v.vault.azure.net",
        "https://vault.azure.net/.default",
        &"denied: policy",
    );
    assert!(text.contains("v.vault.azure.net"), "{text}");
    assert!(text.contains("https://vault.azure.net/.default"), "{text}");
    assert!(text.contains("denied: policy"), "{text}");
}

#[test]
fn bodies_up_to_the_limit_are_replayable() {
    assert!(is_replayable(0));
    assert!(is_replayable(MAX_REPLAYED_BODY));
    assert!(!is_replayable(MAX_REPLAYED_BODY + 1));
}

fn challenge(value: &str) -> Vec<(String, Vec<u8>)> {
    vec![("www-authenticate".into(), value.as_bytes().to_vec())]
}

// base64 of {"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}
const CAE: &str = r#"Bearer realm="", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWUiOiIxNzAwMDAwMDAwIn19fQ==""#;

#[test]
fn only_a_401_with_a_claims_challenge_is_retried() {
    let claims = claims_to_retry(401, &challenge(CAE)).expect("a CAE challenge");
    assert!(claims.contains("\"nbf\""), "{claims}");
    assert_eq!(claims_to_retry(403, &challenge(CAE)), None);
    assert_eq!(claims_to_retry(401, &challenge("Bearer realm=\"\"")), None);
    assert_eq!(claims_to_retry(401, &[]), None);
}
