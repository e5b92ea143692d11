//! When to try again: exponential backoff with jitter, `Retry-After`, and IMDS's
//! "410 means back within 70 seconds", as a pure function of what happened so far.

use entra_identity_types::RetryOptions;
use std::time::Duration;

/// What one attempt produced, as far as retrying is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// The service answered with a non-success status.
    Status {
        /// HTTP status.
        status: u16,
        /// `Retry-After`, in seconds, when the service sent one.
        retry_after: Option<u64>,
    },
    /// The attempt timed out.
    Timeout,
}

/// What to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Sleep this long, then try again.
    RetryAfter(Duration),
    /// Stop and report the last attempt.
    GiveUp,
}

/// Which statuses a source retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryOn {
    /// IMDS guidance: 404, 408, 410, 429 and every 5xx.
    Imds,
    /// Other managed-identity endpoints: 404, 408, 429, 500, 502, 503, 504. MSAL.NET
    /// leaves 502 out (for compatibility, its comment says); a bad gateway in front of
    /// the identity endpoint is as transient as a 503, and MSAL Go and the Azure SDK
    /// pipelines retry it.
    ManagedIdentity,
    /// The Entra token endpoint (as MSAL.NET does): 429 and 5xx, and only when the
    /// service sent no `Retry-After`, which means "back off", not "try again now".
    Sts,
}

impl RetryOn {
    fn retries(self, status: u16, retry_after: Option<u64>) -> bool {
        match self {
            RetryOn::Imds => matches!(status, 404 | 408 | 410 | 429 | 500..=599),
            RetryOn::ManagedIdentity => matches!(status, 404 | 408 | 429 | 500 | 502 | 503 | 504),
            RetryOn::Sts => matches!(status, 429 | 500..=599) && retry_after.is_none(),
        }
    }
}

/// A bounded retry policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Which statuses are transient.
    pub retry_on: RetryOn,
    /// Retries after the first attempt (410 may go on longer, see `gone_retry`).
    pub max_retries: u32,
    /// First backoff delay; doubled every retry.
    pub initial_delay: Duration,
    /// Cap on one backoff delay.
    pub max_delay: Duration,
    /// Total budget: no retry starts if it would end past this.
    pub max_elapsed: Duration,
    /// Timeout of one attempt.
    pub attempt_timeout: Duration,
    /// 410 keeps being retried until this much time has passed since the first attempt.
    pub gone_retry: Duration,
}

impl RetryPolicy {
    /// IMDS: 1 s doubling to 10 s, 5 retries, 410 retried for 70 s, 90 s in all.
    pub fn imds() -> Self {
        RetryPolicy {
            retry_on: RetryOn::Imds,
            max_retries: 5,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(10),
            max_elapsed: Duration::from_secs(90),
            attempt_timeout: Duration::from_secs(20),
            gone_retry: Duration::from_secs(70),
        }
    }

    /// Other managed-identity endpoints: 1 s doubling, 3 retries, 30 s in all.
    pub fn managed_identity() -> Self {
        RetryPolicy {
            retry_on: RetryOn::ManagedIdentity,
            max_retries: 3,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(4),
            max_elapsed: Duration::from_secs(30),
            attempt_timeout: Duration::from_secs(20),
            gone_retry: Duration::ZERO,
        }
    }

    /// The Entra token endpoint: one retry after 1 s.
    pub fn sts() -> Self {
        RetryPolicy {
            retry_on: RetryOn::Sts,
            max_retries: 1,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(1),
            max_elapsed: Duration::from_secs(60),
            attempt_timeout: Duration::from_secs(30),
            gone_retry: Duration::ZERO,
        }
    }

    /// This policy's idea of what is transient, with the caller's numbers.
    pub fn with_numbers(self, numbers: &RetryOptions) -> Self {
        RetryPolicy {
            retry_on: self.retry_on,
            max_retries: numbers.max_retries,
            initial_delay: numbers.initial_delay,
            max_delay: numbers.max_delay,
            max_elapsed: numbers.max_elapsed,
            attempt_timeout: numbers.attempt_timeout,
            gone_retry: numbers.gone_retry,
        }
    }

    /// One attempt, no retries: for refreshing while a valid token is in hand, so the
    /// caller is not held up by a struggling endpoint.
    pub fn single_attempt(&self) -> Self {
        RetryPolicy {
            max_retries: 0,
            gone_retry: Duration::ZERO,
            ..self.clone()
        }
    }

