//! Prometheus metrics: the cells each thread writes, and the families a scrape reads.
//!
//! Same model as `crate::stats`: every cell has one writer, which updates it with a plain
//! load and store (no lock, no locked instruction); a scrape, on the JS thread, reads and
//! adds them up. Writers:
//! - each reactor its [`ReactorMetrics`] (closes by code, rejections by status, time
//!   outs, bytes in, results and errors sent, busy time, turn and fan-out histograms), on
//!   its own cache lines, held in `reactor::shared::Shared` next to its `Counters`;
//! - the hub thread its [`HubMetrics`] (fan-out sizes, and the fan-out durations it
//!   happens to finish itself);
//! - the JS thread its [`BridgeMetrics`] (sizes of the batches that cross the napi bridge),
//!   held by the napi bridge.
//!
//! Files: `histogram.rs` (fixed buckets, merged on scrape), `clock.rs` (one hub update's
//! fan-out clock), `family.rs` (what a scrape returns, renderer-neutral), `families.rs`
//! (every family Rust exports: names, help, values). The napi bridge (`node/metrics.rs`)
//! hands the families to JS, which adds its own and renders the text (lib/metrics.js).

mod clock;
mod families;
mod family;
mod histogram;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

pub(crate) use clock::FanoutClock;
pub(crate) use families::families;
#[cfg(feature = "node")]
pub(crate) use families::{bridge_families, process_families};
pub(crate) use family::Family;
pub(crate) use histogram::Histogram;

use crate::ws::upgrade::Reject;
use crate::ws::CloseCode;

/// Adds `n` to a cell only the calling thread writes (a plain load and store).
pub(crate) fn add(c: &AtomicU64, n: u64) {
    c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
}

/// Close counters: one per code of `CloseCode`'s table, then one for every other code.
const CLOSE_SLOTS: usize = CloseCode::KNOWN + 1;

/// One reactor's metric cells (written by that reactor only).
#[repr(align(128))]
#[derive(Default)]
pub(crate) struct ReactorMetrics {
    closes: [AtomicU64; CLOSE_SLOTS],
    rejections: [AtomicU64; Reject::ALL.len()],
    /// Connections dropped because their upgrade request did not complete in time.
    pub(crate) handshake_timeouts: AtomicU64,
    /// Connections dropped because the peer did not finish a close (or hang up after an
    /// HTTP error) within `closeTimeout`.
    pub(crate) close_timeouts: AtomicU64,
    /// Times accepting paused because the process ran out of file descriptors.
    pub(crate) accept_pauses: AtomicU64,
    pub(crate) bytes_in: AtomicU64,
    /// `next` (legacy `data`) messages queued to subscribers, whichever path made them.
    pub(crate) results: AtomicU64,
    /// `error` messages for an operation.
    pub(crate) operation_errors: AtomicU64,
    /// Time spent between polls (handling events, commands, timers, flushing), in ns.
    pub(crate) busy_ns: AtomicU64,
    /// One sample per poll turn, in ns.
    pub(crate) turns: Histogram,
    /// Hub updates whose fan-out this reactor finished last, in ns from publish.
    pub(crate) fanout: Histogram,
}

impl ReactorMetrics {
    /// An upgraded connection ended with `code` (count each connection once: when it
    /// leaves the open state).
    pub(crate) fn closed(&self, code: CloseCode) {
        let slot = code.table_index().unwrap_or(CloseCode::KNOWN);
        add(&self.closes[slot], 1);
    }

    /// An upgrade request was refused with `reject`'s status.
    pub(crate) fn rejected(&self, reject: Reject) {
        if let Some(i) = Reject::ALL.iter().position(|&r| r == reject) {
            add(&self.rejections[i], 1);
        }
    }

    /// A fan-out this reactor finished last took `ns`.
    pub(crate) fn fanout_done(&self, ns: u64) {
        self.fanout.observe(histogram::FANOUT_NS, ns);
    }

    /// A poll turn took `ns`.
    pub(crate) fn turn(&self, ns: u64) {
        add(&self.busy_ns, ns);
        self.turns.observe(histogram::TURN_NS, ns);
    }
}

/// The hub thread's metric cells.
#[derive(Default)]
pub(crate) struct HubMetrics {
    /// Subscribers each update was sent to.
    pub(crate) fanout_size: Histogram,
    /// Fan-outs every reactor had finished before the hub let go of the clock.
    pub(crate) fanout: Histogram,
}

impl HubMetrics {
    pub(crate) fn update_sent(&self, subscribers: usize) {
        self.fanout_size
            .observe(histogram::FANOUT_SIZE, subscribers as u64);
    }

    pub(crate) fn fanout_done(&self, ns: u64) {
        self.fanout.observe(histogram::FANOUT_NS, ns);
    }
}

/// The JS thread's metric cells: how many items cross the napi bridge per call.
#[derive(Default)]
pub(crate) struct BridgeMetrics {
    /// Hub events per `hubFlush` (one JS turn's publishes, joins and leaves).
    pub(crate) hub_events: Histogram,
    /// Session answers per `batch()` call.
    pub(crate) answers: Histogram,
    /// App events per drain into JS.
    pub(crate) app_events: Histogram,
}

impl BridgeMetrics {
    pub(crate) fn observe(h: &Histogram, items: usize) {
        h.observe(histogram::BATCH_SIZE, items as u64);
    }
}
