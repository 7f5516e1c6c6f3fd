//! The process's broker, as JavaScript sees it (lib/broker.js is the only caller): one
//! [`Broker`] per process in a slot set once (`brokerStart`), its [`Relay`] with the route
//! table, and the three weak ThreadsafeFunctions that bring back what happens on the broker
//! thread: messages for JS (one call drains the queue), publish completions (one call drains
//! them) and broker events. Nothing here holds the event loop; lib/broker.js keeps it alive
//! while publishes are in flight.
//!
//! The slot is never emptied: the broker thread lives until the process exits (it holds no
//! event loop, and Node does not wait for it).

// napi-rs exports these functions and objects to JavaScript; rustc cannot see that (and
// in a test build napi-rs registers nothing, so they look unused there).
#![allow(unreachable_pub)]
#![cfg_attr(test, allow(dead_code))]

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use super::{exact, invalid, js_err, lock, NativeServer};
use crate::broker::{Broker, BrokerConfig, BrokerEvent, Done};
use crate::error::SubwireError;
use crate::relay::{JsQueue, Relay, RemoteMessage, Route};

/// `broker` options, as lib/broker.js checked them.
#[napi(object)]
pub struct BrokerOptions {
    pub url: String,
    pub prefix: String,
    /// Messages from Redis bigger than this are dropped and reported (bytes).
    pub max_payload: u32,
    /// PEM root certificate(s) for `rediss://` instead of the system's.
    pub tls_ca: Option<String>,
    /// Tests: reconnect backoff, first delay and cap (ms).
    pub backoff_min: Option<u32>,
    pub backoff_max: Option<u32>,
}

/// A message from the broker for JS.
#[napi(object)]
pub struct JsRemoteMessage {
    pub topic: String,
    /// Absent when the bytes were not UTF-8.
    pub payload: Option<String>,
    /// For the topic's JS listeners.
    pub listeners: bool,
    /// Pairs: projected route id, sequence number.
    pub routes: Vec<f64>,
}

/// A broker event for JS.
#[napi(object)]
pub struct JsBrokerEvent {
    /// "down" | "up" | "dropped" | "error"
    pub kind: String,
    pub code: Option<String>,
    pub message: Option<String>,
    /// "down": since when (ms since the epoch).
    pub since: Option<f64>,
    /// "up": how long it was down (ms).
    pub down_ms: Option<f64>,
    pub reconnects: Option<f64>,
    pub topic: Option<String>,
}

/// A publish that failed.
#[napi(object)]
pub struct JsPublishFailure {
    pub id: u32,
    pub code: String,
    pub message: String,
}

#[napi(object)]
pub struct JsBrokerStats {
    pub url: String,
    pub prefix: String,
    pub max_payload: u32,
    /// "connecting" | "up" | "down" | "closed"
    pub state: String,
    pub since: f64,
    pub reconnects: f64,
    pub published: f64,
    pub publish_failed: f64,
    pub received: f64,
    /// Of `received`: messages from other publishers, handed on for delivery.
    pub delivered: f64,
    pub echoes_dropped: f64,
    pub dropped: f64,
    pub oversized: f64,
    pub topics_subscribed: f64,
    pub queued_bytes: f64,
    pub projected: f64,
    pub to_js: f64,
    pub js_overflow: f64,
}

type Wake = ThreadsafeFunction<(), (), FnArgs<(Vec<JsRemoteMessage>,)>, Status, false, true>;
type DoneFn =
    ThreadsafeFunction<(), (), FnArgs<(Vec<u32>, Vec<JsPublishFailure>)>, Status, false, true>;
type EventFn = ThreadsafeFunction<BrokerEvent, (), FnArgs<(JsBrokerEvent,)>, Status, false, true>;

/// Publish outcomes waiting for JS.
#[derive(Default)]
struct Completions {
    ok: Vec<u32>,
    failed: Vec<JsPublishFailure>,
}

struct Slot {
    broker: Broker,
    relay: Arc<Relay>,
    options: (String, String, u32, Option<String>),
    completions: Arc<Mutex<Completions>>,
    done_fn: DoneFn,
}

static SLOT: OnceLock<Slot> = OnceLock::new();

/// Most payload bytes waiting for JS before messages that need JS are dropped.
const JS_QUEUE_BYTES: usize = 64 << 20;

fn slot() -> Result<&'static Slot> {
    SLOT.get()
        .ok_or_else(|| invalid("no broker is configured in this process".into()))
}

