//! Microsoft Entra ID authentication to Redis (Azure Cache for Redis, Azure Managed
//! Redis): `AUTH <oid> <token>`, the token for `https://redis.azure.com/.default` from
//! the host's own identity, the user the `oid` claim of that token.
//!
//! The server closes a connection when the token it authenticated with expires, and
//! keeps it when it receives a fresh token by `AUTH` first; Azure asks for that at least
//! three minutes before expiry, with jitter so that a fleet does not ask at once. So:
//!
//! - one [`EntraCredentials`] per backend holds the current credential; a connection
//!   takes it when it opens (fetching one if there is none, it was refused, or it is
//!   about to expire) and subscribes to the next ones;
//! - a background task (one per backend, aborted with it) fetches the next token at
//!   [`refresh_delay`] and publishes it; every live connection re-sends `AUTH`
//!   (redis-rs's streaming credentials);
//! - a refused credential ([`EntraCredentials::reject`], after `WRONGPASS`/`NOAUTH`)
//!   makes the next connection ask for a fresh token, not the cached one; forced
//!   fetches are spaced by [`MIN_FORCED_INTERVAL`], so a misconfigured server cannot
//!   make the host hammer its token endpoint.
//!
//! Tokens appear nowhere but in `AUTH`: not in `Debug`, errors or logs.

use super::redis_config::{RedisToken, RedisTokenProvider};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::StreamExt as _;
use redis::{BasicAuth, ErrorKind, RedisError, RedisResult, StreamingCredentialsProvider};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, watch};
use tokio::time::Instant;

/// Azure's floor: re-`AUTH` at least this long before the token expires.
pub(crate) const REAUTH_BEFORE: Duration = Duration::from_secs(3 * 60);
/// Added to [`REAUTH_BEFORE`], so that fetching the token cannot eat into it.
const FETCH_ALLOWANCE: Duration = Duration::from_secs(60);
/// Up to this much earlier still, at random, so that hosts sharing a cache spread out.
const JITTER: Duration = Duration::from_secs(60);
/// A connection opening with less life left than this on the token fetches a new one.
const MIN_LIFE_TO_CONNECT: Duration = Duration::from_secs(30);
/// Forced (cache-skipping) fetches after a refusal: at most one per this interval.
pub(crate) const MIN_FORCED_INTERVAL: Duration = Duration::from_secs(5);
/// Retries of a failed background fetch back off up to this.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

/// One credential: user, token, and when it expires on the tokio clock.
struct Credential {
    generation: u64,
    user: String,
    token: String,
    expires_at: Instant,
    /// Its life when it arrived.
    lifetime: Duration,
}

impl Credential {
    fn auth(&self) -> BasicAuth {
        BasicAuth::new(self.user.clone(), self.token.clone())
    }

    fn life_left(&self) -> Duration {
        self.expires_at.saturating_duration_since(Instant::now())
    }

    /// Still good for a connection opening now: [`MIN_LIFE_TO_CONNECT`] left (a
    /// quarter of its life for a token shorter-lived than that allows).
    fn usable(&self) -> bool {
        let left = self.life_left();
        left > Duration::ZERO && left >= MIN_LIFE_TO_CONNECT.min(self.lifetime / 4)
    }
}

/// The `oid` claim of a JWT, read without verifying it: the host's own token, used only
/// as the name it authenticates under.
pub(crate) fn object_id(token: &str) -> Result<String, String> {
    let payload = token
        .split('.')
        .nth(1)
        .ok_or("the Redis token is not a JWT")?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| "the Redis token's payload is not base64url")?;
    let claims: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| "the Redis token's payload is not JSON")?;
    match claims.get("oid").and_then(|v| v.as_str()) {
        Some(oid) if !oid.is_empty() => Ok(oid.to_string()),
        _ => Err("the Redis token has no `oid` claim to authenticate as".into()),
    }
}

/// When to fetch the next token, given the current one's `life` left and a `unit`
/// random draw in `[0, 1)`: [`REAUTH_BEFORE`] + [`FETCH_ALLOWANCE`] + up to
/// [`JITTER`] before expiry. A token too short-lived for that (tests; Entra's live an
/// hour or more) is refreshed at 40–50 % of its life.
pub(crate) fn refresh_delay(life: Duration, unit: f64) -> Duration {
    let unit = unit.clamp(0.0, 1.0);
    let lead = REAUTH_BEFORE + FETCH_ALLOWANCE + JITTER.mul_f64(unit);
    if life >= 2 * (REAUTH_BEFORE + FETCH_ALLOWANCE + JITTER) {
        life - lead
    } else {
        life.mul_f64(0.5 - 0.1 * unit)
    }
}

fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

fn auth_error(message: impl Into<String>) -> RedisError {
    RedisError::from((
        ErrorKind::AuthenticationFailed,
        "Entra authentication",
        message.into(),
    ))
}

/// The credentials of one Redis backend. Cheap to clone.
#[derive(Clone)]
pub(crate) struct EntraCredentials {
    inner: Arc<Inner>,
}

struct Inner {
    provider: Arc<dyn RedisTokenProvider>,
    current: watch::Sender<Option<Arc<Credential>>>,
    /// One fetch at a time.
    fetching: Mutex<Option<Instant>>,
    /// The current credential was refused: the next connection fetches a fresh one.
    rejected: AtomicBool,
    generation: AtomicU64,
}

impl std::fmt::Debug for EntraCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EntraCredentials(<redacted>)")
    }
}

