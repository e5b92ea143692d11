//! The component's shared token cache (L2) as the host configures it: which store,
//! which keys, and the environment that tells the component.
//!
//! The component reads `ENTRA_IDENTITY_CACHE{,_KEY,_PLAINTEXT,_BUCKET}`; the host
//! writes them from [`CacheConfig`], so a typed configuration and the component agree
//! on one source of truth.

use crate::error::{Error, Result};
use crate::keyvalue::{
    KeyValueConfig, KeyValueCtx, MemoryBackend, RedisAuth, RedisMode, redact_url, valid_bucket,
};
use crate::runtime::clock::WallClock;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use entra_identity_core::shared_cache::value_expiry;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Environment variables of the shared cache. All but `ENTRA_IDENTITY_CACHE_STORE`
/// reach the component, written by the host from [`CacheConfig`].
pub const CACHE_ENV_VARS: &[&str] = &[
    CACHE,
    CACHE_STORE,
    CACHE_KEY,
    CACHE_PLAINTEXT,
    CACHE_BUCKET,
    CACHE_REDIS_AUTH,
    CACHE_REDIS_CA_FILE,
    CACHE_REDIS_CLUSTER,
];

const CACHE: &str = "ENTRA_IDENTITY_CACHE";
const CACHE_STORE: &str = "ENTRA_IDENTITY_CACHE_STORE";
const CACHE_KEY: &str = "ENTRA_IDENTITY_CACHE_KEY";
const CACHE_PLAINTEXT: &str = "ENTRA_IDENTITY_CACHE_PLAINTEXT";
const CACHE_BUCKET: &str = "ENTRA_IDENTITY_CACHE_BUCKET";
/// `password` (default: what the URL carries) or `entra` (the host's own token; Azure
/// Cache for Redis, Azure Managed Redis). The host's alone, as is the next.
const CACHE_REDIS_AUTH: &str = "ENTRA_IDENTITY_CACHE_REDIS_AUTH";
/// PEM CA certificates a `rediss://` server must chain to, instead of the web PKI roots.
const CACHE_REDIS_CA_FILE: &str = "ENTRA_IDENTITY_CACHE_REDIS_CA_FILE";
/// `auto` (default: ask the server), `yes` (Redis Cluster protocol) or `no` (one
/// endpoint).
const CACHE_REDIS_CLUSTER: &str = "ENTRA_IDENTITY_CACHE_REDIS_CLUSTER";

const DEFAULT_BUCKET: &str = "default";
/// A backend keeps a value this long past the expiry the component wrote in it, so
/// clock skew between hosts sharing Redis never drops a value another still uses.
const TTL_MARGIN: Duration = Duration::from_secs(60);
/// No value the component writes lives longer than a token (a day or so); a far-off
/// expiry (a bug, or a header someone edited) is capped rather than trusted.
const MAX_TTL: u64 = 7 * 24 * 3600;

/// A 32-byte key for the cache's AEAD. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct CacheKey([u8; 32]);

impl CacheKey {
    /// A key from its bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        CacheKey(bytes)
    }

    /// A fresh random key.
    pub fn random() -> Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| Error::Config(format!("no randomness for a cache key: {e}")))?;
        Ok(CacheKey(bytes))
    }

    /// Keys from `ENTRA_IDENTITY_CACHE_KEY`'s form: standard base64 of 32 bytes each,
    /// separated by commas, the first the one that encrypts.
    pub fn parse_list(text: &str) -> Result<Vec<Self>> {
        text.split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .enumerate()
            .map(|(i, k)| {
                let bytes = STANDARD
                    .decode(k)
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok());
                bytes.map(CacheKey).ok_or_else(|| {
                    Error::Config(format!(
                        "{CACHE_KEY}: key {} is not standard base64 of 32 bytes; \
                         make one with `openssl rand -base64 32`",
                        i + 1
                    ))
                })
            })
            .collect()
    }

    fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CacheKey(redacted)")
    }
}

