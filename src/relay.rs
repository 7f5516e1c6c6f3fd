//! The relay: where messages from the broker (src/broker/) go in this process. It is the
//! broker's [`Deliver`], called on the broker thread, and holds the process's route table,
//! which the napi bridge (`src/node/broker/`) keeps up to date from the JS thread.
//!
//! For a message on topic T:
//! - each **projected route** on T (a projected trigger of some server: its plan and its
//!   hub) gets the result written by [`project_foreign`] and sent to that server's hub as a
//!   `HubEvent::Update`, without JS. When the projection cannot be exact (`None`), that
//!   message goes to JS for that route with the route's next sequence number, and so does
//!   every later one, until JS acknowledges the last sequence sent ([`Relay::ack`]: JS has
//!   handed its results to the hub channel): then Rust projects again. So a message JS
//!   executes is never overtaken by one projected after it.
//! - if T has **JS listeners** (iterators, `subscribe(topic, fn)` users), the message goes to
//!   JS once for all of them; JS parses it once.
//!
//! Messages for JS wait in one queue ([`JsQueue`]) that JS drains in one call per wake-up,
//! bounded in bytes: past the bound, messages that need JS are dropped and counted.
//!
//! The broker calls [`Deliver::flush`] once it has passed on every message of one read from
//! Redis; until then projected results wait, one batch per hub, and so does waking JS. So a
//! burst reaches each hub (and through it each reactor) at once and costs one write per
//! connection, as a local burst does. Held results are sent before any message is queued for
//! JS, so what JS executes for a route never overtakes an earlier projected result.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use crate::broker::{BrokerEvent, Deliver};
use crate::hub::{HubEvent, HubHandle, TriggerId};
use crate::project::{project_foreign, Plan};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A projected trigger of one server, as the relay serves it.
pub(crate) struct Route {
    pub(crate) id: u64,
    /// The `NativeServer` it belongs to (its routes go when it is disposed).
    pub(crate) server: u64,
    pub(crate) trigger: TriggerId,
    pub(crate) plan: Plan,
    pub(crate) hub: HubHandle,
    pub(crate) topics: Vec<Box<str>>,
    /// The last sequence number given to a message sent to JS for this route (broker thread).
    sent: AtomicU64,
    /// The last sequence number JS acknowledged (JS thread).
    acked: AtomicU64,
}

impl Route {
    pub(crate) fn new(
        id: u64,
        server: u64,
        trigger: TriggerId,
        plan: Plan,
        hub: HubHandle,
        topics: Vec<Box<str>>,
    ) -> Route {
        Route {
            id,
            server,
            trigger,
            plan,
            hub,
            topics,
            sent: AtomicU64::new(0),
            acked: AtomicU64::new(0),
        }
    }
}

/// A message on its way to JS.
pub(crate) struct RemoteMessage {
    pub(crate) topic: String,
    /// The payload's text; `None` when it is not UTF-8 (JS reports it as bad JSON).
    pub(crate) payload: Option<String>,
    /// For the topic's JS listeners too (not only for the routes below).
    pub(crate) listeners: bool,
    /// `(route id, sequence number)` of the projected routes JS must serve it to.
    pub(crate) routes: Vec<(u64, u64)>,
}

#[derive(Default)]
struct TopicRoutes {
    /// JS listeners (the JS side counts them; it calls in on its 0→1 and 1→0).
    js: u32,
    /// Copied on change, so the broker thread reads it under the lock for one `Arc` clone.
    projected: Arc<[Arc<Route>]>,
}

#[derive(Default)]
struct Table {
    topics: HashMap<Box<str>, TopicRoutes>,
    routes: HashMap<u64, Arc<Route>>,
}

/// Messages waiting for JS, drained by one call per wake-up.
pub(crate) struct JsQueue {
    waiting: Mutex<(Vec<RemoteMessage>, usize)>,
    /// Payload bytes that may wait.
    limit: usize,
}

impl JsQueue {
    pub(crate) fn new(limit: usize) -> JsQueue {
        JsQueue {
            waiting: Mutex::new((Vec::new(), 0)),
            limit,
        }
    }

