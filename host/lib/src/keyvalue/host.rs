//! The WIT traits, implemented over [`Backend`]: resource bookkeeping, argument limits,
//! and turning backend failures into `error::other` plus a warning.

use super::bindings::{atomics, batch, store};
use super::{Bucket, Cas, KeyValueCtx, KeyValueView, MAX_KEY_BYTES, MAX_VALUE_BYTES, StoreError};
use entra_identity_core::shared_cache::value_in_clear;
use store::Error;
use wasmtime::component::Resource;

type Outcome<T, E = Error> = wasmtime::Result<Result<T, E>>;

/// Bucket identifiers become a redb table name and part of a Redis key, where `:` ends
/// the namespace; a short, plain alphabet keeps both unambiguous.
pub(crate) fn valid_bucket(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn check_key(key: &str) -> Result<(), Error> {
    if key.len() > MAX_KEY_BYTES {
        return Err(Error::Other(format!(
            "key longer than {MAX_KEY_BYTES} bytes"
        )));
    }
    Ok(())
}

fn check_value(ctx: &KeyValueCtx, value: &[u8]) -> Result<(), Error> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(Error::Other(format!(
            "value larger than {MAX_VALUE_BYTES} bytes"
        )));
    }
    if ctx.refuse_clear_entries && value_in_clear(value) {
        tracing::warn!(
            "refused an unencrypted token cache entry: this store leaves process memory, \
             so entries must be sealed with ENTRA_IDENTITY_CACHE_KEY"
        );
        return Err(Error::Other(
            "unencrypted entries are refused by this store; the host sets \
             ENTRA_IDENTITY_CACHE_KEY for stores outside process memory"
                .into(),
        ));
    }
    Ok(())
}

/// The guest sees the message; the operator sees a warning.
fn failed(op: &'static str, e: StoreError) -> Error {
    crate::telemetry::store_error(op);
    tracing::warn!(op, backend = e.backend, error = %e.message, "key-value store failed");
    Error::Other(e.to_string())
}

impl KeyValueView<'_> {
    fn bucket(&self, bucket: &Resource<Bucket>) -> wasmtime::Result<String> {
        Ok(self.table.get(bucket)?.name.clone())
    }
}

// Free functions over the context, not methods on the view: the view holds the
// `ResourceTable`, which is not `Sync`, so a `&view` held across an `.await` would
// make the future not `Send`.

async fn get(ctx: &KeyValueCtx, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, Error> {
    check_key(key)?;
    let got = ctx.backend.get(bucket, key).await;
    crate::telemetry::kv_read(key, matches!(got, Ok(Some(_))));
    got.map_err(|e| failed("get", e))
}

async fn set(ctx: &KeyValueCtx, bucket: &str, key: &str, value: &[u8]) -> Result<(), Error> {
    check_key(key)?;
    check_value(ctx, value)?;
    let set = ctx
        .backend
        .set(bucket, key, value, ctx.ttl_for(value))
        .await;
    set.map_err(|e| failed("set", e))
}

async fn delete(ctx: &KeyValueCtx, bucket: &str, key: &str) -> Result<(), Error> {
    check_key(key)?;
    let deleted = ctx.backend.delete(bucket, key).await;
    deleted.map_err(|e| failed("delete", e))
}

impl store::Host for KeyValueView<'_> {
    async fn open(&mut self, identifier: String) -> Outcome<Resource<Bucket>> {
        if !valid_bucket(&identifier) {
            return Ok(Err(Error::NoSuchStore));
        }
        Ok(Ok(self.table.push(Bucket { name: identifier })?))
    }
}