/// The shared token cache: where entries live and how they are protected.
#[derive(Clone)]
pub struct CacheConfig {
    /// `false` (`ENTRA_IDENTITY_CACHE=off`): the component caches in its instance only.
    pub enabled: bool,
    /// Where entries live: process memory (default), a redb file, or Redis.
    pub store: KeyValueConfig,
    /// AEAD keys; the first encrypts, all decrypt (rotation). Empty with the memory
    /// store: the host makes one per process. Empty otherwise: no shared cache.
    pub keys: Vec<CacheKey>,
    /// Store entries unencrypted when there is no key. Only with the memory store,
    /// which never touches disk.
    pub allow_plaintext: bool,
    /// The `wasi:keyvalue` bucket; entries of different buckets never meet.
    pub bucket: String,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            enabled: true,
            store: KeyValueConfig::Memory,
            keys: Vec::new(),
            allow_plaintext: false,
            bucket: DEFAULT_BUCKET.to_string(),
        }
    }
}

impl fmt::Debug for CacheConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheConfig")
            .field("enabled", &self.enabled)
            .field("store", &self.store)
            .field("keys", &self.keys.len())
            .field("allow_plaintext", &self.allow_plaintext)
            .field("bucket", &self.bucket)
            .finish()
    }
}

impl CacheConfig {
    /// From `ENTRA_IDENTITY_CACHE_*` as `var` returns them; unset ones keep their default.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let var = |k: &str| {
            var(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut config = CacheConfig::default();
        if let Some(v) = var(CACHE) {
            config.enabled = match v.to_ascii_lowercase().as_str() {
                "off" => false,
                "on" => true,
                _ => return Err(Error::Config(format!("{CACHE}: expected `off` or `on`"))),
            };
        }
        if let Some(v) = var(CACHE_STORE) {
            config.store = parse_store(&v)?;
        }
        let (auth, ca_file, mode) = (
            var(CACHE_REDIS_AUTH),
            var(CACHE_REDIS_CA_FILE),
            var(CACHE_REDIS_CLUSTER),
        );
        if auth.is_some() || ca_file.is_some() || mode.is_some() {
            let KeyValueConfig::Redis(redis) = &mut config.store else {
                return Err(Error::Config(format!(
                    "{CACHE_REDIS_AUTH}, {CACHE_REDIS_CA_FILE} and {CACHE_REDIS_CLUSTER} need \
                     a Redis store ({CACHE_STORE}=rediss://host:port)"
                )));
            };
            if let Some(v) = mode {
                redis.mode = RedisMode::parse(&v).ok_or_else(|| {
                    Error::Config(format!(
                        "{CACHE_REDIS_CLUSTER}: expected `auto`, `yes` or `no`"
                    ))
                })?;
            }
            if let Some(v) = auth {
                redis.auth = RedisAuth::parse(&v).ok_or_else(|| {
                    Error::Config(format!(
                        "{CACHE_REDIS_AUTH}: expected `password` or `entra`"
                    ))
                })?;
            }
            redis.ca_file = ca_file.map(Into::into);
        }
        if let Some(v) = var(CACHE_KEY) {
            config.keys = CacheKey::parse_list(&v)?;
        }
        if let Some(v) = var(CACHE_PLAINTEXT) {
            config.allow_plaintext = match v.to_ascii_lowercase().as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => {
                    return Err(Error::Config(format!(
                        "{CACHE_PLAINTEXT}: expected `true` or `false`"
                    )));
                }
            };
        }
        if let Some(v) = var(CACHE_BUCKET) {
            config.bucket = v;
        }
        Ok(config)
    }

    /// From this process's environment.
    pub fn from_process_env() -> Result<Self> {
        Self::from_env(|k| std::env::var(k).ok())
    }

    /// Checks the configuration, opens the store and says what the component is told.
    /// Call once per `Identity` or `Validator`; every instance shares the result.
    pub(crate) fn prepare(&self, clock: Option<Arc<dyn WallClock>>) -> Result<GuestCache> {
        let memory = match &self.store {
            KeyValueConfig::Memory => true,
            KeyValueConfig::Shared(shared) => shared.memory_key.is_some(),
            _ => false,
        };
        if !self.enabled {
            let env = vec![(CACHE.to_string(), "off".to_string())];
            let kv = KeyValueCtx::new(Arc::new(MemoryBackend::new()));
            return Ok(GuestCache { env, kv });
        }
        // A store this build cannot open is the embedder's mistake, not an outage to
        // fall back from.
        #[cfg(not(feature = "disk"))]
        if matches!(self.store, KeyValueConfig::Disk { .. }) {
            return Err(Error::Config(format!(
                "{} needs this crate's feature `disk`",
                self.store_name()
            )));
        }
        #[cfg(not(feature = "redis"))]
        if matches!(self.store, KeyValueConfig::Redis(_)) {
            return Err(Error::Config(format!(
                "{} needs this crate's feature `redis`",
                self.store_name()
            )));
        }
        if self.allow_plaintext && !memory {
            return Err(Error::Config(format!(
                "{CACHE_PLAINTEXT}=true is only allowed with the memory store, which never \
                 leaves this process; with {} set {CACHE_KEY} (e.g. `openssl rand -base64 32`) \
                 and unset {CACHE_PLAINTEXT}",
                self.store_name()
            )));
        }
        if !valid_bucket(&self.bucket) {
            return Err(Error::Config(format!(
                "{CACHE_BUCKET}: 1 to 64 characters of A-Z, a-z, 0-9, `.`, `_` and `-`"
            )));
        }
        // The component reads each setting from its environment, else from
        // `wasi:config`, where a served app's variables are: the switch, the bucket and
        // plaintext are written here, so the host's word on them is final. Only a key
        // may come from the app (Spin keeps it in a secret variable) when the host has
        // none, and a key can only make entries encrypted.
        let mut env = vec![
            (CACHE.to_string(), "on".to_string()),
            (CACHE_BUCKET.to_string(), self.bucket.clone()),
        ];
        let plaintext = self.keys.is_empty() && memory && self.allow_plaintext;
        env.push((CACHE_PLAINTEXT.to_string(), plaintext.to_string()));
        let keys: Vec<CacheKey> = match (&self.keys[..], memory, self.allow_plaintext) {
            // A private store gets a key of its own; a shared one brings its key along.
            ([], true, false) => match &self.store {
                KeyValueConfig::Shared(shared) => shared.memory_key.iter().cloned().collect(),
                _ => vec![CacheKey::random()?],
            },
            ([], true, true) => vec![],
            ([], false, _) => {
                tracing::warn!(
                    store = self.store_name(),
                    "shared token cache off: {CACHE_KEY} is not set, and entries are never \
                     stored unencrypted outside process memory; each instance caches alone \
                     (unless a served app passes entra_identity_cache_key through wasi:config)"
                );
                vec![]
            }
            (keys, _, _) => keys.to_vec(),
        };
        if !keys.is_empty() {
            let joined: Vec<String> = keys.iter().map(CacheKey::to_base64).collect();
            env.push((CACHE_KEY.to_string(), joined.join(",")));
        }
        let kv = KeyValueCtx::from_config(&self.store).with_value_ttl(value_ttl(clock));
        let kv = if memory {
            kv
        } else {
            kv.refusing_clear_entries()
        };
        Ok(GuestCache { env, kv })
    }

    fn store_name(&self) -> String {
        match &self.store {
            KeyValueConfig::Memory => "the memory store".into(),
            KeyValueConfig::Shared(_) => "the shared store".into(),
            KeyValueConfig::Disk { path } => format!("the disk store ({})", path.display()),
            KeyValueConfig::Redis(redis) => {
                format!("the Redis store ({})", redact_url(&redis.url))
            }
        }
    }
}

