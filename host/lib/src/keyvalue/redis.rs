//! Redis backend: several hosts on several machines share one store, so one token
//! (and one lease) serves them all.
//!
//! Keys are `{prefix}{bucket}:{key}`; bucket identifiers cannot contain `:` (see
//! `mod.rs`), so namespaces never overlap. Expiry is Redis's own (`SET … PX`).
//! Compare-and-swap is one Lua script, atomic on the server; `increment` is `INCRBY`.
//!
//! The connection is a `ConnectionManager`: created lazily (a host starts even when
//! Redis is down) and reconnected after failures. Every operation is bounded by
//! `OP_TIMEOUT`, so a dead or slow server costs a caller seconds, never a hang. `GET`s,
//! the one command a fresh instance answered from the cache sends, go first through
//! connections the caller drives itself (`redis_direct.rs`), without the manager's
//! driver task in between.
//!
//! `rediss://` is TLS on rustls, trusting the web PKI roots or a CA file
//! ([`RedisConfig::ca_file`]). [`RedisAuth::Entra`] authenticates with the host's own
//! Entra tokens (`redis_entra.rs`). A refused credential (`WRONGPASS`, `NOAUTH`) leaves
//! redis-rs's manager holding a failed connection it never retries, so the backend
//! replaces the manager, tells the credentials to fetch a fresh token, and runs the
//! operation once more.

use super::backend::{Backend, KeyPage, PAGE_SIZE, StoreError, StoreResult};
use super::redis_config::{RedisAuth, RedisConfig};
use super::redis_direct::{DirectGets, tls_config};
use super::redis_entra::EntraCredentials;
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::future::Future;
use std::sync::RwLock;
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
    client: redis::Client,
    config: ConnectionManagerConfig,
    /// Replaced (with a higher generation) after a refused credential.
    conn: RwLock<(u64, ConnectionManager)>,
    prefix: String,
    cas: redis::Script,
    /// `Some` with [`RedisAuth::Entra`].
    entra: Option<EntraCredentials>,
    /// The Entra refresher; aborted with the backend.
    refresher: Option<tokio::task::JoinHandle<()>>,
    /// `GET`s on connections the caller drives (`redis_direct.rs`); `None` for
    /// addresses it does not open.
    direct: Option<DirectGets>,
}

impl Drop for RedisBackend {
    fn drop(&mut self) {
        if let Some(task) = &self.refresher {
            task.abort();
        }
    }
}

/// `rediss://` needs a rustls crypto provider for the process. Installs ring (what the
/// rest of the host uses) unless the embedder installed one.
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// A refused credential: the manager's connection future failed for good.
fn refused(e: &redis::RedisError) -> bool {
    e.kind() == redis::ErrorKind::AuthenticationFailed
        || matches!(e.code(), Some("WRONGPASS" | "NOAUTH"))
}

impl RedisBackend {
    /// Prefix of every key when none is configured.
    pub const DEFAULT_PREFIX: &'static str = "entra-identity:kv:";

    /// A backend for `url` (`redis://host:port/db`), password in the URL or none.
    /// Does not connect: the first operation does, so a host starts even while Redis is
    /// unreachable. Call inside a tokio runtime.
    pub fn new(url: &str, prefix: impl Into<String>) -> StoreResult<Self> {
        Self::from_config(&RedisConfig::new(url).with_prefix(Some(prefix.into())))
    }

