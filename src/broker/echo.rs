//! Echo suppression for one topic: the payloads this process published while subscribed to
//! the topic, in publish order, so that the copy Redis sends back is not delivered twice.
//!
//! Owned by [`super::topics::Topic`]; the driver pushes an entry when it queues a PUBLISH
//! behind a SUBSCRIBE of the topic on the same connection (so the echo is certain) and offers
//! every incoming message to [`EchoFifo::take`] before delivering it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

struct Entry {
    /// The lane sequence number of the PUBLISH (see `session.rs`).
    seq: u64,
    at: Instant,
    payload: Bytes,
}

/// Own publishes whose echo has not come back yet, oldest first.
#[derive(Default)]
pub(super) struct EchoFifo {
    entries: VecDeque<Entry>,
}

impl EchoFifo {
    /// Remembers an own publish (the bytes are shared with the PUBLISH, not copied).
    pub(super) fn push(&mut self, seq: u64, payload: Bytes, now: Instant) {
        self.entries.push_back(Entry {
            seq,
            at: now,
            payload,
        });
    }

    /// True (and the entry is gone) when `payload` equals the oldest own publish: that message
    /// is the echo. Redis sends one connection's messages of one channel in order, so the echo
    /// of the oldest own publish is the first of them to arrive; a foreign message with the
    /// very same bytes arriving first takes its place, which leaves every count right.
    pub(super) fn take(&mut self, payload: &[u8]) -> bool {
        match self.entries.front() {
            Some(head) if head.payload[..] == *payload => {
                self.entries.pop_front();
                true
            }
            _ => false,
        }
    }

    /// Forgets the publish with lane number `seq` (its PUBLISH failed: no echo will come).
    pub(super) fn forget(&mut self, seq: u64) {
        if let Some(i) = self.entries.iter().position(|e| e.seq == seq) {
            self.entries.remove(i);
        }
    }

    /// Drops the entries queued before lane number `seq` (an UNSUBSCRIBE queued at `seq` has
    /// been confirmed: every echo that could come before it has come).
    pub(super) fn forget_before(&mut self, seq: u64) -> usize {
        let before = self.entries.len();
        self.entries.retain(|e| e.seq > seq);
        before - self.entries.len()
    }

    /// Last resort: drops entries older than `ttl` (an echo that never came). Returns how many.
    pub(super) fn expire(&mut self, now: Instant, ttl: Duration) -> usize {
        let mut n = 0;
        while let Some(head) = self.entries.front() {
            if now.saturating_duration_since(head.at) < ttl {
                break;
            }
            self.entries.pop_front();
            n += 1;
        }
        n
    }

    pub(super) fn clear(&mut self) {
        self.entries.clear();
    }

    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    #[test]
    fn the_echo_of_the_oldest_own_publish_is_taken_once() {
        let now = Instant::now();
        let mut f = EchoFifo::default();
        f.push(1, b("{\"a\":1}"), now);
        f.push(2, b("{\"a\":1}"), now);
        // A foreign message that differs is not an echo.
        assert!(!f.take(b"{\"a\":2}"));
        assert!(f.take(b"{\"a\":1}"));
        assert!(f.take(b"{\"a\":1}"));
        // Both echoes consumed: the third identical message is someone else's.
        assert!(!f.take(b"{\"a\":1}"));
        assert!(f.is_empty());
    }

    #[test]
    fn only_the_head_matches() {
        let now = Instant::now();
        let mut f = EchoFifo::default();
        f.push(1, b("x"), now);
        f.push(2, b("y"), now);
        // "y" from another publisher arrives before our "x" echo: delivered, not taken.
        assert!(!f.take(b"y"));
        assert!(f.take(b"x"));
        assert!(f.take(b"y"));
    }

    #[test]
    fn forget_expire_and_unsubscribe_prune() {
        let t0 = Instant::now();
        let mut f = EchoFifo::default();
        f.push(1, b("a"), t0);
        f.push(2, b("b"), t0 + Duration::from_secs(2));
        f.push(5, b("c"), t0 + Duration::from_secs(3));
        f.forget(2);
        assert_eq!(f.len(), 2);
        assert_eq!(
            f.expire(t0 + Duration::from_secs(4), Duration::from_secs(3)),
            1
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f.forget_before(4), 0);
        assert_eq!(f.forget_before(5), 1);
        assert!(f.is_empty());
    }
}
