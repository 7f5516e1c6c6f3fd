//! Scale-out over Redis pub/sub: one [`Broker`] per process carries the process's topics to
//! and from Redis (channel = prefix + topic, message = the payload's JSON text, as
//! graphql-redis-subscriptions and Yoga's Redis event target use).
//!
//! The caller (the hub / napi layer) keeps the `Broker`; there is no global state here. The
//! broker runs a current_thread tokio runtime on one thread of its own with one RESP3
//! connection (redis-rs); every method of the handle only queues work and never blocks.
//! - `subscribe`/`unsubscribe` are counted per call (call them per local listener, paired):
//!   one SUBSCRIBE when a topic gets its first listener, one UNSUBSCRIBE when it loses its last.
//! - `publish` sends a PUBLISH; the caller delivers its own publish locally, and the copy that
//!   comes back from Redis is dropped (echo suppression, `topics.rs`), so every listener in
//!   every process gets each event once.
//! - Messages from Redis for topics with listeners reach [`Deliver::message`] on the broker
//!   thread; state changes and anomalies reach [`Deliver::event`].
//! - The connection is re-made with backoff and every live topic re-subscribed; while it is
//!   down a publish fails fast with `ERR_SUBWIRE_BROKER_DOWN` (only before the first connect
//!   attempt has finished are publishes held, within `max_queued_bytes`).
//!
//! Files: `config.rs` (options, URL check), `driver.rs` (connect/reconnect loop),
//! `session.rs` (one connection: the ordered command lane), `incoming.rs` (what Redis pushes),
//! `topics.rs` +
//! `echo.rs` (refcounts, echo FIFOs), `backoff.rs`, `stats.rs`.

mod backoff;
mod config;
mod driver;
mod echo;
mod incoming;
mod session;
mod stats;
mod topics;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

pub use config::BrokerConfig;
pub use stats::{BrokerState, BrokerStats};

use crate::error::{Code, SubwireError};
use stats::Counters;

/// Where the broker hands what comes from Redis. Called on the broker thread: return quickly
/// (queue the work elsewhere), never block.
pub trait Deliver: Send + Sync + 'static {
    /// A message on `topic` (the prefix removed) from another publisher, for local listeners.
    fn message(&self, topic: &str, payload: Bytes);
    /// A change of state or an anomaly.
    fn event(&self, event: BrokerEvent);
    /// The messages Redis sent together (one read's worth) have all been given to `message`:
    /// whatever was held back to go on as one batch goes now.
    fn flush(&self) {}
}

/// What the broker reports besides messages.
#[derive(Debug, Clone)]
pub enum BrokerEvent {
    /// The connection is down (or could not be made at start), since `since_ms` (ms since the
    /// epoch). Sent once per outage; the broker keeps reconnecting.
    Down { error: SubwireError, since_ms: u64 },
    /// Connected again after an outage of `down_for`; every live topic is being re-subscribed.
    Up { down_for: Duration, reconnects: u64 },
    /// A message on `topic` was not delivered (bigger than `max_payload`); reported once per topic.
    Dropped { topic: String, error: SubwireError },
    /// Redis refused a command the broker needed (a SUBSCRIBE denied by an ACL, …).
    Error(SubwireError),
}

/// Completion of a publish (or barrier): called exactly once, on the caller's thread when the
/// publish is refused at once, else on the broker thread.
pub type Done = Box<dyn FnOnce(Result<(), SubwireError>) + Send>;

pub(crate) enum Op {
    Subscribe(Box<str>),
    Unsubscribe(Box<str>),
    Publish {
        topic: Box<str>,
        payload: Bytes,
        done: Done,
    },
    Barrier(Done),
    /// Publishes handed over together ([`Broker::publish_all`]), in order.
    Many(Vec<Op>),
    Shutdown,
}

/// The process's connection to Redis. Dropping it shuts it down.
pub struct Broker {
    tx: UnboundedSender<Op>,
    counters: Arc<Counters>,
    config: BrokerConfig,
    thread: Option<JoinHandle<()>>,
    exited: Mutex<std_mpsc::Receiver<()>>,
}