/// `memory`, `disk:/path/file.redb`, `redis://…` or `rediss://…`.
fn parse_store(text: &str) -> Result<KeyValueConfig> {
    if text.eq_ignore_ascii_case("memory") {
        return Ok(KeyValueConfig::Memory);
    }
    if let Some(path) = text.strip_prefix("disk:").filter(|p| !p.is_empty()) {
        return Ok(KeyValueConfig::Disk { path: path.into() });
    }
    if text.starts_with("redis://") || text.starts_with("rediss://") {
        return Ok(KeyValueConfig::redis(text));
    }
    // The value is not echoed: a mistyped Redis URL can hold a password.
    Err(Error::Config(format!(
        "{CACHE_STORE}: expected `memory`, `disk:/path/to/cache.redb` or `redis://host:port`"
    )))
}

/// Lets the backend expire a value shortly after the expiry the component wrote in it,
/// measured on the clock the component sees.
fn value_ttl(clock: Option<Arc<dyn WallClock>>) -> crate::keyvalue::ValueTtl {
    Arc::new(move |value: &[u8]| {
        let expiry = value_expiry(value)?;
        let now = clock.as_ref().map_or_else(SystemTime::now, |c| c.now());
        let now = now.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
        Some(Duration::from_secs(expiry.saturating_sub(now).min(MAX_TTL)) + TTL_MARGIN)
    })
}

