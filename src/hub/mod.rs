//! The trigger hub: one thread that owns every shared trigger and its subscribers.
//!
//! Cosmo Router's resolver loop, in Rust: JS starts one source stream per trigger (the
//! first subscriber's graphql `subscribe()`), executes and serializes each event once, and
//! hands the bytes here ([`HubEvent::Update`]). The hub owns who listens to which trigger
//! and turns one update into one [`Command::Next`] per reactor, carrying the shared payload
//! and the `Arc` list of that reactor's subscribers; the reactors (N threads, one per core:
//! the bounded pool that does the per-subscriber work) frame the same bytes for each
//! subscriber and write them. The hub never touches a socket and never waits on JS.
//!
//! Everything reaches it over one crossbeam channel, so its state needs no lock and the
//! events of a trigger keep their order: updates, then `error`/`complete`, reach every
//! subscriber in the order JS sent them, through one inbox per reactor.
//!
//! Called by the napi bridge (`trigger*` methods) through [`HubHandle`]; started and
//! stopped by [`crate::server::Server`]. `members.rs` keeps who listens to what:
//! `trigger.rs` one trigger's subscriber lists, `by_conn.rs` each connection's places in
//! them. A subscriber is a [`Target`] (the reactor's inbox type) whose message prefix, made
//! by the protocol layer (`protocol::next_prefix`), also carries its operation id.

mod by_conn;
mod members;
mod trigger;

use bytes::Bytes;
use crossbeam_channel::{Receiver, Sender};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use crate::metrics::FanoutClock;
use crate::protocol::{next_body, OpSerial, SessionOp};
use crate::reactor::conn::ConnId;
use crate::reactor::inbox::Command;
use crate::reactor::shared::Shared;
use members::Members;

/// A trigger's id, chosen by JS (an exact JS number).
pub(crate) type TriggerId = u64;

/// Events to the hub, in the order their effects must happen.
#[derive(Debug)]
pub(crate) enum HubEvent {
    /// Subscriber `(conn, id)` joins `trigger` (created on first use). `legacy`: the
    /// connection speaks subscriptions-transport-ws (`data` instead of `next`).
    Add {
        trigger: TriggerId,
        conn: ConnId,
        id: Box<str>,
        legacy: bool,
        /// The operation's serial (its `subscribe` event's; 0: whichever holds `id`).
        serial: OpSerial,
    },
    /// Subscriber `(conn, id)` leaves; an empty trigger is forgotten.
    Remove {
        trigger: TriggerId,
        conn: ConnId,
        id: Box<str>,
    },
    /// Every subscription of `conn` leaves (the connection closed).
    RemoveClient { conn: ConnId },
    /// One event of `trigger`: the JSON of an execution result, sent to every subscriber.
    /// `at`: when it entered Rust (the start of its `subwire_fanout_duration_seconds`).
    Update {
        trigger: TriggerId,
        payload: Bytes,
        at: Instant,
    },
    /// The trigger failed: `error` (a JSON array of GraphQL errors) to every subscriber,
    /// then it is forgotten.
    Error { trigger: TriggerId, errors: Bytes },
    /// The source stream ended: `complete` to every subscriber, then it is forgotten.
    Done { trigger: TriggerId },
    /// Several events, handled in order in one round (one JS turn's worth).
    Batch(Vec<HubEvent>),
    /// Stop the hub thread.
    Shutdown,
}

/// The way to the hub thread.
#[derive(Clone)]
pub(crate) struct HubHandle {
    tx: Sender<HubEvent>,
}

impl HubHandle {
    /// False once the hub has stopped.
    pub(crate) fn send(&self, ev: HubEvent) -> bool {
        self.tx.send(ev).is_ok()
    }

    /// A handle whose events the caller reads itself (tests of the hub's senders).
    #[cfg(test)]
    pub(crate) fn for_test() -> (HubHandle, Receiver<HubEvent>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        (HubHandle { tx }, rx)
    }
}

/// The hub's state; lives on its thread.
pub(crate) struct Hub {
    shared: Arc<Shared>,
    rx: Receiver<HubEvent>,
    members: Members,
    /// Reactors that were sent commands in this round: woken once at its end.
    to_wake: Vec<bool>,
}

/// How many events one round handles before waking the reactors.
const ROUND: usize = 256;

