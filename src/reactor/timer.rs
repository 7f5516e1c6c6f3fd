//! Per-reactor deadlines: a min-heap of (when, connection, generation), no thread per timer.
//!
//! Owned by one reactor thread. A connection has at most one live deadline, named by its
//! `timer_gen`; re-arming bumps the generation, so a stale heap entry is skipped when it
//! pops (lazy cancellation, O(log n) per arm). The reactor uses it for the handshake timeout
//! and the close-handshake timeout; the protocol layer's init timeout and keep-alive pings
//! reuse the same heap. Stale entries leave as their deadlines pass, and a heap that has
//! become mostly empty (after a connect storm) gives its memory back.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// Heap entry: (deadline in nanoseconds since the heap's `base`, key, generation): 16
/// bytes, where an `Instant` and a `usize` key took 32. Ordered as the deadlines are.
type Entry = (u64, u32, u32);

pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<Entry>>,
    next_gen: u32,
    /// What deadlines are counted from (before any deadline the reactor arms).
    base: Instant,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            heap: BinaryHeap::new(),
            next_gen: 0,
            base: Instant::now(),
        }
    }
}

impl Timers {
    /// A fresh generation number; never zero, so zero can mean "no deadline".
    pub(crate) fn fresh_gen(&mut self) -> u32 {
        self.next_gen = self.next_gen.wrapping_add(1).max(1);
        self.next_gen
    }

    /// `at` as nanoseconds since `base` (an earlier instant counts as `base`: it is due).
    fn nanos(&self, at: Instant) -> u64 {
        let n = at.saturating_duration_since(self.base).as_nanos();
        u64::try_from(n).unwrap_or(u64::MAX) // 584 years
    }

    /// Arms a deadline for `key`; returns the generation to store on the connection.
    pub(crate) fn arm(&mut self, at: Instant, key: usize) -> u32 {
        let gen = self.fresh_gen();
        // A slab key never nears 2^32 (a `ConnId` keeps 22 bits of it); if one did, its
        // entry would name no connection and be skipped like a stale one.
        let key = u32::try_from(key).unwrap_or(u32::MAX);
        self.heap.push(Reverse((self.nanos(at), key, gen)));
        gen
    }

    /// How long the poll may sleep before the earliest deadline (None: no deadline).
    pub(crate) fn timeout(&self, now: Instant) -> Option<Duration> {
        self.heap.peek().map(|Reverse((at, _, _))| {
            Duration::from_nanos(*at).saturating_sub(now.saturating_duration_since(self.base))
        })
    }

    /// Pops one expired entry, if any: `(key, gen)`. The caller checks `gen` is still current.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<(usize, u32)> {
        match self.heap.peek() {
            Some(Reverse((at, _, _))) if *at <= self.nanos(now) => {
                let popped = self
                    .heap
                    .pop()
                    .map(|Reverse((_, key, gen))| (key as usize, gen));
                self.shrink();
                popped
            }
            _ => None,
        }
    }

    /// Below a quarter full, down to half full: amortized O(1) per pop (the `n` moved
    /// entries took at least `n` pops to bring about), and a heap that grew in a storm
    /// does not keep its peak for good.
    fn shrink(&mut self) {
        let (len, cap) = (self.heap.len(), self.heap.capacity());
        if cap > 64 && len * 4 < cap {
            self.heap.shrink_to(len * 2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_deadline_order_and_only_when_due() {
        let mut t = Timers::default();
        let now = Instant::now();
        let g2 = t.arm(now + Duration::from_millis(20), 2);
        let g1 = t.arm(now + Duration::from_millis(10), 1);
        assert_ne!(g1, g2);
        assert_eq!(t.pop_expired(now), None);
        assert_eq!(t.timeout(now), Some(Duration::from_millis(10)));
        let later = now + Duration::from_millis(25);
        assert_eq!(t.pop_expired(later), Some((1, g1)));
        assert_eq!(t.pop_expired(later), Some((2, g2)));
        assert!(t.heap.is_empty());
    }

    #[test]
    fn the_heap_gives_memory_back_as_it_empties() {
        let mut t = Timers::default();
        let now = Instant::now();
        for key in 0..10_000 {
            t.arm(now + Duration::from_millis(key as u64 % 100), key);
        }
        let peak = t.heap.capacity();
        let later = now + Duration::from_secs(1);
        let mut last = None;
        for n in (0..10_000).rev() {
            let (key, _) = t.pop_expired(later).unwrap();
            let at = Duration::from_millis(key as u64 % 100);
            assert!(last.is_none_or(|l| l <= at), "still in order");
            last = Some(at);
            assert!(t.heap.capacity() <= 64 || t.heap.capacity() <= n * 4);
        }
        assert!(t.heap.is_empty() && t.heap.capacity() <= 64 && peak >= 10_000);
        assert_eq!(std::mem::size_of::<Reverse<Entry>>(), 16);
    }

    #[test]
    fn deadlines_keep_nanosecond_order_and_past_ones_are_due() {
        let mut t = Timers::default();
        let base = t.base;
        let g1 = t.arm(base + Duration::from_nanos(2), 1);
        let g0 = t.arm(base + Duration::from_nanos(1), 0);
        assert_eq!(t.timeout(base), Some(Duration::from_nanos(1)));
        assert_eq!(t.pop_expired(base), None);
        let at = base + Duration::from_nanos(2);
        assert_eq!(t.pop_expired(at), Some((0, g0)));
        assert_eq!(t.pop_expired(at), Some((1, g1)));
        let t2 = Timers::default();
        let mut t = Timers { base: t2.base, ..t };
        let g = t.arm(base, 5); // before this heap's base: due at once
        assert_eq!(t.timeout(t2.base), Some(Duration::ZERO));
        assert_eq!(t.pop_expired(t2.base), Some((5, g)));
    }

    #[test]
    fn generation_is_never_zero() {
        let mut t = Timers {
            next_gen: u32::MAX,
            ..Default::default()
        };
        assert_ne!(t.fresh_gen(), 0);
    }
}
