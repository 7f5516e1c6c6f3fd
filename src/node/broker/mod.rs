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

mod objects;
mod routes;

use objects::{
    js_event, js_message, BrokerOptions, JsBrokerEvent, JsBrokerStats, JsPublishFailure,
    JsRemoteMessage,
};
pub(in crate::node) use routes::server_gone;

use super::{invalid, js_err, lock};
use crate::broker::{Broker, BrokerConfig, BrokerEvent, Done};
use crate::relay::{JsQueue, Relay};

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
