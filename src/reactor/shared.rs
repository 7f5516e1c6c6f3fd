//! What the reactors of one server share: the config, counters, each other's inboxes, and
//! the sink through which they report to the embedder (the napi bridge, or a test).
//!
//! Read-mostly. Counters are per reactor on their own cache lines, summed by `stats()`;
//! only the connection total is one atomic, because `maxConnections` is global.

use bytes::Bytes;
use crossbeam_channel::Sender;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};

use crate::config::Config;
use crate::error::SubwireError;
use crate::reactor::events::{Batch, ConnId, SessionOp};
use crate::ws::frame::OpCode;

/// Where reactors report faults; implemented by the napi bridge with a weak
/// ThreadsafeFunction, and by tests with a collector.
pub trait Sink: Send + Sync {
    fn error(&self, err: SubwireError);
    /// App events were published into an empty batch: schedule one drain of
    /// [`Shared::events`] on the JS thread.
    fn events_ready(&self) {}
}

/// Messages to a reactor from other threads, delivered through its inbox and waker.
pub enum Command {
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
        targets: Arc<Vec<crate::hub::Target>>,
    },
}

/// A reactor's inbox: a channel plus the waker that interrupts its poll.
#[derive(Clone)]
pub struct Handle {
    pub tx: Sender<Command>,
    pub waker: Arc<mio::Waker>,
}

impl Handle {
    /// Sends and wakes; false if the reactor has already exited.
    pub fn send(&self, cmd: Command) -> bool {
        self.tx.send(cmd).is_ok() && self.waker.wake().is_ok()
    }
}

/// One reactor's counters, padded so two reactors never share a cache line.
#[repr(align(128))]
#[derive(Default)]
pub struct Counters {
    pub accepted: AtomicU64,
    pub upgrades: AtomicU64,
    pub rejected: AtomicU64,
    pub messages_in: AtomicU64,
    pub messages_out: AtomicU64,
    pub bytes_out: AtomicU64,
    pub queued_bytes: AtomicU64,
    pub open: AtomicU64,
    pub panics: AtomicU64,
    /// Connections closed with 1008 because their queue passed `maxBufferedBytes`.
    pub slow_consumers: AtomicU64,
}

/// The hub's gauges and counters (written by the hub thread only).
#[derive(Default)]
pub struct HubStats {
    /// Live triggers.
    pub triggers: AtomicU64,
    /// Subscribers attached to triggers.
    pub subscriptions: AtomicU64,
    /// Trigger updates received (each fans out to every subscriber).
    pub updates: AtomicU64,
}

// Only the reactor that owns a `Counters` writes it (other threads only read, for stats), so
// an update is a plain load and store: no locked instruction on the per-frame path.
impl Counters {
    pub fn add(c: &AtomicU64, n: u64) {
        c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
    }
    pub fn sub(c: &AtomicU64, n: u64) {
        c.store(c.load(Relaxed).wrapping_sub(n), Relaxed);
    }
}

/// A snapshot for `server.stats()`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Live sockets counted against maxConnections (handshaking + upgraded + closing).
    pub connections: u64,
    /// Upgraded connections still open.
    pub open: u64,
    pub accepted: u64,
    pub upgrades: u64,
    /// HTTP requests answered with an error status.
    pub rejected: u64,
    pub messages_in: u64,
    pub messages_out: u64,
    pub bytes_out: u64,
    /// Bytes waiting in outbound queues now.
    pub queued_bytes: u64,
    /// Panics caught in reactors (each closed one connection).
    pub panics: u64,
    pub slow_consumers: u64,
    pub triggers: u64,
    pub trigger_subscriptions: u64,
    pub trigger_updates: u64,
    /// Upgraded connections open on each reactor (how evenly accepting spread them).
    pub open_per_reactor: Vec<u64>,
}

pub struct Shared {
    pub config: Config,
    pub sink: Box<dyn Sink>,
    /// Counted connections across all reactors.
    pub connections: AtomicUsize,
    pub stopping: AtomicBool,
    pub counters: Box<[Counters]>,
    /// Every reactor's inbox, set once they all exist.
    pub handles: OnceLock<Vec<Handle>>,
    /// App events waiting for JS (shared with the embedder's drain).
    pub events: Arc<Batch>,
    pub hub_stats: HubStats,
}

impl Shared {
    pub fn new(config: Config, sink: Box<dyn Sink>, events: Arc<Batch>) -> Shared {
        let counters = (0..config.reactors).map(|_| Counters::default()).collect();
        Shared {
            config,
            sink,
            connections: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
            counters,
            handles: OnceLock::new(),
            events,
            hub_stats: HubStats::default(),
        }
    }

    pub fn stats(&self) -> Stats {
        let hub = &self.hub_stats;
        let mut s = Stats {
            connections: self.connections.load(Relaxed) as u64,
            triggers: hub.triggers.load(Relaxed),
            trigger_subscriptions: hub.subscriptions.load(Relaxed),
            trigger_updates: hub.updates.load(Relaxed),
            ..Stats::default()
        };
        for c in self.counters.iter() {
            s.accepted += c.accepted.load(Relaxed);
            s.upgrades += c.upgrades.load(Relaxed);
            s.rejected += c.rejected.load(Relaxed);
            s.messages_in += c.messages_in.load(Relaxed);
            s.messages_out += c.messages_out.load(Relaxed);
            s.bytes_out += c.bytes_out.load(Relaxed);
            s.queued_bytes += c.queued_bytes.load(Relaxed);
            s.open += c.open.load(Relaxed);
            s.panics += c.panics.load(Relaxed);
            s.slow_consumers += c.slow_consumers.load(Relaxed);
            s.open_per_reactor.push(c.open.load(Relaxed));
        }
        s
    }

    /// Sends a command to the reactor that owns `conn`; false if there is none.
    pub fn send_to(&self, conn: ConnId, op: SessionOp) -> bool {
        let handle = self.handles.get().and_then(|h| h.get(conn.reactor()));
        handle.is_some_and(|h| h.send(Command::Session { conn, op }))
    }

    /// Sends each reactor its share of `ops` as one command and one wake-up, keeping
    /// their order per reactor; false if a reactor has exited.
    pub fn send_batch(&self, ops: Vec<(ConnId, SessionOp)>) -> bool {
        let Some(handles) = self.handles.get() else {
            return false;
        };
        let mut per: Vec<Vec<(ConnId, SessionOp)>> =
            (0..handles.len()).map(|_| Vec::new()).collect();
        for (conn, op) in ops {
            if let Some(list) = per.get_mut(conn.reactor()) {
                list.push((conn, op));
            }
        }
        let mut ok = true;
        for (h, list) in handles.iter().zip(per) {
            if !list.is_empty() {
                ok &= h.send(Command::Sessions(list));
            }
        }
        ok
    }

    /// Sends a command to every reactor.
    pub fn broadcast(&self, make: impl Fn() -> Command) {
        if let Some(handles) = self.handles.get() {
            for h in handles {
                h.send(make());
            }
        }
    }
}
