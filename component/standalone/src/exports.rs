//! The WIT exports over [`crate::store`] and [`crate::config`].

use crate::{config, store};
use std::cell::RefCell;

wit_bindgen::generate!({
    inline: "
        package entra:standalone;

        world standalone {
            export wasi:keyvalue/store@0.2.0-draft2;
            export wasi:keyvalue/atomics@0.2.0-draft2;
            export wasi:config/store@0.2.0-draft-2024-09-27;
        }
    ",
    path: ["../../wit/deps/keyvalue", "../../wit/deps/config"],
    world: "entra:standalone/standalone",
});

use exports::wasi::config::store as wit_config;
use exports::wasi::keyvalue::{atomics as wit_atomics, store as wit_store};

struct Adapter;

export!(Adapter);

thread_local! {
    static STORES: RefCell<store::Stores> = RefCell::default();
}

fn error(e: store::Error) -> wit_store::Error {
    match e {
        store::Error::NoSuchStore => wit_store::Error::NoSuchStore,
        store::Error::Other(why) => wit_store::Error::Other(why),
    }
}

impl wit_store::Guest for Adapter {
    type Bucket = store::Bucket;

    fn open(identifier: String) -> Result<wit_store::Bucket, wit_store::Error> {
        STORES
            .with(|stores| stores.borrow_mut().open(&identifier))
            .map(wit_store::Bucket::new)
            .map_err(error)
    }
}

impl wit_store::GuestBucket for store::Bucket {
    fn get(&self, key: String) -> Result<Option<Vec<u8>>, wit_store::Error> {
        Ok(store::Bucket::get(self, &key))
    }

    fn set(&self, key: String, value: Vec<u8>) -> Result<(), wit_store::Error> {
        store::Bucket::set(self, &key, value);
        Ok(())
    }

    fn delete(&self, key: String) -> Result<(), wit_store::Error> {
        store::Bucket::delete(self, &key);
        Ok(())
    }

    fn exists(&self, key: String) -> Result<bool, wit_store::Error> {
        Ok(store::Bucket::exists(self, &key))
    }

    fn list_keys(
        &self,
        cursor: Option<String>,
    ) -> Result<wit_store::KeyResponse, wit_store::Error> {
        let (keys, cursor) = store::Bucket::list_keys(self, cursor.as_deref());
        Ok(wit_store::KeyResponse { keys, cursor })
    }
}

impl wit_atomics::Guest for Adapter {
    type Cas = store::Cas;

    fn increment(
        bucket: wit_store::BucketBorrow<'_>,
        key: String,
        delta: i64,
    ) -> Result<i64, wit_store::Error> {
        bucket
            .get::<store::Bucket>()
            .increment(&key, delta)
            .map_err(error)
    }

    fn swap(cas: wit_atomics::Cas, value: Vec<u8>) -> Result<(), wit_atomics::CasError> {
        cas.into_inner::<store::Cas>()
            .swap(value)
            .map_err(|fresh| wit_atomics::CasError::CasFailed(wit_atomics::Cas::new(fresh)))
    }
}

impl wit_atomics::GuestCas for store::Cas {
    fn new(
        bucket: wit_store::BucketBorrow<'_>,
        key: String,
    ) -> Result<wit_atomics::Cas, wit_store::Error> {
        Ok(wit_atomics::Cas::new(
            bucket.get::<store::Bucket>().cas(&key),
        ))
    }

    fn current(&self) -> Result<Option<Vec<u8>>, wit_store::Error> {
        Ok(store::Cas::current(self))
    }
}

impl wit_config::Guest for Adapter {
    fn get(key: String) -> Result<Option<String>, wit_config::Error> {
        config::get(&key, |name| std::env::var(name).ok()).map_err(wit_config::Error::Upstream)
    }

    /// Every variable under its own name: `get` of any returned name gives its value.
    fn get_all() -> Result<Vec<(String, String)>, wit_config::Error> {
        Ok(std::env::vars().collect())
    }
}
