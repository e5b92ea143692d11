//! Coalescing concurrent identical requests: one runs, every caller gets its result.

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// At most one flight per key; callers that arrive while it is in the air share
/// its outcome, success or failure.
pub(crate) struct SingleFlight<K, V: Clone> {
    flights: Mutex<HashMap<K, Shared<BoxFuture<'static, V>>>>,
}

impl<K: Hash + Eq + Clone, V: Clone + Send + Sync + 'static> SingleFlight<K, V> {
    pub(crate) fn new() -> Self {
        SingleFlight {
            flights: Mutex::new(HashMap::new()),
        }
    }

    /// Joins the flight for `key`, or starts one with `start`. The work is spawned, so
    /// it completes (and its result is shared) even if the caller that started it
    /// goes away.
    pub(crate) async fn run<F>(
        &self,
        key: K,
        start: impl FnOnce() -> F,
        on_panic: impl FnOnce() -> V + Send + 'static,
    ) -> V
    where
        F: Future<Output = V> + Send + 'static,
    {
        let flight = {
            let mut flights = self.flights.lock().unwrap();
            match flights.get(&key) {
                Some(flight) => {
                    // Joining: whatever `start` captured is not needed while we wait.
                    drop(start);
                    flight.clone()
                }
                None => {
                    let task = tokio::spawn(start());
                    let flight = async move { task.await.unwrap_or_else(|_| on_panic()) }
                        .boxed()
                        .shared();
                    flights.insert(key.clone(), flight.clone());
                    flight
                }
            }
        };
        let value = flight.clone().await;
        let mut flights = self.flights.lock().unwrap();
        if flights.get(&key).is_some_and(|f| f.ptr_eq(&flight)) {
            flights.remove(&key);
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
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
}