impl Broker {
    /// Checks the options and starts the broker thread. Does not wait for Redis: Redis down at
    /// start is a state ([`BrokerState::Connecting`], then `Down` with an event), not an error.
    /// A malformed URL is an `ERR_SUBWIRE_INVALID_OPTION` error, here.
    pub fn start(config: BrokerConfig, deliver: Arc<dyn Deliver>) -> Result<Broker, SubwireError> {
        let client = config::client(&config)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                SubwireError::new(Code::Io, format!("cannot start the broker runtime: {e}"))
            })?;
        let (tx, rx) = unbounded_channel();
        let counters = Arc::new(Counters::new());
        let driver = driver::Driver::new(config.clone(), client, rx, deliver, counters.clone());
        let (exit_tx, exited) = std_mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("subwire-broker".into())
            .spawn(move || {
                runtime.block_on(driver.run());
                // Dropping the runtime ends redis-rs's connection task and closes its socket.
                drop(runtime);
                let _ = exit_tx.send(());
            })
            .map_err(|e| {
                SubwireError::new(Code::Io, format!("cannot start the broker thread: {e}"))
            })?;
        Ok(Broker {
            tx,
            counters,
            config,
            thread: Some(thread),
            exited: Mutex::new(exited),
        })
    }

    /// The options this broker was started with (the napi layer compares them to tell "the
    /// same broker twice" from "a different one").
    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    /// One more local listener on `topic`.
    pub fn subscribe(&self, topic: &str) {
        let _ = self.tx.send(Op::Subscribe(topic.into()));
    }

    /// One local listener fewer on `topic` (pairs with a [`Broker::subscribe`]).
    pub fn unsubscribe(&self, topic: &str) {
        let _ = self.tx.send(Op::Unsubscribe(topic.into()));
    }

    /// Publishes `payload` (the event's JSON text) on `topic`. The caller delivers it to its
    /// own local listeners; this process will not receive it back. `done` gets `Ok` once Redis
    /// accepted it, or an error: `ERR_SUBWIRE_BROKER_DOWN` (not connected: fails fast; or the
    /// connection failed before Redis answered, so the publish may or may not have reached it),
    /// `ERR_SUBWIRE_BROKER_OVERLOADED` (`max_queued_bytes` waiting), `ERR_SUBWIRE_BROKER_COMMAND`
    /// (Redis refused it), `ERR_SUBWIRE_DISPOSED` (shut down).
    pub fn publish(&self, topic: &str, payload: Bytes, done: Done) {
        if let Some(op) = self.admit(topic, payload, done) {
            self.send(op);
        }
    }

    /// [`Broker::publish`] for several, in order, handed to the broker thread at once: it
    /// sends them as one pipeline (one by one, it could wake on the first and send it alone).
    pub fn publish_all(&self, publishes: impl IntoIterator<Item = (Box<str>, Bytes, Done)>) {
        let ops: Vec<Op> = publishes
            .into_iter()
            .filter_map(|(topic, payload, done)| self.admit(&topic, payload, done))
            .collect();
        match ops.len() {
            0 => {}
            1 => self.send(ops.into_iter().next().expect("one")),
            _ => self.send(Op::Many(ops)),
        }
    }

    /// The PUBLISH of `payload`, or None when it was refused (its `done` got the error).
    fn admit(&self, topic: &str, payload: Bytes, done: Done) -> Option<Op> {
        let c = &self.counters;
        let refuse = |e: SubwireError, done: Done| {
            Counters::add(&c.publish_failed, 1);
            done(Err(e));
            None
        };
        match c.state() {
            BrokerState::Down => {
                let msg = format!(
                    "the broker at {} is down (reconnecting); the publish was not sent",
                    self.config.redacted_url()
                );
                return refuse(SubwireError::new(Code::BrokerDown, msg), done);
            }
            BrokerState::Closed => {
                return refuse(
                    SubwireError::new(Code::Disposed, "the broker was shut down"),
                    done,
                )
            }
            BrokerState::Connecting | BrokerState::Up => {}
        }
        let len = payload.len() as u64;
        let queued = c.queued_bytes.fetch_add(len, Relaxed) + len;
        if queued > self.config.max_queued_bytes as u64 && queued != len {
            Counters::sub(&c.queued_bytes, len);
            let msg = format!(
                "more than {} bytes of publishes are waiting for Redis; the publish was not sent",
                self.config.max_queued_bytes
            );
            return refuse(SubwireError::new(Code::BrokerOverloaded, msg), done);
        }
        Some(Op::Publish {
            topic: topic.into(),
            payload,
            done,
        })
    }

    /// Hands publishes to the broker thread; if it is gone, they fail as disposed.
    fn send(&self, op: Op) {
        if let Err(returned) = self.tx.send(op) {
            self.disposed(returned.0);
        }
    }

    fn disposed(&self, op: Op) {
        match op {
            Op::Publish { payload, done, .. } => {
                Counters::sub(&self.counters.queued_bytes, payload.len() as u64);
                Counters::add(&self.counters.publish_failed, 1);
                done(Err(SubwireError::new(
                    Code::Disposed,
                    "the broker was shut down",
                )));
            }
            Op::Many(ops) => ops.into_iter().for_each(|op| self.disposed(op)),
            _ => {}
        }
    }

    /// Calls `done(Ok)` once Redis has answered every command queued before it (subscriptions
    /// included); an error if the connection is down or goes down first.
    pub fn barrier(&self, done: Done) {
        if let Err(returned) = self.tx.send(Op::Barrier(done)) {
            if let Op::Barrier(done) = returned.0 {
                done(Err(SubwireError::new(
                    Code::Disposed,
                    "the broker was shut down",
                )));
            }
        }
    }

    pub fn stats(&self) -> BrokerStats {
        self.counters.snapshot()
    }

    /// Stops the broker: unsent publishes fail with `ERR_SUBWIRE_DISPOSED`, the connection is
    /// closed and the thread joined, waiting at most `limit`. False if the thread had not ended
    /// by then, or this is the broker thread itself (a `Deliver` callback): it ends on its own.
    pub fn shutdown(&mut self, limit: Duration) -> bool {
        let Some(thread) = self.thread.take() else {
            return true;
        };
        let _ = self.tx.send(Op::Shutdown);
        if thread.thread().id() == std::thread::current().id() {
            // Called from a `Deliver` callback: the thread ends once the callback returns.
            return false;
        }
        let exited = self.exited.lock().unwrap_or_else(|e| e.into_inner());
        match exited.recv_timeout(limit) {
            Ok(()) | Err(std_mpsc::RecvTimeoutError::Disconnected) => {
                let _ = thread.join();
                true
            }
            Err(std_mpsc::RecvTimeoutError::Timeout) => false,
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.shutdown(Duration::from_secs(2));
    }
}
