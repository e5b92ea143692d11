//! The standalone adapter component itself, instantiated in wasmtime and called through
//! its WIT exports: the store's semantics are unit-tested natively in
//! `component/standalone`; this checks what crosses the component boundary (resources,
//! and errors as the draft's variants).

use entra_identity_host::serve::STANDALONE_WASM;
use wasmtime::component::{Component, Linker, ResourceAny, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

wasmtime::component::bindgen!({
    inline: "
        package test:adapter;

        world adapter {
            export wasi:keyvalue/store@0.2.0-draft2;
            export wasi:keyvalue/atomics@0.2.0-draft2;
            export wasi:config/store@0.2.0-draft-2024-09-27;
        }
    ",
    path: ["../../wit/deps/keyvalue", "../../wit/deps/config"],
    world: "test:adapter/adapter",
});

use exports::wasi::keyvalue::atomics::CasError;
use exports::wasi::keyvalue::store::Error as StoreError;

struct Host {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

fn instantiate(env: &[(&str, &str)]) -> (Store<Host>, Adapter) {
    let engine = Engine::default();
    let component = Component::new(&engine, STANDALONE_WASM).unwrap();
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    let mut ctx = WasiCtx::builder();
    for (name, value) in env {
        ctx.env(name, value);
    }
    let mut store = Store::new(
        &engine,
        Host {
            ctx: ctx.build(),
            table: ResourceTable::new(),
        },
    );
    let adapter = Adapter::instantiate(&mut store, &component, &linker).unwrap();
    (store, adapter)
}

#[test]
fn buckets_and_compare_and_swap_cross_the_component_boundary() {
    let (mut store, adapter) = instantiate(&[]);
    let kv = adapter.wasi_keyvalue_store();
    let atomics = adapter.wasi_keyvalue_atomics();
    let open = |store: &mut Store<Host>, name: &str| kv.call_open(&mut *store, name).unwrap();

    assert!(matches!(open(&mut store, ""), Err(StoreError::NoSuchStore)));
    let bucket: ResourceAny = open(&mut store, "default").unwrap();
    let again = open(&mut store, "default").unwrap();
    let b = kv.bucket();
    b.call_set(&mut store, bucket, "k", b"v1").unwrap().unwrap();
    assert_eq!(
        b.call_get(&mut store, again, "k").unwrap().unwrap(),
        Some(b"v1".to_vec()),
        "one identifier, one bucket"
    );

    let cas = atomics.cas();
    let stale = cas.call_new(&mut store, bucket, "k").unwrap().unwrap();
    assert_eq!(
        cas.call_current(&mut store, stale).unwrap().unwrap(),
        Some(b"v1".to_vec())
    );
    b.call_set(&mut store, bucket, "k", b"theirs")
        .unwrap()
        .unwrap();
    let fresh = match atomics.call_swap(&mut store, stale, b"mine").unwrap() {
        Err(CasError::CasFailed(fresh)) => fresh,
        other => panic!("a stale swap must fail with cas-failed, got {other:?}"),
    };
    assert_eq!(
        cas.call_current(&mut store, fresh).unwrap().unwrap(),
        Some(b"theirs".to_vec())
    );
    atomics
        .call_swap(&mut store, fresh, b"mine")
        .unwrap()
        .unwrap();
    assert_eq!(
        b.call_get(&mut store, bucket, "k").unwrap().unwrap(),
        Some(b"mine".to_vec())
    );

    assert_eq!(
        atomics
            .call_increment(&mut store, bucket, "n", 41)
            .unwrap()
            .unwrap(),
        41
    );
    match atomics.call_increment(&mut store, bucket, "k", 1).unwrap() {
        Err(StoreError::Other(why)) => assert!(why.contains("not a decimal"), "{why}"),
        other => panic!("incrementing text must fail with other(..), got {other:?}"),
    }
    let keys = b.call_list_keys(&mut store, bucket, None).unwrap().unwrap();
    assert_eq!(
        (keys.keys, keys.cursor),
        (vec!["k".into(), "n".into()], None)
    );
}

#[test]
fn config_comes_from_the_environment_by_exact_then_upper_case_name() {
    let (mut store, adapter) = instantiate(&[("VAULT_URL", "https://v"), ("exact", "e")]);
    let config = adapter.wasi_config_store();
    let mut get = |key: &str| match config.call_get(&mut store, key).unwrap() {
        Ok(value) => Ok(value),
        Err(exports::wasi::config::store::Error::Upstream(why)) => Err(why),
        Err(other) => panic!("{key}: only upstream(..) is used, got {other:?}"),
    };
    assert_eq!(get("vault_url"), Ok(Some("https://v".into())));
    assert_eq!(get("exact"), Ok(Some("e".into())));
    assert_eq!(get("unset"), Ok(None));
    assert!(get("a=b").is_err_and(|why| why.contains("environment variable")));
    let mut all = config.call_get_all(&mut store).unwrap().unwrap();
    all.sort();
    assert_eq!(
        all,
        [
            ("VAULT_URL".to_string(), "https://v".to_string()),
            ("exact".to_string(), "e".to_string())
        ]
    );
}
