//! The wall clock the component sees. Production uses the system's; tests inject one
//! they can move forward, to exercise expiry and refresh without sleeping.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A source of wall-clock time.
pub trait WallClock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// Adapts a [`WallClock`] to wasmtime-wasi's clock trait.
pub(crate) struct WasiWallClock(pub(crate) Arc<dyn WallClock>);

impl wasmtime_wasi::HostWallClock for WasiWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        self.0
            .now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
    }
}