    /// Everything waiting, oldest first.
    pub(crate) fn take(&self) -> Vec<RemoteMessage> {
        let mut w = lock(&self.waiting);
        w.1 = 0;
        std::mem::take(&mut w.0)
    }

    /// Some(true) when the queue was empty (JS must be woken), None when it is full.
    fn push(&self, m: RemoteMessage) -> Option<bool> {
        let len = m.payload.as_ref().map_or(0, |p| p.len()) + m.topic.len();
        let mut w = lock(&self.waiting);
        if w.1 + len > self.limit && !w.0.is_empty() {
            return None;
        }
        w.1 += len;
        w.0.push(m);
        Some(w.0.len() == 1)
    }

    /// Whether a message of `len` bytes would be refused now.
    fn full(&self, len: usize) -> bool {
        let w = lock(&self.waiting);
        w.1 + len > self.limit && !w.0.is_empty()
    }
}

/// The relay's counters (broker thread writes, any thread reads).
#[derive(Default)]
pub(crate) struct RelayCounters {
    /// Results projected in Rust and sent to a hub (one per route and message).
    pub(crate) projected: AtomicU64,
    /// Messages that crossed into JS.
    pub(crate) to_js: AtomicU64,
    /// Messages dropped because too many bytes were waiting for JS.
    pub(crate) js_overflow: AtomicU64,
}

/// The broker's [`Deliver`] for this process.
pub(crate) struct Relay {
    table: Mutex<Table>,
    queue: Arc<JsQueue>,
    /// Projected results held until [`Deliver::flush`]: (server, its hub, updates in order).
    held: Mutex<Vec<(u64, HubHandle, Vec<HubEvent>)>>,
    /// JS is to be woken at the next flush (the queue was empty when a message was added).
    wake_owed: AtomicBool,
    wake_js: Box<dyn Fn() + Send + Sync>,
    on_event: Box<dyn Fn(BrokerEvent) + Send + Sync>,
    pub(crate) counters: RelayCounters,
}

impl Relay {
    pub(crate) fn new(
        queue: Arc<JsQueue>,
        wake_js: Box<dyn Fn() + Send + Sync>,
        on_event: Box<dyn Fn(BrokerEvent) + Send + Sync>,
    ) -> Relay {
        Relay {
            table: Mutex::new(Table::default()),
            queue,
            held: Mutex::new(Vec::new()),
            wake_owed: AtomicBool::new(false),
            wake_js,
            on_event,
            counters: RelayCounters::default(),
        }
    }

    /// One more JS listener on `topic` (the caller subscribes the broker too).
    pub(crate) fn listen(&self, topic: &str) {
        let mut t = lock(&self.table);
        t.topics.entry(topic.into()).or_default().js += 1;
    }

    /// One JS listener fewer on `topic`; false if there was none (the caller then does not
    /// unsubscribe the broker).
    pub(crate) fn unlisten(&self, topic: &str) -> bool {
        let mut t = lock(&self.table);
        let Some(r) = t.topics.get_mut(topic) else {
            return false;
        };
        if r.js == 0 {
            return false;
        }
        r.js -= 1;
        if r.js == 0 && r.projected.is_empty() {
            t.topics.remove(topic);
        }
        true
    }

    /// Adds a projected route; false if its id is taken (the caller then subscribes nothing).
    pub(crate) fn add_route(&self, route: Route) -> bool {
        let mut t = lock(&self.table);
        if t.routes.contains_key(&route.id) {
            return false;
        }
        let route = Arc::new(route);
        for topic in &route.topics {
            let r = t.topics.entry(topic.clone()).or_default();
            r.projected = r.projected.iter().cloned().chain([route.clone()]).collect();
        }
        t.routes.insert(route.id, route);
        true
    }

    /// Removes a route; its topics (for the caller's unsubscribes), or None if it was gone.
    pub(crate) fn remove_route(&self, id: u64) -> Option<Vec<Box<str>>> {
        let mut t = lock(&self.table);
        let route = t.routes.remove(&id)?;
        for topic in &route.topics {
            if let Some(r) = t.topics.get_mut(topic) {
                r.projected = r.projected.iter().filter(|x| x.id != id).cloned().collect();
                if r.js == 0 && r.projected.is_empty() {
                    t.topics.remove(topic);
                }
            }
        }
        Some(route.topics.clone())
    }

