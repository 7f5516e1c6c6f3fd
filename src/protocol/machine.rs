//! The state machine every GraphQL-over-WebSocket protocol shares, and what a protocol adds
//! to it.
//!
//! [`Machine`] holds the phase (`stage.rs`: waiting for `connection_init`, the app deciding
//! with the messages that must wait for it, acknowledged with the active operations' ids,
//! closed), the connection's one deadline (the init timeout, then whatever the protocol times
//! once acknowledged) and the operation limit. It decides what is the same whatever the
//! protocol: when a message must wait for the ack and when too many wait (1008), which
//! operation an answer from the app is for (ids and serials), that nothing is sent before
//! the ack or after the close, and that the app hears `Closed` exactly once.
//!
//! A [`Dialect`] is what one protocol adds: how client messages are named and read, how a
//! bad one is answered, what the ack sends, how a refusal or a failed hook ends the
//! connection, what the deadline does once acknowledged. Each protocol's part is one file
//! (`transport_ws.rs`, `legacy_ws.rs`) implementing it with the machine's steps below; the
//! machine never names a protocol, and `session.rs` puts the two together.

use serde_json::value::RawValue;
use std::collections::VecDeque;
use std::time::Instant;

use super::event::{AppEvent, Sink};
use super::ids::{Ids, OpSerial};
use super::stage::{max_waiting, Stage, TOO_MANY_WAITING};
use super::wire::{Outgoing, Payload};
use super::Settings;
use crate::ws::close::cut_reason;
use crate::ws::CloseCode;

/// What one protocol adds to the machine. Implemented by a small `Copy` value holding that
/// protocol's settings.
pub(super) trait Dialect: Copy {
    /// The `type` of a result message (`next`; legacy `data`).
    const NEXT: &'static str;
    /// One text message from the client (the session is not closed).
    fn on_text(self, m: &mut Machine, text: &str, out: &mut dyn Sink);
    /// A message that waited for the ack, handled now (in arrival order).
    fn on_waited(self, m: &mut Machine, text: &str, out: &mut dyn Sink);
    /// The app accepted `connection_init`: send the ack (`ack`: its payload, or the whole
    /// message the app wrote) and start whatever follows it.
    fn acknowledge(
        self,
        m: &mut Machine,
        ack: Option<Payload<'_>>,
        now: Instant,
        out: &mut dyn Sink,
    );
    /// The app refused `connection_init` (the session was deciding).
    fn reject(self, m: &mut Machine, message: &str, out: &mut dyn Sink);
    /// A hook threw (the session is not closed).
    fn internal_error(self, m: &mut Machine, message: &str, out: &mut dyn Sink);
    /// The deadline, due at `due`, passed while acknowledged.
    fn on_acked_deadline(self, _: &mut Machine, _due: Instant, _now: Instant, _: &mut dyn Sink) {}
    /// A client message the app read itself, as its envelope (`Session::on_app_message`).
    fn on_envelope(self, _: &mut Machine, _envelope: &str, _: &mut dyn Sink) {}
    /// The app's whole `pong`, after it was handed a `ping` (the session is not closed).
    fn pong(self, _: &mut Machine, _message: &bytes::Bytes, _: &mut dyn Sink) {}
}

/// What [`Machine::subscribe`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    /// The operation started: the app heard `Subscribe`.
    Started,
    /// The id is held by an active operation; nothing changed.
    Exists,
    /// The connection is at its operation limit; nothing changed.
    Full,
    /// Not acknowledged (or closed); nothing changed.
    Refused,
}

/// One connection's protocol state, whatever the protocol.
#[derive(Debug)]
pub(super) struct Machine {
    /// The init timeout until `connection_init`, then the protocol's (legacy: the next `ka`).
    deadline: Option<Instant>,
    stage: Stage,
    /// `maxSubscriptionsPerConnection`.
    max_ops: u32,
}

impl Machine {
    /// A connection whose WebSocket opened at `now`: waiting for `connection_init`.
    pub(super) fn new(settings: &Settings, now: Instant) -> Machine {
        Machine {
            deadline: settings.init_timeout.and_then(|d| now.checked_add(d)),
            stage: Stage::AwaitInit,
            max_ops: settings.max_operations,
        }
    }

    /// A machine that is over before it began (no protocol).
    pub(super) fn closed() -> Machine {
        Machine {
            deadline: None,
            stage: Stage::Closed,
            max_ops: 0,
        }
    }

    // ---- where it is ----

    pub(super) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    pub(super) fn is_closed(&self) -> bool {
        self.stage.is_closed()
    }

    /// Still waiting for `connection_init`.
    pub(super) fn awaiting_init(&self) -> bool {
        matches!(self.stage, Stage::AwaitInit)
    }

    /// `connection_init` went to the app, which has not decided yet.
    pub(super) fn deciding(&self) -> bool {
        self.stage.is_deciding()
    }

