//! How the host reaches Redis ([`RedisConfig`]): URL, key prefix, TLS trust, cluster
//! or not, and authentication, password or Microsoft Entra ID (Azure Cache for Redis, Azure Managed
//! Redis). Compiled without feature `redis` too, so configurations stay the same type.

use async_trait::async_trait;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The scope of a token Azure Cache for Redis and Azure Managed Redis accept as an `AUTH`
/// password.
pub const REDIS_SCOPE: &str = "https://redis.azure.com/.default";

/// How the host authenticates to Redis.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RedisAuth {
    /// What the URL carries (`redis://user:password@host`), or nothing.
    #[default]
    Password,
    /// Microsoft Entra ID: `AUTH <object id> <token>` with a token for [`REDIS_SCOPE`]
    /// from the host's own identity, re-sent on live connections before it expires. An
    /// [`Identity`](crate::Identity) configured with it gets those tokens from a
    /// second, memory-cached identity of the same configuration, so the cache never
    /// needs itself. Only over `rediss://`: a token never crosses the network in clear.
    Entra,
}

impl RedisAuth {
    /// `password` or `entra` (either case).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "password" => Some(Self::Password),
            "entra" => Some(Self::Entra),
            _ => None,
        }
    }
}

/// Whether the Redis server is a Redis Cluster (Azure Managed Redis with its OSS cluster
/// policy, Azure Cache for Redis Premium with clustering, a self-run cluster).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RedisMode {
    /// Ask the server (`CLUSTER INFO`) when the shared connection first opens.
    #[default]
    Detect,
    /// One endpoint: a single server, or a proxy that hides the shards (Azure Managed
    /// Redis's Enterprise policy, Azure Cache for Redis without clustering).
    Standalone,
    /// The Redis Cluster protocol from the first operation: the URL is one node (Azure
    /// Managed Redis's port 10000), the others come from its slot map.
    Cluster,
}

impl RedisMode {
    /// `auto` (or `detect`), `no` (or `standalone`), `yes` (or `cluster`); either case.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" | "detect" => Some(Self::Detect),
            "no" | "off" | "standalone" => Some(Self::Standalone),
            "yes" | "on" | "cluster" => Some(Self::Cluster),
            _ => None,
        }
    }
}

/// A token for Redis, and how long it stays valid. `Debug` never shows the token.
#[derive(Clone)]
pub struct RedisToken {
    /// The bearer token (a JWT whose `oid` claim is the Redis user).
    pub token: String,
    /// Time left until it expires, measured when it was handed out.
    pub expires_in: Duration,
}

impl fmt::Debug for RedisToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisToken")
            .field("token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Where [`RedisAuth::Entra`] gets its tokens. An [`Identity`](crate::Identity)
/// supplies one itself; set one ([`RedisConfig::with_entra_tokens`]) to open the store
/// elsewhere (a `Validator`, a bare [`KeyValueCtx`](super::KeyValueCtx)).
#[async_trait]
pub trait RedisTokenProvider: Send + Sync + 'static {
    /// A token for [`REDIS_SCOPE`]. `fresh`: not one from a cache (the last one was
    /// refused, or expires too soon). Errors never carry a token.
    async fn redis_token(&self, fresh: bool) -> Result<RedisToken, String>;
}

/// The Redis store's settings ([`KeyValueConfig::Redis`](super::KeyValueConfig::Redis)).
/// `Debug` hides the URL's password.
#[derive(Clone)]
#[non_exhaustive]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS (Azure: port
    /// 6380 for Azure Cache for Redis, 10000 for Azure Managed Redis). For a cluster,
    /// any one node: the others come from its slot map.
    pub url: String,
    /// Prepended to every key; `RedisBackend::DEFAULT_PREFIX` when `None`.
    pub prefix: Option<String>,
    /// PEM file of the CA certificates a `rediss://` server's certificate must chain
    /// to, instead of the web PKI roots (Mozilla's, built in).
    pub ca_file: Option<PathBuf>,
    /// Password (from the URL) or Microsoft Entra ID.
    pub auth: RedisAuth,
    /// Where [`RedisAuth::Entra`] gets tokens; `None`: from the identity the store is
    /// opened for.
    pub entra_tokens: Option<Arc<dyn RedisTokenProvider>>,
    /// Redis Cluster or one endpoint; detected by default.
    pub mode: RedisMode,
}

impl RedisConfig {
    /// `url`, the default prefix, the web PKI roots, password (or no) authentication.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            prefix: None,
            ca_file: None,
            auth: RedisAuth::Password,
            entra_tokens: None,
            mode: RedisMode::Detect,
        }
    }

    /// Sets [`Self::prefix`].
    pub fn with_prefix(mut self, prefix: Option<String>) -> Self {
        self.prefix = prefix;
        self
    }

    /// Sets [`Self::ca_file`].
    pub fn with_ca_file(mut self, path: Option<PathBuf>) -> Self {
        self.ca_file = path;
        self
    }

    /// Sets [`Self::auth`].
    pub fn with_auth(mut self, auth: RedisAuth) -> Self {
        self.auth = auth;
        self
    }

    /// Sets [`Self::mode`].
    pub fn with_mode(mut self, mode: RedisMode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets [`Self::entra_tokens`].
    pub fn with_entra_tokens(mut self, provider: Arc<dyn RedisTokenProvider>) -> Self {
        self.entra_tokens = Some(provider);
        self
    }
}

impl PartialEq for RedisConfig {
    fn eq(&self, other: &Self) -> bool {
        let same_provider = match (&self.entra_tokens, &other.entra_tokens) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        self.url == other.url
            && self.prefix == other.prefix
            && self.ca_file == other.ca_file
            && self.auth == other.auth
            && self.mode == other.mode
            && same_provider
    }
}

impl Eq for RedisConfig {}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &super::redact_url(&self.url))
            .field("prefix", &self.prefix)
            .field("ca_file", &self.ca_file)
            .field("auth", &self.auth)
            .field("mode", &self.mode)
            .field(
                "entra_tokens",
                &self.entra_tokens.as_ref().map(|_| "<provider>"),
            )
            .finish()
    }
}
