//! The credential over a shared cache: one instance fetches, the others wait for its
//! outcome (a token, or a failure remembered for a while) or serve the old token.
//!
//! The lease is a compare-and-swap on a store key. Its holder re-reads the cache
//! before fetching (the previous holder may have just written a token), writes the
//! outcome, then releases. A waiter polls the cache; if the lease has not changed for
//! its whole length on the waiter's own monotonic clock, the holder is taken for dead
//! and the lease is taken over, so a frozen or skewed wall clock cannot stall it.

use super::{Credential, FlowRequest};
use crate::cache::{self, CacheKey, Freshness};
use crate::error::Error;
use crate::retry::RetryPolicy;
use crate::shared_cache::{Held, Lease, Remembered, SharedCache, StoreError};
use crate::token::AccessToken;
use std::cell::Cell;
use std::time::Duration;

/// How long a failure other than throttling is remembered: long enough that a herd
/// meets one request, short enough that a fixed endpoint is used again at once.
pub const FAILURE_MEMORY: u64 = 5;
/// The longest a 429 is remembered, whatever its `Retry-After`: then one instance asks
/// again (and learns the current wait), so a stale or inflated answer cannot stop a
/// fleet for long.
pub const MAX_THROTTLE_MEMORY: u64 = 300;
const FIRST_POLL: Duration = Duration::from_millis(5);
const MAX_POLL: Duration = Duration::from_millis(200);

/// Seconds a fetch may take under `policy`: every attempt, every backoff, and a margin.
fn lease_length(policy: &RetryPolicy) -> u64 {
    (policy.max_elapsed + policy.attempt_timeout).as_secs() + 5
}

/// Until when `error`, met at `now`, stands for every instance; `None` for errors of
/// this instance's own making (its configuration), which others must not inherit.
fn remembered_until(error: &Error, now: u64) -> Option<u64> {
    match error {
        Error::InvalidInput(_) => None,
        // `now` is in whole seconds, so `now + r` could lapse less than `r` seconds
        // after the answer: with `Retry-After: 1`, before the waiters' next poll saw
        // it, and one of them then asked again. One second more keeps it at least `r`.
        Error::Throttled { retry_after, .. } => {
            Some(now + (*retry_after).clamp(1, MAX_THROTTLE_MEMORY) + 1)
        }
        _ => Some(now + FAILURE_MEMORY),
    }
}

/// How long a caller may wait for others' fetches in all, on its monotonic clock,
/// and how often it looks: the polls slow down across rounds, so a lease that keeps
/// changing hands is not polled at the first, fastest rate over and over.
struct Budget {
    until: Duration,
    delay: Cell<Duration>,
}

impl Budget {
    fn start(now: Duration, seconds: u64) -> Self {
        Budget {
            until: now.saturating_add(Duration::from_secs(seconds)),
            delay: Cell::new(FIRST_POLL),
        }
    }

    /// The next poll's delay.
    fn next_delay(&self) -> Duration {
        let delay = self.delay.get();
        self.delay.set((delay * 2).min(MAX_POLL));
        delay
    }

    fn spent(&self, now: Duration) -> bool {
        now >= self.until
    }
}

enum Followed {
    Token(AccessToken),
    Failed(Error),
    /// The lease changed hands or was released without a token: look again.
    Moved,
    /// The lease stayed exactly these bytes for its whole length: its holder is gone.
    Abandoned(Vec<u8>),
}

impl Credential {
    /// L1 missed or is due for refresh (`old`): try L2, then lead or follow a fetch.
    pub(super) fn through_shared(
        &self,
        shared: &SharedCache,
        request: &FlowRequest<'_>,
        key: CacheKey,
        mut old: Option<AccessToken>,
    ) -> Result<AccessToken, Error> {
        let platform = &*self.platform;
        let now = platform.now_unix();
        match shared.token(&key, now, platform) {
            Ok(found) => {
                shared.store_ok(platform);
                let found =
                    found.or_else(|| self.found_before_rotation(shared, request, &key, now));
                if let Some(token) = found {
                    match cache::freshness(&token, now) {
                        Freshness::Fresh => return Ok(self.remember_here(key, token)),
                        Freshness::RefreshDue
                            if old
                                .as_ref()
                                .is_none_or(|o| o.expires_on() < token.expires_on()) =>
                        {
                            old = Some(token)
                        }
                        _ => {}
                    }
                }
            }
            Err(e) => return self.without_store(shared, &e, request, key, old),
        }
        match shared.failure(&key, now, platform) {
            Ok(Some(remembered)) => {
                return match old {
                    Some(old) => Ok(self.defer(key, old)),
                    None => Err(remembered.error_at(now)),
                };
            }
            Ok(None) => {}
            Err(e) => return self.without_store(shared, &e, request, key, old),
        }
        self.lead_or_follow(shared, request, key, old)
    }

