//! The broker thread's task: connect, run a session (`session.rs`) until the connection is
//! lost, report it, back off, reconnect; meanwhile keep the topic table up to date and answer
//! publishes that cannot be sent. Spawned by [`super::Broker::start`] on its own thread with a
//! current_thread tokio runtime; it owns all broker state, so nothing here needs a lock.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, PushInfo};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use super::backoff::Backoff;
use super::config::BrokerConfig;
use super::session::{self, End};
use super::stats::{now_ms, BrokerState, Counters};
use super::topics::Topics;
use super::{BrokerEvent, Deliver, Done, Op};
use crate::error::{Code, SubwireError};

pub(super) struct Driver {
    pub(super) cfg: BrokerConfig,
    client: redis::Client,
    pub(super) rx: UnboundedReceiver<Op>,
    pub(super) deliver: Arc<dyn Deliver>,
    pub(super) counters: Arc<Counters>,
    pub(super) topics: Topics,
    /// Publishes that arrived before the first connection attempt ended.
    pub(super) held: VecDeque<Op>,
    /// Topics whose undeliverable message was reported already (once per topic).
    pub(super) reported: HashSet<Box<str>>,
    /// Lane sequence numbers (see `session.rs`); never reused.
    pub(super) seq: u64,
    ever_connected: bool,
    down_since: Option<Instant>,
}

pub(super) fn err(code: Code, msg: impl Into<String>) -> SubwireError {
    SubwireError::new(code, msg)
}

pub(super) fn redis_err(code: Code, what: &str, e: &redis::RedisError) -> SubwireError {
    err(code, format!("{what}: {e}"))
}

impl Driver {
    pub(super) fn new(
        cfg: BrokerConfig,
        client: redis::Client,
        rx: UnboundedReceiver<Op>,
        deliver: Arc<dyn Deliver>,
        counters: Arc<Counters>,
    ) -> Self {
        Driver {
            cfg,
            client,
            rx,
            deliver,
            counters,
            topics: Topics::default(),
            held: VecDeque::new(),
            reported: HashSet::new(),
            seq: 0,
            ever_connected: false,
            down_since: None,
        }
    }

    pub(super) async fn run(mut self) {
        let seed = now_ms() ^ (std::process::id() as u64) << 32;
        let mut backoff = Backoff::new(self.cfg.backoff_min, self.cfg.backoff_max, seed);
        loop {
            let attempt = connect(self.client.clone(), self.cfg.connect_timeout);
            tokio::pin!(attempt);
            let outcome = loop {
                tokio::select! {
                    r = &mut attempt => break r,
                    op = self.rx.recv() => if !self.offline(op) { return self.close() },
                }
            };
            match outcome {
                Ok((conn, pushes)) => {
                    backoff.reset();
                    self.connected();
                    match session::run(&mut self, conn, pushes).await {
                        End::Shutdown => return self.close(),
                        End::Lost(e) => self.lost(e),
                    }
                }
                Err(e) => self.lost(e),
            }
            let pause = tokio::time::sleep(backoff.next_delay());
            tokio::pin!(pause);
            loop {
                tokio::select! {
                    _ = &mut pause => break,
                    op = self.rx.recv() => if !self.offline(op) { return self.close() },
                }
            }
        }
    }

    /// Handles a caller's operation while there is no connection. False: stop the broker.
    fn offline(&mut self, op: Option<Op>) -> bool {
        match op {
            None | Some(Op::Shutdown) => return false,
            Some(Op::Subscribe(t)) => {
                self.topics.add(&t, false);
            }
            Some(Op::Unsubscribe(t)) => {
                self.topics.remove(&t);
            }
            Some(Op::Many(ops)) => {
                for op in ops {
                    self.offline(Some(op));
                }
            }
            Some(op @ (Op::Publish { .. } | Op::Barrier(_))) => {
                if self.counters.state() == BrokerState::Connecting {
                    self.held.push_back(op);
                } else {
                    self.fail_op(op, self.down_error());
                }
            }
        }
        true
    }

