//! The WIT glue, driven through the generated traits the linker calls: resources,
//! error mapping, `cas` refresh on a lost race, limits, batch, and linking.

use crate::keyvalue::bindings::{atomics, batch, store};
use crate::keyvalue::*;
use atomics::{Host as _, HostCas as _};
use batch::Host as _;
use store::{Error, Host as _, HostBucket as _};
use wasmtime::component::Resource;

fn ctx() -> KeyValueCtx {
    KeyValueCtx::new(Arc::new(MemoryBackend::new()))
}

/// A borrow of an owned handle, as the guest would pass `borrow<bucket>`.
fn borrow<T: 'static>(r: &Resource<T>) -> Resource<T> {
    Resource::new_borrow(r.rep())
}

async fn open(view: &mut KeyValueView<'_>, name: &str) -> Resource<Bucket> {
    view.open(name.into()).await.unwrap().unwrap()
}

#[tokio::test]
async fn keyvalue_store_and_batch_through_the_wit_traits() {
    let (ctx, mut table) = (ctx(), ResourceTable::new());
    let mut view = KeyValueView::new(&ctx, &mut table);
    for bad in ["", "a:b", "a b", &"x".repeat(65)] {
        assert!(matches!(
            view.open(bad.into()).await.unwrap(),
            Err(Error::NoSuchStore)
        ));
    }
    let b = open(&mut view, "tokens").await;
    view.set(borrow(&b), "k".into(), b"v".to_vec())
        .await
        .unwrap()
        .unwrap();
    let got = view.get(borrow(&b), "k".into()).await.unwrap().unwrap();
    assert_eq!(got.as_deref(), Some(&b"v"[..]));
    assert!(view.exists(borrow(&b), "k".into()).await.unwrap().unwrap());
    let page = view.list_keys(borrow(&b), None).await.unwrap().unwrap();
    assert_eq!((page.keys, page.cursor), (vec!["k".to_string()], None));
    view.delete(borrow(&b), "k".into()).await.unwrap().unwrap();
    assert!(!view.exists(borrow(&b), "k".into()).await.unwrap().unwrap());

    let pairs = vec![("a".into(), b"1".to_vec()), ("b".into(), b"2".to_vec())];
    view.set_many(borrow(&b), pairs).await.unwrap().unwrap();
    let many = view
        .get_many(borrow(&b), vec!["a".into(), "zz".into()])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        many,
        vec![("a".into(), Some(b"1".to_vec())), ("zz".into(), None)]
    );
    view.delete_many(borrow(&b), vec!["a".into(), "b".into()])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        view.increment(borrow(&b), "n".into(), 3)
            .await
            .unwrap()
            .unwrap(),
        3
    );

    // Limits are store errors for the guest, not traps.
    let huge = vec![0; MAX_VALUE_BYTES + 1];
    let e = view
        .set(borrow(&b), "k".into(), huge)
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(e, Error::Other(m) if m.contains("larger than")));
    let long = "k".repeat(MAX_KEY_BYTES + 1);
    assert!(view.get(borrow(&b), long).await.unwrap().is_err());

    store::HostBucket::drop(&mut view, b).await.unwrap();
    assert!(table.is_empty(), "every resource was released");
}

#[tokio::test]
async fn keyvalue_cas_lost_race_returns_a_fresh_cas() {
    let (ctx, mut table) = (ctx(), ResourceTable::new());
    let mut view = KeyValueView::new(&ctx, &mut table);
    let b = open(&mut view, "leases").await;
    let cas = view.new(borrow(&b), "lease".into()).await.unwrap().unwrap();
    assert_eq!(view.current(borrow(&cas)).await.unwrap().unwrap(), None);

    // Another host takes the lease between our read and our swap.
    ctx.backend()
        .set("leases", "lease", b"theirs", None)
        .await
        .unwrap();
    let fresh = match view.swap(cas, b"mine".to_vec()).await.unwrap() {
        Err(atomics::CasError::CasFailed(fresh)) => fresh,
        other => panic!("expected cas-failed, got {other:?}"),
    };
    let seen = view.current(borrow(&fresh)).await.unwrap().unwrap();
    assert_eq!(seen.as_deref(), Some(&b"theirs"[..]));
    // Deciding again from the fresh value succeeds while nobody else writes.
    view.swap(fresh, b"mine".to_vec()).await.unwrap().unwrap();
    let now = ctx.backend().get("leases", "lease").await.unwrap();
    assert_eq!(now.as_deref(), Some(&b"mine"[..]));

    store::HostBucket::drop(&mut view, b).await.unwrap();
    assert!(table.is_empty(), "swap consumed both cas handles");
}

