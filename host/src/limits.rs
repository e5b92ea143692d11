//! Each store's memory limit, metered: an identity instance adds its linear memory to
//! a gauge shared by the instances of one blueprint, and takes it back when dropped,
//! so an embedder can see what its instances actually hold; a plugin's store
//! remembers being refused memory, so the trap that follows is reported as the limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

/// What the live instances of one [`Identity`](crate::Identity) hold right now
/// ([`Identity::instance_stats`](crate::Identity::instance_stats)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstanceStats {
    /// Instances alive: in a call, or idle in the pool.
    pub instances: usize,
    /// Their linear memory, in bytes, summed.
    pub linear_memory: usize,
}

/// Shared by every store made from one blueprint.
#[derive(Default)]
pub(crate) struct MemoryGauge {
    instances: AtomicUsize,
    linear_memory: AtomicUsize,
}

impl MemoryGauge {
    pub(crate) fn stats(&self) -> InstanceStats {
        InstanceStats {
            instances: self.instances.load(Ordering::Relaxed),
            linear_memory: self.linear_memory.load(Ordering::Relaxed),
        }
    }
}

/// One store's limits: at most `memory_limit` bytes, counted into the gauge if any.
pub(crate) struct MeteredLimits {
    limits: StoreLimits,
    gauge: Option<Arc<MemoryGauge>>,
    linear_memory: usize,
    /// A `memory.grow` was refused.
    pub(crate) hit: bool,
}

impl MeteredLimits {
    pub(crate) fn new(memory_limit: usize, gauge: Option<Arc<MemoryGauge>>) -> Self {
        if let Some(gauge) = &gauge {
            gauge.instances.fetch_add(1, Ordering::Relaxed);
        }
        MeteredLimits {
            limits: StoreLimitsBuilder::new().memory_size(memory_limit).build(),
            gauge,
            linear_memory: 0,
            hit: false,
        }
    }
}

impl Drop for MeteredLimits {
    fn drop(&mut self) {
        if let Some(gauge) = &self.gauge {
            gauge.instances.fetch_sub(1, Ordering::Relaxed);
            (gauge.linear_memory).fetch_sub(self.linear_memory, Ordering::Relaxed);
        }
    }
}

impl ResourceLimiter for MeteredLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        self.hit |= !allowed;
        if allowed {
            // Instantiation reports each memory's initial size as growth from 0.
            let grown = desired.saturating_sub(current);
            self.linear_memory += grown;
            if let Some(gauge) = &self.gauge {
                (gauge.linear_memory).fetch_add(grown, Ordering::Relaxed);
            }
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_within_the_limit_is_counted_and_given_back_on_drop() {
        let gauge = Arc::new(MemoryGauge::default());
        let mut a = MeteredLimits::new(1 << 20, Some(gauge.clone()));
        let mut b = MeteredLimits::new(1 << 20, Some(gauge.clone()));
        assert!(a.memory_growing(0, 65536, None).unwrap());
        assert!(a.memory_growing(65536, 131072, None).unwrap());
        assert!(b.memory_growing(0, 65536, None).unwrap());
        assert!(!a.hit && !b.hit);
        assert!(
            !b.memory_growing(65536, 2 << 20, None).unwrap(),
            "over the limit"
        );
        assert!(b.hit && !a.hit, "the refusal is remembered by its store");
        let stats = gauge.stats();
        assert_eq!((stats.instances, stats.linear_memory), (2, 196608));
        drop(a);
        assert_eq!(gauge.stats().linear_memory, 65536);
        drop(b);
        assert_eq!(gauge.stats(), InstanceStats::default());
    }
}
