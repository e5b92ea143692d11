//! On-disk backend: one redb database file, one table per bucket, surviving restarts.
//!
//! redb is pure Rust, ACID and crash-safe, with no C toolchain or server to run. Its
//! calls block, so each operation runs on tokio's blocking pool. A write transaction
//! is exclusive, which makes compare-and-swap and increment atomic for free.
//!
//! Each stored value is `expiry (u64 LE, Unix milliseconds, 0 = never) ++ bytes`: wall
//! clock time, because the file outlives the process. Expired entries read as absent;
//! every `SWEEP_EVERY` writes, the written table drops its expired entries.
//!
//! redb locks the file for one `Database` per process, so `DiskBackend::open` hands
//! every caller of the same path the same backend. Sharing between processes or
//! machines is Redis's job.

use super::backend::{Backend, KeyPage, PAGE_SIZE, StoreError, StoreResult, add_to_counter};
use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableError};
use std::collections::HashMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const KIND: &str = "disk";
type Table<'t> = redb::Table<'t, &'static str, &'static [u8]>;
type ReadOnlyTable = redb::ReadOnlyTable<&'static str, &'static [u8]>;
const SWEEP_EVERY: u64 = 1024;

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::new(KIND, e)
}

fn now_ms() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH);
    since.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn encode(value: &[u8], ttl: Option<Duration>) -> Vec<u8> {
    let expires = ttl.map_or(0, |ttl| {
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        now_ms().saturating_add(ms.max(1))
    });
    encode_at(value, expires)
}

fn encode_at(value: &[u8], expires: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + value.len());
    out.extend_from_slice(&expires.to_le_bytes());
    out.extend_from_slice(value);
    out
}

/// `(expiry, value)` of a live record; `None` if expired. A record shorter than its
/// header was not written by this module: an error, not a panic.
fn decode(record: &[u8], now: u64) -> StoreResult<Option<(u64, &[u8])>> {
    let (head, value) = record
        .split_first_chunk::<8>()
        .ok_or_else(|| err("corrupt record (shorter than its header)"))?;
    let expires = u64::from_le_bytes(*head);
    Ok((expires == 0 || now < expires).then_some((expires, value)))
}

/// Table names carry a prefix so that other tables (metadata, migrations) can never
/// collide with a bucket.
fn table_name(bucket: &str) -> String {
    format!("kv:{bucket}")
}

/// The redb backend.
pub struct DiskBackend {
    db: Arc<Database>,
    path: PathBuf,
    writes: AtomicU64,
}