    /// A backend as `config` says: TLS trust, password or Entra authentication. Does
    /// not connect (see [`Self::new`]); fails on a configuration that cannot work (an
    /// unreadable CA file, Entra without `rediss://` or without a token provider).
    /// Call inside a tokio runtime.
    pub fn from_config(config: &RedisConfig) -> StoreResult<Self> {
        let parsed = url::Url::parse(&config.url)
            .map_err(|_| err("the URL does not parse (expected redis:// or rediss://)"))?;
        let tls = parsed.scheme() == "rediss";
        if tls {
            ensure_crypto_provider();
        }
        let (client, ca_pem) = match &config.ca_file {
            Some(path) => {
                if !tls {
                    return Err(err("a CA file is for rediss:// URLs; this one is redis://"));
                }
                let pem = std::fs::read(path)
                    .map_err(|e| err(format!("CA file {}: {e}", path.display())))?;
                let certs = redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.clone()),
                };
                let client = redis::Client::build_with_tls(config.url.as_str(), certs)
                    .map_err(|e| err(format!("CA file {}: {e}", path.display())))?;
                (client, Some(pem))
            }
            None => (redis::Client::open(config.url.as_str()).map_err(err)?, None),
        };
        let direct_tls = match tls {
            true => Some(
                tls_config(ca_pem.as_deref()).map_err(|e| match &config.ca_file {
                    Some(path) => err(format!("CA file {}: {e}", path.display())),
                    None => err(e),
                })?,
            ),
            false => None,
        };
        let mut direct_config =
            redis::AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(2)));
        let mut manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let (mut entra, mut refresher) = (None, None);
        if config.auth == RedisAuth::Entra {
            if !tls {
                return Err(err(
                    "Entra authentication sends a bearer token: it needs a rediss:// URL",
                ));
            }
            if !parsed.username().is_empty() || parsed.password().is_some() {
                return Err(err(
                    "Entra authentication and a user or password in the URL: choose one",
                ));
            }
            let provider = config.entra_tokens.clone().ok_or_else(|| {
                err(
                    "Entra authentication needs the host's identity to get tokens from \
                     (open the store through an Identity, or set RedisConfig::with_entra_tokens)",
                )
            })?;
            let credentials = EntraCredentials::new(provider);
            refresher = Some(credentials.spawn_refresher());
            manager = manager.set_credentials_provider(credentials.clone());
            direct_config = direct_config.set_credentials_provider(credentials.clone());
            entra = Some(credentials);
        }
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), manager.clone())
            .map_err(err)?;
        let direct = DirectGets::new(
            client.get_connection_info().clone(),
            direct_tls,
            direct_config,
        );
        Ok(Self {
            client,
            config: manager,
            conn: RwLock::new((0, conn)),
            prefix: config
                .prefix
                .clone()
                .unwrap_or_else(|| Self::DEFAULT_PREFIX.to_string()),
            cas: redis::Script::new(CAS_SCRIPT),
            entra,
            refresher,
            direct,
        })
    }

    fn key(&self, bucket: &str, key: &str) -> String {
        format!("{}{bucket}:{key}", self.prefix)
    }

    fn connection(&self) -> (u64, ConnectionManager) {
        let guard = self.conn.read().unwrap_or_else(|p| p.into_inner());
        (guard.0, guard.1.clone())
    }

    /// A new manager in place of generation `seen`'s (unless another caller replaced it
    /// already); its first operation connects with a fresh credential.
    fn replace_connection(&self, seen: u64) -> StoreResult<()> {
        let mut guard = self.conn.write().unwrap_or_else(|p| p.into_inner());
        if guard.0 == seen {
            let conn =
                ConnectionManager::new_lazy_with_config(self.client.clone(), self.config.clone())
                    .map_err(err)?;
            *guard = (seen + 1, conn);
        }
        Ok(())
    }

    /// Run one command (or script) with a fresh handle on the shared connection; once
    /// more on a new connection if the server refused the credential.
    async fn run<T, F>(&self, what: &str, f: impl Fn(ConnectionManager) -> F) -> StoreResult<T>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        let attempt = async {
            let (generation, conn) = self.connection();
            match f(conn).await {
                Err(e) if refused(&e) => {
                    if let Some(entra) = &self.entra {
                        entra.reject();
                    }
                    tracing::info!(error = %e, "Redis refused the credential; reconnecting");
                    self.replace_connection(generation).map_err(|e| {
                        redis::RedisError::from((redis::ErrorKind::Client, "reconnect", e.message))
                    })?;
                    f(self.connection().1).await
                }
                other => other,
            }
        };
        match tokio::time::timeout(OP_TIMEOUT, attempt).await {
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
        let k = &self.key(bucket, key);
        if let Some(direct) = &self.direct {
            match tokio::time::timeout(OP_TIMEOUT, direct.get(k)).await {
                Ok(Some(Ok(value))) => return Ok(value),
                // Refused while connecting: a fresh token for the next connection, and
                // this GET through the shared one, which reconnects the same way.
                Ok(Some(Err(e))) if refused(&e) => {
                    if let Some(entra) = &self.entra {
                        entra.reject();
                    }
                }
                Ok(Some(Err(e))) => return Err(err(format!("GET: {e}"))),
                // Every connection of its own busy.
                Ok(None) => {}
                Err(_) => return Err(err(format!("GET: no answer within {OP_TIMEOUT:?}"))),
            }
        }
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
        let cmd = &cmd;
        self.run("SET", |mut c| async move { cmd.query_async(&mut c).await })
            .await
    }

    async fn delete(&self, bucket: &str, key: &str) -> StoreResult<()> {
        let k = &self.key(bucket, key);
        self.run("DEL", |mut c| async move {
            redis::cmd("DEL").arg(k).query_async(&mut c).await
        })
        .await
    }

    async fn exists(&self, bucket: &str, key: &str) -> StoreResult<bool> {
        let k = &self.key(bucket, key);
        self.run("EXISTS", |mut c| async move {
            redis::cmd("EXISTS").arg(k).query_async(&mut c).await
        })
        .await
    }

    async fn list_keys(&self, bucket: &str, cursor: Option<&str>) -> StoreResult<KeyPage> {
        let namespace = self.key(bucket, "");
        let pattern = format!("{}*", glob_escape(&namespace));
        let (cursor, pattern) = (cursor.unwrap_or("0"), &pattern);
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
        let invocation = &invocation;
        let wrote: i64 = self
            .run("compare-and-swap script", |mut c| async move {
                invocation.invoke_async(&mut c).await
            })
            .await?;
        Ok(wrote == 1)
    }

    async fn increment(&self, bucket: &str, key: &str, delta: i64) -> StoreResult<i64> {
        let k = &self.key(bucket, key);
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