/// Starts the process's broker; false when the same one runs already. A different one, or a
/// bad URL: `ERR_SUBWIRE_INVALID_OPTION`.
#[napi]
pub fn broker_start(
    options: BrokerOptions,
    on_messages: Function<Vec<JsRemoteMessage>, ()>,
    on_done: Function<(Vec<u32>, Vec<JsPublishFailure>), ()>,
    on_event: Function<JsBrokerEvent, ()>,
) -> Result<bool> {
    let key = (
        options.url.clone(),
        options.prefix.clone(),
        options.max_payload,
        options.tls_ca.clone(),
    );
    if let Some(s) = SLOT.get() {
        if s.options == key {
            return Ok(false);
        }
        return Err(invalid(format!(
            "this process already has a broker ({} with prefix {:?}); one process has one broker: configure the same url, prefix and options everywhere",
            s.broker.config().redacted_url(),
            s.options.1
        )));
    }
    let queue = Arc::new(JsQueue::new(JS_QUEUE_BYTES));
    let drain = queue.clone();
    let wake: Wake = on_messages
        .build_threadsafe_function::<()>()
        .weak::<true>()
        .build_callback(move |_| {
            let msgs = drain.take().into_iter().map(js_message).collect();
            Ok(FnArgs::from((msgs,)))
        })?;
    let events: EventFn = on_event
        .build_threadsafe_function::<BrokerEvent>()
        .weak::<true>()
        .build_callback(|ctx| Ok(FnArgs::from((js_event(ctx.value),))))?;
    let completions = Arc::new(Mutex::new(Completions::default()));
    let taken = completions.clone();
    let done_fn: DoneFn = on_done
        .build_threadsafe_function::<()>()
        .weak::<true>()
        .build_callback(move |_| {
            let c = std::mem::take(&mut *lock(&taken));
            Ok(FnArgs::from((c.ok, c.failed)))
        })?;
    let relay = Arc::new(Relay::new(
        queue,
        Box::new(move || {
            wake.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }),
        Box::new(move |ev| {
            events.call(ev, ThreadsafeFunctionCallMode::NonBlocking);
        }),
    ));
    let mut config = BrokerConfig::new(options.url, options.prefix);
    config.max_payload = options.max_payload as usize;
    config.tls_ca_pem = options.tls_ca.map(String::into_bytes);
    if let Some(ms) = options.backoff_min {
        config.backoff_min = std::time::Duration::from_millis(ms.into());
    }
    if let Some(ms) = options.backoff_max {
        config.backoff_max = std::time::Duration::from_millis(ms.into());
    }
    let broker = Broker::start(config, relay.clone()).map_err(js_err)?;
    let slot = Slot {
        broker,
        relay,
        options: key,
        completions,
        done_fn,
    };
    SLOT.set(slot).map_err(|_| {
        invalid("a broker was configured at the same time on another thread".into())
    })?;
    Ok(true)
}

/// Publishes the JSON text `payload` on `topic`; its outcome comes back to `on_done` with `id`.
#[napi]
pub fn broker_publish(topic: String, payload: String, id: u32) -> Result<()> {
    let s = slot()?;
    s.broker
        .publish(&topic, Bytes::from(payload.into_bytes()), completion(s, id));
    Ok(())
}

/// `brokerPublish` for the publishes of one JS turn, in order (`ids[i]` is
/// `topics[i]`/`payloads[i]`'s): the broker thread gets them at once and sends one pipeline.
#[napi]
pub fn broker_publish_all(topics: Vec<String>, payloads: Vec<String>, ids: Vec<u32>) -> Result<()> {
    let s = slot()?;
    if topics.len() != payloads.len() || topics.len() != ids.len() {
        return Err(invalid(
            "brokerPublishAll: topics, payloads and ids differ in length".into(),
        ));
    }
    let all = topics.into_iter().zip(payloads).zip(ids);
    s.broker.publish_all(all.map(|((topic, payload), id)| {
        (
            topic.into_boxed_str(),
            Bytes::from(payload.into_bytes()),
            completion(s, id),
        )
    }));
    Ok(())
}

/// The outcome of publish `id`, batched back to JS's `on_done`.
fn completion(s: &Slot, id: u32) -> Done {
    let completions = s.completions.clone();
    Box::new(move |r| {
        let first = {
            let mut c = lock(&completions);
            let first = c.ok.is_empty() && c.failed.is_empty();
            match r {
                Ok(()) => c.ok.push(id),
                Err(e) => c.failed.push(JsPublishFailure {
                    id,
                    code: e.code.as_str().into(),
                    message: e.message,
                }),
            }
            first
        };
        if first {
            if let Some(s) = SLOT.get() {
                s.done_fn.call((), ThreadsafeFunctionCallMode::NonBlocking);
            }
        }
    })
}

/// A JS listener on `topic` appeared (the first of the topic, as lib/pubsub.js counts).
#[napi]
pub fn broker_listen(topic: String) -> Result<()> {
    let s = slot()?;
    s.relay.listen(&topic);
    s.broker.subscribe(&topic);
    Ok(())
}

/// The last JS listener on `topic` left.
#[napi]
pub fn broker_unlisten(topic: String) -> Result<()> {
    let s = slot()?;
    if s.relay.unlisten(&topic) {
        s.broker.unsubscribe(&topic);
    }
    Ok(())
}

