use super::*;

const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.dev-token.sig";

#[test]
fn the_azure_cli_output_reads_as_its_token_and_epoch_expiry() {
    // What `az account get-access-token --output json` prints (Azure CLI 2.54.0+).
    let out = format!(
        r#"{{
  "accessToken": "{TOKEN}",
  "expiresOn": "2026-12-08 05:10:00.000000",
  "expires_on": 1796706600,
  "subscription": "00000000-0000-0000-0000-000000000001",
  "tenant": "00000000-0000-0000-0000-000000000002",
  "tokenType": "Bearer"
}}"#
    );
    let token = AzureCli.parse(out.as_bytes()).unwrap();
    assert_eq!(token.token, TOKEN);
    assert_eq!(token.expires_on, 1796706600);
}

#[test]
fn an_azure_cli_without_expires_on_is_told_to_upgrade_and_the_token_is_not_quoted() {
    let out = format!(
        r#"{{"accessToken": "{TOKEN}", "expiresOn": "2026-12-08 05:10:00.000000", "tokenType": "Bearer"}}"#
    );
    let e = AzureCli.parse(out.as_bytes()).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("2.54.0"), "{text}");
    assert!(!text.contains(TOKEN) && !format!("{e:?}").contains(TOKEN));
}

#[test]
fn the_azure_developer_cli_output_reads_with_its_rfc_3339_expiry_in_any_offset() {
    let utc = format!(r#"{{"token": "{TOKEN}", "expiresOn": "2026-12-08T05:10:00Z"}}"#);
    let plus_one = format!(r#"{{"token": "{TOKEN}", "expiresOn": "2026-12-08T06:10:00+01:00"}}"#);
    for out in [utc, plus_one] {
        let token = AzureDeveloperCli.parse(out.as_bytes()).unwrap();
        assert_eq!(
            (token.token.as_str(), token.expires_on),
            (TOKEN, 1796706600)
        );
    }
}

#[test]
fn the_powershell_script_output_reads_and_a_missing_az_accounts_module_is_missing() {
    let out = format!(r#"{{"Token":"{TOKEN}","ExpiresOn":1796706600}}"#);
    let token = AzurePowerShell.parse(out.as_bytes()).unwrap();
    assert_eq!(
        (token.token.as_str(), token.expires_on),
        (TOKEN, 1796706600)
    );
    let e = AzurePowerShell.parse(b"NoAzAccountsModule\n").unwrap_err();
    assert!(e.is_unavailable());
    assert!(e.to_string().contains("Install-Module Az.Accounts"), "{e}");
}

#[test]
fn output_that_is_not_a_token_is_a_bad_output_error() {
    for out in [
        &b"not json"[..],
        br#"{"accessToken": ""}"#,
        br#"{"expires_on": 1}"#,
    ] {
        let e = AzureCli.parse(out).unwrap_err();
        assert!(matches!(e, ToolFailure::BadOutput { .. }), "{e}");
    }
}

#[test]
fn a_signed_out_azure_cli_gives_its_own_advice() {
    // What the CLI prints on stderr when no account is signed in.
    let e = AzureCli.failure(Some(1), b"ERROR: Please run 'az login' to setup account.\n");
    assert!(e.is_unavailable());
    assert_eq!(
        e.to_string(),
        "Azure CLI (az) is not signed in: run `az login`"
    );
}

#[test]
fn an_entra_refusal_that_mentions_az_login_is_a_failure_not_a_signed_out_tool() {
    let stderr = b"ERROR: AADSTS70043: The refresh token has expired due to inactivity. Please run 'az login' to setup account.";
    let e = AzureCli.failure(Some(1), stderr);
    assert!(!e.is_unavailable());
    assert!(e.to_string().contains("AADSTS70043"), "{e}");
    assert!(!e.to_string().contains("ERROR: "), "{e}");
}

#[test]
fn a_signed_out_azure_developer_cli_is_read_through_its_json_error() {
    let stderr = br#"{"type":"consoleMessage","timestamp":"2026-12-08T05:10:00Z","data":{"message":"\nERROR: fetching token: not logged in, run `azd auth login` to login\n"}}"#;
    let e = AzureDeveloperCli.failure(Some(1), stderr);
    assert_eq!(
        e.to_string(),
        "Azure Developer CLI (azd) is not signed in: run `azd auth login`"
    );
}

#[test]
fn exit_127_is_a_missing_tool_and_long_errors_are_shortened() {
    assert!(
        AzureCli
            .failure(Some(127), b"az: not found")
            .is_unavailable()
    );
    let long = "x".repeat(2000);
    let ToolFailure::Failed { message, .. } = AzureCli.failure(Some(2), long.as_bytes()) else {
        panic!("a failure");
    };
    assert_eq!(message.chars().count(), MESSAGE_LIMIT + 1);
}

#[test]
fn each_tool_is_asked_as_the_azure_sdks_ask_it() {
    assert_eq!(
        AzureCli.arguments("https://vault.azure.net", Some("contoso.onmicrosoft.com")),
        [
            "account",
            "get-access-token",
            "--output",
            "json",
            "--resource",
            "https://vault.azure.net",
            "--tenant",
            "contoso.onmicrosoft.com"
        ]
    );
    // A v1 resource that ends in `/` keeps it in the scope.
    assert_eq!(
        AzureDeveloperCli.arguments("https://database.windows.net/", None),
        [
            "auth",
            "token",
            "--output",
            "json",
            "--no-prompt",
            "--scope",
            "https://database.windows.net//.default"
        ]
    );
    let args = AzurePowerShell.arguments("https://vault.azure.net", Some("t1"));
    assert_eq!(
        args[..3],
        ["-NoProfile", "-NonInteractive", "-EncodedCommand"]
    );
    let utf16 = base64::engine::general_purpose::STANDARD
        .decode(&args[3])
        .unwrap();
    let units: Vec<u16> = utf16
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let script = String::from_utf16(&units).unwrap();
    assert!(
        script.contains("Get-AzAccessToken -ResourceUrl 'https://vault.azure.net' -TenantId 't1'"),
        "{script}"
    );
}

#[test]
fn arguments_that_could_be_options_or_shell_text_are_refused() {
    for bad in [
        "",
        "-x",
        "--resource",
        "a b",
        "x;rm -rf /",
        "x'y",
        "x\ny",
        "é",
    ] {
        assert!(check_argument("resource", bad).is_err(), "{bad:?}");
    }
    for good in [
        "https://vault.azure.net",
        "https://database.windows.net/",
        "api://my-app",
        "00000000-0000-0000-0000-000000000002",
    ] {
        check_argument("resource", good).unwrap();
    }
}

#[test]
fn azure_token_credentials_selects_the_developer_tools_by_the_sdks_names() {
    assert_eq!(
        DeveloperTool::selected_by("dev"),
        Some(vec![AzureCli, AzurePowerShell, AzureDeveloperCli])
    );
    assert_eq!(
        DeveloperTool::selected_by("azureclicredential"),
        Some(vec![AzureCli])
    );
    // Python spells it with a lower-case s.
    assert_eq!(
        DeveloperTool::selected_by("AzurePowershellCredential"),
        Some(vec![AzurePowerShell])
    );
    assert_eq!(
        DeveloperTool::selected_by("ManagedIdentityCredential"),
        None
    );
    assert_eq!(DeveloperTool::selected_by("prod"), None);
}

#[test]
fn tools_parse_from_their_program_or_credential_name() {
    assert_eq!("az".parse(), Ok(AzureCli));
    assert_eq!("AZD".parse(), Ok(AzureDeveloperCli));
    assert_eq!("AzurePowerShellCredential".parse(), Ok(AzurePowerShell));
    let e = "bash".parse::<DeveloperTool>().unwrap_err();
    assert!(e.to_string().contains("az, pwsh, azd"), "{e}");
}
