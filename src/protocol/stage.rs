//! A session's phase, and what only that phase holds: the messages that arrived while the
//! app decides on `connection_init`, then the ids of the active operations.
//!
//! Held by the session machine (`session.rs`), whatever its protocol. Keeping each phase's
//! data inside the phase costs no bytes per connection: the waiting queue exists only
//! while the app decides, the ids only once it accepted, and the enum is as small as `Ids`.
//!
//! Messages while deciding: a client may send `subscribe` (legacy `start`) right after
//! `connection_init`, before the ack (graphql-ws takes it once `onConnect` has returned, and
//! closes 4401 before; Apollo's legacy client never waits). Such messages, and `complete`/
//! `stop` after them so their order holds, are kept here and handled in order right after
//! the app accepts ([`Stage::acknowledge`]); a rejection or a close drops them. The queue is
//! allocated only then, and bounded: at most [`max_waiting`] messages (the operation limit
//! plus [`EXTRA_WAITING`], so a reconnecting legacy client may resubscribe everything) and
//! [`MAX_WAITING_BYTES`] (one larger message is still kept when it is the only one). Past
//! either, the session closes with 1008 [`TOO_MANY_WAITING`].

use std::collections::VecDeque;

use super::ids::Ids;

/// The waiting messages' byte bound (their text).
pub const MAX_WAITING_BYTES: usize = 256 * 1024;
/// Waiting messages allowed beyond `maxSubscriptionsPerConnection`.
pub const EXTRA_WAITING: usize = 16;
/// The close reason when the bound is passed (code 1008, policy violation: the client broke
/// a limit of the server, as a slow consumer does).
pub const TOO_MANY_WAITING: &str = "Too many messages before the connection was acknowledged";

/// How many messages may wait for the app's decision, for a server whose operation limit
/// is `max_ops`.
pub fn max_waiting(max_ops: u32) -> usize {
    (max_ops as usize).saturating_add(EXTRA_WAITING)
}

/// Where the connection is, with that phase's state.
#[derive(Debug, Default)]
pub(super) enum Stage {
    /// Waiting for `connection_init` (the init deadline runs).
    #[default]
    AwaitInit,
    /// `connection_init` went to the app; messages that need its decision wait here.
    Deciding(Option<Box<Waiting>>),
    /// The app accepted: operations run; their ids.
    Acked(Ids),
    /// Closed; every input is ignored.
    Closed,
}

/// Messages kept while the app decides (owned copies of their text).
#[derive(Debug, Default)]
pub(super) struct Waiting {
    texts: VecDeque<Box<str>>,
    bytes: usize,
}

impl Stage {
    pub(super) fn is_closed(&self) -> bool {
        matches!(self, Stage::Closed)
    }

    pub(super) fn is_acked(&self) -> bool {
        matches!(self, Stage::Acked(_))
    }

    pub(super) fn is_deciding(&self) -> bool {
        matches!(self, Stage::Deciding(_))
    }

    /// The active operations' ids (only once acknowledged).
    pub(super) fn ids(&self) -> Option<&Ids> {
        match self {
            Stage::Acked(ids) => Some(ids),
            _ => None,
        }
    }

    pub(super) fn ids_mut(&mut self) -> Option<&mut Ids> {
        match self {
            Stage::Acked(ids) => Some(ids),
            _ => None,
        }
    }

    /// Keeps `text` until the decision. False (nothing kept) when it would pass the bounds,
    /// or when the session is not deciding.
    pub(super) fn hold(&mut self, text: &str, max_count: usize) -> bool {
        let Stage::Deciding(slot) = self else {
            return false;
        };
        let w = slot.get_or_insert_with(Box::default);
        let fits = w.texts.is_empty() || w.bytes.saturating_add(text.len()) <= MAX_WAITING_BYTES;
        if !fits || w.texts.len() >= max_count {
            return false;
        }
        w.bytes += text.len();
        w.texts.push_back(text.into());
        true
    }

    /// The app accepted: the stage becomes `Acked` and the messages that waited are returned,
    /// in arrival order, for the session to handle now.
    pub(super) fn acknowledge(&mut self) -> VecDeque<Box<str>> {
        match std::mem::replace(self, Stage::Acked(Ids::default())) {
            Stage::Deciding(Some(w)) => w.texts,
            _ => VecDeque::new(),
        }
    }

    /// How many messages wait.
    #[cfg(test)]
    pub(super) fn waiting(&self) -> usize {
        match self {
            Stage::Deciding(Some(w)) => w.texts.len(),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_in_order_within_bounds_and_costs_nothing_idle() {
        assert!(std::mem::size_of::<Stage>() <= std::mem::size_of::<Ids>());
        let mut s = Stage::AwaitInit;
        assert!(!s.hold("x", 10), "only while deciding");
        s = Stage::Deciding(None);
        for i in 0..3 {
            assert!(s.hold(&format!("m{i}"), 3));
        }
        assert!(!s.hold("m3", 3), "count bound");
        assert_eq!(s.waiting(), 3);
        let got: Vec<_> = s.acknowledge().into_iter().collect();
        assert_eq!(
            got,
            ["m0".into(), "m1".into(), "m2".into()] as [Box<str>; 3]
        );
        assert!(s.is_acked() && s.ids().is_some_and(|i| !i.allocated()));

        let mut s = Stage::Deciding(None);
        let big = "b".repeat(MAX_WAITING_BYTES + 1);
        assert!(
            s.hold(&big, 10),
            "one message over the byte bound is kept alone"
        );
        assert!(!s.hold("x", 10), "nothing after it");
        let mut s = Stage::Deciding(None);
        assert!(s.hold(&"a".repeat(MAX_WAITING_BYTES - 1), 10));
        assert!(s.hold("b", 10));
        assert!(!s.hold("c", 10), "byte bound");
        assert_eq!(max_waiting(100), 116);
        assert_eq!(max_waiting(u32::MAX), u32::MAX as usize + EXTRA_WAITING);
    }
}
