//! Tokens for an Entra-authenticated Redis cache ([`RedisAuth::Entra`]) from the host's
//! own identity, outside the cache they unlock: a second [`Identity`] of the same
//! configuration whose cache is process memory. The cache never needs itself to start,
//! and the Redis token never lands in Redis.

use super::{Identity, IdentityConfig};
use crate::error::Result;
use crate::keyvalue::{KeyValueConfig, REDIS_SCOPE, RedisAuth, RedisToken, RedisTokenProvider};
use crate::runtime::Runtime;
use crate::runtime::clock::WallClock;
use crate::shared_cache::CacheConfig;
use async_trait::async_trait;
use entra_identity_types::TokenRequest;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// [`RedisTokenProvider`] over an [`Identity`].
pub(crate) struct IdentityRedisTokens {
    identity: Identity,
    clock: Option<Arc<dyn WallClock>>,
}

#[async_trait]
impl RedisTokenProvider for IdentityRedisTokens {
    async fn redis_token(&self, fresh: bool) -> std::result::Result<RedisToken, String> {
        let mut request = TokenRequest::new(&[REDIS_SCOPE]);
        request.force_refresh = fresh;
        let token = self
            .identity
            .get_token_for(&request)
            .await
            .map_err(|e| e.to_string())?;
        let now = self
            .clock
            .as_ref()
            .map_or_else(SystemTime::now, |c| c.now());
        let now = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        Ok(RedisToken {
            expires_in: Duration::from_secs(token.expires_on().saturating_sub(now)),
            token: token.secret().to_string(),
        })
    }
}

/// `config` with a token provider for its Redis store when that store authenticates
/// with Entra and has none: a memory-cached identity of the same configuration.
pub(crate) fn attach(runtime: &Runtime, mut config: IdentityConfig) -> Result<IdentityConfig> {
    let KeyValueConfig::Redis(redis) = &config.cache.store else {
        return Ok(config);
    };
    if !config.cache.enabled || redis.auth != RedisAuth::Entra || redis.entra_tokens.is_some() {
        return Ok(config);
    }
    let own = config.clone().with_cache(CacheConfig::default());
    let provider = IdentityRedisTokens {
        identity: Identity::with_runtime(runtime, own)?,
        clock: config.wall_clock.clone(),
    };
    if let KeyValueConfig::Redis(redis) = &mut config.cache.store {
        redis.entra_tokens = Some(Arc::new(provider));
    }
    Ok(config)
}
