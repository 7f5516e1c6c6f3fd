//! The fan-out clock of one hub update: when it entered Rust, and how many reactors still
//! have to hand its frames to the kernel.
//!
//! The hub starts one per update (holding it itself while it sends), gives every reactor
//! that gets the update a hold with its `Command::Next`, and lets go of its own hold once
//! every reactor was sent theirs. A reactor lets go at the end of the turn that wrote (or
//! queued, for a socket that refused more) the update's frames. Whoever lets go last records
//! the duration, so each update is one sample, whichever reactor finishes last
//! (`subwire_fanout_duration_seconds`). One allocation and one atomic per reactor per
//! update; nothing per subscriber.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) struct FanoutClock {
    start: Instant,
    holds: AtomicUsize,
}

impl FanoutClock {
    /// A clock started at `start`, held once by its creator.
    pub(crate) fn start(start: Instant) -> Arc<FanoutClock> {
        Arc::new(FanoutClock {
            start,
            holds: AtomicUsize::new(1),
        })
    }

    /// One more holder (a reactor the update goes to). Call it before handing the clock over.
    pub(crate) fn hold(&self) {
        self.holds.fetch_add(1, Ordering::Relaxed);
    }

    /// Lets go of one hold; `Some(elapsed)` for the last one, who records the sample.
    pub(crate) fn release(&self, now: Instant) -> Option<Duration> {
        // AcqRel: the last holder sees every other holder's work as done.
        (self.holds.fetch_sub(1, Ordering::AcqRel) == 1)
            .then(|| now.saturating_duration_since(self.start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_release_reports_and_it_reports_once() {
        let t0 = Instant::now();
        let c = FanoutClock::start(t0);
        c.hold();
        c.hold();
        let later = t0 + Duration::from_millis(7);
        assert_eq!(c.release(later), None, "the creator's hold");
        assert_eq!(c.release(later), None);
        assert_eq!(c.release(later), Some(Duration::from_millis(7)));
    }

    #[test]
    fn reactors_on_threads_yield_exactly_one_sample() {
        for _ in 0..200 {
            let c = FanoutClock::start(Instant::now());
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    c.hold();
                    let c = c.clone();
                    std::thread::spawn(move || c.release(Instant::now()).is_some())
                })
                .collect();
            let mine = c.release(Instant::now()).is_some();
            let theirs = threads
                .into_iter()
                .map(|t| t.join().unwrap())
                .filter(|&last| last)
                .count();
            assert_eq!(usize::from(mine) + theirs, 1);
        }
    }
}
