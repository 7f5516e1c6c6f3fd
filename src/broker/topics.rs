//! The topic table of one broker: how many local listeners each topic has, whether the live
//! connection is subscribed to its channel, and its echo FIFO.
//!
//! Pure bookkeeping, no I/O: the driver (`session.rs`, `driver.rs`) asks it which SUBSCRIBE /
//! UNSUBSCRIBE to queue and whether an incoming message is an echo, a delivery or unwanted.
//!
//! "Wired" means the last subscription command queued for the topic on the current connection
//! is SUBSCRIBE. All commands travel one connection in queue order and Redis runs them in that
//! order, so a PUBLISH queued while the topic is wired is certain to come back (it is echoed),
//! and one queued while it is not wired is certain not to. That is what makes the echo FIFO
//! exact, including 1→0→1 while an UNSUBSCRIBE is in flight (it ends wired).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::echo::EchoFifo;

#[derive(Default)]
struct Topic {
    /// Local listeners (the caller's subscribe calls minus its unsubscribe calls).
    refs: u32,
    wired: bool,
    echoes: EchoFifo,
}

/// What to do with a message that came from Redis.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Incoming {
    /// Our own publish coming back: the caller delivered it locally already.
    Echo,
    /// Hand it to the local listeners.
    Deliver,
    /// No local listener (an UNSUBSCRIBE is on its way): drop it.
    NoListener,
}

#[derive(Default)]
pub(super) struct Topics {
    map: HashMap<Box<str>, Topic>,
}

impl Topics {
    /// One more local listener. True when the caller must queue a SUBSCRIBE now
    /// (`connected`, first listener, not wired yet); the topic is then wired.
    pub(super) fn add(&mut self, topic: &str, connected: bool) -> bool {
        let t = match self.map.get_mut(topic) {
            Some(t) => t,
            None => self.map.entry(topic.into()).or_default(),
        };
        t.refs = t.refs.saturating_add(1);
        if connected && t.refs == 1 && !t.wired {
            t.wired = true;
            return true;
        }
        false
    }

    /// One listener fewer. True when the caller must queue an UNSUBSCRIBE now (last listener
    /// gone while wired); the topic is then unwired. A remove without an add is ignored.
    pub(super) fn remove(&mut self, topic: &str) -> bool {
        let Some(t) = self.map.get_mut(topic) else {
            return false;
        };
        if t.refs == 0 {
            return false;
        }
        t.refs -= 1;
        if t.refs == 0 && t.wired {
            t.wired = false;
            return true;
        }
        if t.refs == 0 && t.echoes.is_empty() {
            self.map.remove(topic);
        }
        false
    }

    /// A PUBLISH of `payload` on `topic` is being queued with lane number `seq`. True when its
    /// echo is certain and was remembered.
    pub(super) fn published(
        &mut self,
        topic: &str,
        payload: &Bytes,
        seq: u64,
        now: Instant,
    ) -> bool {
        match self.map.get_mut(topic) {
            Some(t) if t.wired => {
                t.echoes.push(seq, payload.clone(), now);
                true
            }
            _ => false,
        }
    }

    /// The PUBLISH with lane number `seq` failed: its echo will not come.
    pub(super) fn publish_failed(&mut self, topic: &str, seq: u64) {
        if let Some(t) = self.map.get_mut(topic) {
            t.echoes.forget(seq);
        }
    }

    /// Redis refused to SUBSCRIBE to the topic: it is not wired (until the next connection),
    /// and no echo will come.
    pub(super) fn refused(&mut self, topic: &str) {
        if let Some(t) = self.map.get_mut(topic) {
            t.wired = false;
            t.echoes.clear();
        }
    }

    /// An UNSUBSCRIBE queued with lane number `seq` was confirmed: no echo of an earlier
    /// PUBLISH can still come. Forgets the topic if nothing else holds it.
    pub(super) fn unsubscribed(&mut self, topic: &str, seq: u64) {
        if let Some(t) = self.map.get_mut(topic) {
            t.echoes.forget_before(seq);
            if t.refs == 0 && !t.wired && t.echoes.is_empty() {
                self.map.remove(topic);
            }
        }
    }

    /// Classifies a message from Redis on `topic`.
    pub(super) fn incoming(&mut self, topic: &str, payload: &[u8]) -> Incoming {
        let Some(t) = self.map.get_mut(topic) else {
            return Incoming::NoListener;
        };
        if t.echoes.take(payload) {
            Incoming::Echo
        } else if t.refs > 0 {
            Incoming::Deliver
        } else {
            Incoming::NoListener
        }
    }