    fn lead_or_follow(
        &self,
        shared: &SharedCache,
        request: &FlowRequest<'_>,
        key: CacheKey,
        mut old: Option<AccessToken>,
    ) -> Result<AccessToken, Error> {
        let platform = &*self.platform;
        let length = lease_length(self.flow.retry_policy());
        // However the lease behaves (taken over, rewritten, lost), a caller waits for
        // one lease length in all, on its own monotonic clock, then fetches alone. The
        // second more lets a lease abandoned from the start be taken over properly
        // first (the follower notices within one poll).
        let budget = Budget::start(platform.monotonic(), length + 1);
        let mut stale: Option<Vec<u8>> = None;
        loop {
            let now = platform.now_unix();
            let lease = match shared.try_lease(&key, now, length, stale.as_deref(), platform) {
                Ok(lease) => lease,
                Err(e) => return self.without_store(shared, &e, request, key, old),
            };
            // Only a caller without a usable token waits, so `old` is `None` on later rounds.
            let observed = match (lease, old.take()) {
                (Lease::Acquired(held), old) => {
                    return self.lead(shared, held, request, key, old);
                }
                (Lease::Unusable, old) => {
                    let why =
                        StoreError("its fetch lease can be neither read nor taken".to_string());
                    return self.without_store(shared, &why, request, key, old);
                }
                // Someone is refreshing; the old token is still good meanwhile.
                (Lease::Busy { .. }, Some(old)) => return Ok(self.remember_here(key, old)),
                (Lease::Busy { .. }, None) if budget.spent(platform.monotonic()) => {
                    let why = StoreError(format!(
                        "its fetch lease was not released or won within {length} s"
                    ));
                    return self.without_store(shared, &why, request, key, None);
                }
                (Lease::Busy { observed }, None) => observed,
            };
            match self.follow(shared, &key, observed, length, &budget) {
                Ok(Followed::Token(token)) => return Ok(self.remember_here(key, token)),
                Ok(Followed::Failed(error)) => return Err(error),
                Ok(Followed::Moved) => stale = None,
                Ok(Followed::Abandoned(bytes)) => stale = Some(bytes),
                Err(e) => return self.without_store(shared, &e, request, key, None),
            }
        }
    }

    /// Holds the lease: fetch, publish the outcome, release.
    fn lead(
        &self,
        shared: &SharedCache,
        held: Held,
        request: &FlowRequest<'_>,
        key: CacheKey,
        old: Option<AccessToken>,
    ) -> Result<AccessToken, Error> {
        let platform = &*self.platform;
        let now = platform.now_unix();
        // The previous holder may have written a token just before releasing.
        if let Ok(Some(token)) = shared.token(&key, now, platform)
            && cache::freshness(&token, now) == Freshness::Fresh
        {
            self.release(shared, held);
            return Ok(self.remember_here(key, token));
        }
        let policy = self.flow.retry_policy();
        let fetched = match &old {
            Some(_) => self.fetch(request, &policy.single_attempt()),
            None => self.fetch(request, policy),
        };
        let outcome = match fetched {
            Ok(token) => Ok(self.keep(key, token)),
            Err(error) => {
                // Scrubbed before it is stored: other instances will show it.
                let error = self.scrub(error);
                let now = platform.now_unix();
                if let Some(until) = remembered_until(&error, now) {
                    let remembered = Remembered {
                        error: error.clone(),
                        at: now,
                        until,
                    };
                    if let Err(e) = shared.remember(&key, &remembered, platform) {
                        shared.store_failed(platform, &e);
                    }
                }
                match old {
                    Some(old) => Ok(self.defer(key, old)),
                    None => Err(error),
                }
            }
        };
        self.release(shared, held);
        outcome
    }

    fn release(&self, shared: &SharedCache, held: Held) {
        if let Err(e) = shared.release(held, &*self.platform) {
            shared.store_failed(&*self.platform, &e);
        }
    }

    /// Another instance holds the lease: wait for its outcome.
    fn follow(
        &self,
        shared: &SharedCache,
        key: &CacheKey,
        observed: Vec<u8>,
        length: u64,
        budget: &Budget,
    ) -> Result<Followed, StoreError> {
        let platform = &*self.platform;
        let started = platform.monotonic();
        loop {
            if budget.spent(platform.monotonic()) {
                // One last look at the lease, then the caller fetches alone.
                return Ok(Followed::Moved);
            }
            platform.sleep(budget.next_delay());
            let now = platform.now_unix();
            if let Some(token) = shared.token(key, now, platform)?
                && cache::freshness(&token, now) != Freshness::Unusable
            {
                return Ok(Followed::Token(token));
            }
            if let Some(remembered) = shared.failure(key, now, platform)? {
                return Ok(Followed::Failed(remembered.error_at(now)));
            }
            if shared.lease_bytes(key)? != observed {
                return Ok(Followed::Moved);
            }
            if platform.monotonic().saturating_sub(started) >= Duration::from_secs(length) {
                return Ok(Followed::Abandoned(observed));
            }
        }
    }

    /// The store failed: report it once and carry on as if there were no L2.
    fn without_store(
        &self,
        shared: &SharedCache,
        error: &StoreError,
        request: &FlowRequest<'_>,
        key: CacheKey,
        old: Option<AccessToken>,
    ) -> Result<AccessToken, Error> {
        shared.store_failed(&*self.platform, error);
        self.refresh_here(request, key, old)
    }

    /// A token written under one of the older keys' fingerprints (before the sealing
    /// key rotated), copied under the current one so the next reader finds it there.
    fn found_before_rotation(
        &self,
        shared: &SharedCache,
        request: &FlowRequest<'_>,
        key: &CacheKey,
        now: u64,
    ) -> Option<AccessToken> {
        let platform = &*self.platform;
        let older = self.older_identities().ok()?;
        let token = older.iter().find_map(|identity| {
            let older_key = CacheKey::new(identity, request);
            shared.token(&older_key, now, platform).ok().flatten()
        })?;
        if let Err(e) = shared.put_token(key, &token, platform) {
            shared.store_failed(platform, &e);
        }
        Some(token)
    }

    /// Puts a token that came from L2 into L1.
    fn remember_here(&self, key: CacheKey, token: AccessToken) -> AccessToken {
        let now = self.platform.now_unix();
        self.store.borrow_mut().put(key, token.clone(), now);
        token
    }
}

#[cfg(test)]
mod tests;
