use super::*;
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

type Environment = (Vec<(String, String)>,);

fn run(bytes: &[u8], interface: &str) -> (Environment, (Vec<String>,), (Option<String>,)) {
    let engine = Engine::default();
    let component = Component::new(&engine, bytes).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &component)
        .unwrap();
    let exported = instance
        .get_export_index(&mut store, None, interface)
        .unwrap();
    let index = |store: &mut Store<()>, name| {
        (instance.get_export_index(&mut *store, Some(&exported), name)).unwrap()
    };
    let env = index(&mut store, "get-environment");
    let env = instance
        .get_typed_func::<(), Environment>(&mut store, env)
        .unwrap();
    let args = index(&mut store, "get-arguments");
    let args = instance
        .get_typed_func::<(), (Vec<String>,)>(&mut store, args)
        .unwrap();
    let cwd = index(&mut store, "initial-cwd");
    let cwd = instance
        .get_typed_func::<(), (Option<String>,)>(&mut store, cwd)
        .unwrap();
    (
        env.call(&mut store, ()).unwrap(),
        args.call(&mut store, ()).unwrap(),
        cwd.call(&mut store, ()).unwrap(),
    )
}

#[test]
fn the_generated_environment_answers_exactly_the_baked_variables() {
    let interface = "wasi:cli/environment@0.2.0";
    let rules = "api.contoso.com=api://contoso/.default http://127.0.0.1:9=\"x\"\\ü";
    let bytes = environment_component(interface, &[("A", "1"), ("RULES", rules)]).unwrap();
    let ((env,), (args,), (cwd,)) = run(&bytes, interface);
    assert_eq!(
        env,
        [
            ("A".to_string(), "1".to_string()),
            ("RULES".into(), rules.into())
        ]
    );
    assert!(args.is_empty());
    assert_eq!(cwd, None);
}

#[test]
fn an_empty_environment_is_a_valid_component() {
    let interface = "wasi:cli/environment@0.2.6";
    let ((env,), _, _) = run(&environment_component(interface, &[]).unwrap(), interface);
    assert!(env.is_empty());
}