impl store::HostBucket for KeyValueView<'_> {
    async fn get(&mut self, bucket: Resource<Bucket>, key: String) -> Outcome<Option<Vec<u8>>> {
        let bucket = self.bucket(&bucket)?;
        Ok(get(self.ctx, &bucket, &key).await)
    }

    async fn set(&mut self, bucket: Resource<Bucket>, key: String, value: Vec<u8>) -> Outcome<()> {
        let bucket = self.bucket(&bucket)?;
        Ok(set(self.ctx, &bucket, &key, &value).await)
    }

    async fn delete(&mut self, bucket: Resource<Bucket>, key: String) -> Outcome<()> {
        let bucket = self.bucket(&bucket)?;
        Ok(delete(self.ctx, &bucket, &key).await)
    }

    async fn exists(&mut self, bucket: Resource<Bucket>, key: String) -> Outcome<bool> {
        let bucket = self.bucket(&bucket)?;
        if let Err(e) = check_key(&key) {
            return Ok(Err(e));
        }
        let exists = self.ctx.backend.exists(&bucket, &key).await;
        Ok(exists.map_err(|e| failed("exists", e)))
    }

    async fn list_keys(
        &mut self,
        bucket: Resource<Bucket>,
        cursor: Option<String>,
    ) -> Outcome<store::KeyResponse> {
        let bucket = self.bucket(&bucket)?;
        let page = self.ctx.backend.list_keys(&bucket, cursor.as_deref()).await;
        Ok(page
            .map(|p| store::KeyResponse {
                keys: p.keys,
                cursor: p.cursor,
            })
            .map_err(|e| failed("list-keys", e)))
    }

    async fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::HostCas for KeyValueView<'_> {
    async fn new(&mut self, bucket: Resource<Bucket>, key: String) -> Outcome<Resource<Cas>> {
        let bucket = self.bucket(&bucket)?;
        let current = match get(self.ctx, &bucket, &key).await {
            Ok(current) => current,
            Err(e) => return Ok(Err(e)),
        };
        let cas = Cas {
            bucket,
            key,
            current,
        };
        Ok(Ok(self.table.push(cas)?))
    }

    /// The value `new` read, which is what `swap` compares against: re-reading here
    /// could show the guest a value its swap would then not expect.
    async fn current(&mut self, cas: Resource<Cas>) -> Outcome<Option<Vec<u8>>> {
        Ok(Ok(self.table.get(&cas)?.current.clone()))
    }

    async fn drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl atomics::Host for KeyValueView<'_> {
    async fn increment(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        delta: i64,
    ) -> Outcome<i64> {
        let bucket = self.bucket(&bucket)?;
        if let Err(e) = check_key(&key) {
            return Ok(Err(e));
        }
        let n = self.ctx.backend.increment(&bucket, &key, delta).await;
        Ok(n.map_err(|e| failed("increment", e)))
    }

    /// On a lost race the guest gets a fresh `cas` holding the value that won, so it
    /// can decide again (and retry) without another `cas.new`.
    async fn swap(&mut self, cas: Resource<Cas>, value: Vec<u8>) -> Outcome<(), atomics::CasError> {
        let cas = self.table.delete(cas)?;
        let store_error = |e| Ok(Err(atomics::CasError::StoreError(e)));
        if let Err(e) = check_key(&cas.key).and_then(|()| check_value(self.ctx, &value)) {
            return store_error(e);
        }
        let ttl = self.ctx.ttl_for(&value);
        let backend = &self.ctx.backend;
        let swapped = backend
            .compare_and_swap(&cas.bucket, &cas.key, cas.current.as_deref(), &value, ttl)
            .await;
        match swapped {
            Ok(true) => {
                crate::telemetry::kv_swapped(&cas.key);
                Ok(Ok(()))
            }
            Ok(false) => match get(self.ctx, &cas.bucket, &cas.key).await {
                Ok(current) => {
                    let fresh = self.table.push(Cas { current, ..cas })?;
                    Ok(Err(atomics::CasError::CasFailed(fresh)))
                }
                Err(e) => store_error(e),
            },
            Err(e) => store_error(failed("swap", e)),
        }
    }
}

impl batch::Host for KeyValueView<'_> {
    async fn get_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> Outcome<Vec<(String, Option<Vec<u8>>)>> {
        let bucket = self.bucket(&bucket)?;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            match get(self.ctx, &bucket, &key).await {
                Ok(value) => out.push((key, value)),
                Err(e) => return Ok(Err(e)),
            }
        }
        Ok(Ok(out))
    }

    async fn set_many(
        &mut self,
        bucket: Resource<Bucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Outcome<()> {
        let bucket = self.bucket(&bucket)?;
        for (key, value) in key_values {
            if let Err(e) = set(self.ctx, &bucket, &key, &value).await {
                return Ok(Err(e));
            }
        }
        Ok(Ok(()))
    }

    async fn delete_many(&mut self, bucket: Resource<Bucket>, keys: Vec<String>) -> Outcome<()> {
        let bucket = self.bucket(&bucket)?;
        for key in keys {
            if let Err(e) = delete(self.ctx, &bucket, &key).await {
                return Ok(Err(e));
            }
        }
        Ok(Ok(()))
    }
}