    /// The connection is gone: nothing is wired, no echo will come. Topics without listeners
    /// are forgotten.
    pub(super) fn disconnected(&mut self) {
        self.map.retain(|_, t| {
            t.wired = false;
            t.echoes.clear();
            t.refs > 0
        });
    }

    /// A new connection is up: every topic with listeners is wired again. Returns their
    /// names, for the caller's SUBSCRIBE.
    pub(super) fn resubscribe(&mut self) -> Vec<Box<str>> {
        let mut out = Vec::new();
        for (name, t) in self.map.iter_mut() {
            if t.refs > 0 && !t.wired {
                t.wired = true;
                out.push(name.clone());
            }
        }
        out
    }

    /// Drops echo entries older than `ttl` (a last resort). Returns how many.
    pub(super) fn expire(&mut self, now: Instant, ttl: Duration) -> usize {
        let mut n = 0;
        self.map.retain(|_, t| {
            n += t.echoes.expire(now, ttl);
            t.refs > 0 || t.wired || !t.echoes.is_empty()
        });
        n
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribe_on_first_listener_unsubscribe_on_last() {
        let mut t = Topics::default();
        assert!(t.add("a", true));
        assert!(!t.add("a", true));
        assert!(!t.remove("a"));
        assert!(t.remove("a"));
        // A stray remove is ignored.
        assert!(!t.remove("a"));
        assert!(!t.remove("never"));
    }

    #[test]
    fn one_zero_one_while_unsubscribe_in_flight_ends_wired_and_keeps_echoes_exact() {
        let now = Instant::now();
        let mut t = Topics::default();
        let p = Bytes::from_static(b"1");
        assert!(t.add("a", true)); // SUBSCRIBE, seq 1
        assert!(t.published("a", &p, 2, now)); // echo certain
        assert!(t.remove("a")); // UNSUBSCRIBE, seq 3
        assert!(!t.published("a", &p, 4, now)); // after UNSUBSCRIBE: no echo
        assert!(t.add("a", true)); // SUBSCRIBE again, seq 5
        assert!(t.published("a", &p, 6, now)); // echo certain again
                                               // Echo of seq 2 arrives before the UNSUBSCRIBE confirmation.
        assert_eq!(t.incoming("a", b"1"), Incoming::Echo);
        t.unsubscribed("a", 3);
        // Echo of seq 6 arrives after the new SUBSCRIBE.
        assert_eq!(t.incoming("a", b"1"), Incoming::Echo);
        // A foreign "1" is delivered.
        assert_eq!(t.incoming("a", b"1"), Incoming::Deliver);
    }

    #[test]
    fn messages_without_listener_are_dropped_but_still_consume_echoes() {
        let now = Instant::now();
        let mut t = Topics::default();
        let p = Bytes::from_static(b"x");
        t.add("a", true);
        t.published("a", &p, 2, now);
        assert!(t.remove("a"));
        assert_eq!(t.incoming("a", b"y"), Incoming::NoListener);
        assert_eq!(t.incoming("a", b"x"), Incoming::Echo);
        t.unsubscribed("a", 3);
        assert_eq!(t.len(), 0);
        assert_eq!(t.incoming("a", b"x"), Incoming::NoListener);
    }

    #[test]
    fn listeners_added_while_down_are_subscribed_on_connect() {
        let now = Instant::now();
        let mut t = Topics::default();
        let p = Bytes::from_static(b"x");
        assert!(!t.add("a", false));
        assert!(!t.add("b", false));
        assert!(!t.remove("b"));
        assert!(!t.published("a", &p, 1, now));
        let mut names = t.resubscribe();
        names.sort();
        assert_eq!(names, vec![Box::<str>::from("a")]);
        assert!(t.published("a", &p, 2, now));
        t.disconnected();
        // The echo of seq 2 can no longer come; nothing is wired.
        assert_eq!(t.incoming("a", b"x"), Incoming::Deliver);
        assert!(!t.published("a", &p, 3, now));
        assert_eq!(t.resubscribe().len(), 1);
    }

    #[test]
    fn a_failed_publish_and_expiry_forget_entries() {
        let now = Instant::now();
        let mut t = Topics::default();
        let p = Bytes::from_static(b"x");
        t.add("a", true);
        t.published("a", &p, 2, now);
        t.publish_failed("a", 2);
        assert_eq!(t.incoming("a", b"x"), Incoming::Deliver);
        t.published("a", &p, 3, now);
        assert_eq!(
            t.expire(now + Duration::from_secs(60), Duration::from_secs(10)),
            1
        );
        assert_eq!(t.incoming("a", b"x"), Incoming::Deliver);
    }
}
