use super::*;

fn with(rules: &str) -> Rules {
    Rules::azure().with_all(parse_rules(rules).unwrap())
}

#[test]
fn azure_resources_get_their_scopes_in_every_cloud() {
    let rules = Rules::azure();
    for (authority, scope) in [
        ("myvault.vault.azure.net", "https://vault.azure.net/.default"),
        ("MyVault.Vault.Azure.Net:443", "https://vault.azure.net/.default"),
        ("v.vault.usgovcloudapi.net", "https://vault.usgovcloudapi.net/.default"),
        ("v.vault.azure.cn", "https://vault.azure.cn/.default"),
        ("acct.blob.core.windows.net", "https://storage.azure.com/.default"),
        ("acct.dfs.core.chinacloudapi.cn", "https://storage.azure.com/.default"),
        ("management.azure.com", "https://management.azure.com/.default"),
        ("graph.microsoft.com", "https://graph.microsoft.com/.default"),
        ("graph.microsoft.us", "https://graph.microsoft.us/.default"),
        ("ns.servicebus.windows.net", "https://servicebus.azure.net//.default"),
        ("acct.documents.azure.com", "https://cosmos.azure.com/.default"),
        ("res.openai.azure.com", "https://cognitiveservices.azure.com/.default"),
        ("store.azconfig.io", "https://azconfig.io/.default"),
    ] {
        assert_eq!(rules.scope_for("https", authority), Some(scope), "{authority}");
    }
}

#[test]
fn every_built_in_rule_reads_back_as_the_rule_it_is() {
    for (host, scope) in azure::table() {
        let parsed: Rule = format!("{host}={scope}").parse().unwrap();
        assert_eq!(parsed, Rule::builtin(host, scope));
        assert_eq!(parsed.to_string().parse::<Rule>().unwrap(), parsed);
    }
}

#[test]
fn look_alikes_of_an_azure_host_get_no_token() {
    let rules = Rules::azure();
    for authority in [
        // Suffix tricks: the rule's host inside a longer one.
        "myvault.vault.azure.net.evil.example",
        "vault.azure.net.evil.example",
        "myvaultvault.azure.net",
        "evilvault.azure.net",
        // The suffix alone is not under itself.
        "vault.azure.net",
        // Userinfo: the request goes to the host after `@`.
        "myvault.vault.azure.net@evil.example",
        "user:pw@myvault.vault.azure.net",
        // Other ports.
        "myvault.vault.azure.net:8443",
        "myvault.vault.azure.net:",
        "myvault.vault.azure.net:+443",
        "myvault.vault.azure.net:0443x",
        // A trailing dot, empty labels, encodings and non-ASCII (IDN look-alikes).
        "myvault.vault.azure.net.",
        "myvault..vault.azure.net",
        "myvault.vault.azure%2enet",
        "myvault.vault.аzure.net",
        "myvault.vault.azure.net\u{0}",
        "myvault.vault.azure.net/evil",
        "",
    ] {
        assert_eq!(rules.scope_for("https", authority), None, "{authority:?}");
    }
}

#[test]
fn plain_http_gets_a_token_only_from_a_loopback_rule() {
    assert_eq!(Rules::azure().scope_for("http", "myvault.vault.azure.net"), None);
    assert_eq!(Rules::azure().scope_for("ftp", "myvault.vault.azure.net"), None);
    let rules = with("http://127.0.0.1:8080=api://tests/.default");
    assert_eq!(rules.scope_for("http", "127.0.0.1:8080"), Some("api://tests/.default"));
    assert_eq!(rules.scope_for("HTTP", "127.0.0.1:8080"), Some("api://tests/.default"));
    assert_eq!(rules.scope_for("https", "127.0.0.1:8080"), None);
    assert_eq!(rules.scope_for("http", "127.0.0.1:8081"), None);
    assert_eq!(rules.scope_for("http", "127.0.0.2:8080"), None);
    for refused in [
        "http://api.contoso.com=api://contoso/.default",
        "http://*.contoso.com=api://contoso/.default",
        "http://10.0.0.1:80=api://x/.default",
    ] {
        assert!(
            matches!(refused.parse::<Rule>(), Err(RuleError::PlainHttp(_))),
            "{refused}"
        );
    }
    assert!("http://[::1]:9000=api://x/.default".parse::<Rule>().is_ok());
    assert!("http://localhost:9000=api://x/.default".parse::<Rule>().is_ok());
}