    /// Removes every route of `server` (it is being disposed); their topics, one per route.
    pub(crate) fn remove_server(&self, server: u64) -> Vec<Box<str>> {
        let ids: Vec<u64> = {
            let t = lock(&self.table);
            t.routes
                .values()
                .filter(|r| r.server == server)
                .map(|r| r.id)
                .collect()
        };
        ids.into_iter()
            .filter_map(|id| self.remove_route(id))
            .flatten()
            .collect()
    }

    /// JS has handed the results of every message up to `seq` for route `id` to the hub
    /// channel. Once it has acknowledged the last one sent, Rust projects again.
    pub(crate) fn ack(&self, id: u64, seq: u64) {
        if let Some(r) = lock(&self.table).routes.get(&id) {
            r.acked.fetch_max(seq, Ordering::Release);
        }
    }
}

impl Deliver for Relay {
    fn message(&self, topic: &str, payload: Bytes) {
        let (js, routes) = match lock(&self.table).topics.get(topic) {
            Some(r) => (r.js > 0, r.projected.clone()),
            None => return,
        };
        let text = std::str::from_utf8(&payload).ok();
        // The fan-out clock (subwire_fanout_duration_seconds) starts when the message arrived.
        let arrived = std::time::Instant::now();
        let c = &self.counters;
        let mut to_js = Vec::new();
        // Decided before any sequence number is taken: a dropped message takes none.
        let overflow = (js || !routes.is_empty()) && self.queue.full(payload.len());
        for r in routes.iter() {
            let sent = r.sent.load(Ordering::Relaxed);
            if sent == r.acked.load(Ordering::Acquire) {
                if let Some(result) = text.and_then(|t| project_foreign(&r.plan, t)) {
                    let ev = HubEvent::Update {
                        trigger: r.trigger,
                        payload: Bytes::from(result),
                        at: arrived,
                    };
                    self.hold(r, ev);
                    continue;
                }
            }
            if overflow {
                continue;
            }
            r.sent.store(sent + 1, Ordering::Relaxed);
            to_js.push((r.id, sent + 1));
        }
        if overflow && (js || to_js.len() < routes.len()) {
            c.js_overflow.fetch_add(1, Ordering::Relaxed);
        }
        if overflow || (!js && to_js.is_empty()) {
            return;
        }
        let payload = text.is_some().then(|| {
            // (unique and made from a Vec by the broker: no copy)
            String::from_utf8(Vec::from(payload)).unwrap_or_default()
        });
        let m = RemoteMessage {
            topic: topic.to_string(),
            payload,
            listeners: js,
            routes: to_js,
        };
        self.send_held();
        match self.queue.push(m) {
            Some(wake) => {
                c.to_js.fetch_add(1, Ordering::Relaxed);
                if wake {
                    self.wake_owed.store(true, Ordering::Relaxed);
                }
            }
            None => {
                c.js_overflow.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn event(&self, event: BrokerEvent) {
        (self.on_event)(event);
    }

    fn flush(&self) {
        self.send_held();
        if self.wake_owed.swap(false, Ordering::Relaxed) {
            (self.wake_js)();
        }
    }
}

impl Relay {
    /// Holds a projected result for its server's hub until the next flush.
    fn hold(&self, r: &Route, ev: HubEvent) {
        let mut held = lock(&self.held);
        match held.iter_mut().find(|(server, ..)| *server == r.server) {
            Some((.., evs)) => evs.push(ev),
            None => held.push((r.server, r.hub.clone(), vec![ev])),
        }
    }

    /// Sends the held results, one batch per hub.
    fn send_held(&self) {
        let held = std::mem::take(&mut *lock(&self.held));
        for (_, hub, evs) in held {
            let n = evs.len() as u64;
            let ev = match <[HubEvent; 1]>::try_from(evs) {
                Ok([one]) => one,
                Err(evs) => HubEvent::Batch(evs),
            };
            if hub.send(ev) {
                self.counters.projected.fetch_add(n, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests;
