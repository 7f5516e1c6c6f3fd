//! App events on their way to JS: each tagged with its connection, gathered in one batch.
//!
//! A session's events ([`Event`], `protocol/event.rs`) are tagged with the connection's id
//! by the reactor (`reactor/session.rs`), which also attaches the upgrade request's details
//! to the connection's first event ([`Request`]). Reactors publish the events of a turn into
//! the server's [`Batch`] at its end (one short lock, never held across a syscall); the first
//! publish into an empty batch asks the embedder to schedule a drain (`Embedder::events_ready`:
//! one ThreadsafeFunction call carries the whole batch to JS, `node/events.rs`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::conn::ConnId;
use crate::protocol::Event;

/// One event of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConnEvent {
    pub(crate) conn: ConnId,
    pub(crate) event: Event,
    /// The upgrade request, with the connection's first event (`Init`, or an `Opened` put
    /// before any other); the connection does not keep it after that.
    pub(crate) request: Option<Box<Request>>,
}

/// What the app hears about a connection's upgrade request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Request {
    /// The request-target, as sent.
    pub(crate) url: String,
    /// The headers named in the `headers` option that were present, `(name, value)`.
    pub(crate) headers: Vec<(String, String)>,
    /// The subprotocol chosen at upgrade ("" for none).
    pub(crate) protocol: &'static str,
}

/// The batch of events waiting for JS.
#[derive(Default)]
pub(crate) struct Batch {
    events: Mutex<Vec<ConnEvent>>,
    scheduled: AtomicBool,
}

impl Batch {
    /// Adds a reactor's events; true if the embedder must schedule a drain.
    pub(crate) fn publish(&self, events: &mut Vec<ConnEvent>) -> bool {
        if events.is_empty() {
            return false;
        }
        {
            let mut queue = self.events.lock().unwrap_or_else(|p| p.into_inner());
            queue.append(events);
        }
        !self.scheduled.swap(true, Ordering::AcqRel)
    }

    /// Takes every waiting event (called on the JS thread by the drain).
    pub(crate) fn take(&self) -> Vec<ConnEvent> {
        // Clear the flag first: an event published after this point schedules a new drain.
        self.scheduled.store(false, Ordering::Release);
        let mut queue = self.events.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut *queue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_publish_into_an_empty_batch_schedules_a_drain() {
        let b = Batch::default();
        let ev = |n| ConnEvent {
            conn: ConnId(n),
            event: Event::Complete { id: "1".into() },
            request: None,
        };
        assert!(b.publish(&mut vec![ev(1)]));
        assert!(!b.publish(&mut vec![ev(2)]));
        assert!(!b.publish(&mut Vec::new()));
        assert_eq!(b.take().len(), 2);
        assert!(
            b.publish(&mut vec![ev(3)]),
            "after a drain the next publish schedules again"
        );
    }
}
