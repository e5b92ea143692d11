use super::*;
use entra_identity_core::attach::parse_rules;

const LOOPBACK: &str = "http://127.0.0.1:8080=https://vault.azure.net/.default";

fn rules() -> Rules {
    Rules::azure().with_all(parse_rules(LOOPBACK).unwrap())
}

#[test]
fn a_named_destination_without_authorization_gets_its_rules_scope() {
    let rules = rules();
    assert_eq!(
        scope_for(&rules, false, Some("https"), Some("my.vault.azure.net")),
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
        scope_for(&rules, true, Some("https"), Some("my.vault.azure.net")),
        None
    );
    for (scheme, authority) in [
        (Some("https"), Some("example.com")),
        (Some("https"), Some("my.vault.azure.net.evil.example")),
        (Some("http"), Some("my.vault.azure.net")),
        (Some("http"), Some("127.0.0.1:8081")),
        (None, Some("my.vault.azure.net")),
        (Some("https"), None),
    ] {
        assert_eq!(
            scope_for(&rules, false, scheme, authority),
            None,
            "{scheme:?} {authority:?}"
        );
    }
}

#[test]
fn the_no_token_text_names_destination_scope_and_reason() {
    let text = no_token(
        "my.vault.azure.net",
        "https://vault.azure.net/.default",
        &"denied: policy",
    );
    assert!(text.contains("my.vault.azure.net"), "{text}");
    assert!(text.contains("https://vault.azure.net/.default"), "{text}");
    assert!(text.ends_with(": denied: policy"), "{text}");
}

// base64 of {"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}
const CAE: &str = r#"Bearer realm="", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWUiOiIxNzAwMDAwMDAwIn19fQ==""#;

#[test]
fn only_a_401_with_a_claims_challenge_is_retried() {
    let challenge = |value: &str| vec![("www-authenticate".to_string(), value.as_bytes().to_vec())];
    let claims = claims_to_retry(401, &challenge(CAE)).expect("a CAE challenge");
    assert!(claims.contains("\"nbf\""), "{claims}");
    assert_eq!(claims_to_retry(403, &challenge(CAE)), None);
    assert_eq!(claims_to_retry(401, &challenge("Bearer realm=\"\"")), None);
    assert_eq!(claims_to_retry(401, &[]), None);
}
