//! Per-reactor deadlines: a min-heap of (when, connection, generation), no thread per timer.
//!
//! Owned by one reactor thread. A connection has at most one live deadline, named by its
//! `timer_gen`; re-arming bumps the generation, so a stale heap entry is skipped when it
//! pops (lazy cancellation, O(log n) per arm). The reactor uses it for the handshake timeout
//! and the close-handshake timeout; the protocol layer's init timeout and keep-alive pings
//! reuse the same heap.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<(Instant, usize, u32)>>,
    next_gen: u32,
}

impl Timers {
    /// A fresh generation number; never zero, so zero can mean "no deadline".
    pub fn fresh_gen(&mut self) -> u32 {
        self.next_gen = self.next_gen.wrapping_add(1).max(1);
        self.next_gen
    }

    /// Arms a deadline for `key`; returns the generation to store on the connection.
    pub fn arm(&mut self, at: Instant, key: usize) -> u32 {
        let gen = self.fresh_gen();
        self.heap.push(Reverse((at, key, gen)));
        gen
    }

    /// How long the poll may sleep before the earliest deadline (None: no deadline).
    pub fn timeout(&self, now: Instant) -> Option<Duration> {
        self.heap
            .peek()
            .map(|Reverse((at, _, _))| at.saturating_duration_since(now))
    }

    /// Pops one expired entry, if any: `(key, gen)`. The caller checks `gen` is still current.
    pub fn pop_expired(&mut self, now: Instant) -> Option<(usize, u32)> {
        match self.heap.peek() {
            Some(Reverse((at, _, _))) if *at <= now => {
                self.heap.pop().map(|Reverse((_, key, gen))| (key, gen))
            }
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
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
        assert!(t.is_empty());
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
