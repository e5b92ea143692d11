//! Redis backend: several hosts on several machines share one store, so one token
//! (and one lease) serves them all.
//!
//! Keys are `{prefix}{bucket}:{key}`; bucket identifiers cannot contain `:` (see
//! `mod.rs`), so namespaces never overlap. Expiry is Redis's own (`SET … PX`).
//! Compare-and-swap is one Lua script, atomic on the server; `increment` is `INCRBY`.
//!
//! The shared connection is made on first use (a host starts even when Redis is
//! down): a `ConnectionManager`, reconnected after failures, or on a Redis Cluster
//! redis-rs's cluster connection (`redis_cluster.rs`: detected or configured, `MOVED`
//! and `ASK` followed). Every operation is bounded by `OP_TIMEOUT`, so a dead or slow
//! server costs a caller seconds, never a hang. `GET`s, the one command a fresh
//! instance answered from the cache sends, go first through connections the caller
//! drives itself (`redis_direct.rs`), without the manager's driver task in between;
//! not on a cluster, where they follow the slot map.
//!
//! `rediss://` is TLS on rustls, trusting the web PKI roots or a CA file
//! ([`RedisConfig::ca_file`]). [`RedisAuth::Entra`] authenticates with the host's own
//! Entra tokens (`redis_entra.rs`), on every node of a cluster. A refused credential
//! (`WRONGPASS`, `NOAUTH`) leaves redis-rs's manager holding a failed connection it
//! never retries, so the backend replaces the shared connection, tells the credentials
//! to fetch a fresh token, and runs the operation once more.

