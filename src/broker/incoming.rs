//! What Redis pushes on the connection: messages (echo check, listener check, size limit,
//! then [`super::Deliver::message`]), subscription counts, and the disconnect notice.
//! Called by `session.rs` for each push, in the order Redis sent them.

use std::sync::atomic::Ordering::Relaxed;

use bytes::Bytes;
use redis::{PushInfo, PushKind, Value};

use super::driver::{err, Driver};
use super::stats::Counters;
use super::topics::Incoming;
use super::BrokerEvent;
use crate::error::{Code, SubwireError};

/// A push from Redis. Returns an error when it says the connection is gone.
pub(super) fn on_push(d: &mut Driver, p: PushInfo) -> Option<SubwireError> {
    match p.kind {
        PushKind::Message => {
            let mut data = p.data.into_iter();
            if let (Some(Value::BulkString(chan)), Some(Value::BulkString(payload))) =
                (data.next(), data.next())
            {
                on_message(d, chan, payload);
            }
        }
        PushKind::Subscribe | PushKind::Unsubscribe => {
            if let Some(Value::Int(n)) = p.data.get(1) {
                d.counters
                    .topics_subscribed
                    .store((*n).max(0) as u64, Relaxed);
            }
        }
        PushKind::Disconnection => {
            return Some(err(Code::BrokerDown, "the connection to Redis was lost"))
        }
        _ => {}
    }
    None
}

fn on_message(d: &mut Driver, chan: Vec<u8>, payload: Vec<u8>) {
    let c = &d.counters;
    Counters::add(&c.received, 1);
    let topic = chan
        .strip_prefix(d.cfg.prefix.as_bytes())
        .and_then(|t| std::str::from_utf8(t).ok());
    let Some(topic) = topic else {
        Counters::add(&c.dropped, 1);
        return;
    };
    match d.topics.incoming(topic, &payload) {
        Incoming::Echo => Counters::add(&c.echoes_dropped, 1),
        Incoming::NoListener => Counters::add(&c.dropped, 1),
        Incoming::Deliver if payload.len() > d.cfg.max_payload => {
            Counters::add(&c.dropped, 1);
            Counters::add(&c.oversized, 1);
            if !d.reported.contains(topic) {
                d.reported.insert(topic.into());
                let error = err(
                    Code::BrokerMessage,
                    format!(
                        "a {}-byte message on topic {topic:?} is bigger than the {}-byte limit: dropped (reported once per topic)",
                        payload.len(),
                        d.cfg.max_payload
                    ),
                );
                d.deliver.event(BrokerEvent::Dropped {
                    topic: topic.into(),
                    error,
                });
            }
        }
        Incoming::Deliver => {
            Counters::add(&c.delivered, 1);
            d.deliver.message(topic, Bytes::from(payload));
        }
    }
}
