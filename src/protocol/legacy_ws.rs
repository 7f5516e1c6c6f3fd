//! The legacy `graphql-ws` subprotocol of subscriptions-transport-ws: one connection's state
//! machine (Apollo Client 2 links and many mobile clients speak it).
//!
//! Sans-IO like [`super::transport_ws`]: driven through [`super::Session`] with decoded
//! text, the app's decisions and results, and the time; output goes to a [`Sink`].
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
//!   without ever asking `onConnect`); `start` while the app decides goes to the app, which
//!   must wait for its own decision (Apollo's client sends `start` right after init, unacked);
//! - no `connection_init` within the init timeout closes with 4408 `Connection
//!   initialisation timeout`, so idle sockets that never speak do not stay forever.
//!
//! Closes: `connection_terminate` → 1000; rejected init or internal error → `connection_error`
//! {message} then 1011 (as subscriptions-transport-ws); server closes (1000/1001) via
//! [`LegacyWs::close`]. A `start` with the id of an active operation stops that one first
//! (the app gets `Complete` then `Subscribe`), as that server does. A repeated
//! `connection_init` after the ack is acked again; during the app's decision it is ignored.

use bytes::Bytes;
use std::time::{Duration, Instant};

use super::ids::{Ids, OpSerial};
use super::output::{AppEvent, Outgoing, Payload, Sink};
use super::parse::{self, BadMessage};
use super::{close_codes as code, end, too_many_operations, Settings};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    AwaitInit,
    Deciding,
    Acked,
    Closed,
}

/// One legacy connection.
#[derive(Debug)]
pub struct LegacyWs {
    /// Init timeout before the ack, next `ka` after it.
    deadline: Option<Instant>,
    ids: Ids,
    /// `ka` interval in milliseconds; 0: no `ka`.
    keep_alive_ms: u32,
    /// `maxSubscriptionsPerConnection`.
    max_ops: u32,
    phase: Phase,
}

impl LegacyWs {
    /// A connection whose WebSocket opened at `now`.
    pub fn new(settings: &Settings, now: Instant) -> Self {
        let ms = settings.keep_alive.map_or(0, |d| d.as_millis());
        LegacyWs {
            deadline: settings.init_timeout.and_then(|d| now.checked_add(d)),
            ids: Ids::default(),
            keep_alive_ms: u32::try_from(ms).unwrap_or(u32::MAX),
            max_ops: settings.max_operations,
            phase: Phase::AwaitInit,
        }
    }

    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    pub fn acknowledged(&self) -> bool {
        self.phase == Phase::Acked
    }

    pub fn serial(&self, id: &str) -> Option<OpSerial> {
        self.ids.serial(id)
    }

    pub fn is_active(&self, id: &str, serial: OpSerial) -> bool {
        self.ids.is_active(id, serial)
    }

    pub fn holds(&self, serial: OpSerial) -> Option<bool> {
        self.ids.holds(serial)
    }

