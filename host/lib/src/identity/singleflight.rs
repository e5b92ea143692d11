//! Coalescing concurrent identical requests: one runs, every caller gets its result.
//!
//! The caller that starts a flight drives it in its own task, so a call that nobody
//! else is waiting for costs no task spawn and no cross-thread wake-up. If that caller
//! goes away mid-flight (its future dropped: a timeout, a closed connection), the rest
//! of the flight moves onto a task of its own and finishes there, so the work already
//! sent (a token request upstream) is not thrown away and its joiners still get it.

use futures::FutureExt;
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::hash::Hash;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::Notify;

type Flights<K, V> = Arc<Mutex<HashMap<K, Arc<Flight<V>>>>>;

/// One flight's outcome, once it has one, and the joiners waiting for it.
struct Flight<V> {
    /// `Some(value)`: landed. `None`: dropped unfinished (no runtime to finish it on).
    outcome: OnceLock<Option<V>>,
    /// One `Notify`, woken once per flight: a `watch` channel's eight cost more per
    /// call than the whole flight map.
    landed: Notify,
}

impl<V: Clone> Flight<V> {
    fn new() -> Arc<Self> {
        Arc::new(Flight {
            outcome: OnceLock::new(),
            landed: Notify::new(),
        })
    }

    /// Waits for the outcome; `None` if the flight was dropped unfinished.
    async fn wait(&self) -> Option<V> {
        loop {
            // Registered before the check, so a landing between the two still wakes us.
            let notified = self.landed.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if let Some(outcome) = self.outcome.get() {
                return outcome.clone();
            }
            notified.await;
        }
    }

    fn finish(&self, outcome: Option<V>) {
        let _ = self.outcome.set(outcome);
        self.landed.notify_waiters();
    }
}

/// At most one flight per key; callers that arrive while it is in the air share
/// its outcome, success or failure.
pub(crate) struct SingleFlight<K, V: Clone> {
    flights: Flights<K, V>,
}

impl<K, V> SingleFlight<K, V>
where
    K: Hash + Eq + Clone + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub(crate) fn new() -> Self {
        SingleFlight {
            flights: Arc::default(),
        }
    }

    /// Joins the flight for `key`, or starts one with `start` and drives it here. The
    /// flight completes, and its result is shared, even if the caller that started it
    /// goes away; a panic in it is every caller's `on_panic()`.
    pub(crate) async fn run<F>(
        &self,
        key: K,
        start: impl FnOnce() -> F,
        on_panic: impl FnOnce() -> V + Send + 'static,
    ) -> V
    where
        F: Future<Output = V> + Send + 'static,
    {
        let flight = match self.join_or_open(&key) {
            Ok(flight) => flight,
            Err(flight) => {
                // Joining: whatever `start` captured is not needed while we wait.
                drop(start);
                return flight.wait().await.unwrap_or_else(on_panic);
            }
        };
        let mut lead = Lead {
            work: None,
            flight: Some(flight),
            flights: self.flights.clone(),
            key,
        };
        lead.work = Some(
            AssertUnwindSafe(start())
                .catch_unwind()
                .map(|outcome| outcome.unwrap_or_else(|_| on_panic()))
                .boxed(),
        );
        let value = lead.work.as_mut().expect("not yet landed").await;
        lead.land(value.clone());
        value
    }

    /// The flight in the air for `key` to join (`Err`), or a new one this caller leads.
    fn join_or_open(&self, key: &K) -> Result<Arc<Flight<V>>, Arc<Flight<V>>> {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(flight) = flights.get(key) {
            return Err(flight.clone());
        }
        let flight = Flight::new();
        flights.insert(key.clone(), flight.clone());
        Ok(flight)
    }
}

/// The flight a caller leads: its remaining work, and where its result goes.
struct Lead<K, V>
where
    K: Hash + Eq + Clone + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    work: Option<BoxFuture<'static, V>>,
    flight: Option<Arc<Flight<V>>>,
    flights: Flights<K, V>,
    key: K,
}

impl<K, V> Lead<K, V>
where
    K: Hash + Eq + Clone + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Publishes the result to the joiners and closes the flight.
    fn land(&mut self, value: V) {
        self.work = None;
        if let Some(flight) = self.flight.take() {
            land(&self.flights, &self.key, &flight, Some(value));
        }
    }
}

impl<K, V> Drop for Lead<K, V>
where
    K: Hash + Eq + Clone + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The leading caller went away mid-flight: finish the flight on a task of its own.
    fn drop(&mut self) {
        let Some(flight) = self.flight.take() else {
            return;
        };
        let (flights, key) = (self.flights.clone(), self.key.clone());
        match (self.work.take(), tokio::runtime::Handle::try_current()) {
            (Some(work), Ok(runtime)) => {
                runtime.spawn(async move {
                    let value = work.await;
                    land(&flights, &key, &flight, Some(value));
                });
            }
            // Nothing to finish, or nowhere to finish it: the joiners wake to a closed
            // flight.
            _ => land(&flights, &key, &flight, None),
        }
    }
}

