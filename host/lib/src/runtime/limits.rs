//! Each store's memory limit, metered: an identity instance adds its linear memory to
//! a gauge shared by the instances of one blueprint, and takes it back when dropped,
//! so an embedder can see what its instances actually hold; a plugin's store
//! remembers being refused memory, so the trap that follows is reported as the limit.
//!
//! A plugin's store has one budget for everything it can make the host hold: every
//! linear memory and every table (elements × pointer size) of every instance, and the
//! host-side resources it creates (resource-table entries, each charged as if it were a
//! `wasi:http` fields resource at its size limit). Instances, memories and tables are
//! capped in number too, since each costs host memory beyond its size.

// The plugin budget is only reached with feature `plugin`; it stays compiled (and
// tested) without it rather than splitting the limiter in two.
#![cfg_attr(not(feature = "plugin"), allow(dead_code))]

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

/// Most bytes one `wasi:http` fields resource of a plugin may hold (wasmtime's default
/// is 128 KiB); request headers are a few KiB, a bearer token included.
pub(crate) const PLUGIN_FIELD_SIZE_LIMIT: usize = 32 << 10;
/// What one resource-table entry is charged: a fields resource at its limit, plus the
/// entry and the boxed value around it.
pub(crate) const HOST_ENTRY_BYTES: usize = PLUGIN_FIELD_SIZE_LIMIT + 1024;
/// Wasmtime's tables hold a pointer per element.
const TABLE_ELEMENT_BYTES: usize = size_of::<usize>();
/// Counts a plugin's instances may not exceed: a wasm32-wasip2 component built with
/// wit-component has one main module and a handful of shims, adapters and fixups.
const PLUGIN_INSTANCES: usize = 32;
const PLUGIN_MEMORIES: usize = 4;
const PLUGIN_TABLES: usize = 32;

/// One store's limits: at most `memory_limit` bytes, counted into the gauge if any.
pub(crate) struct MeteredLimits {
    limits: StoreLimits,
    gauge: Option<Arc<MemoryGauge>>,
    linear_memory: usize,
    /// A plugin's store: one budget for all its memories, tables and host resources.
    budget: Option<Budget>,
    /// A `memory.grow` or `table.grow` was refused.
    pub(crate) hit: bool,
    /// What the budget refused last: growing a memory or a table.
    pub(crate) refused: Option<&'static str>,
}

/// A plugin store's single budget, in bytes.
struct Budget {
    limit: usize,
    /// Every linear memory and table, summed.
    wasm: usize,
    /// Resource-table entries, at [`HOST_ENTRY_BYTES`] each.
    host: usize,
    /// The last growth allowed, given back if the growth then failed.
    pending: usize,
}

impl Budget {
    fn used(&self) -> usize {
        self.wasm.saturating_add(self.host)
    }

    /// Takes `bytes` if they fit.
    fn grow(&mut self, bytes: usize) -> bool {
        let fits = self.used().saturating_add(bytes) <= self.limit;
        if fits {
            self.wasm += bytes;
            self.pending = bytes;
        }
        fits
    }

