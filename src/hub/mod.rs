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
//! stopped by [`crate::server::Server`]. `trigger.rs` holds one trigger's subscriber lists.

mod trigger;

use bytes::Bytes;
use crossbeam_channel::{Receiver, Sender};
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use crate::bridge::{ConnId, SessionOp};
use crate::protocol::{Outgoing, Payload};
use crate::shared::{Command, Shared};
pub use trigger::{Target, Trigger};

/// A trigger's id, chosen by JS (an exact JS number).
pub type TriggerId = u64;

/// Events to the hub, in the order their effects must happen.
#[derive(Debug)]
pub enum HubEvent {
    /// Subscriber `(conn, id)` joins `trigger` (created on first use). `legacy`: the
    /// connection speaks subscriptions-transport-ws (`data` instead of `next`).
    Add {
        trigger: TriggerId,
        conn: ConnId,
        id: Box<str>,
        legacy: bool,
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
    Update { trigger: TriggerId, payload: Bytes },
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
pub struct HubHandle {
    tx: Sender<HubEvent>,
}

impl HubHandle {
    /// False once the hub has stopped.
    pub fn send(&self, ev: HubEvent) -> bool {
        self.tx.send(ev).is_ok()
    }
}

/// The hub's state; lives on its thread.
pub struct Hub {
    shared: Arc<Shared>,
    rx: Receiver<HubEvent>,
    triggers: HashMap<TriggerId, Trigger>,
    /// Which (trigger, operation id) pairs each connection holds, for `RemoveClient`.
    by_conn: HashMap<ConnId, Vec<(TriggerId, Arc<str>)>>,
    /// Reactors that were sent commands in this round: woken once at its end.
    to_wake: Vec<bool>,
}

/// How many events one round handles before waking the reactors.
const ROUND: usize = 256;

impl Hub {
    pub fn new(shared: Arc<Shared>) -> (Hub, HubHandle) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let hub = Hub {
            to_wake: vec![false; shared.config.reactors],
            shared,
            rx,
            triggers: HashMap::new(),
            by_conn: HashMap::new(),
        };
        (hub, HubHandle { tx })
    }

    /// The thread's body: handles events until `Shutdown` or until every sender is gone.
    pub fn run(mut self) {
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
            } => self.add(trigger, conn, id, legacy),
            HubEvent::Remove { trigger, conn, id } => {
                let id: Arc<str> = id.into();
                self.remove(trigger, conn, &id);
                if let Some(list) = self.by_conn.get_mut(&conn) {
                    list.retain(|(t, i)| !(*t == trigger && *i == id));
                    if list.is_empty() {
                        self.by_conn.remove(&conn);
                    }
                }
            }
            HubEvent::RemoveClient { conn } => {
                for (trigger, id) in self.by_conn.remove(&conn).unwrap_or_default() {
                    self.remove(trigger, conn, &id);
                }
            }
            HubEvent::Update { trigger, payload } => self.update(trigger, payload),
            HubEvent::Error { trigger, errors } => {
                self.end(trigger, |id| SessionOp::Error(id.into(), errors.clone()))
            }
            HubEvent::Done { trigger } => self.end(trigger, |id| SessionOp::Complete(id.into())),
            HubEvent::Batch(events) => {
                for ev in events {
                    if !self.handle(ev) {
                        return false;
                    }
                }
            }
            HubEvent::Shutdown => return false,
        }
        true
    }

    fn add(&mut self, trigger: TriggerId, conn: ConnId, id: Box<str>, legacy: bool) {
        let msg = Outgoing {
            id: Some(&id),
            kind: if legacy { "data" } else { "next" },
            payload: Some(Payload::Shared(&Bytes::new())),
        };
        let mut prefix = Vec::with_capacity(id.len() + 32);
        msg.write_head(&mut prefix);
        let id: Arc<str> = id.into();
        let target = Target {
            conn,
            id: id.clone(),
            prefix: prefix.into(),
        };
        let t = self.triggers.entry(trigger).or_insert_with(|| {
            self.shared.hub_stats.triggers.fetch_add(1, Relaxed);
            Trigger::default()
        });
        if t.add(target) {
            self.shared.hub_stats.subscriptions.fetch_add(1, Relaxed);
            self.by_conn.entry(conn).or_default().push((trigger, id));
        }
    }

    fn remove(&mut self, trigger: TriggerId, conn: ConnId, id: &Arc<str>) {
        let Some(t) = self.triggers.get_mut(&trigger) else {
            return;
        };
        if t.remove(conn, id) {
            self.shared.hub_stats.subscriptions.fetch_sub(1, Relaxed);
        }
        if t.is_empty() {
            self.forget(trigger);
        }
    }

    fn forget(&mut self, trigger: TriggerId) -> Option<Trigger> {
        let t = self.triggers.remove(&trigger)?;
        let stats = &self.shared.hub_stats;
        stats.triggers.fetch_sub(1, Relaxed);
        stats.subscriptions.fetch_sub(t.len() as u64, Relaxed);
        Some(t)
    }

    fn update(&mut self, trigger: TriggerId, payload: Bytes) {
        self.shared.hub_stats.updates.fetch_add(1, Relaxed);
        let Some(t) = self.triggers.get(&trigger) else {
            return;
        };
        let Some(handles) = self.shared.handles.get() else {
            return;
        };
        for (r, targets) in t.snapshots() {
            // Each reactor gets its own copy of the (small) payload, with the message's
            // closing `}` appended so a frame is two slices (header and prefix, then this).
            // Every frame clones and drops its handle, and one reference count shared by
            // two reactors would bounce its cache line between cores once per subscriber.
            let mut body = Vec::with_capacity(payload.len() + 1);
            body.extend_from_slice(&payload);
            body.push(b'}');
            let payload = Bytes::from(body);
            let cmd = Command::Next { payload, targets };
            if handles[r].tx.send(cmd).is_ok() {
                self.to_wake[r] = true;
            }
        }
    }

    /// Sends `op(id)` to every subscriber of `trigger`, then forgets it.
    fn end(&mut self, trigger: TriggerId, op: impl Fn(&str) -> SessionOp) {
        let Some(t) = self.forget(trigger) else {
            return;
        };
        let Some(handles) = self.shared.handles.get() else {
            return;
        };
        for target in t.targets() {
            let r = target.conn.reactor();
            let cmd = Command::Session {
                conn: target.conn,
                op: op(&target.id),
            };
            if handles[r].tx.send(cmd).is_ok() {
                self.to_wake[r] = true;
            }
            if let Some(list) = self.by_conn.get_mut(&target.conn) {
                list.retain(|(t, _)| *t != trigger);
                if list.is_empty() {
                    self.by_conn.remove(&target.conn);
                }
            }
        }
    }

    /// One wake-up per reactor that was sent something this round.
    fn wake(&mut self) {
        let Some(handles) = self.shared.handles.get() else {
            return;
        };
        for (r, flag) in self.to_wake.iter_mut().enumerate() {
            if std::mem::take(flag) {
                let _ = handles[r].waker.wake();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{self, Output};

    fn message(prefix: &[u8], payload: &[u8]) -> Vec<u8> {
        [prefix, payload, b"}"].concat()
    }

    #[test]
    fn the_prefix_frames_a_payload_exactly_as_the_session_would() {
        for (legacy, kind) in [(false, "next"), (true, "data")] {
            let id = "op \"1\"";
            let payload = Bytes::from_static(br#"{"data":{"n":1}}"#);
            let msg = Outgoing {
                id: Some(id),
                kind,
                payload: Some(Payload::Shared(&Bytes::new())),
            };
            let mut prefix = Vec::new();
            msg.write_head(&mut prefix);
            let mut expected: Vec<Output> = Vec::new();
            protocol::Sink::send(
                &mut expected,
                Outgoing {
                    id: Some(id),
                    kind,
                    payload: Some(Payload::Shared(&payload)),
                },
            );
            let Output::Send(want) = &expected[0] else {
                unreachable!()
            };
            assert_eq!(
                message(&prefix, &payload),
                want.as_bytes(),
                "legacy {legacy}"
            );
        }
    }
}