    pub fn active(&self) -> usize {
        self.ids.len()
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Sends a due `ka` (and schedules the next), or closes when the init deadline passed.
    pub fn on_timeout(&mut self, now: Instant, out: &mut dyn Sink) {
        let Some(due) = self.deadline.filter(|d| now >= *d) else {
            return;
        };
        match self.phase {
            Phase::AwaitInit => {
                self.close(code::INIT_TIMEOUT, "Connection initialisation timeout", out)
            }
            Phase::Acked => {
                out.send(Outgoing::bare("ka"));
                let every = Duration::from_millis(self.keep_alive_ms.into());
                // After a stall, resume from now rather than sending a burst of `ka`.
                let next = due.checked_add(every).filter(|n| *n > now);
                self.deadline = next.or_else(|| now.checked_add(every));
            }
            Phase::Deciding | Phase::Closed => {}
        }
    }

    /// One text message from the client.
    pub fn on_text(&mut self, text: &str, out: &mut dyn Sink) {
        if self.phase == Phase::Closed {
            return;
        }
        let msg = match parse::message(text) {
            Ok(m) => m,
            Err(BadMessage::Syntax(r)) => return send_error(None, "connection_error", &r, out),
            Err(BadMessage::Shape(r)) => return send_error(None, "error", &r, out),
        };
        match &*msg.kind {
            "connection_init" => match self.phase {
                Phase::AwaitInit => {
                    self.phase = Phase::Deciding;
                    self.deadline = None;
                    let payload = msg.payload.filter(|p| p.get() != "null");
                    out.app(AppEvent::Init { payload });
                }
                Phase::Acked => out.send(Outgoing::bare("connection_ack")),
                Phase::Deciding | Phase::Closed => {}
            },
            "start" => {
                let id = match msg.id(false) {
                    Ok(id) => id,
                    Err(r) => return send_error(None, "error", &r, out),
                };
                let payload = match msg.operation() {
                    Ok(p) => p,
                    Err(r) => return send_error(Some(&id), "error", &r, out),
                };
                if self.phase == Phase::AwaitInit {
                    let r = "'connection_init' must come before 'start'";
                    return send_error(Some(&id), "error", r, out);
                }
                if self.ids.contains(&id) {
                    // A restart: the old operation ends, a new one (new serial) begins.
                    out.app(AppEvent::Complete { id: &id });
                    self.ids.remove(&id);
                } else if self.ids.len() >= self.max_ops as usize {
                    let r = too_many_operations(self.max_ops, false);
                    return send_error(Some(&id), "error", &r, out);
                }
                if let Some(serial) = self.ids.insert(&id) {
                    out.app(AppEvent::Subscribe {
                        id: &id,
                        serial,
                        payload,
                    });
                }
            }
            "stop" => {
                if let Ok(id) = msg.id(false) {
                    if self.ids.remove(&id) {
                        out.app(AppEvent::Complete { id: &id });
                    }
                }
            }
            "connection_terminate" => self.close(code::NORMAL, "", out),
            other => {
                let id = msg.id.and_then(parse::string);
                let r = format!("Unknown message type '{other}'");
                send_error(id.as_deref(), "error", &r, out);
            }
        }
    }

    /// The app accepted `connection_init`: `connection_ack`, then `ka` at once and every
    /// keep-alive interval from `now`. Ignored unless a decision was pending.
    pub fn accept_init(&mut self, now: Instant, out: &mut dyn Sink) {
        if self.phase != Phase::Deciding {
            return;
        }
        self.phase = Phase::Acked;
        out.send(Outgoing::bare("connection_ack"));
        if self.keep_alive_ms > 0 {
            out.send(Outgoing::bare("ka"));
            let every = Duration::from_millis(self.keep_alive_ms.into());
            self.deadline = now.checked_add(every);
        }
    }

    /// The app rejected `connection_init`: `connection_error` {message}, then close 1011.
    pub fn reject_init(&mut self, message: &str, out: &mut dyn Sink) {
        if self.phase == Phase::Deciding {
            self.internal_error(message, out);
        }
    }

    /// Something failed on the server: `connection_error` {message}, then close 1011.
    pub fn internal_error(&mut self, message: &str, out: &mut dyn Sink) {
        if self.phase != Phase::Closed {
            send_error(None, "connection_error", message, out);
            self.close(code::INTERNAL, "", out);
        }
    }

    /// A result for operation `id`: `data`. Returns whether it was sent (false: not active).
    pub fn next(
        &mut self,
        id: &str,
        serial: OpSerial,
        payload: &Bytes,
        out: &mut dyn Sink,
    ) -> bool {
        self.ids.emit(id, serial, "data", Some(payload), false, out)
    }

    /// Operation `id` failed: `error` with `errors` as given; the id is free again.
    pub fn error(
        &mut self,
        id: &str,
        serial: OpSerial,
        errors: &Bytes,
        out: &mut dyn Sink,
    ) -> bool {
        self.ids.emit(id, serial, "error", Some(errors), true, out)
    }

    /// Operation `id` is done: `complete`; the id is free again.
    pub fn complete(&mut self, id: &str, serial: OpSerial, out: &mut dyn Sink) -> bool {
        self.ids.emit(id, serial, "complete", None, true, out)
    }

    /// Closes with `code` and `reason`, telling the app.
    pub fn close(&mut self, code: u16, reason: &str, out: &mut dyn Sink) {
        if self.phase != Phase::Closed {
            let acked = self.acknowledged();
            self.shut();
            end(out, code, reason, acked, true);
        }
    }

    /// The WebSocket ended without the session closing it: tells the app, once.
    pub fn transport_closed(&mut self, code: u16, reason: &str, out: &mut dyn Sink) {
        if self.phase != Phase::Closed {
            let acked = self.acknowledged();
            self.shut();
            end(out, code, reason, acked, false);
        }
    }

    fn shut(&mut self) {
        self.phase = Phase::Closed;
        self.deadline = None;
        self.ids.clear();
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