    fn down_error(&self) -> SubwireError {
        err(
            Code::BrokerDown,
            format!(
                "the broker at {} is down (reconnecting); the publish was not sent",
                self.cfg.redacted_url()
            ),
        )
    }

    /// Completes an operation that will not be sent, with `e`.
    pub(super) fn fail_op(&self, op: Op, e: SubwireError) {
        match op {
            Op::Publish { payload, done, .. } => self.publish_done(payload.len(), done, Err(e)),
            Op::Barrier(done) => done(Err(e)),
            Op::Many(ops) => ops.into_iter().for_each(|op| self.fail_op(op, e.clone())),
            _ => {}
        }
    }

    /// Completes a publish: counters, the queue bound, then the caller's callback.
    pub(super) fn publish_done(&self, len: usize, done: Done, r: Result<(), SubwireError>) {
        let c = &self.counters;
        Counters::sub(&c.queued_bytes, len as u64);
        Counters::add(
            if r.is_ok() {
                &c.published
            } else {
                &c.publish_failed
            },
            1,
        );
        done(r);
    }

    fn connected(&mut self) {
        if self.ever_connected {
            Counters::add(&self.counters.reconnects, 1);
        }
        self.ever_connected = true;
        self.counters.set_state(BrokerState::Up, now_ms());
        if let Some(since) = self.down_since.take() {
            self.deliver.event(BrokerEvent::Up {
                down_for: since.elapsed(),
                reconnects: self.counters.snapshot().reconnects,
            });
        }
    }

    /// The connection failed or could not be made: forget what was wired, report the outage
    /// once, and fail what was held for the first connection.
    fn lost(&mut self, e: SubwireError) {
        self.topics.disconnected();
        self.counters
            .topics_subscribed
            .store(0, std::sync::atomic::Ordering::Relaxed);
        if self.down_since.is_none() {
            self.down_since = Some(Instant::now());
            let since_ms = now_ms();
            self.counters.set_state(BrokerState::Down, since_ms);
            let error = err(
                Code::BrokerDown,
                format!("broker {}: {}", self.cfg.redacted_url(), e.message),
            );
            self.deliver.event(BrokerEvent::Down { error, since_ms });
        }
        while let Some(op) = self.held.pop_front() {
            self.fail_op(op, self.down_error());
        }
    }

    /// Ends the broker: everything not sent fails with `ERR_SUBWIRE_DISPOSED`.
    fn close(mut self) {
        self.counters.set_state(BrokerState::Closed, now_ms());
        self.rx.close();
        let disposed = || {
            err(
                Code::Disposed,
                "the broker was shut down before the publish was sent",
            )
        };
        while let Some(op) = self.held.pop_front() {
            self.fail_op(op, disposed());
        }
        while let Ok(op) = self.rx.try_recv() {
            self.fail_op(op, disposed());
        }
    }
}

/// One connection attempt, bounded by `timeout`: a RESP3 multiplexed connection whose pushes
/// (messages, subscription confirmations, the disconnect notice) arrive on the returned
/// receiver, in the order Redis sent them.
async fn connect(
    client: redis::Client,
    timeout: std::time::Duration,
) -> Result<(MultiplexedConnection, UnboundedReceiver<PushInfo>), SubwireError> {
    let (tx, rx) = unbounded_channel();
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        // The session bounds every command itself (`command_timeout`).
        .set_response_timeout(None)
        .set_push_sender(tx);
    let conn = tokio::time::timeout(
        timeout,
        client.get_multiplexed_async_connection_with_config(&config),
    )
    .await
    .map_err(|_| {
        err(
            Code::BrokerDown,
            format!("no connection within {timeout:?}"),
        )
    })?
    .map_err(|e| redis_err(Code::BrokerDown, "cannot connect", &e))?;
    Ok((conn, rx))
}