    fn give_back_pending(&mut self) {
        self.wasm -= std::mem::take(&mut self.pending);
    }
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
            budget: None,
            hit: false,
            refused: None,
        }
    }

    /// A plugin's limits: `budget` bytes for all its memories, tables and resource-table
    /// entries together, and capped counts of instances, memories and tables.
    pub(crate) fn plugin(budget: usize) -> Self {
        MeteredLimits {
            limits: StoreLimitsBuilder::new()
                .instances(PLUGIN_INSTANCES)
                .memories(PLUGIN_MEMORIES)
                .tables(PLUGIN_TABLES)
                .build(),
            gauge: None,
            linear_memory: 0,
            budget: Some(Budget {
                limit: budget,
                wasm: 0,
                host: 0,
                pending: 0,
            }),
            hit: false,
            refused: None,
        }
    }

    /// Charges `entries` resource-table entries (replacing the last count), and says
    /// how many entries the table may hold in all: those, plus what the rest of the
    /// budget affords. Without a budget, wasmtime's default cap stands (`None`).
    pub(crate) fn charge_host_entries(&mut self, entries: usize) -> Option<usize> {
        let budget = self.budget.as_mut()?;
        budget.host = entries.saturating_mul(HOST_ENTRY_BYTES);
        let left = budget.limit.saturating_sub(budget.used());
        Some(entries + left / HOST_ENTRY_BYTES)
    }

    /// Whether growing a memory or table by `bytes` fits; remembers a refusal.
    fn admit(&mut self, what: &'static str, bytes: usize, within_maximum: bool) -> Option<bool> {
        let budget = self.budget.as_mut()?;
        // Past the module's own maximum the growth fails anyway: not our refusal.
        if !within_maximum {
            return Some(false);
        }
        let fits = budget.grow(bytes);
        if !fits {
            self.hit = true;
            self.refused = Some(what);
        }
        Some(fits)
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
        let grown = desired.saturating_sub(current);
        let within_maximum = maximum.is_none_or(|max| desired <= max);
        let allowed = match self.admit("growing a linear memory", grown, within_maximum) {
            Some(allowed) => allowed,
            None => {
                let allowed = self.limits.memory_growing(current, desired, maximum)?;
                self.hit |= !allowed;
                allowed
            }
        };
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

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        if let Some(budget) = &mut self.budget {
            budget.give_back_pending();
        }
        self.limits.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let grown = desired
            .saturating_sub(current)
            .saturating_mul(TABLE_ELEMENT_BYTES);
        let within_maximum = maximum.is_none_or(|max| desired <= max);
        match self.admit("growing a table", grown, within_maximum) {
            Some(allowed) => Ok(allowed),
            None => self.limits.table_growing(current, desired, maximum),
        }
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        if let Some(budget) = &mut self.budget {
            budget.give_back_pending();
        }
        self.limits.table_grow_failed(error)
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

    const MIB: usize = 1 << 20;

    #[test]
    fn a_plugin_budget_covers_every_memory_table_and_host_entry() {
        let mut limits = MeteredLimits::plugin(4 * MIB);
        // Two memories of 1 MiB and a table of 2^17 pointers (1 MiB): 3 MiB.
        assert!(limits.memory_growing(0, MIB, None).unwrap());
        assert!(limits.memory_growing(0, MIB, None).unwrap());
        assert!(limits.table_growing(0, MIB / 8, None).unwrap());
        assert!(!limits.hit);
        // A second memory past the rest is refused though each alone is small.
        assert!(!limits.memory_growing(MIB, 2 * MIB + 65536, None).unwrap());
        assert!(limits.hit);
        // A table reaching for 2^28 elements (2 GiB of pointers) is refused.
        let mut tables = MeteredLimits::plugin(4 * MIB);
        assert!(!tables.table_growing(10, 1 << 28, None).unwrap());
        assert!(tables.hit);
    }

    #[test]
    fn host_entries_and_wasm_share_the_budget() {
        let mut limits = MeteredLimits::plugin(4 * MIB);
        let all = limits.charge_host_entries(0).unwrap();
        assert_eq!(all, 4 * MIB / HOST_ENTRY_BYTES);
        // Memory taken is entries the table can no longer have.
        assert!(limits.memory_growing(0, 2 * MIB, None).unwrap());
        let after = limits.charge_host_entries(10).unwrap();
        assert_eq!(
            after,
            10 + (2 * MIB - 10 * HOST_ENTRY_BYTES) / HOST_ENTRY_BYTES
        );
        // And entries held are memory the plugin can no longer grow into.
        limits.charge_host_entries(after);
        assert!(
            !limits
                .memory_growing(2 * MIB, 2 * MIB + 65536, None)
                .unwrap()
        );
        assert!(limits.hit);
        // The identity's stores keep wasmtime's default table cap.
        assert_eq!(MeteredLimits::new(MIB, None).charge_host_entries(5), None);
    }

    #[test]
    fn failed_growth_is_given_back_and_a_module_maximum_is_not_our_refusal() {
        let mut limits = MeteredLimits::plugin(2 * MIB);
        assert!(limits.memory_growing(0, MIB, None).unwrap());
        limits
            .memory_grow_failed(wasmtime::Error::msg("mmap failed"))
            .unwrap();
        assert!(
            limits.memory_growing(0, 2 * MIB, None).unwrap(),
            "the failed MiB came back"
        );
        let mut capped = MeteredLimits::plugin(2 * MIB);
        assert!(!capped.memory_growing(0, MIB, Some(65536)).unwrap());
        assert!(!capped.hit);
    }
}
