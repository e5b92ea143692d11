use super::*;

const VAULT: &str = "https://vault.azure.net/.default";

#[test]
fn without_custom_rules_only_azures_built_ins_apply() {
    let rules = load(None, None).unwrap();
    assert_eq!(rules.scope_for("https", "my.vault.azure.net"), Some(VAULT));
    assert_eq!(rules.scope_for("https", "api.contoso.com"), None);
}

#[test]
fn rules_from_the_environment_and_from_wasi_config_both_apply() {
    let rules = load(
        Some("api.contoso.com=api://contoso/.default".into()),
        Some("api.fabrikam.com=api://fabrikam/.default".into()),
    )
    .unwrap();
    assert_eq!(
        rules.scope_for("https", "api.contoso.com"),
        Some("api://contoso/.default")
    );
    assert_eq!(
        rules.scope_for("https", "api.fabrikam.com"),
        Some("api://fabrikam/.default")
    );
    assert_eq!(rules.scope_for("https", "my.vault.azure.net"), Some(VAULT));
}

#[test]
fn the_environments_rules_come_before_wasi_configs() {
    let rules = load(
        Some("api.contoso.com=api://baked/.default".into()),
        Some("api.contoso.com=api://configured/.default".into()),
    )
    .unwrap();
    assert_eq!(
        rules.scope_for("https", "api.contoso.com"),
        Some("api://baked/.default")
    );
}

#[test]
fn a_malformed_setting_is_an_error_naming_it() {
    let e = load(None, Some("no-scope-here".into())).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("entra_identity_outbound_rules"), "{text}");
    assert!(text.contains("wasi:config"), "{text}");
}
