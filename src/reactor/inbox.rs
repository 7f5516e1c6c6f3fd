//! A reactor's inbox: the commands other threads send it, and how they reach it.
//!
//! The JS thread (answers, broadcasts, shutdown, adopted sockets) and the hub thread
//! (trigger updates, a trigger's end) send [`Command`]s through [`Inboxes`]; each reactor
//! drains its channel when its [`mio::Waker`] interrupts its poll (`reactor/mod.rs`).
//! [`Target`], a trigger's subscriber as the hub lists it and the reactor frames it, is
//! defined here with the command that carries it, so the hub depends on the reactor's
//! inbox and not the other way round.

use bytes::Bytes;
use crossbeam_channel::Sender;
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use super::conn::ConnId;
use crate::metrics::FanoutClock;
use crate::protocol::{next_prefix, prefix_id, OpSerial, SessionOp};
use crate::ws::frame::OpCode;

/// Messages to a reactor from other threads, delivered through its inbox and waker.
pub(crate) enum Command {
    /// Queue this payload to every open connection of the reactor.
    Broadcast { opcode: OpCode, payload: Bytes },
    /// Stop accepting, close open connections with 1001, exit when all are gone.
    Shutdown,
    /// A connection accepted by Node, handed over with the bytes Node already read.
    Adopt {
        sock: std::net::TcpStream,
        bytes: Vec<u8>,
    },
    /// The app's answer for one connection's session.
    Session { conn: ConnId, op: SessionOp },
    /// Many answers, in the order JS gave them (one JS turn's worth for this reactor).
    Sessions(Vec<(ConnId, SessionOp)>),
    /// One trigger update for this reactor's subscribers: each gets its own prefix, then
    /// the shared `payload` (which ends with the message's closing `}`), if its operation
    /// is still active.
    Next {
        payload: Bytes,
        targets: Arc<Vec<Target>>,
        /// The update's fan-out clock: the reactor lets go of it at the end of the turn
        /// that wrote the frames (`crate::metrics::FanoutClock`).
        clock: Arc<FanoutClock>,
    },
}

/// One subscriber of a trigger: its connection and the bytes that go before the shared
/// payload in its `next` (legacy: `data`) message, which also carry its operation id.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) conn: ConnId,
    /// The operation's serial: a later operation reusing the id is not this subscriber
    /// (0: whichever operation holds the id).
    pub(crate) serial: OpSerial,
    /// `{"id":<id>,"type":"next","payload":` (`protocol::next_prefix`); the message ends
    /// with the payload and `}`.
    pub(crate) prefix: Arc<[u8]>,
}

impl Target {
    /// Subscriber `id` of connection `conn`, operation `serial`; `legacy`: the connection
    /// speaks subscriptions-transport-ws (`data` instead of `next`).
    pub(crate) fn new(conn: ConnId, id: &str, legacy: bool, serial: OpSerial) -> Target {
        Target {
            conn,
            serial,
            prefix: next_prefix(id, legacy),
        }
    }

    /// The operation id (read from the prefix; borrowed unless it needed escaping).
    pub(crate) fn id(&self) -> Option<Cow<'_, str>> {
        prefix_id(&self.prefix)
    }
}

/// One reactor's inbox: a channel plus the waker that interrupts its poll.
#[derive(Clone)]
pub(crate) struct Inbox {
    pub(crate) tx: Sender<Command>,
    pub(crate) waker: Arc<mio::Waker>,
}

impl Inbox {
    /// Sends and wakes; false if the reactor has already exited.
    pub(crate) fn send(&self, cmd: Command) -> bool {
        self.tx.send(cmd).is_ok() && self.waker.wake().is_ok()
    }
}

/// Every reactor's inbox (by reactor index), set once they all exist.
#[derive(Default)]
pub(crate) struct Inboxes(OnceLock<Vec<Inbox>>);

impl Inboxes {
    /// Sets the inboxes, once (later calls are ignored).
    pub(crate) fn set(&self, inboxes: Vec<Inbox>) {
        let _ = self.0.set(inboxes);
    }

    /// Every inbox (none before they are set).
    pub(crate) fn all(&self) -> &[Inbox] {
        self.0.get().map_or(&[], Vec::as_slice)
    }

    /// Reactor `r`'s inbox.
    pub(crate) fn get(&self, r: usize) -> Option<&Inbox> {
        self.all().get(r)
    }

    /// Sends a command to the reactor that owns `conn`; false if there is none.
    pub(crate) fn send_to(&self, conn: ConnId, op: SessionOp) -> bool {
        self.get(conn.reactor())
            .is_some_and(|h| h.send(Command::Session { conn, op }))
    }

    /// Sends each reactor its share of `ops` as one command and one wake-up, keeping
    /// their order per reactor; false if a reactor has exited.
    pub(crate) fn send_batch(&self, ops: Vec<(ConnId, SessionOp)>) -> bool {
        let inboxes = self.all();
        if inboxes.is_empty() {
            return false;
        }
        let mut per: Vec<Vec<(ConnId, SessionOp)>> =
            (0..inboxes.len()).map(|_| Vec::new()).collect();
        for (conn, op) in ops {
            if let Some(list) = per.get_mut(conn.reactor()) {
                list.push((conn, op));
            }
        }
        let mut ok = true;
        for (h, list) in inboxes.iter().zip(per) {
            if !list.is_empty() {
                ok &= h.send(Command::Sessions(list));
            }
        }
        ok
    }

    /// Sends a command to every reactor.
    pub(crate) fn broadcast(&self, make: impl Fn() -> Command) {
        for h in self.all() {
            h.send(make());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_is_small_and_knows_its_id() {
        assert_eq!(std::mem::size_of::<Target>(), 32);
        let target = Target::new(ConnId(7), "op \"7\"", true, 0);
        assert_eq!(target.id().as_deref(), Some("op \"7\""));
        assert!(target.prefix.ends_with(br#","type":"data","payload":"#));
    }
}
