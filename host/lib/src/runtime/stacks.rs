//! Fiber stacks for the on-demand allocator, kept for the next store instead of
//! unmapped.
//!
//! Every call into a component runs on a fiber stack, and with the on-demand
//! allocator each store maps a fresh one (2 MiB and a guard page) and unmaps it when
//! dropped. Where every call gets a fresh instance, that is an `mmap`, an `munmap`
//! and a page fault for each stack page the call touches, per request. These stacks
//! go back to a free list instead, with the pages they touched still mapped.
//!
//! Reuse hands one store's stack to the next with the old frames in it, as
//! wasmtime's own pooling allocator does (its `async_stack_zeroing` is off by
//! default too): the fiber stack is host memory, which no guest can address. When
//! wasmtime asks for a zeroed stack, a reused one has its pages dropped first.

use rustix::mm::{Advice, MapFlags, MprotectFlags, ProtFlags};
use std::ops::Range;
use std::sync::{Arc, Mutex};
use wasmtime::{StackCreator, StackMemory};

/// Stacks kept for reuse; past this many idle ones, a returned stack is unmapped. A
/// stack costs address space, and memory only for the pages calls touched.
const MAX_IDLE: usize = 32;

/// A [`StackCreator`] that recycles the stacks it made.
#[derive(Default)]
pub(crate) struct StackPool {
    idle: Arc<Mutex<Vec<Mapping>>>,
}

// SAFETY: every stack it returns is page aligned, readable and writable over
// `range()`, with a PROT_NONE guard page below it (`Mapping::new`), and stays mapped
// until the `StackMemory` that owns it is dropped.
unsafe impl StackCreator for StackPool {
    fn new_stack(&self, size: usize, zeroed: bool) -> wasmtime::Result<Box<dyn StackMemory>> {
        let size = round_to_page(size);
        let reused = {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            idle.iter()
                .position(|m| m.size == size)
                .map(|at| idle.swap_remove(at))
        };
        let mapping = match reused {
            Some(mapping) => {
                if zeroed {
                    mapping.zero()?;
                }
                mapping
            }
            // A fresh anonymous mapping is zeroed already.
            None => Mapping::new(size)?,
        };
        Ok(Box::new(PooledStack {
            mapping: Some(mapping),
            idle: self.idle.clone(),
        }))
    }
}

/// A stack handed to wasmtime; back to the free list when wasmtime drops it.
struct PooledStack {
    mapping: Option<Mapping>,
    idle: Arc<Mutex<Vec<Mapping>>>,
}

impl PooledStack {
    fn mapping(&self) -> &Mapping {
        self.mapping.as_ref().expect("present until dropped")
    }
}

impl Drop for PooledStack {
    fn drop(&mut self) {
        let Some(mapping) = self.mapping.take() else {
            return;
        };
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(mapping);
        }
    }
}

// SAFETY: see `StackCreator for StackPool`.
unsafe impl StackMemory for PooledStack {
    fn top(&self) -> *mut u8 {
        let m = self.mapping();
        m.base.wrapping_add(m.guard + m.size)
    }

    fn range(&self) -> Range<usize> {
        let m = self.mapping();
        let bottom = m.base as usize + m.guard;
        bottom..bottom + m.size
    }

    fn guard_range(&self) -> Range<*mut u8> {
        let m = self.mapping();
        m.base..m.base.wrapping_add(m.guard)
    }
}

/// One stack's mapping: a guard page, then `size` bytes of stack.
struct Mapping {
    base: *mut u8,
    guard: usize,
    size: usize,
}

// SAFETY: a `Mapping` is plain ownership of an address range; nothing in it is tied
// to the thread that mapped it.
unsafe impl Send for Mapping {}
unsafe impl Sync for Mapping {}

impl Mapping {
    fn new(size: usize) -> wasmtime::Result<Self> {
        let guard = rustix::param::page_size();
        let len = guard
            .checked_add(size)
            .ok_or_else(|| wasmtime::format_err!("fiber stack size {size} overflows"))?;
        // SAFETY: a new private anonymous mapping at an address the kernel picks
        // aliases nothing.
        let base = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                len,
                ProtFlags::empty(),
                MapFlags::PRIVATE,
            )?
        };
        let mapping = Mapping {
            base: base.cast(),
            guard,
            size,
        };
        // SAFETY: the range is inside the mapping just made, which nothing else uses.
        unsafe {
            rustix::mm::mprotect(
                mapping.base.wrapping_add(guard).cast(),
                size,
                MprotectFlags::READ | MprotectFlags::WRITE,
            )?;
        }
        Ok(mapping)
    }

    /// Drops the stack's pages: the next touch of each gets a zero page.
    fn zero(&self) -> wasmtime::Result<()> {
        // SAFETY: the stack range belongs to this mapping and no fiber runs on it
        // (it was idle).
        unsafe {
            rustix::mm::madvise(
                self.base.wrapping_add(self.guard).cast(),
                self.size,
                Advice::LinuxDontNeed,
            )?;
        }
        Ok(())
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the whole mapping made in `new`, no longer used by any fiber.
        let _ = unsafe { rustix::mm::munmap(self.base.cast(), self.guard + self.size) };
    }
}

fn round_to_page(size: usize) -> usize {
    let page = rustix::param::page_size();
    size.div_ceil(page).saturating_mul(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_whole(stack: &dyn StackMemory, byte: u8) {
        let range = stack.range();
        // SAFETY: `range` is the stack's writable memory, used by nothing else here.
        unsafe { std::ptr::write_bytes(range.start as *mut u8, byte, range.len()) };
    }

    fn first_byte(stack: &dyn StackMemory) -> u8 {
        // SAFETY: as above; reading what was written.
        unsafe { *(stack.range().start as *const u8) }
    }

    #[test]
    fn a_returned_stack_is_handed_out_again_and_zeroed_when_asked() {
        let pool = StackPool::default();
        let first = pool.new_stack(64 << 10, false).unwrap();
        let range = first.range();
        assert_eq!(range.len(), 64 << 10);
        assert_eq!(first.top() as usize, range.end);
        assert_eq!(first.guard_range().end as usize, range.start);
        write_whole(&*first, 7);
        drop(first);
        let again = pool.new_stack(64 << 10, false).unwrap();
        assert_eq!(again.range(), range, "the same mapping");
        assert_eq!(first_byte(&*again), 7, "not zeroed unless asked");
        drop(again);
        let zeroed = pool.new_stack(64 << 10, true).unwrap();
        assert_eq!(zeroed.range(), range);
        assert_eq!(first_byte(&*zeroed), 0);
    }

    #[test]
    fn stacks_in_use_are_distinct_and_other_sizes_get_their_own() {
        let pool = StackPool::default();
        let a = pool.new_stack(64 << 10, false).unwrap();
        let b = pool.new_stack(64 << 10, false).unwrap();
        assert!(a.range().end <= b.range().start || b.range().end <= a.range().start);
        drop(a);
        let c = pool.new_stack(128 << 10, false).unwrap();
        assert_eq!(
            c.range().len(),
            128 << 10,
            "a 64 KiB stack is not reused for it"
        );
    }

    #[test]
    fn at_most_max_idle_stacks_are_kept() {
        let pool = StackPool::default();
        let stacks: Vec<_> = (0..MAX_IDLE + 4)
            .map(|_| pool.new_stack(16 << 10, false).unwrap())
            .collect();
        drop(stacks);
        assert_eq!(pool.idle.lock().unwrap().len(), MAX_IDLE);
    }
}
