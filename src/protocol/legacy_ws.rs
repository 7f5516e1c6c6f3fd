//! The legacy `graphql-ws` subprotocol of subscriptions-transport-ws: one connection's state
//! machine (Apollo Client 2 links and many mobile clients speak it).
//!
//! This protocol's part of the session machine ([`super::machine`], which holds the phase,
//! the deadline and the ids): its messages, how it answers bad ones, and `ka`.
//!
//! Client → server: `connection_init` {payload?}, `start` {id, payload {query, variables?,
//! operationName?, extensions?}}, `stop` {id}, `connection_terminate`.
//! Server → client: `connection_ack`, `ka` (right after the ack, then every keep-alive
//! interval; the session's deadline says when the next one is due), `connection_error`
//! {payload {message}}, `data` {id, payload}, `error` {id, payload}, `complete` {id}.
//!
//! Like subscriptions-transport-ws, a bad client message is answered, not punished with a
//! close: text that is not JSON gets `connection_error` {message}; JSON that is not an object
//! with a string `type`, an unknown type, or a `start` whose id is not a string gets `error`
//! {message} (with the id when it is a string); a `start` with a bad payload gets `error`
//! for its id. Where this session is stricter than that server, on purpose:
//! - `start` before any `connection_init` gets `error` for its id (that server would run it
//!   without ever asking `onConnect`); `start` and `stop` while the app decides wait and are
//!   handled right after the ack, in order (Apollo's client sends `start` right after init,
//!   unacked; that server too waits for its init promise), dropped if the app rejects
//!   (`stage.rs`; past its bounds: close 1008);
//! - no `connection_init` within the init timeout closes with 4408 `Connection
//!   initialisation timeout`, so idle sockets that never speak do not stay forever.
//!
//! Closes: `connection_terminate` → 1000; rejected init or internal error → `connection_error`
//! {message} then 1011 (as subscriptions-transport-ws); server closes (1000/1001) via
//! `Session::close`. A `start` with the id of an active operation stops that one first
//! (the app gets `Complete` then `Subscribe`), as that server does. A repeated
//! `connection_init` after the ack is acked again; during the app's decision it is ignored.

use std::time::{Duration, Instant};

use super::event::Sink;
use super::machine::{Dialect, Machine, Start};
use super::parse::{self, BadMessage};
use super::wire::{Outgoing, Payload};
use super::{too_many_operations, Settings};
use crate::ws::CloseCode;

/// The legacy protocol's settings: the `ka` interval.
#[derive(Debug, Clone, Copy)]
pub(super) struct LegacyWs {
    /// `ka` interval in milliseconds; 0: no `ka`.
    keep_alive_ms: u32,
}

impl LegacyWs {
    pub(super) fn new(settings: &Settings) -> Self {
        let ms = settings.keep_alive.map_or(0, |d| d.as_millis());
        LegacyWs {
            keep_alive_ms: u32::try_from(ms).unwrap_or(u32::MAX),
        }
    }

    fn every(self) -> Duration {
        Duration::from_millis(self.keep_alive_ms.into())
    }
}

impl Dialect for LegacyWs {
    const NEXT: &'static str = "data";

    fn on_text(self, m: &mut Machine, text: &str, out: &mut dyn Sink) {
        let msg = match parse::message(text) {
            Ok(m) => m,
            Err(BadMessage::Syntax(r)) => return send_error(None, "connection_error", &r, out),
            Err(BadMessage::Shape(r)) => return send_error(None, "error", &r, out),
        };
        match &*msg.kind {
            "connection_init" => {
                if m.awaiting_init() {
                    m.init(msg.payload.filter(|p| p.get() != "null"), out);
                } else if m.acknowledged() {
                    out.send(Outgoing::bare("connection_ack"));
                }
            }
            "start" => {
                let id = match msg.id(false) {
                    Ok(id) => id,
                    Err(r) => return send_error(None, "error", &r, out),
                };
                let payload = match msg.operation() {
                    Ok(p) => p,
                    Err(r) => return send_error(Some(&id), "error", &r, out),
                };
                if m.awaiting_init() {
                    let r = "'connection_init' must come before 'start'";
                    return send_error(Some(&id), "error", r, out);
                }
                if m.deciding() {
                    return m.wait(text, out);
                }
                match m.subscribe(&id, payload, out) {
                    Start::Exists => {
                        // A restart: the old operation ends, a new one (new serial) begins.
                        m.unsubscribe(&id, out);
                        m.subscribe(&id, payload, out);
                    }
                    Start::Full => {
                        let r = too_many_operations(m.max_ops(), false);
                        send_error(Some(&id), "error", &r, out);
                    }
                    Start::Started | Start::Refused => {}
                }
            }
            "stop" => {
                if m.deciding() {
                    // After a start that waits, it must wait too.
                    return m.wait(text, out);
                }
                if let Ok(id) = msg.id(false) {
                    m.unsubscribe(&id, out);
                }
            }
            "connection_terminate" => m.close(CloseCode::NORMAL, "", out),
            other => {
                let id = msg.id.and_then(parse::string);
                let r = format!("Unknown message type '{other}'");
                send_error(id.as_deref(), "error", &r, out);
            }
        }
    }

    fn on_waited(self, m: &mut Machine, text: &str, out: &mut dyn Sink) {
        self.on_text(m, text, out);
    }

    /// `connection_ack` (without the app's payload: the legacy ack has none), then `ka` at
    /// once and every keep-alive interval from `now`.
    fn acknowledge(
        self,
        m: &mut Machine,
        _: Option<Payload<'_>>,
        now: Instant,
        out: &mut dyn Sink,
    ) {
        out.send(Outgoing::bare("connection_ack"));
        if self.keep_alive_ms > 0 {
            out.send(Outgoing::bare("ka"));
            m.set_deadline(now.checked_add(self.every()));
        }
    }

    /// `connection_error` {message}, then close 1011.
    fn reject(self, m: &mut Machine, message: &str, out: &mut dyn Sink) {
        self.internal_error(m, message, out);
    }

    /// `connection_error` {message}, then close 1011.
    fn internal_error(self, m: &mut Machine, message: &str, out: &mut dyn Sink) {
        send_error(None, "connection_error", message, out);
        m.close(CloseCode::INTERNAL, "", out);
    }

    /// A `ka` is due: send it and schedule the next.
    fn on_acked_deadline(self, m: &mut Machine, due: Instant, now: Instant, out: &mut dyn Sink) {
        out.send(Outgoing::bare("ka"));
        let every = self.every();
        // After a stall, resume from now rather than sending a burst of `ka`.
        let next = due.checked_add(every).filter(|n| *n > now);
        m.set_deadline(next.or_else(|| now.checked_add(every)));
    }
}

/// An error-shaped message: `{"id"?,"type":<kind>,"payload":{"message":<text>}}`.
fn send_error(id: Option<&str>, kind: &'static str, text: &str, out: &mut dyn Sink) {
    out.send(Outgoing {
        id,
        kind,
        payload: Some(Payload::Message(text)),
    });
}