/// What every instance of one `Identity` or `Validator` gets: the environment that
/// configures the component's cache, and the store behind `wasi:keyvalue`.
#[derive(Clone)]
pub(crate) struct GuestCache {
    pub(crate) env: Vec<(String, String)>,
    pub(crate) kv: KeyValueCtx,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<CacheConfig> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        CacheConfig::from_env(|k| vars.get(k).cloned())
    }

    fn env_of(cache: &GuestCache, name: &str) -> Option<String> {
        cache
            .env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    const K1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const K2: &str = "HxceHRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE=";

    #[test]
    fn the_store_keys_and_switches_come_from_the_environment() {
        let c = from(&[
            (CACHE_STORE, "disk:/var/cache/e.redb"),
            (CACHE_KEY, &format!("{K1}, {K2}")),
            (CACHE_BUCKET, "b1"),
        ])
        .unwrap();
        assert_eq!(
            c.store,
            KeyValueConfig::Disk {
                path: "/var/cache/e.redb".into()
            }
        );
        assert_eq!(c.keys.len(), 2);
        assert_eq!(c.bucket, "b1");
        assert!(c.enabled);
        let r = from(&[(CACHE_STORE, "redis://10.0.0.1:6379/2"), (CACHE, "off")]).unwrap();
        assert!(matches!(r.store, KeyValueConfig::Redis(_)));
        assert!(!r.enabled);
        assert_eq!(from(&[]).unwrap().store, KeyValueConfig::Memory);
    }

    #[test]
    fn redis_tls_and_entra_auth_come_from_the_environment() {
        let c = from(&[
            (CACHE_STORE, "rediss://cache.redis.cache.windows.net:6380"),
            (CACHE_REDIS_AUTH, "Entra"),
            (CACHE_REDIS_CA_FILE, "/etc/ca.pem"),
        ])
        .unwrap();
        let KeyValueConfig::Redis(redis) = c.store else {
            panic!("a Redis store")
        };
        assert_eq!(redis.auth, RedisAuth::Entra);
        assert_eq!(redis.ca_file, Some("/etc/ca.pem".into()));
        assert_eq!(redis.mode, RedisMode::Detect, "detected unless configured");
        let plain = from(&[(CACHE_STORE, "redis://h:6379")]).unwrap();
        assert!(matches!(plain.store, KeyValueConfig::Redis(r) if r.auth == RedisAuth::Password));
        let e = from(&[(CACHE_REDIS_AUTH, "entra")]).unwrap_err();
        assert!(e.to_string().contains("need a Redis store"), "{e}");
        let e = from(&[(CACHE_STORE, "rediss://h"), (CACHE_REDIS_AUTH, "kerberos")]).unwrap_err();
        assert!(e.to_string().contains("`password` or `entra`"), "{e}");
    }

    #[test]
    fn redis_cluster_mode_comes_from_the_environment() {
        for (text, mode) in [
            ("yes", RedisMode::Cluster),
            ("Cluster", RedisMode::Cluster),
            ("no", RedisMode::Standalone),
            ("auto", RedisMode::Detect),
        ] {
            let c = from(&[
                (CACHE_STORE, "rediss://amr.westeurope.redis.azure.net:10000"),
                (CACHE_REDIS_CLUSTER, text),
            ])
            .unwrap();
            let KeyValueConfig::Redis(redis) = c.store else {
                panic!("a Redis store")
            };
            assert_eq!(redis.mode, mode, "{text}");
        }
        let e = from(&[(CACHE_STORE, "redis://h"), (CACHE_REDIS_CLUSTER, "sharded")]).unwrap_err();
        assert!(e.to_string().contains("`auto`, `yes` or `no`"), "{e}");
        let e = from(&[(CACHE_REDIS_CLUSTER, "yes")]).unwrap_err();
        assert!(e.to_string().contains("need a Redis store"), "{e}");
    }

    #[test]
    fn bad_values_say_what_to_fix_without_echoing_them() {
        let e = from(&[(CACHE_STORE, "reddis://u:hunter2@h")]).unwrap_err();
        assert!(e.to_string().contains("redis://host:port"), "{e}");
        assert!(!e.to_string().contains("hunter2"));
        let e = from(&[(CACHE_KEY, &format!("{K1},c2hvcnQ="))]).unwrap_err();
        assert!(e.to_string().contains("key 2"), "{e}");
        assert!(!e.to_string().contains(K1));
        assert!(from(&[(CACHE_PLAINTEXT, "yes please")]).is_err());
        assert!(from(&[(CACHE, "maybe")]).is_err());
    }

    #[tokio::test]
    async fn plaintext_is_refused_outside_process_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.redb");
        let c = from(&[
            (CACHE_STORE, &format!("disk:{}", path.display())),
            (CACHE_PLAINTEXT, "true"),
        ])
        .unwrap();
        let e = c.prepare(None).err().expect("refused");
        assert!(e.to_string().contains(CACHE_KEY), "{e}");
        let memory = from(&[(CACHE_PLAINTEXT, "true")]).unwrap();
        let prepared = memory.prepare(None).unwrap();
        assert_eq!(env_of(&prepared, CACHE_PLAINTEXT).as_deref(), Some("true"));
        assert_eq!(env_of(&prepared, CACHE_KEY), None);
    }

    #[tokio::test]
    async fn memory_without_a_key_gets_one_key_per_identity_or_per_shared_store() {
        let a = CacheConfig::default().prepare(None).unwrap();
        let b = CacheConfig::default().prepare(None).unwrap();
        let key = env_of(&a, CACHE_KEY).expect("a generated key");
        assert_eq!(CacheKey::parse_list(&key).unwrap().len(), 1);
        assert_ne!(
            env_of(&b, CACHE_KEY),
            Some(key),
            "private stores, private keys"
        );
        let shared = CacheConfig {
            store: KeyValueConfig::Shared(crate::keyvalue::SharedStore::memory().unwrap()),
            ..Default::default()
        };
        let (c, d) = (shared.prepare(None).unwrap(), shared.prepare(None).unwrap());
        assert!(env_of(&c, CACHE_KEY).is_some());
        assert_eq!(env_of(&c, CACHE_KEY), env_of(&d, CACHE_KEY));
    }

    #[tokio::test]
    async fn disk_without_a_key_forbids_the_component_plaintext_and_redis_urls_hide_passwords() {
        let dir = tempfile::tempdir().unwrap();
        let c = CacheConfig {
            store: KeyValueConfig::Disk {
                path: dir.path().join("c.redb"),
            },
            ..Default::default()
        };
        let prepared = c.prepare(None).unwrap();
        assert_eq!(env_of(&prepared, CACHE_PLAINTEXT).as_deref(), Some("false"));
        assert_eq!(env_of(&prepared, CACHE_KEY), None);
        let keyed = CacheConfig {
            keys: CacheKey::parse_list(&format!("{K1},{K2}")).unwrap(),
            ..c
        };
        let prepared = keyed.prepare(None).unwrap();
        assert_eq!(env_of(&prepared, CACHE_KEY), Some(format!("{K1},{K2}")));
        let redis = CacheConfig {
            store: KeyValueConfig::redis("redis://user:hunter2@127.0.0.1:1/"),
            ..keyed
        };
        let shown = format!("{redis:?}");
        assert!(!shown.contains("hunter2") && !shown.contains(K1), "{shown}");
        assert!(!redis.store_name().contains("hunter2"));
    }

    #[test]
    fn a_value_states_its_own_expiry() {
        let mut value = b"EIC1".to_vec();
        value.extend_from_slice(&1_000u64.to_be_bytes());
        value.extend_from_slice(&[0u8; 64]);
        assert_eq!(
            value_expiry(&value),
            Some(1_000),
            "the core reads its own header"
        );
        assert_eq!(value_ttl(None)(b"other"), None);
        struct At(u64);
        impl WallClock for At {
            fn now(&self) -> SystemTime {
                SystemTime::UNIX_EPOCH + Duration::from_secs(self.0)
            }
        }
        let ttl = value_ttl(Some(Arc::new(At(400))));
        assert_eq!(ttl(&value), Some(Duration::from_secs(600) + TTL_MARGIN));
        let ttl = value_ttl(Some(Arc::new(At(5_000))));
        assert_eq!(ttl(&value), Some(TTL_MARGIN));
        value[4..12].copy_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(ttl(&value), Some(Duration::from_secs(MAX_TTL) + TTL_MARGIN));
    }
}