/// Takes `flight` off the map (unless a newer one took its place), so later callers
/// start their own, then hands its outcome to the joiners it already has.
fn land<K: Hash + Eq, V: Clone>(
    flights: &Flights<K, V>,
    key: &K,
    flight: &Arc<Flight<V>>,
    outcome: Option<V>,
) {
    {
        let mut flights = flights.lock().unwrap_or_else(|e| e.into_inner());
        if flights.get(key).is_some_and(|f| Arc::ptr_eq(f, flight)) {
            flights.remove(key);
        }
    }
    flight.finish(outcome);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_callers_share_one_run_and_later_callers_start_another() {
        let flights = Arc::new(SingleFlight::<&str, Result<u32, String>>::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let (release, gate) = tokio::sync::watch::channel(false);
        let mut callers = vec![];
        for _ in 0..32 {
            let (flights, runs, gate) = (flights.clone(), runs.clone(), gate.clone());
            callers.push(tokio::spawn(async move {
                flights
                    .run(
                        "k",
                        move || async move {
                            runs.fetch_add(1, Ordering::SeqCst);
                            let mut gate = gate;
                            gate.wait_for(|open| *open).await.unwrap();
                            Err::<u32, _>("refused".to_string())
                        },
                        || Err("panicked".into()),
                    )
                    .await
            }));
        }
        // Let every caller join before the flight lands.
        while Arc::strong_count(&runs) > 2 {
            tokio::task::yield_now().await;
        }
        release.send(true).unwrap();
        for c in callers {
            assert_eq!(c.await.unwrap(), Err("refused".to_string()));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let again = flights
            .run("k", || async { Ok(7) }, || Err("panicked".into()))
            .await;
        assert_eq!(again, Ok(7));
    }

    #[tokio::test]
    async fn a_leader_that_goes_away_leaves_its_flight_to_finish_for_the_joiners() {
        let flights = Arc::new(SingleFlight::<&str, Result<u32, String>>::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let (release, gate) = tokio::sync::watch::channel(false);
        let (started_tx, started) = tokio::sync::oneshot::channel();
        let leader = tokio::spawn({
            let (flights, runs) = (flights.clone(), runs.clone());
            async move {
                flights
                    .run(
                        "k",
                        move || async move {
                            runs.fetch_add(1, Ordering::SeqCst);
                            started_tx.send(()).unwrap();
                            let mut gate = gate;
                            gate.wait_for(|open| *open).await.unwrap();
                            Ok(7)
                        },
                        || Err("panicked".into()),
                    )
                    .await
            }
        });
        started.await.unwrap();
        let joiner = tokio::spawn({
            let flights = flights.clone();
            async move {
                flights
                    .run("k", || async { Ok(0) }, || Err("panicked".into()))
                    .await
            }
        });
        // On this single-threaded runtime one yield runs the joiner up to its wait on
        // the flight, before the leader goes.
        tokio::task::yield_now().await;
        leader.abort();
        assert!(leader.await.unwrap_err().is_cancelled());
        release.send(true).unwrap();
        assert_eq!(joiner.await.unwrap(), Ok(7));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_abandoned_flight_with_no_joiners_still_finishes_and_then_closes() {
        let flights = SingleFlight::<&str, Result<u32, String>>::new();
        let (done_tx, done) = tokio::sync::oneshot::channel();
        let (release, gate) = tokio::sync::watch::channel(false);
        let call = flights.run(
            "k",
            move || async move {
                let mut gate = gate;
                gate.wait_for(|open| *open).await.unwrap();
                done_tx.send(()).unwrap();
                Ok(1)
            },
            || Err("panicked".into()),
        );
        // Poll it once, so that the flight starts, then give up on it.
        assert!(futures::poll!(Box::pin(call)).is_pending());
        release.send(true).unwrap();
        done.await.expect("the abandoned work ran to its end");
        // Landed and closed: the next call is a new flight.
        while flights.flights.lock().unwrap().contains_key("k") {
            tokio::task::yield_now().await;
        }
        let next = flights
            .run("k", || async { Ok(2) }, || Err("panicked".into()))
            .await;
        assert_eq!(next, Ok(2));
    }

    #[tokio::test]
    async fn a_panicking_flight_is_every_callers_on_panic_and_does_not_stick() {
        let flights = SingleFlight::<&str, Result<u32, String>>::new();
        let panicked = flights
            .run(
                "k",
                || async { panic!("in the flight") },
                || Err("panicked".into()),
            )
            .await;
        assert_eq!(panicked, Err("panicked".to_string()));
        let next = flights
            .run("k", || async { Ok(3) }, || Err("panicked".into()))
            .await;
        assert_eq!(next, Ok(3));
    }
}
