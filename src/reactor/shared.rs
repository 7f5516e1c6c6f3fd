//! What the threads of one server share: the config, the connection total, the reactors'
//! inboxes and counters, the app-event batch, and the way to the embedder.
//!
//! Built by [`crate::server::Server::start`] and held (in an `Arc`) by every reactor, the
//! hub and the server. Read-mostly: the config never changes; the only value every reactor
//! writes is the connection total, one atomic because `maxConnections` is global; counters
//! and metric cells are per reactor (`crate::stats`, `crate::metrics`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use super::events::Batch;
use super::inbox::Inboxes;
use crate::config::Config;
use crate::error::SubwireError;
use crate::metrics::{HubMetrics, ReactorMetrics};
use crate::stats::{Counters, HubStats, Stats};

/// The embedder (the napi bridge, or a test): where reactors and the hub report faults, and
/// who is told when app events wait for it.
pub(crate) trait Embedder: Send + Sync {
    fn error(&self, err: SubwireError);
    /// App events were published into an empty batch: schedule one drain of
    /// [`Shared::events`] on the JS thread.
    fn events_ready(&self) {}
}

pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) embedder: Box<dyn Embedder>,
    /// Counted connections across all reactors.
    pub(crate) connections: AtomicUsize,
    pub(crate) stopping: AtomicBool,
    /// Per reactor, by index.
    pub(crate) counters: Box<[Counters]>,
    pub(crate) inboxes: Inboxes,
    /// App events waiting for JS (shared with the embedder's drain).
    pub(crate) events: Arc<Batch>,
    pub(crate) hub_stats: HubStats,
    /// Per reactor, by index: its metric cells (histograms, closes by code…).
    pub(crate) metrics: Box<[ReactorMetrics]>,
    pub(crate) hub_metrics: HubMetrics,
}

impl Shared {
    pub(crate) fn new(config: Config, embedder: Box<dyn Embedder>, events: Arc<Batch>) -> Shared {
        let counters = (0..config.reactors).map(|_| Counters::default()).collect();
        let metrics = (0..config.reactors)
            .map(|_| ReactorMetrics::default())
            .collect();
        Shared {
            config,
            embedder,
            connections: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
            counters,
            inboxes: Inboxes::default(),
            events,
            hub_stats: HubStats::default(),
            metrics,
            hub_metrics: HubMetrics::default(),
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        let connections = self.connections.load(Relaxed) as u64;
        Stats::collect(connections, &self.counters, &self.hub_stats)
    }

    /// The server's metric families (`crate::metrics::families`), read now.
    pub(crate) fn metric_families(&self) -> Vec<crate::metrics::Family> {
        crate::metrics::families(&self.stats(), &self.metrics, &self.hub_metrics)
    }
}
