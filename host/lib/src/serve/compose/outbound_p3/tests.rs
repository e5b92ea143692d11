use super::*;

#[test]
fn the_outbound_p3_component_exports_and_imports_the_p3_client() {
    // It is its own best specimen: an app of it would be composed.
    assert!(imports_http_client_p3(OUTBOUND_P3_WASM).unwrap());
}

#[test]
fn the_identity_component_is_no_p3_client() {
    assert!(!imports_http_client_p3(crate::COMPONENT_WASM).unwrap());
}

#[test]
fn an_app_without_the_p3_client_is_refused_with_the_reason() {
    let error = compose_outbound_p3(
        crate::COMPONENT_WASM,
        crate::COMPONENT_WASM,
        OUTBOUND_P3_WASM,
        None,
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("wasi:http/client@0.3.x"),
        "{error}"
    );
}