#[test]
fn custom_rules_come_before_built_ins_and_in_their_own_order() {
    let rules = with(
        "special.vault.azure.net=api://override/.default; *.contoso.com=api://contoso/.default,\n\
         api.contoso.com=api://never/.default",
    );
    assert_eq!(
        rules.scope_for("https", "special.vault.azure.net"),
        Some("api://override/.default")
    );
    assert_eq!(
        rules.scope_for("https", "other.vault.azure.net"),
        Some("https://vault.azure.net/.default")
    );
    assert_eq!(
        rules.scope_for("https", "api.contoso.com"),
        Some("api://contoso/.default")
    );
    assert_eq!(rules.scope_for("https", "contoso.com"), None);
    assert_eq!(rules.scope_for("https", "a.b.contoso.com"), Some("api://contoso/.default"));
}

#[test]
fn a_rule_with_a_port_or_an_ip_matches_only_that() {
    let rules = with("https://api.contoso.com:8443/=api://contoso/.default [::1]:9443=api://v6/.default");
    assert_eq!(rules.scope_for("https", "api.contoso.com:8443"), Some("api://contoso/.default"));
    assert_eq!(rules.scope_for("https", "api.contoso.com"), None);
    assert_eq!(rules.scope_for("https", "[::1]:9443"), Some("api://v6/.default"));
    assert_eq!(rules.scope_for("https", "[0:0::1]:9443"), Some("api://v6/.default"));
    assert_eq!(rules.scope_for("https", "[::1]"), None);
}

#[test]
fn malformed_rules_say_what_to_write() {
    for (rule, expected) in [
        ("api.contoso.com", "has no scope"),
        ("api.contoso.com=", "has no scope"),
        ("api.contoso.com=a b", "no spaces"),
        ("ftp://api.contoso.com=x", "only https://"),
        ("*.com=x", "at least two labels"),
        ("*=x", "a wildcard is"),
        ("api.*.com=x", "a wildcard is"),
        ("api.contoso.com:99999=x", "1 to 65535"),
        ("api.contoso.com/v1=x", "not a path"),
        ("user@api.contoso.com=x", "ASCII host name"),
        ("bücher.example=x", "xn--"),
        ("api.contoso.com.=x", "ASCII host name"),
    ] {
        let message = rule.parse::<Rule>().unwrap_err().to_string();
        assert!(message.contains(expected), "{rule}: {message}");
        assert!(message.contains(rule.split('=').next().unwrap()), "{message}");
    }
    assert!(parse_rules("a.contoso.com=x oops").is_err());
    assert_eq!(parse_rules(" ;, \n").unwrap(), vec![]);
}

#[test]
fn no_rules_send_no_token_anywhere() {
    assert_eq!(Rules::none().scope_for("https", "myvault.vault.azure.net"), None);
}

const LOOPBACK: &str = "http://127.0.0.1:8080=https://vault.azure.net/.default";

#[test]
fn a_request_without_authorization_to_a_named_destination_gets_its_rules_scope() {
    let rules = with(LOOPBACK);
    assert_eq!(
        rules.scope_for_request(false, Some("https"), Some("my.vault.azure.net")),
        Some("https://vault.azure.net/.default")
    );
    assert_eq!(
        rules.scope_for_request(false, Some("http"), Some("127.0.0.1:8080")),
        Some("https://vault.azure.net/.default")
    );
}

#[test]
fn a_request_with_its_own_authorization_or_an_unnamed_or_unknown_destination_gets_no_token() {
    let rules = with(LOOPBACK);
    assert_eq!(
        rules.scope_for_request(true, Some("https"), Some("my.vault.azure.net")),
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
            rules.scope_for_request(false, scheme, authority),
            None,
            "{scheme:?} {authority:?}"
        );
    }
}

#[test]
fn the_no_token_text_names_destination_scope_and_reason() {
    let text = no_token_message(
        "my.vault.azure.net",
        "https://vault.azure.net/.default",
        &"denied: policy",
    );
    assert!(text.contains("my.vault.azure.net"), "{text}");
    assert!(text.contains("https://vault.azure.net/.default"), "{text}");
    assert!(text.ends_with(": denied: policy"), "{text}");
}
