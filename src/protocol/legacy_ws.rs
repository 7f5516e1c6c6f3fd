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
//!   without ever asking `onConnect`); `start` and `stop` while the app decides wait and are
//!   handled right after the ack, in order (Apollo's client sends `start` right after init,
//!   unacked; that server too waits for its init promise), dropped if the app rejects
//!   (`stage.rs`; past its bounds: close 1008);
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

use super::ids::OpSerial;
use super::output::{AppEvent, Outgoing, Payload, Sink};
use super::parse::{self, BadMessage};
use super::stage::{max_waiting, Stage, TOO_MANY_WAITING};
use super::{end, too_many_operations, Settings, WholeKind};
use crate::ws::CloseCode as code;

/// One legacy connection.
#[derive(Debug)]
pub struct LegacyWs {
    /// Init timeout before the ack, next `ka` after it.
    deadline: Option<Instant>,
    stage: Stage,
    /// `ka` interval in milliseconds; 0: no `ka`.
    keep_alive_ms: u32,
    /// `maxSubscriptionsPerConnection`.
    max_ops: u32,
}

impl LegacyWs {
    /// A connection whose WebSocket opened at `now`.
    pub fn new(settings: &Settings, now: Instant) -> Self {
        let ms = settings.keep_alive.map_or(0, |d| d.as_millis());
        LegacyWs {
            deadline: settings.init_timeout.and_then(|d| now.checked_add(d)),
            stage: Stage::AwaitInit,
            keep_alive_ms: u32::try_from(ms).unwrap_or(u32::MAX),
            max_ops: settings.max_operations,
        }
    }

    pub fn is_closed(&self) -> bool {
        self.stage.is_closed()
    }

    pub fn acknowledged(&self) -> bool {
        self.stage.is_acked()
    }

    pub fn serial(&self, id: &str) -> Option<OpSerial> {
        self.stage.ids().and_then(|ids| ids.serial(id))
    }

    pub fn is_active(&self, id: &str, serial: OpSerial) -> bool {
        self.stage
            .ids()
            .is_some_and(|ids| ids.is_active(id, serial))
    }

    pub fn holds(&self, serial: OpSerial) -> Option<bool> {
        self.stage
            .ids()
            .map_or(Some(false), |ids| ids.holds(serial))
    }

    pub fn active(&self) -> usize {
        self.stage.ids().map_or(0, |ids| ids.len())
    }

