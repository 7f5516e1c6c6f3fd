//! Fixed-bucket histograms written by one thread and read by any, without a lock.
//!
//! Each writer (a reactor, the hub, the JS thread) owns its [`Histogram`]s: an observation is
//! a bucket search over a short static table and two plain load+store pairs (no locked
//! instruction), as `stats::Counters` are updated. A scrape reads every owner's buckets and
//! adds them up ([`Merged`]); a read racing an observation may see its bucket and not yet its
//! sum (or the reverse), which a scrape tolerates. Bounds are integers in the observed unit
//! (nanoseconds, counts); `families.rs` says how they are shown.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The most bounds a histogram may have (its `+Inf` bucket comes on top).
pub(crate) const MAX_BOUNDS: usize = 20;

/// One histogram's upper bounds, ascending, in the unit values are observed in.
pub(crate) type Bounds = &'static [u64];

const MS: u64 = 1_000_000;
const US: u64 = 1_000;

/// Publish → end of fan-out, in nanoseconds: 100 µs … 10 s.
pub(crate) const FANOUT_NS: Bounds = &[
    100 * US,
    250 * US,
    500 * US,
    MS,
    2_500 * US,
    5 * MS,
    10 * MS,
    25 * MS,
    50 * MS,
    100 * MS,
    250 * MS,
    500 * MS,
    1_000 * MS,
    2_500 * MS,
    5_000 * MS,
    10_000 * MS,
];

/// One reactor turn, in nanoseconds: 10 µs … 1 s.
pub(crate) const TURN_NS: Bounds = &[
    10 * US,
    50 * US,
    100 * US,
    250 * US,
    500 * US,
    MS,
    2_500 * US,
    5 * MS,
    10 * MS,
    25 * MS,
    50 * MS,
    100 * MS,
    250 * MS,
    1_000 * MS,
];

/// Subscribers one hub update reached: 1 … 1M, by powers of four.
pub(crate) const FANOUT_SIZE: Bounds = &[
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262_144, 1_048_576,
];

/// Items in one batch across the napi bridge: 1 … 16k.
pub(crate) const BATCH_SIZE: Bounds = &[1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384];

/// Bucket counts (not cumulative) and the sum of the observed values. Only its owner writes.
#[derive(Default)]
pub(crate) struct Histogram {
    counts: [AtomicU64; MAX_BOUNDS + 1],
    sum: AtomicU64,
}

impl Histogram {
    /// Records `v` (owner thread only: a plain load and store, no locked instruction).
    pub(crate) fn observe(&self, bounds: Bounds, v: u64) {
        debug_assert!(bounds.len() <= MAX_BOUNDS);
        // `partition_point` is the first bound not below `v`: its bucket is `le` that bound.
        let i = bounds.partition_point(|&b| b < v).min(MAX_BOUNDS);
        bump(&self.counts[i], 1);
        bump(&self.sum, v);
    }
}

fn bump(c: &AtomicU64, n: u64) {
    c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
}

/// Several owners' histograms of one kind added up, as a scrape shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Merged {
    pub(crate) bounds: Bounds,
    /// Cumulative counts: `cumulative[i]` observations were `<= bounds[i]`.
    pub(crate) cumulative: Vec<u64>,
    /// Every observation (the `+Inf` bucket).
    pub(crate) count: u64,
    pub(crate) sum: u64,
}

impl Merged {
    pub(crate) fn new(bounds: Bounds) -> Merged {
        Merged {
            bounds,
            cumulative: vec![0; bounds.len()],
            count: 0,
            sum: 0,
        }
    }

    /// Adds one owner's histogram.
    pub(crate) fn add(&mut self, h: &Histogram) {
        let mut running = 0;
        for (i, c) in h.counts.iter().take(self.bounds.len() + 1).enumerate() {
            running += c.load(Relaxed);
            if let Some(slot) = self.cumulative.get_mut(i) {
                *slot += running;
            }
        }
        self.count += running;
        self.sum += h.sum.load(Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_land_in_the_first_bucket_whose_bound_is_not_below_them() {
        const B: Bounds = &[10, 20, 40];
        let h = Histogram::default();
        for v in [0, 10, 11, 20, 39, 40, 41, 1_000] {
            h.observe(B, v);
        }
        let mut m = Merged::new(B);
        m.add(&h);
        // <=10: 0, 10 · <=20: +11, 20 · <=40: +39, 40 · +Inf: +41, 1000
        assert_eq!(m.cumulative, vec![2, 4, 6]);
        assert_eq!(m.count, 8);
        assert_eq!(m.sum, 10 + 11 + 20 + 39 + 40 + 41 + 1_000);
    }

    #[test]
    fn owners_merge_by_adding_buckets() {
        let (a, b) = (Histogram::default(), Histogram::default());
        a.observe(FANOUT_NS, 3 * MS);
        b.observe(FANOUT_NS, 3 * MS);
        b.observe(FANOUT_NS, 20_000 * MS);
        let mut m = Merged::new(FANOUT_NS);
        m.add(&a);
        m.add(&b);
        let le_5ms = FANOUT_NS.iter().position(|&x| x == 5 * MS).unwrap();
        assert_eq!(m.cumulative[le_5ms - 1], 0);
        assert_eq!(m.cumulative[le_5ms], 2);
        assert_eq!(*m.cumulative.last().unwrap(), 2, "20 s is only in +Inf");
        assert_eq!(m.count, 3);
    }

    #[test]
    fn every_bound_table_is_ascending_and_fits() {
        for b in [FANOUT_NS, TURN_NS, FANOUT_SIZE, BATCH_SIZE] {
            assert!(b.len() <= MAX_BOUNDS);
            assert!(b.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