    /// Decides what follows `attempt`, given the retries already made, the time since
    /// the first attempt started, and a random number for jitter.
    pub fn decide(
        &self,
        retries: u32,
        elapsed: Duration,
        attempt: Attempt,
        random: u64,
    ) -> Decision {
        let (transient, gone, retry_after) = match attempt {
            Attempt::Status {
                status,
                retry_after,
            } => (
                self.retry_on.retries(status, retry_after),
                status == 410,
                retry_after,
            ),
            Attempt::Timeout => (true, false, None),
        };
        let within_count = retries < self.max_retries || (gone && elapsed < self.gone_retry);
        if !transient || !within_count {
            return Decision::GiveUp;
        }
        // Retry-After may lengthen the wait, never shorten it: `0` or a past date on
        // a 410 would otherwise mean 70 s of back-to-back requests.
        let backoff = self.backoff(retries, random);
        let delay = retry_after.map_or(backoff, |secs| Duration::from_secs(secs).max(backoff));
        if elapsed.saturating_add(delay) > self.max_elapsed {
            return Decision::GiveUp;
        }
        Decision::RetryAfter(delay)
    }

    /// `initial * 2^retries`, capped, plus up to 20 % jitter so that many instances
    /// that failed together do not retry together.
    fn backoff(&self, retries: u32, random: u64) -> Duration {
        let base = self
            .initial_delay
            .saturating_mul(1u32.checked_shl(retries).unwrap_or(u32::MAX))
            .min(self.max_delay);
        let jitter_permille = random.checked_rem(201).unwrap_or(0);
        base.saturating_add(base.mul_f64(jitter_permille as f64 / 1000.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> Attempt {
        Attempt::Status {
            status,
            retry_after: None,
        }
    }

    /// Runs a policy against an endpoint that always answers `code`, with each attempt
    /// taking `attempt_cost`; returns the start times of all attempts.
    fn schedule(
        policy: &RetryPolicy,
        code: u16,
        attempt_cost: Duration,
        random: u64,
    ) -> Vec<Duration> {
        let mut t = Duration::ZERO;
        let mut starts = vec![];
        for retries in 0.. {
            starts.push(t);
            t += attempt_cost;
            match policy.decide(retries, t, status(code), random) {
                Decision::RetryAfter(d) => t += d,
                Decision::GiveUp => break,
            }
        }
        starts
    }

    #[test]
    fn imds_410_keeps_trying_for_at_least_70_seconds_within_budget() {
        let policy = RetryPolicy::imds();
        for (cost, random) in [
            (Duration::ZERO, 0),
            (Duration::from_millis(50), 200),
            (Duration::from_secs(3), 117),
        ] {
            let starts = schedule(&policy, 410, cost, random);
            let last = *starts.last().unwrap();
            assert!(
                last >= Duration::from_secs(70),
                "last attempt at {last:?}: {starts:?}"
            );
            assert!(last <= policy.max_elapsed, "{starts:?}");
        }
    }

    #[test]
    fn other_transient_statuses_stop_after_max_retries() {
        let policy = RetryPolicy::imds();
        for code in [404, 408, 429, 500, 503, 599] {
            let starts = schedule(&policy, code, Duration::ZERO, 0);
            assert_eq!(starts.len(), 6, "{code}: {starts:?}");
            // 1, 2, 4, 8, 10 s apart: doubling, capped.
            let gaps: Vec<u64> = starts.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect();
            assert_eq!(gaps, [1, 2, 4, 8, 10]);
        }
    }

    #[test]
    fn permanent_statuses_are_not_retried() {
        for code in [400, 401, 403, 409] {
            assert_eq!(
                schedule(&RetryPolicy::imds(), code, Duration::ZERO, 0).len(),
                1
            );
        }
        // App Service does not retry 410.
        assert_eq!(
            schedule(&RetryPolicy::managed_identity(), 410, Duration::ZERO, 0).len(),
            1
        );
    }

    #[test]
    fn other_managed_identity_endpoints_retry_gateway_errors() {
        let policy = RetryPolicy::managed_identity();
        for code in [500, 502, 503, 504] {
            assert_eq!(
                schedule(&policy, code, Duration::ZERO, 0).len(),
                1 + policy.max_retries as usize,
                "{code}"
            );
        }
        assert_eq!(schedule(&policy, 501, Duration::ZERO, 0).len(), 1);
    }

    #[test]
    fn retry_after_is_honoured_unless_it_breaks_the_budget() {
        let p = RetryPolicy::imds();
        let throttled = |secs| Attempt::Status {
            status: 429,
            retry_after: Some(secs),
        };
        assert_eq!(
            p.decide(0, Duration::ZERO, throttled(7), 0),
            Decision::RetryAfter(Duration::from_secs(7))
        );
        assert_eq!(
            p.decide(0, Duration::ZERO, throttled(3600), 0),
            Decision::GiveUp
        );
    }

    /// `Retry-After: 0` (or a date already past, which parses to 0) on a 410 would
    /// otherwise retry back to back for 70 s: a request storm against IMDS.
    #[test]
    fn zero_or_past_retry_after_never_undercuts_the_backoff() {
        // An HTTP date in the past means "now", as a 0 does.
        let past =
            crate::response::retry_after(Some("Fri, 01 Jan 2021 00:00:00 GMT"), 1_800_000_000);
        assert_eq!(past, Some(0));
        let told_now = |status| Attempt::Status {
            status,
            retry_after: past,
        };
        for policy in [RetryPolicy::imds(), RetryPolicy::managed_identity()] {
            for status in [410, 429] {
                for retries in 0..3 {
                    let attempt = told_now(status);
                    let decided = policy.decide(retries, Duration::ZERO, attempt, 0);
                    if !policy.retry_on.retries(status, Some(0)) {
                        assert_eq!(decided, Decision::GiveUp, "{status}");
                        continue;
                    }
                    assert_eq!(
                        decided,
                        Decision::RetryAfter(policy.backoff(retries, 0)),
                        "{status} after {retries} retries"
                    );
                }
            }
        }
        // The whole 410 schedule against an endpoint saying "now": it still keeps to
        // the backoff, so it makes as few attempts as without a Retry-After.
        let policy = RetryPolicy::imds();
        let mut t = Duration::ZERO;
        let mut attempts = 1;
        while let Decision::RetryAfter(d) = policy.decide(attempts - 1, t, told_now(410), 0) {
            assert!(d >= policy.initial_delay, "{d:?}");
            t += d;
            attempts += 1;
        }
        assert_eq!(
            attempts,
            schedule(&policy, 410, Duration::ZERO, 0).len() as u32
        );
        // A longer Retry-After still wins.
        assert_eq!(
            policy.decide(
                0,
                Duration::ZERO,
                Attempt::Status {
                    status: 429,
                    retry_after: Some(30)
                },
                0
            ),
            Decision::RetryAfter(Duration::from_secs(30))
        );
    }

    #[test]
    fn jitter_is_bounded_and_varies() {
        let p = RetryPolicy::imds();
        let d = |r| match p.decide(1, Duration::ZERO, Attempt::Timeout, r) {
            Decision::RetryAfter(d) => d,
            Decision::GiveUp => panic!(),
        };
        assert_eq!(d(0), Duration::from_secs(2));
        assert_eq!(d(200), Duration::from_millis(2400));
        assert_ne!(d(57), d(58));
    }

    #[test]
    fn sts_retries_once_and_never_against_retry_after() {
        let p = RetryPolicy::sts();
        for code in [429, 500, 503] {
            assert_eq!(schedule(&p, code, Duration::ZERO, 0).len(), 2, "{code}");
        }
        for code in [400, 401, 404, 408] {
            assert_eq!(schedule(&p, code, Duration::ZERO, 0).len(), 1, "{code}");
        }
        let told_to_wait = Attempt::Status {
            status: 503,
            retry_after: Some(1),
        };
        assert_eq!(
            p.decide(0, Duration::ZERO, told_to_wait, 0),
            Decision::GiveUp
        );
    }

    #[test]
    fn single_attempt_never_retries() {
        let p = RetryPolicy::imds().single_attempt();
        assert_eq!(schedule(&p, 410, Duration::ZERO, 0).len(), 1);
        assert_eq!(
            p.decide(0, Duration::ZERO, Attempt::Timeout, 0),
            Decision::GiveUp
        );
    }
}