    /// How many messages wait for the app's decision on `connection_init`.
    pub fn waiting(&self) -> usize {
        self.stage.waiting()
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Sends a due `ka` (and schedules the next), or closes when the init deadline passed.
    pub fn on_timeout(&mut self, now: Instant, out: &mut dyn Sink) {
        let Some(due) = self.deadline.filter(|d| now >= *d) else {
            return;
        };
        match self.stage {
            Stage::AwaitInit => {
                self.close(code::INIT_TIMEOUT, "Connection initialisation timeout", out)
            }
            Stage::Acked(_) => {
                out.send(Outgoing::bare("ka"));
                let every = Duration::from_millis(self.keep_alive_ms.into());
                // After a stall, resume from now rather than sending a burst of `ka`.
                let next = due.checked_add(every).filter(|n| *n > now);
                self.deadline = next.or_else(|| now.checked_add(every));
            }
            Stage::Deciding(_) | Stage::Closed => {}
        }
    }

    /// One text message from the client.
    pub fn on_text(&mut self, text: &str, out: &mut dyn Sink) {
        if self.is_closed() {
            return;
        }
        let msg = match parse::message(text) {
            Ok(m) => m,
            Err(BadMessage::Syntax(r)) => return send_error(None, "connection_error", &r, out),
            Err(BadMessage::Shape(r)) => return send_error(None, "error", &r, out),
        };
        match &*msg.kind {
            "connection_init" => match self.stage {
                Stage::AwaitInit => {
                    self.stage = Stage::Deciding(None);
                    self.deadline = None;
                    let payload = msg.payload.filter(|p| p.get() != "null");
                    out.app(AppEvent::Init { payload });
                }
                Stage::Acked(_) => out.send(Outgoing::bare("connection_ack")),
                Stage::Deciding(_) | Stage::Closed => {}
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
                match self.stage {
                    Stage::AwaitInit => {
                        let r = "'connection_init' must come before 'start'";
                        return send_error(Some(&id), "error", r, out);
                    }
                    Stage::Deciding(_) => return self.wait(text, out),
                    _ => {}
                }
                let max_ops = self.max_ops;
                let Some(ids) = self.stage.ids_mut() else {
                    return;
                };
                if ids.contains(&id) {
                    // A restart: the old operation ends, a new one (new serial) begins.
                    out.app(AppEvent::Complete { id: &id });
                    ids.remove(&id);
                } else if ids.len() >= max_ops as usize {
                    let r = too_many_operations(max_ops, false);
                    return send_error(Some(&id), "error", &r, out);
                }
                if let Some(serial) = ids.insert(&id) {
                    out.app(AppEvent::Subscribe {
                        id: &id,
                        serial,
                        payload,
                    });
                }
            }
            "stop" => {
                if self.stage.is_deciding() {
                    // After a start that waits, it must wait too.
                    return self.wait(text, out);
                }
                if let Ok(id) = msg.id(false) {
                    if self.stage.ids_mut().is_some_and(|ids| ids.remove(&id)) {
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

    /// Keeps a message that needs the app's decision on `connection_init`; past the bounds,
    /// closes with 1008.
    fn wait(&mut self, text: &str, out: &mut dyn Sink) {
        if !self.stage.hold(text, max_waiting(self.max_ops)) {
            self.close(code::POLICY_VIOLATION, TOO_MANY_WAITING, out);
        }
    }

    /// The app accepted `connection_init`: `connection_ack`, then `ka` at once and every
    /// keep-alive interval from `now`; then the messages that waited, in order. Ignored
    /// unless a decision was pending.
    pub fn accept_init(&mut self, now: Instant, out: &mut dyn Sink) {
        if !self.stage.is_deciding() {
            return;
        }
        let waited = self.stage.acknowledge();
        out.send(Outgoing::bare("connection_ack"));
        if self.keep_alive_ms > 0 {
            out.send(Outgoing::bare("ka"));
            let every = Duration::from_millis(self.keep_alive_ms.into());
            self.deadline = now.checked_add(every);
        }
        for text in waited {
            if self.is_closed() {
                break;
            }
            self.on_text(&text, out);
        }
    }

    /// The app rejected `connection_init`: `connection_error` {message}, then close 1011.
    pub fn reject_init(&mut self, message: &str, out: &mut dyn Sink) {
        if self.stage.is_deciding() {
            self.internal_error(message, out);
        }
    }

    /// Something failed on the server: `connection_error` {message}, then close 1011.
    pub fn internal_error(&mut self, message: &str, out: &mut dyn Sink) {
        if !self.is_closed() {
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
        self.stage.emit(
            id,
            serial,
            "data",
            Some(Payload::Shared(payload)),
            false,
            out,
        )
    }

    /// Operation `id` failed: `error` with `errors` as given; the id is free again.
    pub fn error(
        &mut self,
        id: &str,
        serial: OpSerial,
        errors: &Bytes,
        out: &mut dyn Sink,
    ) -> bool {
        self.stage.emit(
            id,
            serial,
            "error",
            Some(Payload::Shared(errors)),
            true,
            out,
        )
    }

    /// Operation `id` is done: `complete`; the id is free again.
    pub fn complete(&mut self, id: &str, serial: OpSerial, out: &mut dyn Sink) -> bool {
        self.stage.emit(id, serial, "complete", None, true, out)
    }

    /// `data`, `error` or `complete` for `id`, written whole by the app.
    pub fn send_whole(
        &mut self,
        kind: WholeKind,
        id: &str,
        serial: OpSerial,
        message: &Bytes,
        out: &mut dyn Sink,
    ) -> bool {
        let (kind, ends) = kind.kind(true);
        self.stage
            .emit(id, serial, kind, Some(Payload::Whole(message)), ends, out)
    }

    /// Closes with `code` and `reason`, telling the app.
    pub fn close(&mut self, code: code, reason: &str, out: &mut dyn Sink) {
        if !self.is_closed() {
            let acked = self.acknowledged();
            self.shut();
            end(out, code, reason, acked, true);
        }
    }

    /// The WebSocket ended without the session closing it: tells the app, once.
    pub fn transport_closed(&mut self, code: code, reason: &str, out: &mut dyn Sink) {
        if !self.is_closed() {
            let acked = self.acknowledged();
            self.shut();
            end(out, code, reason, acked, false);
        }
    }

    fn shut(&mut self) {
        self.stage = Stage::Closed;
        self.deadline = None;
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