use super::backend::{Backend, KeyPage, PAGE_SIZE, StoreError, StoreResult};
use super::redis_cluster::{self as cluster, Shared, Topology};
use super::redis_config::{RedisAuth, RedisConfig, RedisMode};
use super::redis_direct::{DirectGets, tls_config};
use super::redis_entra::EntraCredentials;
use async_trait::async_trait;
use redis::ConnectionAddr;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use std::future::Future;
use std::sync::{Mutex, RwLock};
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
    /// `None` when configured [`RedisMode::Standalone`].
    cluster: Option<ClusterClient>,
    /// Configured, or detected when the shared connection first opens.
    topology: Mutex<Option<Topology>>,
    /// The shared connection: made on first use; dropped (and the generation
    /// raised) after a refused credential.
    conn: RwLock<(u64, Option<Shared>)>,
    /// One caller opens the shared connection; the others wait for it.
    opening: tokio::sync::Mutex<()>,
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
pub(super) fn refused(e: &redis::RedisError) -> bool {
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
        let prefix = config
            .prefix
            .clone()
            .unwrap_or_else(|| Self::DEFAULT_PREFIX.to_string());
        cluster::check_prefix(&prefix)?;
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
        let mut cluster = cluster::cluster_builder(&config.url);
        if let Some(pem) = &ca_pem {
            cluster = cluster.certs(redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem.clone()),
            });
        }
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
            cluster = cluster.set_credentials_provider(credentials.clone());
            entra = Some(credentials);
        }
        // A Unix socket is one server: cluster nodes announce TCP addresses.
        let unix = matches!(client.get_connection_info().addr(), ConnectionAddr::Unix(_));
        let mode = match config.mode {
            RedisMode::Detect if unix => RedisMode::Standalone,
            mode => mode,
        };
        let cluster = match mode {
            RedisMode::Standalone => None,
            _ => Some(cluster.build().map_err(|e| err(format!("cluster: {e}")))?),
        };
        let topology = match mode {
            RedisMode::Detect => None,
            RedisMode::Standalone => Some(Topology::Standalone),
            RedisMode::Cluster => Some(Topology::Cluster),
        };
        // On a cluster, the configured node holds a third of the slots, or none.
        let direct = match mode {
            RedisMode::Cluster => None,
            _ => DirectGets::new(
                client.get_connection_info().clone(),
                direct_tls,
                direct_config,
            ),
        };
        Ok(Self {
            client,
            config: manager,
            cluster,
            topology: Mutex::new(topology),
            conn: RwLock::new((0, None)),
            opening: tokio::sync::Mutex::new(()),
            prefix,
            cas: redis::Script::new(CAS_SCRIPT),
            entra,
            refresher,
            direct,
        })
    }

    fn key(&self, bucket: &str, key: &str) -> String {
        format!("{}{bucket}:{key}", self.prefix)
    }

    fn topology(&self) -> Option<Topology> {
        *self.topology.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_topology(&self, topology: Topology) {
        *self.topology.lock().unwrap_or_else(|p| p.into_inner()) = Some(topology);
    }

    fn current(&self) -> (u64, Option<Shared>) {
        let guard = self.conn.read().unwrap_or_else(|p| p.into_inner());
        (guard.0, guard.1.clone())
    }

    /// The shared connection, opened (and the server's topology detected) on first use.
    async fn connection(&self) -> redis::RedisResult<(u64, Shared)> {
        if let (generation, Some(conn)) = self.current() {
            return Ok((generation, conn));
        }
        let _opening = self.opening.lock().await;
        let (generation, current) = self.current();
        if let Some(conn) = current {
            return Ok((generation, conn));
        }
        let conn = self.open().await?;
        let mut guard = self.conn.write().unwrap_or_else(|p| p.into_inner());
        if guard.0 == generation {
            guard.1 = Some(conn.clone());
        }
        Ok((generation, conn))
    }

    async fn open(&self) -> redis::RedisResult<Shared> {
        let single = || {
            ConnectionManager::new_lazy_with_config(self.client.clone(), self.config.clone())
                .map(Shared::Single)
        };
        let topology = match self.topology() {
            Some(known) => known,
            None => {
                let mut manager = single()?;
                let found = cluster::detect(&mut manager, refused).await?;
                self.set_topology(found);
                if found == Topology::Standalone {
                    return Ok(manager);
                }
                tracing::info!("Redis: the server is a Redis Cluster; following its slot map");
                if let Some(direct) = &self.direct {
                    direct.close_idle();
                }
                found
            }
        };
        match (topology, &self.cluster) {
            (Topology::Cluster, Some(client)) => cluster::connect(client).await,
            _ => single(),
        }
    }

    /// Drops generation `seen`'s shared connection (unless another caller replaced it
    /// already); the next operation opens a new one, with a fresh credential.
    fn replace_connection(&self, seen: u64) {
        let mut guard = self.conn.write().unwrap_or_else(|p| p.into_inner());
        if guard.0 == seen {
            *guard = (seen + 1, None);
        }
    }

    /// One try: the shared connection's generation (`None` if it could not be opened)
    /// travels with a failure, so that the retry replaces only that connection.
    async fn once<T, F>(
        &self,
        f: &impl Fn(Shared) -> F,
    ) -> Result<T, (Option<u64>, redis::RedisError)>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        let (generation, conn) = self.connection().await.map_err(|e| (None, e))?;
        f(conn).await.map_err(|e| (Some(generation), e))
    }

    /// Run one command (or script) with a fresh handle on the shared connection; once
    /// more on a new connection if the server refused the credential.
    async fn run<T, F>(&self, what: &str, f: impl Fn(Shared) -> F) -> StoreResult<T>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        let attempt = async {
            let (generation, e) = match self.once(&f).await {
                Ok(v) => return Ok(v),
                Err(failed) => failed,
            };
            if !refused(&e) {
                return Err(e);
            }
            if let Some(entra) = &self.entra {
                entra.reject();
            }
            tracing::info!(error = %e, "Redis refused the credential; reconnecting");
            if let Some(generation) = generation {
                self.replace_connection(generation);
            }
            self.once(&f).await.map_err(|(_, e)| e)
        };
        match tokio::time::timeout(OP_TIMEOUT, attempt).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) if cluster::redirected(&e) => Err(err(format!(
                "{what}: {e} (the server is a Redis Cluster: set \
                 ENTRA_IDENTITY_CACHE_REDIS_CLUSTER=yes)"
            ))),
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
        if let Some(direct) = &self.direct
            && self.topology() != Some(Topology::Cluster)
        {
            match tokio::time::timeout(OP_TIMEOUT, direct.get(k)).await {
                Ok(Some(Ok(value))) => return Ok(value),
                // Refused while connecting: a fresh token for the next connection, and
                // this GET through the shared one, which reconnects the same way.
                Ok(Some(Err(e))) if refused(&e) => {
                    if let Some(entra) = &self.entra {
                        entra.reject();
                    }
                }
                // Another node's key: the shared connection finds the cluster.
                Ok(Some(Err(e))) if cluster::redirected(&e) => {}
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
        let pattern = &format!("{}*", glob_escape(&namespace));
        // SCAN's cursor is opaque and "0" when the walk is over; it may repeat a key
        // across pages, which draft2's `list-keys` allows. A cluster is walked one
        // primary at a time.
        let (cursor, keys) = self
            .run("SCAN", |c| async move {
                match c {
                    Shared::Cluster(mut c) => {
                        cluster::scan_page(&mut c, cursor, pattern, PAGE_SIZE).await
                    }
                    mut c => {
                        let (next, keys): (String, Vec<String>) = redis::cmd("SCAN")
                            .arg(cursor.unwrap_or("0"))
                            .arg("MATCH")
                            .arg(pattern)
                            .arg("COUNT")
                            .arg(PAGE_SIZE)
                            .query_async(&mut c)
                            .await?;
                        Ok(((next != "0").then_some(next), keys))
                    }
                }
            })
            .await?;
        let keys = keys
            .into_iter()
            .filter_map(|k| k.strip_prefix(&namespace).map(str::to_owned))
            .collect();
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