impl EntraCredentials {
    pub(crate) fn new(provider: Arc<dyn RedisTokenProvider>) -> Self {
        EntraCredentials {
            inner: Arc::new(Inner {
                provider,
                current: watch::Sender::new(None),
                fetching: Mutex::new(None),
                rejected: AtomicBool::new(false),
                generation: AtomicU64::new(0),
            }),
        }
    }

    /// The server refused the current credential (`WRONGPASS`, `NOAUTH`): the next
    /// connection asks for a fresh token.
    pub(crate) fn reject(&self) {
        self.inner.rejected.store(true, Ordering::SeqCst);
    }

    /// The background refresher; abort the handle when the backend goes.
    pub(crate) fn spawn_refresher(&self) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(&self.inner);
        let mut updates = self.inner.current.subscribe();
        tokio::spawn(async move {
            let mut failures = 0u32;
            loop {
                // Nothing to refresh until a connection has asked for a credential.
                let current = updates.borrow_and_update().clone();
                let life = match current {
                    Some(c) => c.life_left(),
                    None => {
                        if updates.changed().await.is_err() {
                            return;
                        }
                        continue;
                    }
                };
                let wait = if failures == 0 {
                    refresh_delay(life, random_unit())
                } else {
                    let backoff = Duration::from_secs(1 << failures.min(5)).min(MAX_RETRY_DELAY);
                    backoff.min(life.max(Duration::from_secs(1)))
                };
                // A credential published meanwhile (a connection fetched one after a
                // refusal) restarts the wait.
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    changed = updates.changed() => {
                        if changed.is_err() { return; }
                        failures = 0;
                        continue;
                    }
                }
                let Some(inner) = weak.upgrade() else { return };
                let creds = EntraCredentials { inner };
                match creds.refresh().await {
                    Ok(()) => failures = 0,
                    Err(e) => {
                        failures += 1;
                        tracing::warn!(error = %e, "Redis: cannot refresh the Entra token; retrying");
                    }
                }
            }
        })
    }

    /// The background refresh: a token newer than the current one, published (every
    /// live connection re-sends `AUTH` with it).
    async fn refresh(&self) -> RedisResult<()> {
        let mut fetching = self.inner.fetching.lock().await;
        let old = self.inner.current.borrow().clone();
        let mut token = self.fetch(false).await?;
        if old.as_ref().is_some_and(|o| o.token == token.token) {
            // The identity answered from its cache; the refresh must bring a new one.
            *fetching = Some(Instant::now());
            token = self.fetch(true).await?;
        }
        self.publish(token)?;
        Ok(())
    }

    async fn fetch(&self, fresh: bool) -> RedisResult<RedisToken> {
        self.inner
            .provider
            .redis_token(fresh)
            .await
            .map_err(|e| auth_error(format!("no token for Redis: {e}")))
    }

    fn publish(&self, token: RedisToken) -> RedisResult<Arc<Credential>> {
        let user = object_id(&token.token).map_err(auth_error)?;
        let credential = Arc::new(Credential {
            generation: self.inner.generation.fetch_add(1, Ordering::SeqCst) + 1,
            user,
            token: token.token,
            expires_at: Instant::now() + token.expires_in,
            lifetime: token.expires_in,
        });
        self.inner.rejected.store(false, Ordering::SeqCst);
        self.inner.current.send_replace(Some(credential.clone()));
        tracing::debug!(
            expires_in = ?token.expires_in,
            "Redis: new Entra credential for live and new connections"
        );
        Ok(credential)
    }

    /// What a new connection authenticates with.
    async fn for_new_connection(&self) -> RedisResult<Arc<Credential>> {
        let mut fetching = self.inner.fetching.lock().await;
        let current = self.inner.current.borrow().clone();
        let rejected = self.inner.rejected.load(Ordering::SeqCst);
        if let Some(c) = &current
            && !rejected
            && c.usable()
        {
            return Ok(c.clone());
        }
        // Refused or (nearly) expired: skip the identity's cache, unless a forced fetch
        // happened just now (a misconfigured server must not make the host hammer
        // its token endpoint).
        let recently_forced = (*fetching).is_some_and(|at| at.elapsed() < MIN_FORCED_INTERVAL);
        let force = current.is_some() && !recently_forced;
        if force {
            *fetching = Some(Instant::now());
        }
        let token = self.fetch(force).await?;
        if !force
            && let Some(c) = &current
            && c.token == token.token
            && rejected
        {
            return Err(auth_error(
                "Redis refused the Entra token and no newer one is available yet",
            ));
        }
        self.publish(token)
    }
}

impl StreamingCredentialsProvider for EntraCredentials {
    fn subscribe(
        &self,
    ) -> Pin<Box<dyn futures::Stream<Item = RedisResult<BasicAuth>> + Send + 'static>> {
        let this = self.clone();
        let updates = self.inner.current.subscribe();
        let first = futures::stream::once(async move {
            let first = this.for_new_connection().await;
            (first, updates)
        });
        Box::pin(first.flat_map(|(first, updates)| {
            let seen = first.as_ref().map_or(0, |c| c.generation);
            let head = futures::stream::iter([first.map(|c| c.auth())]);
            // Then every newer credential, once each (a value published before this
            // connection took its first one is not re-sent).
            let rest = futures::stream::unfold((updates, seen), |(mut updates, seen)| async move {
                loop {
                    updates.changed().await.ok()?;
                    let next = updates.borrow_and_update().clone();
                    if let Some(c) = next
                        && c.generation > seen
                    {
                        let generation = c.generation;
                        return Some((Ok(c.auth()), (updates, generation)));
                    }
                }
            });
            head.chain(rest)
        }))
    }
}

#[cfg(test)]
mod tests;