/// An identity cache entry in clear, laid out as the core's `shared_cache/entry.rs`
/// writes one: magic, expiry, kind, sealing 0 (clear), key id, then the payload.
fn entry_in_clear(payload: &[u8]) -> Vec<u8> {
    let mut entry = b"EIC1".to_vec();
    entry.extend_from_slice(&u64::MAX.to_be_bytes());
    entry.extend_from_slice(&[b't', 0, 0, 0, 0, 0]);
    entry.extend_from_slice(payload);
    entry
}

#[tokio::test]
async fn a_store_refusing_clear_entries_refuses_them_by_set_swap_and_batch() {
    let ctx = ctx().refusing_clear_entries();
    let mut table = ResourceTable::new();
    let mut view = KeyValueView::new(&ctx, &mut table);
    let b = open(&mut view, "tokens").await;
    let clear = entry_in_clear(b"the-token");
    let refused = |e: &Error| matches!(e, Error::Other(m) if m.contains("unencrypted"));

    let e = view.set(borrow(&b), "t".into(), clear.clone()).await;
    assert!(refused(&e.unwrap().unwrap_err()));
    let pairs = vec![("t".into(), clear.clone())];
    let e = view.set_many(borrow(&b), pairs).await;
    assert!(refused(&e.unwrap().unwrap_err()));
    let cas = view.new(borrow(&b), "t".into()).await.unwrap().unwrap();
    match view.swap(cas, clear).await.unwrap() {
        Err(atomics::CasError::StoreError(e)) => assert!(refused(&e), "{e:?}"),
        other => panic!("expected a store error, got {other:?}"),
    }
    assert_eq!(ctx.backend().get("tokens", "t").await.unwrap(), None);

    // Any other value is stored as before: an app's own, sealed entries.
    view.set(borrow(&b), "app".into(), b"the app's own".to_vec())
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn keyvalue_entry_ttl_expires_guest_writes() {
    let ctx = ctx().with_entry_ttl(Duration::from_millis(50));
    let mut table = ResourceTable::new();
    let mut view = KeyValueView::new(&ctx, &mut table);
    let b = open(&mut view, "tokens").await;
    view.set(borrow(&b), "k".into(), b"v".to_vec())
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(
        view.get(borrow(&b), "k".into()).await.unwrap().unwrap(),
        None
    );
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn keyvalue_backend_failure_is_error_other_not_a_trap() {
    // Nothing listens on port 1.
    let backend = Arc::new(RedisBackend::new("redis://127.0.0.1:1/", "t:").unwrap());
    let (ctx, mut table) = (KeyValueCtx::new(backend), ResourceTable::new());
    let mut view = KeyValueView::new(&ctx, &mut table);
    let b = open(&mut view, "tokens").await;
    let e = view.get(borrow(&b), "k".into()).await.unwrap().unwrap_err();
    assert!(
        matches!(&e, Error::Other(m) if m.starts_with("redis key-value store")),
        "{e:?}"
    );
    let cas = Resource::new_own(
        view.table
            .push(Cas {
                bucket: "tokens".into(),
                key: "k".into(),
                current: None,
            })
            .unwrap()
            .rep(),
    );
    let e = view.swap(cas, b"v".to_vec()).await.unwrap().unwrap_err();
    assert!(matches!(e, atomics::CasError::StoreError(Error::Other(_))));
}

#[test]
fn keyvalue_links_into_a_component_linker() {
    struct State {
        kv: KeyValueCtx,
        table: ResourceTable,
    }
    let engine = wasmtime::Engine::default();
    let mut linker = Linker::<State>::new(&engine);
    add_to_linker(&mut linker, |s| KeyValueView::new(&s.kv, &mut s.table)).unwrap();
    // Every interface is now defined: adding it again is a duplicate definition.
    assert!(add_to_linker(&mut linker, |s| KeyValueView::new(&s.kv, &mut s.table)).is_err());
}
