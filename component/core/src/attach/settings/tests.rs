use super::*;

#[test]
fn without_settings_only_azures_built_ins_apply() {
    let rules = load_rules(None, None).unwrap();
    assert_eq!(rules, Rules::azure());
}

#[test]
fn rules_from_the_environment_come_before_those_from_config() {
    let rules = load_rules(
        Some("api.contoso.com=api://env/.default"),
        Some("api.contoso.com=api://config/.default *.fabrikam.com=api://f/.default"),
    )
    .unwrap();
    assert_eq!(
        rules.scope_for("https", "api.contoso.com"),
        Some("api://env/.default")
    );
    assert_eq!(
        rules.scope_for("https", "x.fabrikam.com"),
        Some("api://f/.default")
    );
    assert_eq!(
        rules.scope_for("https", "v.vault.azure.net"),
        Some("https://vault.azure.net/.default")
    );
}

#[test]
fn a_malformed_setting_is_an_error_that_names_it() {
    let error = load_rules(Some("api.contoso.com=api://c/.default"), Some("no-scope")).unwrap_err();
    assert_eq!(error.source, SettingSource::Config);
    let text = error.to_string();
    assert!(text.contains("wasi:config key entra_identity_outbound_rules"), "{text}");
    assert!(text.contains("no-scope"), "{text}");
}
