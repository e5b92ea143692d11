use super::*;
use crate::attach::Rules;

fn rules() -> Rules {
    Rules::azure().with(
        "http://127.0.0.1:8080=api://local/.default"
            .parse()
            .unwrap(),
    )
}

#[test]
fn a_named_destination_without_authorization_gets_its_rules_scope() {
    let rules = rules();
    assert_eq!(
        decide(&rules, false, Some("https"), Some("my.vault.azure.net")),
        Decision::Attach {
            scope: "https://vault.azure.net/.default"
        }
    );
    assert_eq!(
        decide(&rules, false, Some("http"), Some("127.0.0.1:8080")),
        Decision::Attach {
            scope: "api://local/.default"
        }
    );
}

#[test]
fn a_request_with_its_own_authorization_goes_out_untouched() {
    let rules = rules();
    let decision = decide(&rules, true, Some("https"), Some("my.vault.azure.net"));
    assert_eq!(decision, Decision::Forward);
}

#[test]
fn an_unnamed_or_unknown_destination_gets_no_token() {
    let rules = rules();
    for (scheme, authority) in [
        (Some("https"), Some("example.com")),
        (Some("https"), Some("my.vault.azure.net.evil.example")),
        (Some("http"), Some("my.vault.azure.net")),
        (Some("http"), Some("127.0.0.1:8081")),
        (None, Some("my.vault.azure.net")),
        (Some("https"), None),
    ] {
        assert_eq!(
            decide(&rules, false, scheme, authority),
            Decision::Forward,
            "{scheme:?} {authority:?}"
        );
    }
}

#[test]
fn refusals_name_the_destination_and_scope() {
    let text = no_token(
        "my.vault.azure.net",
        "https://vault.azure.net/.default",
        "down",
    );
    assert!(text.contains("my.vault.azure.net") && text.contains("vault.azure.net/.default"));
    assert!(text.ends_with(": down"), "{text}");
    let text = body_not_carried("my.vault.azure.net", "https://vault.azure.net/.default");
    assert!(text.contains("has a body"), "{text}");
}
