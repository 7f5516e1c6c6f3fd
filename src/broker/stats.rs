//! Broker counters: written by the broker thread with relaxed atomics, read by
//! [`super::Broker::stats`] from any thread without a lock.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};
use std::time::{SystemTime, UNIX_EPOCH};

/// The connection to Redis, as the broker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerState {
    /// Started; the first connection attempt has not finished.
    Connecting,
    /// Connected, subscriptions restored.
    Up,
    /// Not connected; reconnecting with backoff. Publishes fail fast.
    Down,
    /// `shutdown()` was called or the broker thread ended.
    Closed,
}

impl BrokerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BrokerState::Connecting => "connecting",
            BrokerState::Up => "up",
            BrokerState::Down => "down",
            BrokerState::Closed => "closed",
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            0 => BrokerState::Connecting,
            1 => BrokerState::Up,
            2 => BrokerState::Down,
            _ => BrokerState::Closed,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            BrokerState::Connecting => 0,
            BrokerState::Up => 1,
            BrokerState::Down => 2,
            BrokerState::Closed => 3,
        }
    }
}

/// A snapshot of [`super::Broker::stats`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerStats {
    pub state: BrokerState,
    /// When `state` began, in ms since the Unix epoch.
    pub since_ms: u64,
    /// Connections made after the first one.
    pub reconnects: u64,
    /// PUBLISHes Redis accepted.
    pub published: u64,
    /// Publishes that failed (broker down, queue full, command error, shutdown).
    pub publish_failed: u64,
    /// Messages that came from Redis on our channels.
    pub received: u64,
    /// Messages handed to `Deliver::message`.
    pub delivered: u64,
    /// Own publishes that came back and were not delivered again.
    pub echoes_dropped: u64,
    /// Messages dropped: no local listener left, bigger than the limit, or a channel that is not
    /// valid UTF-8 under the prefix.
    pub dropped: u64,
    /// Of `dropped`: messages bigger than `max_payload`.
    pub oversized: u64,
    /// Channels the connection is subscribed to, as Redis last confirmed.
    pub topics_subscribed: u64,
    /// Bytes of publishes accepted but not yet answered by Redis.
    pub queued_bytes: u64,
}

#[derive(Default)]
pub(super) struct Counters {
    state: AtomicU8,
    since_ms: AtomicU64,
    pub(super) reconnects: AtomicU64,
    pub(super) published: AtomicU64,
    pub(super) publish_failed: AtomicU64,
    pub(super) received: AtomicU64,
    pub(super) delivered: AtomicU64,
    pub(super) echoes_dropped: AtomicU64,
    pub(super) dropped: AtomicU64,
    pub(super) oversized: AtomicU64,
    pub(super) topics_subscribed: AtomicU64,
    pub(super) queued_bytes: AtomicU64,
}

pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Counters {
    pub(super) fn new() -> Self {
        let c = Counters::default();
        c.since_ms.store(now_ms(), Relaxed);
        c
    }

    pub(super) fn state(&self) -> BrokerState {
        BrokerState::from_u8(self.state.load(Relaxed))
    }

    /// Sets the state; `since` changes only when the state does. Returns the previous state.
    pub(super) fn set_state(&self, s: BrokerState, at_ms: u64) -> BrokerState {
        let prev = BrokerState::from_u8(self.state.swap(s.to_u8(), Relaxed));
        if prev != s {
            self.since_ms.store(at_ms, Relaxed);
        }
        prev
    }

    pub(super) fn since_ms(&self) -> u64 {
        self.since_ms.load(Relaxed)
    }

    pub(super) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    pub(super) fn sub(counter: &AtomicU64, n: u64) {
        counter.fetch_sub(n, Relaxed);
    }

    pub(super) fn snapshot(&self) -> BrokerStats {
        BrokerStats {
            state: self.state(),
            since_ms: self.since_ms(),
            reconnects: self.reconnects.load(Relaxed),
            published: self.published.load(Relaxed),
            publish_failed: self.publish_failed.load(Relaxed),
            received: self.received.load(Relaxed),
            delivered: self.delivered.load(Relaxed),
            echoes_dropped: self.echoes_dropped.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            oversized: self.oversized.load(Relaxed),
            topics_subscribed: self.topics_subscribed.load(Relaxed),
            queued_bytes: self.queued_bytes.load(Relaxed),
        }
    }
}