/// The broker's figures, or null when there is none.
#[napi]
pub fn broker_stats() -> Option<JsBrokerStats> {
    let s = SLOT.get()?;
    let b = s.broker.stats();
    let r = &s.relay.counters;
    Some(JsBrokerStats {
        url: s.broker.config().redacted_url(),
        prefix: s.options.1.clone(),
        max_payload: s.options.2,
        state: b.state.as_str().into(),
        since: b.since_ms as f64,
        reconnects: b.reconnects as f64,
        published: b.published as f64,
        publish_failed: b.publish_failed as f64,
        received: b.received as f64,
        delivered: b.delivered as f64,
        echoes_dropped: b.echoes_dropped as f64,
        dropped: b.dropped as f64,
        oversized: b.oversized as f64,
        topics_subscribed: b.topics_subscribed as f64,
        queued_bytes: b.queued_bytes as f64,
        projected: r.projected.load(Relaxed) as f64,
        to_js: r.to_js.load(Relaxed) as f64,
        js_overflow: r.js_overflow.load(Relaxed) as f64,
    })
}

#[napi]
impl NativeServer {
    /// Projected `trigger` (its plan given by `triggerPlan`) takes messages from the broker on
    /// `topics` as route `route` (lib/broker.js's id). The hub calls queued so far go first,
    /// so the trigger's subscribers are in the hub before any broker update.
    #[napi]
    pub fn broker_route(&self, trigger: f64, route: f64, topics: Vec<String>) -> Result<bool> {
        let s = slot()?;
        let trigger = exact(trigger, "a trigger id")?;
        let route = exact(route, "a route id")?;
        let Some(plan) = lock(&self.plans).get(&trigger).cloned() else {
            return Err(invalid(format!("trigger {trigger} has no projection plan")));
        };
        self.hub_flush()?;
        let hub = self.running(|srv| srv.hub_handle())?;
        let topics: Vec<Box<str>> = topics.into_iter().map(Into::into).collect();
        let r = Route::new(route, self.id, trigger, plan, hub, topics.clone());
        if !s.relay.add_route(r) {
            return Ok(false);
        }
        for t in &topics {
            s.broker.subscribe(t);
        }
        Ok(true)
    }

    /// Route `route` ends (its trigger ended).
    #[napi]
    pub fn broker_unroute(&self, route: f64) -> Result<()> {
        let s = slot()?;
        for t in s
            .relay
            .remove_route(exact(route, "a route id")?)
            .unwrap_or_default()
        {
            s.broker.unsubscribe(&t);
        }
        Ok(())
    }

    /// JS has executed route `route`'s messages up to `seq`: their results (queued hub calls)
    /// go to the hub now, then the relay may project this route's messages again.
    #[napi]
    pub fn broker_ack(&self, route: f64, seq: f64) -> Result<()> {
        let s = slot()?;
        self.hub_flush()?;
        s.relay.ack(
            exact(route, "a route id")?,
            exact(seq, "a sequence number")?,
        );
        Ok(())
    }
}

/// A server is being disposed: its routes go, and their subscriptions.
pub(super) fn server_gone(server: u64) {
    if let Some(s) = SLOT.get() {
        for t in s.relay.remove_server(server) {
            s.broker.unsubscribe(&t);
        }
    }
}

fn js_message(m: RemoteMessage) -> JsRemoteMessage {
    JsRemoteMessage {
        topic: m.topic,
        payload: m.payload,
        listeners: m.listeners,
        routes: m
            .routes
            .into_iter()
            .flat_map(|(r, s)| [r as f64, s as f64])
            .collect(),
    }
}

fn js_event(ev: BrokerEvent) -> JsBrokerEvent {
    let mut out = JsBrokerEvent {
        kind: String::new(),
        code: None,
        message: None,
        since: None,
        down_ms: None,
        reconnects: None,
        topic: None,
    };
    let error = |out: &mut JsBrokerEvent, e: SubwireError| {
        out.code = Some(e.code.as_str().into());
        out.message = Some(e.message);
    };
    match ev {
        BrokerEvent::Down { error: e, since_ms } => {
            out.kind = "down".into();
            out.since = Some(since_ms as f64);
            error(&mut out, e);
        }
        BrokerEvent::Up {
            down_for,
            reconnects,
        } => {
            out.kind = "up".into();
            out.down_ms = Some(down_for.as_millis() as f64);
            out.reconnects = Some(reconnects as f64);
        }
        BrokerEvent::Dropped { topic, error: e } => {
            out.kind = "dropped".into();
            out.topic = Some(topic);
            error(&mut out, e);
        }
        BrokerEvent::Error(e) => {
            out.kind = "error".into();
            error(&mut out, e);
        }
    }
    out
}
