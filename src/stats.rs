//! Every counter and gauge of a server, and the snapshot `server.stats()` returns.
//!
//! Written without locks on the hot path: each reactor has its own [`Counters`] on their own
//! cache lines, which only it writes (a plain load and store, no locked instruction); the hub
//! thread alone writes [`HubStats`]. Other threads only read, when [`Stats::collect`] sums
//! them for the napi bridge. The connection total is not here: it is the one atomic the
//! reactors share to enforce `maxConnections` (`reactor/shared.rs`).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// One reactor's counters, padded so two reactors never share a cache line.
#[repr(align(128))]
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) accepted: AtomicU64,
    pub(crate) upgrades: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) messages_in: AtomicU64,
    pub(crate) messages_out: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
    pub(crate) queued_bytes: AtomicU64,
    pub(crate) open: AtomicU64,
    pub(crate) panics: AtomicU64,
    /// Connections closed with 1008 because their queue passed `maxBufferedBytes`.
    pub(crate) slow_consumers: AtomicU64,
}

// Only the reactor that owns a `Counters` writes it (other threads only read, for stats), so
// an update is a plain load and store: no locked instruction on the per-frame path.
impl Counters {
    pub(crate) fn add(c: &AtomicU64, n: u64) {
        c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
    }
    pub(crate) fn sub(c: &AtomicU64, n: u64) {
        c.store(c.load(Relaxed).wrapping_sub(n), Relaxed);
    }
}

/// The hub's gauges and counters (written by the hub thread only).
#[derive(Default)]
pub(crate) struct HubStats {
    /// Live triggers.
    pub(crate) triggers: AtomicU64,
    /// Subscribers attached to triggers.
    pub(crate) subscriptions: AtomicU64,
    /// Trigger updates received (each fans out to every subscriber).
    pub(crate) updates: AtomicU64,
}

/// A snapshot for `server.stats()`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Stats {
    /// Live sockets counted against maxConnections (handshaking + upgraded + closing).
    pub(crate) connections: u64,
    /// Upgraded connections still open.
    pub(crate) open: u64,
    pub(crate) accepted: u64,
    pub(crate) upgrades: u64,
    /// HTTP requests answered with an error status.
    pub(crate) rejected: u64,
    pub(crate) messages_in: u64,
    pub(crate) messages_out: u64,
    pub(crate) bytes_out: u64,
    /// Bytes waiting in outbound queues now.
    pub(crate) queued_bytes: u64,
    /// Panics caught in reactors (each closed one connection).
    pub(crate) panics: u64,
    pub(crate) slow_consumers: u64,
    pub(crate) triggers: u64,
    pub(crate) trigger_subscriptions: u64,
    pub(crate) trigger_updates: u64,
    /// Upgraded connections open on each reactor (how evenly accepting spread them).
    pub(crate) open_per_reactor: Vec<u64>,
}

impl Stats {
    /// Sums the reactors' counters and reads the hub's gauges.
    pub(crate) fn collect(connections: u64, reactors: &[Counters], hub: &HubStats) -> Stats {
        let mut s = Stats {
            connections,
            triggers: hub.triggers.load(Relaxed),
            trigger_subscriptions: hub.subscriptions.load(Relaxed),
            trigger_updates: hub.updates.load(Relaxed),
            ..Stats::default()
        };
        for c in reactors {
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
}
