use super::*;
use entra_identity_sdk::ValidatorOptions;
use http::header::WWW_AUTHENTICATE;

const TENANT: &str = "tenant-1";

/// A gate whose validator accepts the token `good` (with the role `Orders.Read`) only.
fn gate(role: Option<&str>, scope: Option<&str>) -> Gate {
    let settings = Settings {
        validator: ValidatorOptions::new(TENANT, &["api://orders"]),
        role: role.map(Into::into),
        scope: scope.map(Into::into),
    };
    Gate::new(
        settings,
        Box::new(|token| match token {
            "good" => {
                let mut claims = Claims::new(TENANT);
                claims.roles = vec!["Orders.Read".into()];
                Ok(claims)
            }
            _ => Err(ValidationError::WrongAudience("api://other".into())),
        }),
    )
}

fn with_authorization(values: &[&str]) -> Headers {
    let mut headers = vec![("accept".to_string(), b"*/*".to_vec())];
    headers.extend(
        values
            .iter()
            .map(|v| ("Authorization".into(), v.as_bytes().to_vec())),
    );
    headers
}

fn challenge(answer: &Response<String>) -> &str {
    answer.headers()[WWW_AUTHENTICATE].to_str().unwrap()
}

#[test]
fn a_valid_token_with_the_required_role_gives_the_callers_claims() {
    let claims = gate(Some("Orders.Read"), None)
        .check(&with_authorization(&["Bearer good"]))
        .unwrap();
    assert_eq!(claims.roles, ["Orders.Read"]);
}

#[test]
fn no_token_is_a_401_challenge_naming_the_tenant() {
    let answer = gate(None, None)
        .check(&with_authorization(&[]))
        .unwrap_err();
    assert_eq!(answer.status(), 401);
    assert!(
        challenge(&answer).contains(TENANT),
        "{}",
        challenge(&answer)
    );
}

#[test]
fn an_invalid_token_is_a_401_invalid_token() {
    let answer = (gate(None, None).check(&with_authorization(&["Bearer bad"]))).unwrap_err();
    assert_eq!(answer.status(), 401);
    assert!(challenge(&answer).contains("invalid_token"));
}

#[test]
fn a_missing_role_or_scope_is_a_403() {
    let headers = with_authorization(&["Bearer good"]);
    for gate in [gate(Some("Orders.Write"), None), gate(None, Some("orders"))] {
        let answer = gate.check(&headers).unwrap_err();
        assert_eq!(answer.status(), 403);
        assert!(challenge(&answer).contains("insufficient_scope"));
    }
}

#[test]
fn two_authorization_headers_or_a_bad_value_are_a_400() {
    let gate = gate(None, None);
    let two = gate.check(&with_authorization(&["Bearer good", "Bearer good"]));
    assert_eq!(two.unwrap_err().status(), 400);
    let bad = vec![("authorization".to_string(), b"Bearer \x01".to_vec())];
    assert_eq!(gate.check(&bad).unwrap_err().status(), 400);
}

#[test]
fn the_misconfigured_answer_says_nothing_of_the_reason() {
    let answer = misconfigured();
    assert_eq!(answer.status(), 500);
    assert!(!answer.headers().contains_key(WWW_AUTHENTICATE));
    let why = SetupError::from(MissingSetting(crate::settings::TENANT)).to_string();
    assert!(!answer.body().contains(&why));
    assert!(why.contains("ENTRA_IDENTITY_INBOUND_TENANT"), "{why}");
}
