//! `entra-identity compose`: the file it writes is what the library composes.

use crate::entra_identity;
use entra_identity_host::COMPONENT_WASM;
use entra_identity_host::serve::{
    OUTBOUND_WASM, OutboundOptions, STANDALONE_WASM, compose, compose_outbound, compose_standalone,
};
use entra_test_support::{plugin_guest_wasm, temp_dir};

fn compose_with_the_cli(extra: &[&str]) -> Vec<u8> {
    let dir = temp_dir();
    let (app, out) = (dir.path().join("app.wasm"), dir.path().join("out.wasm"));
    std::fs::write(&app, plugin_guest_wasm()).unwrap();
    let run = entra_identity()
        .arg("compose")
        .arg(&app)
        .arg("-o")
        .arg(&out)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("wrote"), "{stderr}");
    std::fs::read(&out).unwrap()
}

#[test]
fn compose_standalone_writes_the_composition_with_the_adapter() {
    let standalone = compose_with_the_cli(&["--standalone"]);
    let expected =
        compose_standalone(plugin_guest_wasm(), COMPONENT_WASM, STANDALONE_WASM).unwrap();
    assert!(
        standalone == expected,
        "the CLI wrote other bytes than the library"
    );

    let plain = compose_with_the_cli(&[]);
    assert!(plain == compose(plugin_guest_wasm(), COMPONENT_WASM).unwrap());
    assert!(plain != standalone, "--standalone changed nothing");
}

#[test]
fn compose_standalone_refuses_a_file_that_is_not_a_component() {
    let dir = temp_dir();
    let app = dir.path().join("app.wasm");
    std::fs::write(&app, b"not wasm").unwrap();
    let out = dir.path().join("out.wasm");
    let run = entra_identity()
        .arg("compose")
        .arg(&app)
        .arg("-o")
        .arg(&out)
        .arg("--standalone")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(stderr.contains("not a WebAssembly component"), "{stderr}");
    assert!(!out.exists(), "nothing written for bad input");
}

#[test]
fn compose_outbound_bakes_each_rule_in_as_the_library_does() {
    let rule = "api.contoso.com=api://contoso/.default";
    let cli = compose_with_the_cli(&["--outbound", "--rule", rule, "--standalone"]);
    let options = OutboundOptions {
        rules: vec![rule.to_string()],
        standalone: true,
    };
    let library =
        compose_outbound(plugin_guest_wasm(), COMPONENT_WASM, OUTBOUND_WASM, &options).unwrap();
    assert!(cli == library, "the CLI wrote other bytes than the library");
    let unruled = compose_with_the_cli(&["--outbound", "--standalone"]);
    assert!(unruled != cli, "--rule changed nothing");
}

#[test]
fn a_rule_without_outbound_is_refused() {
    let dir = temp_dir();
    let app = dir.path().join("app.wasm");
    std::fs::write(&app, plugin_guest_wasm()).unwrap();
    let run = entra_identity()
        .arg("compose")
        .arg(&app)
        .args(["-o", "/dev/null", "--rule", "a.example=api://a/.default"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(stderr.contains("--outbound"), "{stderr}");
}

fn compose_failure(extra: &[&str]) -> String {
    let dir = temp_dir();
    let (app, out) = (dir.path().join("app.wasm"), dir.path().join("out.wasm"));
    std::fs::write(&app, plugin_guest_wasm()).unwrap();
    let run = entra_identity()
        .arg("compose")
        .arg(&app)
        .arg("-o")
        .arg(&out)
        .args(extra)
        .output()
        .unwrap();
    assert!(!run.status.success(), "{extra:?} succeeded");
    assert!(!out.exists(), "nothing written for {extra:?}");
    String::from_utf8_lossy(&run.stderr).into_owned()
}

#[test]
fn compose_inbound_needs_tenant_and_audience_and_an_http_handler() {
    let without_tenant = compose_failure(&["--inbound", "--audience", "api://a"]);
    assert!(without_tenant.contains("--tenant"), "{without_tenant}");
    let without_inbound = compose_failure(&["--tenant", "t", "--audience", "api://a"]);
    assert!(without_inbound.contains("--inbound"), "{without_inbound}");
    // The plugin guest exports no wasi:http/incoming-handler.
    let not_http = compose_failure(&["--inbound", "--tenant", "t", "--audience", "api://a"]);
    assert!(not_http.contains("incoming-handler"), "{not_http}");
}
