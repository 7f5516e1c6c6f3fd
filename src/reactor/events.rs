//! The app-event bridge between reactors and JS: connection ids, owned events, one batch.
//!
//! Reactors collect the events their sessions produce during a turn and publish them here
//! once per turn (one short lock, never held across a syscall); the first publish into an
//! empty batch asks the embedder to schedule a drain ([`crate::reactor::shared::Sink::events_ready`]:
//! one ThreadsafeFunction call carries the whole batch to JS). JS answers through
//! [`SessionOp`]s routed to the owning reactor by the connection id.

use bytes::Bytes;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::protocol::{OpSerial, WholeKind};
use crate::ws::CloseCode;

/// A connection's id as JS sees it: reactor (6 bits) | slab key (22 bits) | generation
/// (25 bits) — 53 bits, so it is an exact JS number. The generation tells a reused slot
/// from the connection that held it before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnId(pub u64);

const KEY_BITS: u32 = 22;
const GEN_BITS: u32 = 25;

impl ConnId {
    pub fn new(reactor: usize, key: usize, gen: u32) -> ConnId {
        let gen = gen as u64 & ((1 << GEN_BITS) - 1);
        let key = key as u64 & ((1 << KEY_BITS) - 1);
        ConnId(((reactor as u64) << (KEY_BITS + GEN_BITS)) | (key << GEN_BITS) | gen)
    }
    pub fn reactor(self) -> usize {
        (self.0 >> (KEY_BITS + GEN_BITS)) as usize
    }
    pub fn key(self) -> usize {
        ((self.0 >> GEN_BITS) & ((1 << KEY_BITS) - 1)) as usize
    }
    /// Whether a connection with generation `gen` is the one this id names.
    pub fn matches_gen(self, gen: u32) -> bool {
        self.0 & ((1 << GEN_BITS) - 1) == gen as u64 & ((1 << GEN_BITS) - 1)
    }
}

/// What happened on a connection, owned so it can cross to the JS thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// `connection_init`: payload is the raw JSON object, if any. `url`, the requested
    /// headers `(name, value)` and the subprotocol describe the upgrade request.
    Init {
        payload: Option<String>,
        url: String,
        headers: Vec<(String, String)>,
        protocol: &'static str,
    },
    /// `subscribe` / legacy `start`: payload is the raw JSON of the operation; `serial`
    /// names the operation (answers carry it back, see `protocol/ids.rs`).
    Subscribe {
        id: String,
        serial: OpSerial,
        payload: String,
    },
    /// The client completed (or stopped) operation `id`.
    Complete { id: String },
    /// The connection's first event when it is not `Init` (a `Message`, `Ping` or `Pong`
    /// before `connection_init`): what `Init` would have carried about the upgrade request.
    Opened {
        url: String,
        headers: Vec<(String, String)>,
        protocol: &'static str,
    },
    /// A graphql-transport-ws `ping` for the app to answer (raw JSON payload, if any).
    Ping { payload: Option<String> },
    /// A graphql-transport-ws `pong` for the app (raw JSON payload, if any).
    Pong { payload: Option<String> },
    /// A client message, unread (the app parses messages itself).
    Message { text: String },
    /// An app-parsed `subscribe` refused as one operation too many; `payload` is the app's
    /// token from its envelope.
    Refused { id: String, payload: String },
    /// The connection closed, whoever closed it; sent once.
    Closed {
        code: CloseCode,
        reason: String,
        acknowledged: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppEvent {
    pub conn: ConnId,
    pub kind: EventKind,
}

/// What JS tells a connection's session.
#[derive(Debug, Clone)]
pub enum SessionOp {
    /// Accept `connection_init`; the optional JSON object goes into `connection_ack`.
    AcceptInit(Option<String>),
    /// Refuse it (4403, or legacy `connection_error` with this message).
    RejectInit(String),
    /// A result for operation `id` with serial `OpSerial` (0: whichever holds the id): JSON
    /// bytes framed as given.
    Next(String, OpSerial, Bytes),
    /// Operation `id` failed: a JSON array of GraphQL errors.
    Error(String, OpSerial, Bytes),
    /// Operation `id` ended.
    Complete(String, OpSerial),
    /// Accept `connection_init` with this whole `connection_ack` (graphql-transport-ws).
    AcceptInitWhole(Bytes),
    /// `next`/`error`/`complete` for operation `id` (with its serial), the whole message as
    /// the app wrote it.
    Whole(WholeKind, String, OpSerial, Bytes),
    /// The app's whole `pong`, after a `Ping` event.
    Pong(Bytes),
    /// A client message the app parsed, as its envelope (`Session::on_app_message`).
    AppMessage(String),
    /// A hook threw: 4500 (legacy: `connection_error`, then 1011).
    InternalError(String),
    /// Close the connection with this code and reason.
    Close(CloseCode, String),
}

/// The batch of events waiting for JS.
#[derive(Default)]
pub struct Batch {
    events: Mutex<Vec<AppEvent>>,
    scheduled: AtomicBool,
}

impl Batch {
    /// Adds a reactor's events; true if the embedder must schedule a drain.
    pub fn publish(&self, events: &mut Vec<AppEvent>) -> bool {
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
    pub fn take(&self) -> Vec<AppEvent> {
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
    fn conn_ids_round_trip_and_fit_a_js_number() {
        let id = ConnId::new(63, (1 << 22) - 1, u32::MAX);
        assert!(id.0 < 1 << 53);
        assert_eq!(id.reactor(), 63);
        assert_eq!(id.key(), (1 << 22) - 1);
        assert!(id.matches_gen(u32::MAX));
        assert!(!id.matches_gen(u32::MAX - 1));
        let id = ConnId::new(1, 5, 7);
        assert_eq!((id.reactor(), id.key()), (1, 5));
    }

    #[test]
    fn only_the_first_publish_into_an_empty_batch_schedules_a_drain() {
        let b = Batch::default();
        let ev = |n| AppEvent {
            conn: ConnId(n),
            kind: EventKind::Complete { id: "1".into() },
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