impl DiskBackend {
    /// Open (or create) the database at `path`; callers in this process asking for the
    /// same path while it is open share one backend.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Arc<Self>> {
        static OPEN: OnceLock<Mutex<HashMap<PathBuf, Weak<DiskBackend>>>> = OnceLock::new();
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(format!("{}: {e}", dir.display())))?;
        }
        // Canonical, so `./a` and `a` are one database; the file exists once created.
        let mut open = OPEN.get_or_init(Mutex::default).lock();
        let open = open.as_mut().map_err(|_| err("registry lock poisoned"))?;
        open.retain(|_, weak| weak.strong_count() > 0);
        if let Ok(canonical) = path.canonicalize()
            && let Some(existing) = open.get(&canonical).and_then(Weak::upgrade)
        {
            return Ok(existing);
        }
        let db = Database::create(path).map_err(|e| err(format!("{}: {e}", path.display())))?;
        let canonical = path
            .canonicalize()
            .map_err(|e| err(format!("{}: {e}", path.display())))?;
        let backend = Arc::new(Self {
            db: Arc::new(db),
            path: canonical.clone(),
            writes: AtomicU64::new(0),
        });
        open.insert(canonical, Arc::downgrade(&backend));
        Ok(backend)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` on the blocking pool with the database.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| err(format!("blocking task failed: {e}")))?
    }

    /// A write transaction on `bucket`'s table; `f` returns what to hand back.
    async fn write<T: Send + 'static>(
        &self,
        bucket: &str,
        f: impl FnOnce(&mut Table<'_>, u64) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let name = table_name(bucket);
        let sweep = (self.writes.fetch_add(1, Ordering::Relaxed) + 1).is_multiple_of(SWEEP_EVERY);
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(err)?;
            let out = {
                let mut table = txn
                    .open_table(TableDefinition::<&str, &[u8]>::new(&name))
                    .map_err(err)?;
                let now = now_ms();
                let out = f(&mut table, now)?;
                if sweep {
                    // Records too short to decode are kept: not ours to judge here.
                    table
                        .retain(|_, v| decode(v, now).map_or(true, |live| live.is_some()))
                        .map_err(err)?;
                }
                out
            };
            txn.commit().map_err(err)?;
            Ok(out)
        })
        .await
    }

    /// A read transaction on `bucket`'s table; `None` to `f` when the table was never
    /// written.
    async fn read<T: Send + 'static>(
        &self,
        bucket: &str,
        f: impl FnOnce(Option<&ReadOnlyTable>, u64) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let name = table_name(bucket);
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(err)?;
            match txn.open_table(TableDefinition::<&str, &[u8]>::new(&name)) {
                Ok(table) => f(Some(&table), now_ms()),
                Err(TableError::TableDoesNotExist(_)) => f(None, now_ms()),
                Err(e) => Err(err(e)),
            }
        })
        .await
    }
}

/// The live value at `key` in a table, owned.
fn live_value(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
    now: u64,
) -> StoreResult<Option<(u64, Vec<u8>)>> {
    let Some(guard) = table.get(key).map_err(err)? else {
        return Ok(None);
    };
    Ok(decode(guard.value(), now)?.map(|(exp, v)| (exp, v.to_vec())))
}

#[async_trait]
impl Backend for DiskBackend {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn get(&self, bucket: &str, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let key = key.to_owned();
        self.read(bucket, move |table, now| match table {
            Some(t) => Ok(live_value(t, &key, now)?.map(|(_, v)| v)),
            None => Ok(None),
        })
        .await
    }

    async fn set(
        &self,
        bucket: &str,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> StoreResult<()> {
        let (key, record) = (key.to_owned(), encode(value, ttl));
        self.write(bucket, move |t, _| {
            t.insert(key.as_str(), record.as_slice()).map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn delete(&self, bucket: &str, key: &str) -> StoreResult<()> {
        let key = key.to_owned();
        self.write(bucket, move |t, _| {
            t.remove(key.as_str()).map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn list_keys(&self, bucket: &str, cursor: Option<&str>) -> StoreResult<KeyPage> {
        let cursor = cursor.map(str::to_owned);
        self.read(bucket, move |table, now| {
            let Some(table) = table else {
                return Ok(KeyPage::default());
            };
            let start = cursor.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
            let mut keys = Vec::new();
            for item in table
                .range::<&str>((start, Bound::Unbounded))
                .map_err(err)?
            {
                let (k, v) = item.map_err(err)?;
                if decode(v.value(), now)?.is_some() {
                    keys.push(k.value().to_owned());
                    // One extra key tells whether another page exists.
                    if keys.len() > PAGE_SIZE {
                        break;
                    }
                }
            }
            let cursor = (keys.len() > PAGE_SIZE).then(|| {
                keys.truncate(PAGE_SIZE);
                keys.last().cloned().unwrap_or_default()
            });
            Ok(KeyPage { keys, cursor })
        })
        .await
    }

    async fn compare_and_swap(
        &self,
        bucket: &str,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> StoreResult<bool> {
        let (key, record) = (key.to_owned(), encode(value, ttl));
        let expected = expected.map(<[u8]>::to_vec);
        self.write(bucket, move |t, now| {
            let current = live_value(t, &key, now)?.map(|(_, v)| v);
            if current != expected {
                return Ok(false);
            }
            t.insert(key.as_str(), record.as_slice()).map_err(err)?;
            Ok(true)
        })
        .await
    }

    async fn increment(&self, bucket: &str, key: &str, delta: i64) -> StoreResult<i64> {
        let key = key.to_owned();
        self.write(bucket, move |t, now| {
            let current = live_value(t, &key, now)?;
            let n = add_to_counter(KIND, current.as_ref().map(|(_, v)| &v[..]), delta)?;
            let expires = current.map_or(0, |(exp, _)| exp);
            let record = encode_at(n.to_string().as_bytes(), expires);
            t.insert(key.as_str(), record.as_slice()).map_err(err)?;
            Ok(n)
        })
        .await
    }
}