    /// The app accepted the connection (and it is still open).
    pub(super) fn acknowledged(&self) -> bool {
        self.stage.is_acked()
    }

    /// `maxSubscriptionsPerConnection`.
    pub(super) fn max_ops(&self) -> u32 {
        self.max_ops
    }

    /// The active operations' ids (only once acknowledged).
    pub(super) fn ids(&self) -> Option<&Ids> {
        self.stage.ids()
    }

    // ---- the steps a dialect takes ----

    /// `connection_init` while awaiting it: the app decides; the init deadline stops (even
    /// if the app is slow).
    pub(super) fn init(&mut self, payload: Option<&RawValue>, out: &mut dyn Sink) {
        self.stage = Stage::Deciding(None);
        self.deadline = None;
        out.app(AppEvent::Init { payload });
    }

    /// Keeps a message that must wait for the app's decision on `connection_init`; past the
    /// bounds, closes with 1008.
    pub(super) fn wait(&mut self, text: &str, out: &mut dyn Sink) {
        if !self.stage.hold(text, max_waiting(self.max_ops)) {
            self.close(CloseCode::POLICY_VIOLATION, TOO_MANY_WAITING, out);
        }
    }

    /// The app accepted: acknowledged from now on; returns the messages that waited.
    pub(super) fn acknowledge(&mut self) -> VecDeque<Box<str>> {
        self.stage.acknowledge()
    }

    /// Starts operation `id` with the client's `payload` (acknowledged only): a fresh serial,
    /// and the app hears `Subscribe`.
    pub(super) fn subscribe(&mut self, id: &str, payload: &RawValue, out: &mut dyn Sink) -> Start {
        let max_ops = self.max_ops as usize;
        let Some(ids) = self.stage.ids_mut() else {
            return Start::Refused;
        };
        if ids.contains(id) {
            return Start::Exists;
        }
        if ids.len() >= max_ops {
            return Start::Full;
        }
        match ids.insert(id) {
            Some(serial) => {
                out.app(AppEvent::Subscribe {
                    id,
                    serial,
                    payload,
                });
                Start::Started
            }
            None => Start::Exists,
        }
    }

    /// The client ended operation `id`: if it is active, the app hears `Complete`.
    pub(super) fn unsubscribe(&mut self, id: &str, out: &mut dyn Sink) {
        if self.stage.ids_mut().is_some_and(|ids| ids.remove(id)) {
            out.app(AppEvent::Complete { id });
        }
    }

    /// Sets the deadline (after the ack: the protocol's own timing).
    pub(super) fn set_deadline(&mut self, at: Option<Instant>) {
        self.deadline = at;
    }

    /// Sends a server message of `kind` for operation `id` if it is held by `serial` (0:
    /// whichever holds it), never before the ack; `ends` frees the id. Returns whether it
    /// was sent.
    pub(super) fn emit(
        &mut self,
        id: &str,
        serial: OpSerial,
        kind: &'static str,
        payload: Option<Payload<'_>>,
        ends: bool,
        out: &mut dyn Sink,
    ) -> bool {
        let Some(ids) = self.stage.ids_mut() else {
            return false;
        };
        let active = ids.is_active(id, serial);
        if active && ends {
            ids.remove(id);
        }
        if active {
            out.send(Outgoing {
                id: Some(id),
                kind,
                payload,
            });
        }
        active
    }

    /// The server closes with `code` and `reason`, telling the app. Nothing once closed.
    pub(super) fn close(&mut self, code: CloseCode, reason: &str, out: &mut dyn Sink) {
        self.end(code, reason, true, out);
    }

    /// The socket ended by itself: the app hears `Closed` once; nothing is sent.
    pub(super) fn transport_closed(&mut self, code: CloseCode, reason: &str, out: &mut dyn Sink) {
        self.end(code, reason, false, out);
    }

    /// Ends the session, once: the close (when the session initiates it) and the app's
    /// `Closed`.
    fn end(&mut self, code: CloseCode, reason: &str, send_close: bool, out: &mut dyn Sink) {
        if self.is_closed() {
            return;
        }
        let acknowledged = self.acknowledged();
        self.stage = Stage::Closed;
        self.deadline = None;
        let reason = cut_reason(reason);
        if send_close {
            out.close(code, reason);
        }
        out.app(AppEvent::Closed {
            code,
            reason,
            acknowledged,
        });
    }
}

/// A session that never spoke a protocol: closed with 4406 at once, and the app told.
pub(super) fn refuse_subprotocol(out: &mut dyn Sink) {
    let code = CloseCode::SUBPROTOCOL_NOT_ACCEPTABLE;
    let reason = code.reason();
    out.close(code, reason);
    out.app(AppEvent::Closed {
        code,
        reason,
        acknowledged: false,
    });
}