impl Hub {
    pub(crate) fn new(shared: Arc<Shared>) -> (Hub, HubHandle) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let hub = Hub {
            to_wake: vec![false; shared.config.reactors],
            shared,
            rx,
            members: Members::default(),
        };
        (hub, HubHandle { tx })
    }

    /// The thread's body: handles events until `Shutdown` or until every sender is gone.
    pub(crate) fn run(mut self) {
        while let Ok(ev) = self.rx.recv() {
            if !self.handle(ev) {
                break;
            }
            for _ in 1..ROUND {
                let Ok(ev) = self.rx.try_recv() else { break };
                if !self.handle(ev) {
                    return self.wake();
                }
            }
            self.wake();
        }
    }

    /// One event; false on `Shutdown`.
    fn handle(&mut self, ev: HubEvent) -> bool {
        match ev {
            HubEvent::Add {
                trigger,
                conn,
                id,
                legacy,
                serial,
            } => {
                self.members.add(trigger, conn, &id, legacy, serial);
            }
            HubEvent::Remove { trigger, conn, id } => {
                self.members.remove(trigger, conn, &id);
            }
            HubEvent::RemoveClient { conn } => {
                self.members.remove_client(conn);
            }
            HubEvent::Update {
                trigger,
                payload,
                at,
            } => self.update(trigger, payload, at),
            HubEvent::Error { trigger, errors } => self.end(trigger, |id, serial| {
                SessionOp::Error(id.into(), serial, errors.clone())
            }),
            HubEvent::Done { trigger } => {
                self.end(trigger, |id, serial| SessionOp::Complete(id.into(), serial))
            }
            HubEvent::Batch(events) => {
                for ev in events {
                    if !self.handle(ev) {
                        return false;
                    }
                }
                return true;
            }
            HubEvent::Shutdown => return false,
        }
        // Only this thread writes the gauges.
        let stats = &self.shared.hub_stats;
        stats
            .triggers
            .store(self.members.triggers() as u64, Relaxed);
        let subscriptions = self.members.subscriptions() as u64;
        stats.subscriptions.store(subscriptions, Relaxed);
        true
    }

    fn update(&mut self, trigger: TriggerId, payload: Bytes, at: Instant) {
        self.shared.hub_stats.updates.fetch_add(1, Relaxed);
        let Some(t) = self.members.get(trigger) else {
            return;
        };
        let inboxes = &self.shared.inboxes;
        // Held by the hub until every reactor was sent its share; whoever lets go last
        // records the fan-out's duration (one sample per update).
        let clock = FanoutClock::start(at);
        let mut sent = false;
        for (r, targets) in t.snapshots() {
            let Some(inbox) = inboxes.get(r) else {
                continue;
            };
            // Each reactor gets its own copy of the (small) payload, with the message's
            // closing `}` appended so a frame is two slices (header and prefix, then this).
            // A queued frame clones and drops its handle, and one reference count shared by
            // two reactors would bounce its cache line between cores once per subscriber.
            clock.hold();
            let cmd = Command::Next {
                payload: next_body(&payload),
                targets,
                clock: clock.clone(),
            };
            match inbox.tx.send(cmd) {
                Ok(()) => {
                    sent = true;
                    if let Some(w) = self.to_wake.get_mut(r) {
                        *w = true;
                    }
                }
                // (the reactor has exited: the hub's own hold keeps this from being last)
                Err(_) => _ = clock.release(at),
            }
        }
        let metrics = &self.shared.hub_metrics;
        metrics.update_sent(t.len());
        if let Some(took) = clock.release(Instant::now()) {
            if sent {
                metrics.fanout_done(took.as_nanos() as u64);
            }
        }
    }

    /// Sends `op(id)` to every subscriber of `trigger`, then forgets it.
    fn end(&mut self, trigger: TriggerId, op: impl Fn(&str, OpSerial) -> SessionOp) {
        let Some(t) = self.members.end(trigger) else {
            return;
        };
        let inboxes = &self.shared.inboxes;
        for target in t.targets() {
            let r = target.conn.reactor();
            // Every prefix has an id (the hub wrote it); the reactors are all there.
            let (Some(id), Some(inbox)) = (target.id(), inboxes.get(r)) else {
                continue;
            };
            let cmd = Command::Session {
                conn: target.conn,
                op: op(&id, target.serial),
            };
            if inbox.tx.send(cmd).is_ok() {
                if let Some(w) = self.to_wake.get_mut(r) {
                    *w = true;
                }
            }
        }
    }

    /// One wake-up per reactor that was sent something this round.
    fn wake(&mut self) {
        let inboxes = &self.shared.inboxes;
        for (r, flag) in self.to_wake.iter_mut().enumerate() {
            if let (true, Some(h)) = (std::mem::take(flag), inboxes.get(r)) {
                let _ = h.waker.wake();
            }
        }
    }
}

#[cfg(test)]
mod tests;
