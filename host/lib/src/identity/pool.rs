//! Instances of the component, pooled. A call into a WASI 0.2 instance runs alone, so
//! one instance per `Identity` would make a cache hit for scope B wait behind a slow
//! fetch for scope A. With the token cache shared through `wasi:keyvalue`, any
//! instance can answer any caller: a call takes an idle instance, or makes one up to
//! the limit, and gives it back afterwards.
//!
//! An instance whose call failed (trap, deadline, memory limit) or was abandoned
//! mid-call is dropped, never reused: its state may be half-updated.

use crate::error::{Error, Result};
use std::ops::{Deref, DerefMut};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{Semaphore, SemaphorePermit};

/// Up to `max` instances of `T`, each used by one caller at a time.
pub(crate) struct Pool<T> {
    idle: Mutex<Vec<T>>,
    slots: Semaphore,
    /// `false`: the Spin model, a fresh instance for every call.
    reuse: bool,
    /// Bumped by [`Pool::retire_all`]: instances out at that moment are not taken back.
    generation: AtomicU64,
}

impl<T> Pool<T> {
    pub(crate) fn new(max: usize, reuse: bool) -> Self {
        Pool {
            idle: Mutex::new(Vec::new()),
            slots: Semaphore::new(max.max(1)),
            reuse,
            generation: AtomicU64::new(0),
        }
    }

    /// Drops every idle instance, and every busy one when it comes back: their
    /// in-instance caches may hold a token that was just replaced (a claims challenge,
    /// a forced refresh), which fresh instances read anew from the shared cache.
    pub(crate) fn retire_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// An instance for one call: an idle one, or a new one from `start`. Waits while
    /// `max` are in use.
    pub(crate) async fn get<F: Future<Output = Result<T>>>(
        &self,
        start: impl FnOnce() -> F,
    ) -> Result<Pooled<'_, T>> {
        let slot = self.slots.acquire().await.expect("the pool never closes");
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let item = match idle {
            Some(item) => item,
            None => start().await?,
        };
        Ok(Pooled {
            pool: self,
            item: Some(item),
            generation: self.generation.load(Ordering::SeqCst),
            _slot: slot,
        })
    }

    #[cfg(test)]
    fn idle(&self) -> usize {
        self.idle.lock().unwrap().len()
    }
}

/// An instance out of the pool. [`Pooled::finish`] gives it back; dropping it
/// without (a caller cancelled mid-call) discards it.
pub(crate) struct Pooled<'a, T> {
    pool: &'a Pool<T>,
    item: Option<T>,
    generation: u64,
    // Released after `item` is back in the idle list (fields drop after `Drop::drop`).
    _slot: SemaphorePermit<'a>,
}

impl<T> Pooled<'_, T> {
    /// Returns the instance to the pool, unless `result` says it failed.
    pub(crate) fn finish<R>(mut self, result: &Result<R>) {
        let item = self.item.take();
        if let Err(Error::Component(e)) = result {
            tracing::warn!(error = %e, "identity component failed; its instance is discarded");
            return;
        }
        if self.pool.reuse && self.generation == self.pool.generation.load(Ordering::SeqCst) {
            let mut idle = self.pool.idle.lock().unwrap_or_else(|e| e.into_inner());
            idle.extend(item);
        }
    }
}

impl<T> Deref for Pooled<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.item.as_ref().expect("present until finished")
    }
}

impl<T> DerefMut for Pooled<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.item.as_mut().expect("present until finished")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn instances_are_reused_up_to_the_limit_and_failed_ones_discarded() {
        let made = AtomicUsize::new(0);
        let start = || async { Ok(made.fetch_add(1, Ordering::SeqCst)) };
        let pool = Pool::new(2, true);
        let a = pool.get(start).await.unwrap();
        let b = pool.get(start).await.unwrap();
        assert_eq!((*a, *b), (0, 1));
        // A third caller waits for a slot.
        let waiting = pool.get(start);
        tokio::pin!(waiting);
        assert!(futures::poll!(&mut waiting).is_pending());
        b.finish(&Ok(()));
        let c = waiting.await.unwrap();
        assert_eq!(*c, 1, "the idle instance, not a new one");
        c.finish(&Err::<(), _>(Error::Component("trap".into())));
        a.finish(&Ok(()));
        assert_eq!(pool.idle(), 1);
        let d = pool.get(start).await.unwrap();
        assert_eq!(*d, 0);
        drop(d); // abandoned mid-call
        assert_eq!(pool.idle(), 0);
        assert_eq!(*pool.get(start).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn retired_instances_are_never_handed_out_again() {
        let made = AtomicUsize::new(0);
        let start = || async { Ok(made.fetch_add(1, Ordering::SeqCst)) };
        let pool = Pool::new(3, true);
        let (a, b) = (
            pool.get(start).await.unwrap(),
            pool.get(start).await.unwrap(),
        );
        b.finish(&Ok(()));
        assert_eq!(pool.idle(), 1);
        pool.retire_all();
        assert_eq!(pool.idle(), 0, "the idle one is gone");
        a.finish(&Ok(()));
        assert_eq!(pool.idle(), 0, "the busy one is not taken back");
        let c = pool.get(start).await.unwrap();
        assert_eq!(*c, 2);
        c.finish(&Ok(()));
        assert_eq!(
            pool.idle(),
            1,
            "instances made after it are reused as before"
        );
    }

    #[tokio::test]
    async fn without_reuse_every_call_gets_a_fresh_instance() {
        let made = AtomicUsize::new(0);
        let start = || async { Ok(made.fetch_add(1, Ordering::SeqCst)) };
        let pool = Pool::new(4, false);
        for i in 0..3 {
            let p = pool.get(start).await.unwrap();
            assert_eq!(*p, i);
            p.finish(&Ok(()));
        }
        assert_eq!(pool.idle(), 0);
    }

    #[tokio::test]
    async fn a_failed_start_frees_its_slot() {
        let pool = Pool::<u32>::new(1, true);
        assert!(
            pool.get(|| async { Err(Error::Component("no".into())) })
                .await
                .is_err()
        );
        assert!(pool.get(|| async { Ok(1) }).await.is_ok());
    }
}
