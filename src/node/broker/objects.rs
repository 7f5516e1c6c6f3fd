//! The objects the broker's napi functions exchange with lib/broker.js (options in;
//! messages, events, publish failures and stats out) and the conversions from the broker
//! thread's own types. Called by `super` (node/broker/mod.rs) only.

// napi-rs exports these objects to JavaScript; rustc cannot see that.
#![allow(unreachable_pub)]
#![cfg_attr(test, allow(dead_code))]

use napi_derive::napi;

use crate::broker::BrokerEvent;
use crate::error::SubwireError;
use crate::relay::RemoteMessage;

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

pub(super) fn js_message(m: RemoteMessage) -> JsRemoteMessage {
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

pub(super) fn js_event(ev: BrokerEvent) -> JsBrokerEvent {
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
