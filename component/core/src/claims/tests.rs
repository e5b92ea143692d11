use super::*;
use serde_json::json;

fn caps(values: &[&str]) -> Capabilities {
    let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    Capabilities::new(&values).unwrap()
}

fn merged(capabilities: &[&str], challenge: Option<&str>) -> Option<Value> {
    request_claims(&caps(capabilities), challenge)
        .unwrap()
        .map(|c| serde_json::from_str(&c).unwrap())
}

#[test]
fn capabilities_alone_are_the_xms_cc_object() {
    assert_eq!(
        request_claims(&caps(&["cp1", "cp2"]), None).unwrap().as_deref(),
        Some(r#"{"access_token":{"xms_cc":{"values":["cp1","cp2"]}}}"#)
    );
}

#[test]
fn neither_sends_nothing_and_a_challenge_alone_goes_verbatim() {
    assert_eq!(request_claims(&caps(&[]), None).unwrap(), None);
    let challenge = r#"{ "access_token" : {"nbf":{"essential":true, "value":"1"}} }"#;
    assert_eq!(
        request_claims(&caps(&[]), Some(challenge)).unwrap().as_deref(),
        Some(challenge)
    );
}

#[test]
fn claims_naming_capabilities_are_refused_for_a_credential_that_declares_none() {
    for planted in [
        r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#,
        r#"{"access_token":{"nbf":{"essential":true,"value":"1"},"xms_cc":{"values":["cp1"]}}}"#,
        r#"{"id_token":{"xms_cc":null}}"#,
    ] {
        match request_claims(&caps(&[]), Some(planted)) {
            Err(Error::InvalidInput(m)) => {
                assert!(m.contains("xms_cc") && m.contains("declare"), "{m}");
                assert!(!m.contains(planted), "claims are not quoted: {m}");
            }
            other => panic!("{planted}: expected a refusal, got {other:?}"),
        }
    }
    // A claim merely named like it elsewhere is the resource's business.
    let nested = r#"{"access_token":{"acrs":{"values":["xms_cc"]}}}"#;
    assert_eq!(
        request_claims(&caps(&[]), Some(nested)).unwrap().as_deref(),
        Some(nested)
    );
}

#[test]
fn xms_cc_values_from_both_sides_are_unioned_capabilities_first() {
    let m = merged(
        &["cp1"],
        Some(r#"{"access_token":{"xms_cc":{"values":["cp2","cp1"]},"nbf":{"essential":true,"value":"17"}}}"#),
    );
    assert_eq!(
        m,
        Some(json!({"access_token":{
            "xms_cc":{"values":["cp1","cp2"]},
            "nbf":{"essential":true,"value":"17"}
        }}))
    );
}

#[test]
fn on_other_clashes_the_challenge_wins_and_its_null_keeps_ours() {
    let m = merged(
        &["cp1"],
        Some(r#"{"access_token":{"xms_cc":"overridden"},"id_token":{"auth_time":null}}"#),
    );
    assert_eq!(
        m,
        Some(json!({"access_token":{"xms_cc":"overridden"},"id_token":{"auth_time":null}}))
    );
    let m = merged(&["cp1"], Some(r#"{"access_token":{"xms_cc":null}}"#));
    assert_eq!(
        m,
        Some(json!({"access_token":{"xms_cc":{"values":["cp1"]}}}))
    );
    let m = merged(&["cp1"], Some(r#"{"access_token":null}"#));
    assert_eq!(
        m,
        Some(json!({"access_token":{"xms_cc":{"values":["cp1"]}}}))
    );
}

#[test]
fn claims_that_are_not_an_object_are_refused_without_being_quoted() {
    // The base64 of {"access_token":{"nbf":{"essential":true,"value":"1"}}}.
    let b64 = "eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWUiOiIxIn19fQ==";
    for bad in ["", "not json", "[1,2]", "\"text\"", "42", "null", b64] {
        for c in [&[][..], &["cp1"][..]] {
            match request_claims(&caps(c), Some(bad)) {
                Err(Error::InvalidInput(m)) => {
                    assert!(m.contains("must be a JSON object"), "{m}");
                    assert!(m.contains("decode it first"), "{m}");
                    assert!(bad.len() < 3 || !m.contains(bad), "{m}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}

#[test]
fn bad_capabilities_are_named_and_duplicates_dropped() {
    for bad in ["", "cp 1", "cp\"1", "cp'1", "cp\n1", "cp1,cp2", "cp\\1"] {
        match Capabilities::new(&[bad.to_string()]) {
            Err(Error::InvalidInput(m)) => assert!(m.contains(&format!("{bad:?}")), "{m}"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    let c = caps(&["cp2", "cp1", "cp2"]);
    assert_eq!(c.joined().as_deref(), Some("cp2,cp1"));
    assert_eq!(c.identity_suffix(), "|cc=cp1,cp2");
    assert_eq!(caps(&[]).identity_suffix(), "");
    assert_eq!(caps(&[]).joined(), None);
}

#[test]
fn deeply_nested_claims_do_not_overflow() {
    let deep = format!("{}{}", "{\"a\":".repeat(200), "1".to_string() + &"}".repeat(200));
    assert!(matches!(
        request_claims(&caps(&["cp1"]), Some(&deep)),
        Err(Error::InvalidInput(_))
    ));
    let ok = format!("{}1{}", "{\"a\":".repeat(100), "}".repeat(100));
    assert!(request_claims(&caps(&["cp1"]), Some(&ok)).unwrap().is_some());
}
