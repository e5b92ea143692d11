use super::*;

/// A component exporting both handlers: the two gates side by side, imports left open.
fn exporting_both_handlers() -> Vec<u8> {
    let mut graph = CompositionGraph::new();
    let p2 = register(
        &mut graph,
        "entra:inbound-gate",
        "the 0.2 gate",
        INBOUND_GATE_WASM,
    )
    .unwrap();
    let p3 = register(&mut graph, GATE_P3, "the p3 gate", INBOUND_GATE_P3_WASM).unwrap();
    for (package, export) in [(p2, INCOMING_HANDLER), (p3, HANDLER_P3)] {
        let instance = graph.instantiate(package);
        let alias = graph.alias_instance_export(instance, export).unwrap();
        graph.export(alias, export).unwrap();
    }
    graph.encode(EncodeOptions::default()).unwrap()
}

fn inbound() -> Inbound {
    Inbound::new("contoso.onmicrosoft.com", &["api://orders"])
}

#[test]
fn an_app_exporting_both_handlers_is_refused_as_one_would_stay_open() {
    let app = exporting_both_handlers();
    let error = compose_inbound(&app, crate::COMPONENT_WASM, None, &inbound()).unwrap_err();
    let why = error.to_string();
    assert!(
        why.contains("both") && why.contains("open to every caller"),
        "{why}"
    );
}

#[test]
fn an_app_exporting_no_handler_is_refused_naming_both() {
    let error = compose_inbound(
        crate::COMPONENT_WASM,
        crate::COMPONENT_WASM,
        None,
        &inbound(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("incoming-handler@0.2") && error.contains("handler@0.3"),
        "{error}"
    );
}

#[test]
fn both_gates_read_an_environment_to_bake_settings_into() {
    let mut graph = CompositionGraph::new();
    for (name, gate) in [
        ("entra:inbound-gate", INBOUND_GATE_WASM),
        (GATE_P3, INBOUND_GATE_P3_WASM),
    ] {
        let package = register(&mut graph, name, "a gate", gate).unwrap();
        assert!(
            import_name(&graph, package, ENVIRONMENT).is_some(),
            "{name}"
        );
    }
}
