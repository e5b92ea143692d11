//! Process-wide caps on concurrent requests to one endpoint. IMDS allows 5 concurrent
//! managed-identity requests per VM; every `Identity` in the process shares one cap
//! per authority, since they share the VM's budget.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::Semaphore;

/// The documented IMDS limit on concurrent managed-identity requests.
pub const IMDS_MAX_CONCURRENT: usize = 5;

/// The shared semaphore for `authority`, created with `permits` the first time.
pub(crate) fn limiter(authority: &str, permits: usize) -> Arc<Semaphore> {
    static LIMITERS: OnceLock<Mutex<HashMap<String, Arc<Semaphore>>>> = OnceLock::new();
    let mut limiters = LIMITERS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    limiters
        .entry(authority.to_string())
        .or_insert_with(|| Arc::new(Semaphore::new(permits)))
        .clone()
}
