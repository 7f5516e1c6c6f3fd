//! When a reactor gives the allocator's free pages back to the OS.
//!
//! A fan-out gives every receiving connection a write queue for one turn and frees it once
//! flushed (an idle connection holds none). glibc keeps the pages those queues used
//! resident, in the middle of its heaps, where it never trims on its own: after one publish
//! to 10k connections that was ~0.5 KiB of RSS per connection, for good. So after a turn
//! that flushed many connections, and once nothing has been flushed for [`QUIET`], the
//! reactor asks the allocator to return its free pages ([`crate::sys::release_free_memory`]).
//! Never while traffic flows: pages returned between bursts would be faulted straight back.
//! Owned by [`super::Reactor`], which feeds it the flush counts and polls it each turn.

use std::time::{Duration, Instant};

/// Connections flushed since the last trim before one is worth it.
const CHURN: usize = 1024;
/// How long the reactor must have flushed nothing before it trims.
const QUIET: Duration = Duration::from_secs(2);

#[derive(Default)]
pub(super) struct TrimClock {
    /// Connections flushed since the last trim.
    churn: usize,
    /// When the last of them was.
    last: Option<Instant>,
}

impl TrimClock {
    /// `flushed` connections were written to at `now`.
    pub(super) fn note(&mut self, flushed: usize, now: Instant) {
        if flushed > 0 {
            self.churn += flushed;
            self.last = Some(now);
        }
    }

    /// When a trim will be due if nothing else is flushed (for the poll timeout).
    pub(super) fn due(&self) -> Option<Instant> {
        self.last.filter(|_| self.churn >= CHURN).map(|t| t + QUIET)
    }

    /// True (once) when a trim is due at `now`.
    pub(super) fn take_due(&mut self, now: Instant) -> bool {
        if self.due().is_some_and(|at| now >= at) {
            *self = TrimClock::default();
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_only_after_enough_churn_and_a_quiet_spell() {
        let mut t = TrimClock::default();
        let t0 = Instant::now();
        t.note(CHURN - 1, t0);
        assert_eq!(t.due(), None, "too little churn");
        t.note(0, t0 + QUIET * 10);
        assert_eq!(t.due(), None, "an empty turn changes nothing");
        t.note(1, t0 + Duration::from_millis(100));
        let at = t0 + Duration::from_millis(100) + QUIET;
        assert_eq!(t.due(), Some(at));
        assert!(
            !t.take_due(at - Duration::from_millis(1)),
            "not while traffic is recent"
        );
        t.note(5, t0 + Duration::from_millis(500));
        assert!(!t.take_due(at), "more traffic pushes it back");
        assert!(t.take_due(t0 + Duration::from_millis(500) + QUIET));
        assert!(!t.take_due(t0 + QUIET * 100), "once");
        assert_eq!(t.due(), None);
    }
}
