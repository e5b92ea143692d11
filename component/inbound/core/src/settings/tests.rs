use super::*;
use std::collections::HashMap;

fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = (pairs.iter())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

#[test]
fn tenant_and_audiences_make_the_validator_options() {
    let settings = Settings::from_lookup(lookup(&[
        (TENANT, "contoso.onmicrosoft.com"),
        (
            AUDIENCE,
            "api://orders, 11111111-2222-3333-4444-555555555555",
        ),
        (AUTHORITY, "https://login.microsoftonline.us"),
        (ROLE, "Orders.Read"),
    ]))
    .unwrap();
    let expected = ValidatorOptions::new(
        "contoso.onmicrosoft.com",
        &["api://orders", "11111111-2222-3333-4444-555555555555"],
    )
    .authority("https://login.microsoftonline.us");
    assert_eq!(settings.validator, expected);
    assert_eq!(settings.role.as_deref(), Some("Orders.Read"));
    assert_eq!(settings.scope, None);
}

#[test]
fn a_missing_or_blank_tenant_or_audience_is_named() {
    assert_eq!(
        Settings::from_lookup(lookup(&[(AUDIENCE, "api://a")])),
        Err(MissingSetting(TENANT))
    );
    let blank = Settings::from_lookup(lookup(&[(TENANT, "t"), (AUDIENCE, "  ")]));
    assert_eq!(blank, Err(MissingSetting(AUDIENCE)));
    let why = MissingSetting(AUDIENCE).to_string();
    assert!(why.contains("entra_identity_inbound_audience"), "{why}");
}

#[test]
fn the_environment_comes_first_then_the_config_key_in_lower_case() {
    let environment = lookup(&[(TENANT, "from-env"), (AUDIENCE, " ")]);
    let config = lookup(&[
        ("entra_identity_inbound_tenant", "from-config"),
        ("entra_identity_inbound_audience", "api://from-config"),
        (ROLE, "upper-case keys are not read from config"),
    ]);
    let settings = Settings::from_sources(environment, config).unwrap();
    assert_eq!(
        settings.validator,
        ValidatorOptions::new("from-env", &["api://from-config"])
    );
    assert_eq!(settings.role, None);
}
