//! Redis backend: several hosts on several machines share one store, so one token
//! (and one lease) serves them all.
//!
//! Keys are `{prefix}{bucket}:{key}`; bucket identifiers cannot contain `:` (see
//! `mod.rs`), so namespaces never overlap. Expiry is Redis's own (`SET … PX`).
//! Compare-and-swap is one Lua script, atomic on the server; `increment` is `INCRBY`.
//!
//! The connection is a `ConnectionManager`: created lazily (a host starts even when
//! Redis is down) and reconnected after failures. Every operation is bounded by
//! `OP_TIMEOUT`, so a dead or slow server costs a caller seconds, never a hang.

use super::backend::{Backend, KeyPage, PAGE_SIZE, StoreError, StoreResult};
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::future::Future;
use std::time::Duration;

const KIND: &str = "redis";
/// Upper bound on one operation, reconnect attempts included.
const OP_TIMEOUT: Duration = Duration::from_secs(5);

/// `KEYS[1]`: the key. `ARGV`: `1` if an entry is expected (`0`: must be absent), the
/// expected value, the new value, the TTL in milliseconds (`0`: none). Returns 1 if it
/// wrote. `GET` of a missing (or expired) key is `false` in Lua.
const CAS_SCRIPT: &str = r"
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if (not cur) or cur ~= ARGV[2] then return 0 end
elseif cur then
  return 0
end
if ARGV[4] ~= '0' then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
else
  redis.call('SET', KEYS[1], ARGV[3])
end
return 1
";

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::new(KIND, e)
}

fn ttl_ms(ttl: Option<Duration>) -> Option<u64> {
    // Redis rejects `PX 0`; a sub-millisecond TTL becomes 1 ms.
    ttl.map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX).max(1))
}

/// Escape Redis glob characters, so the prefix matches literally in `SCAN … MATCH`.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The Redis backend.
pub struct RedisBackend {
    conn: ConnectionManager,
    prefix: String,
    cas: redis::Script,
}

impl RedisBackend {
    /// Prefix of every key when none is configured.
    pub const DEFAULT_PREFIX: &'static str = "entra-identity:kv:";

    /// A backend for `url` (`redis://host:port/db`). Does not connect: the first
    /// operation does, so a host starts even while Redis is unreachable. Call inside
    /// a tokio runtime.
    pub fn new(url: &str, prefix: impl Into<String>) -> StoreResult<Self> {
        let client = redis::Client::open(url).map_err(err)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(err)?;
        Ok(Self {
            conn,
            prefix: prefix.into(),
            cas: redis::Script::new(CAS_SCRIPT),
        })
    }

    fn key(&self, bucket: &str, key: &str) -> String {
        format!("{}{bucket}:{key}", self.prefix)
    }

    /// Run one command (or script) with a fresh handle on the shared connection.
    async fn run<T, F>(&self, what: &str, f: impl FnOnce(ConnectionManager) -> F) -> StoreResult<T>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        match tokio::time::timeout(OP_TIMEOUT, f(self.conn.clone())).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(err(format!("{what}: {e}"))),
            Err(_) => Err(err(format!("{what}: no answer within {OP_TIMEOUT:?}"))),
        }
    }
}

#[async_trait]
impl Backend for RedisBackend {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn get(&self, bucket: &str, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let k = self.key(bucket, key);
        self.run("GET", |mut c| async move {
            redis::cmd("GET").arg(k).query_async(&mut c).await
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
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(bucket, key)).arg(value);
        if let Some(ms) = ttl_ms(ttl) {
            cmd.arg("PX").arg(ms);
        }
        self.run("SET", |mut c| async move { cmd.query_async(&mut c).await })
            .await
    }

    async fn delete(&self, bucket: &str, key: &str) -> StoreResult<()> {
        let k = self.key(bucket, key);
        self.run("DEL", |mut c| async move {
            redis::cmd("DEL").arg(k).query_async(&mut c).await
        })
        .await
    }

    async fn exists(&self, bucket: &str, key: &str) -> StoreResult<bool> {
        let k = self.key(bucket, key);
        self.run("EXISTS", |mut c| async move {
            redis::cmd("EXISTS").arg(k).query_async(&mut c).await
        })
        .await
    }

    async fn list_keys(&self, bucket: &str, cursor: Option<&str>) -> StoreResult<KeyPage> {
        let namespace = self.key(bucket, "");
        let pattern = format!("{}*", glob_escape(&namespace));
        let cursor = cursor.unwrap_or("0").to_owned();
        let (next, keys): (String, Vec<String>) = self
            .run("SCAN", |mut c| async move {
                redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(pattern)
                    .arg("COUNT")
                    .arg(PAGE_SIZE)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        // SCAN's cursor is opaque and "0" when the walk is over; it may repeat a key
        // across pages, which draft2's `list-keys` allows.
        let keys = keys
            .into_iter()
            .filter_map(|k| k.strip_prefix(&namespace).map(str::to_owned))
            .collect();
        let cursor = (next != "0").then_some(next);
        Ok(KeyPage { keys, cursor })
    }

    async fn compare_and_swap(
        &self,
        bucket: &str,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> StoreResult<bool> {
        let mut invocation = self.cas.key(self.key(bucket, key));
        invocation
            .arg(if expected.is_some() { "1" } else { "0" })
            .arg(expected.unwrap_or_default())
            .arg(value)
            .arg(ttl_ms(ttl).unwrap_or(0));
        let wrote: i64 = self
            .run("compare-and-swap script", |mut c| async move {
                invocation.invoke_async(&mut c).await
            })
            .await?;
        Ok(wrote == 1)
    }

    async fn increment(&self, bucket: &str, key: &str, delta: i64) -> StoreResult<i64> {
        let k = self.key(bucket, key);
        self.run("INCRBY", |mut c| async move {
            redis::cmd("INCRBY")
                .arg(k)
                .arg(delta)
                .query_async(&mut c)
                .await
        })
        .await
    }
}
