//! The token bucket behind each plugin's rate limit on token requests.

use super::policy::TokenRate;
use std::time::{Duration, Instant};

/// `burst` requests at once, refilled continuously at `per_second`.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    per_second: f64,
    burst: f64,
    available: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn new(rate: TokenRate, now: Instant) -> Self {
        TokenBucket {
            per_second: rate.per_second,
            burst: f64::from(rate.burst),
            available: f64::from(rate.burst),
            refilled_at: now,
        }
    }

    /// Takes one request's worth, or says how long until one is available.
    pub(crate) fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.available = (self.available + elapsed * self.per_second).min(self.burst);
        self.refilled_at = now.max(self.refilled_at);
        if self.available >= 1.0 {
            self.available -= 1.0;
            Ok(())
        } else {
            // The policy's range check keeps this finite; a bucket made some other way
            // must still not panic the host.
            let wait = (1.0 - self.available) / self.per_second;
            Err(Duration::try_from_secs_f64(wait).unwrap_or(Duration::MAX))
        }
    }
}

/// The whole seconds a caller is told to wait: never 0, which would invite a busy loop.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_refill_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(
            TokenRate {
                per_second: 2.0,
                burst: 3,
            },
            start,
        );
        for _ in 0..3 {
            assert_eq!(bucket.take(start), Ok(()));
        }
        let wait = bucket.take(start).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert_eq!(retry_after_secs(wait), 1);
        // Half a second refills one request, not more.
        let later = start + Duration::from_millis(500);
        assert_eq!(bucket.take(later), Ok(()));
        assert!(bucket.take(later).is_err());
        // A long pause refills only up to the burst.
        let much_later = later + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(bucket.take(much_later), Ok(()));
        }
        assert!(bucket.take(much_later).is_err());
    }

    #[test]
    fn an_absurdly_slow_rate_waits_forever_instead_of_panicking() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(
            TokenRate {
                per_second: 1e-30,
                burst: 1,
            },
            start,
        );
        assert_eq!(bucket.take(start), Ok(()));
        assert_eq!(bucket.take(start), Err(Duration::MAX));
        assert_eq!(retry_after_secs(Duration::MAX), u64::MAX);
    }

    #[test]
    fn slow_rates_give_whole_seconds_to_wait() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(
            TokenRate {
                per_second: 0.1,
                burst: 1,
            },
            start,
        );
        assert_eq!(bucket.take(start), Ok(()));
        assert_eq!(retry_after_secs(bucket.take(start).unwrap_err()), 10);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
    }
}
