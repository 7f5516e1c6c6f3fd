//! One connection's session: the state machine every GraphQL-over-WebSocket protocol shares.
//!
//! The machine holds the phase (`stage.rs`: waiting for `connection_init`, the app deciding
//! with the messages that must wait for it, acknowledged with the active operations' ids,
//! closed), the connection's one deadline (the init timeout, then whatever the protocol times
//! once acknowledged), and the operation limit. It decides what is the same whatever the
//! protocol: when a message must wait for the ack and when too many wait (1008), which
//! operation an answer from the app is for (ids and serials), that nothing is sent before
//! the ack or after the close, and that the app hears `Closed` exactly once.
//!
//! What differs between protocols is a `Dialect` (`dialect.rs`): how client messages are
//! named and read, how a bad one is answered, what the ack sends, how a refusal or a failed
//! hook ends the connection, and what the deadline does once acknowledged. Each protocol's
//! part lives in its own file (`transport_ws.rs`, `legacy_ws.rs`) and acts on the machine
//! through the `pub(super)` steps at the end of this file.
//!
//! Sans-IO: no clock (every time-driven call takes `now`), no socket; output goes to a
//! [`Sink`]. Called by the reactor (`reactor/session.rs`) and by tests.

use bytes::Bytes;
use serde_json::value::RawValue;
use std::time::Instant;

use super::dialect::{Protocol, Start};
use super::event::{AppEvent, Sink};
use super::ids::{Ids, OpSerial};
use super::stage::{max_waiting, Stage, TOO_MANY_WAITING};
use super::wire::{Outgoing, Payload};
use super::{Settings, WholeKind};
use crate::ws::close::cut_reason;
use crate::ws::CloseCode;

/// One connection's protocol session.
#[derive(Debug)]
pub struct Session {
    /// The init timeout until `connection_init`, then the protocol's (legacy: the next `ka`).
    deadline: Option<Instant>,
    stage: Stage,
    /// `maxSubscriptionsPerConnection`.
    max_ops: u32,
    protocol: Protocol,
}

impl Default for Session {
    /// A session that speaks no protocol: closed, it produces nothing.
    fn default() -> Self {
        Session {
            deadline: None,
            stage: Stage::Closed,
            max_ops: 0,
            protocol: Protocol::None,
        }
    }
}

impl Session {
    /// The session of a connection whose WebSocket opened at `now` with `protocol` (what
    /// [`super::select_protocol`] chose). Without one it closes at once with 4406.
    pub fn open(
        protocol: Option<&str>,
        settings: &Settings,
        now: Instant,
        out: &mut dyn Sink,
    ) -> Session {
        let Some(protocol) = Protocol::named(protocol, settings) else {
            let code = CloseCode::SUBPROTOCOL_NOT_ACCEPTABLE;
            end(out, code, code.reason(), false, true);
            return Session::default();
        };
        Session {
            deadline: settings.init_timeout.and_then(|d| now.checked_add(d)),
            stage: Stage::AwaitInit,
            max_ops: settings.max_operations,
            protocol,
        }
    }

    /// The subprotocol spoken, `None` after a 4406.
    pub fn protocol(&self) -> Option<&'static str> {
        self.protocol.name()
    }

    /// One text message from the client. (`now` is unused today; it is part of the
    /// contract so that time-dependent rules never need a clock.)
    pub fn on_text(&mut self, text: &str, _now: Instant, out: &mut dyn Sink) {
        if !self.is_closed() {
            Protocol::on_text(self.protocol, self, text, out);
        }
    }

    /// A client message the app read itself ([`super::AppHandles::parse`]), as its envelope:
    /// `{"type":…,"id"?:…,"payload"?:<token>}`. The session applies its rules as to a client
    /// message, except the payload's shape (the app checked it); `<token>` (any JSON value,
    /// e.g. a number naming what the app kept) comes back as the payload of the event the
    /// message produces (`Init`, `Subscribe`, `Ping`, `Pong`, `Refused`).
    /// graphql-transport-ws only; ignored otherwise.
    pub fn on_app_message(&mut self, envelope: &str, out: &mut dyn Sink) {
        if !self.is_closed() {
            Protocol::on_envelope(self.protocol, self, envelope, out);
        }
    }

    /// The app's `pong` (after a [`AppEvent::Ping`]): the whole message as it wrote it.
    /// graphql-transport-ws only; nothing once closed.
    pub fn pong(&mut self, message: &Bytes, out: &mut dyn Sink) {
        if !self.is_closed() {
            Protocol::pong(self.protocol, self, message, out);
        }
    }

    /// The one instant at which [`Session::on_timeout`] has something to do, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Time passed: acts on the deadline if `now` reached it (nothing happens before):
    /// 4408 while waiting for `connection_init`, the protocol's business once acknowledged.
    pub fn on_timeout(&mut self, now: Instant, out: &mut dyn Sink) {
        let Some(due) = self.deadline.filter(|d| now >= *d) else {
            return;
        };
        match self.stage {
            Stage::AwaitInit => {
                let code = CloseCode::INIT_TIMEOUT;
                self.close(code, code.reason(), out);
            }
            Stage::Acked(_) => Protocol::on_acked_deadline(self.protocol, self, due, now, out),
            Stage::Deciding(_) | Stage::Closed => {}
        }
    }

    /// The app accepted the connection. `payload` (a JSON object, as the app serialized it)
    /// goes into graphql-transport-ws's `connection_ack`; the legacy ack has none. Messages
    /// that waited for the decision are handled right after the ack, in order.
    pub fn accept_init(&mut self, payload: Option<&str>, now: Instant, out: &mut dyn Sink) {
        self.accept(payload.map(Payload::Json), now, out);
    }

    /// [`Session::accept_init`] with the whole `connection_ack` as the app wrote it
    /// (graphql-transport-ws; the legacy protocol sends its own ack).
    pub fn accept_init_whole(&mut self, message: &Bytes, now: Instant, out: &mut dyn Sink) {
        self.accept(Some(Payload::Whole(message)), now, out);
    }

    fn accept(&mut self, ack: Option<Payload<'_>>, now: Instant, out: &mut dyn Sink) {
        if !self.stage.is_deciding() {
            return;
        }
        let waited = self.stage.acknowledge();
        Protocol::acknowledge(self.protocol, self, ack, now, out);
        for text in waited {
            if self.is_closed() {
                break;
            }
            Protocol::on_waited(self.protocol, self, &text, out);
        }
    }

    /// The app rejected the connection: 4403 `Forbidden`, or legacy `connection_error`
    /// {message} then 1011. Ignored unless a decision was pending.
    pub fn reject_init(&mut self, message: &str, out: &mut dyn Sink) {
        if self.stage.is_deciding() {
            Protocol::reject(self.protocol, self, message, out);
        }
    }

    /// An internal error (a hook threw): 4500 with `message`, or legacy `connection_error`
    /// {message} then 1011.
    pub fn internal_error(&mut self, message: &str, out: &mut dyn Sink) {
        if !self.is_closed() {
            Protocol::internal_error(self.protocol, self, message, out);
        }
    }

    /// A result for operation `id` (`next`, legacy `data`): `{"id":<id>,"type":"next",
    /// "payload":` + `payload` + `}`, the payload framed as given. False when `id` is not
    /// active (the client completed it): nothing is sent. `serial` is the operation's (from
    /// its `Subscribe` event), or 0 for whichever holds `id`: an answer for an operation
    /// that ended, whose id is now another's, is dropped too.
    pub fn next(
        &mut self,
        id: &str,
        serial: OpSerial,
        payload: &Bytes,
        out: &mut dyn Sink,
    ) -> bool {
        let kind = self.protocol.next_kind();
        self.emit(id, serial, kind, Some(Payload::Shared(payload)), false, out)
    }

    /// Operation `id` failed: `error` with `errors` (a JSON array of GraphQL errors) as
    /// given; the id is free again. Returns whether it was sent.
    pub fn error(
        &mut self,
        id: &str,
        serial: OpSerial,
        errors: &Bytes,
        out: &mut dyn Sink,
    ) -> bool {
        self.emit(
            id,
            serial,
            "error",
            Some(Payload::Shared(errors)),
            true,
            out,
        )
    }

    /// Operation `id` ended: `complete`; the id is free again. Returns whether it was sent.
    pub fn complete(&mut self, id: &str, serial: OpSerial, out: &mut dyn Sink) -> bool {
        self.emit(id, serial, "complete", None, true, out)
    }

    /// `next`, `error` or `complete` (`kind`) for operation `id`, the whole message as the
    /// app wrote it (graphql-ws's `jsonMessageReplacer`). Sent, and the id freed for
    /// `error`/`complete`, exactly as by [`Session::next`], [`Session::error`] and
    /// [`Session::complete`]: only while `id` is held by `serial`.
    pub fn send_whole(
        &mut self,
        kind: WholeKind,
        id: &str,
        serial: OpSerial,
        message: &Bytes,
        out: &mut dyn Sink,
    ) -> bool {
        let (name, ends) = match kind {
            WholeKind::Next => (self.protocol.next_kind(), false),
            WholeKind::Error => ("error", true),
            WholeKind::Complete => ("complete", true),
        };
        self.emit(id, serial, name, Some(Payload::Whole(message)), ends, out)
    }

    /// The server closes the connection with `code` and `reason` (1000 normal, 1001 on
    /// dispose, or a protocol's failure), telling the app. Nothing once closed.
    pub fn close(&mut self, code: CloseCode, reason: &str, out: &mut dyn Sink) {
        if !self.is_closed() {
            let acked = self.acknowledged();
            self.shut();
            end(out, code, reason, acked, true);
        }
    }

    /// The socket ended by itself (the peer's close frame: its code or 1005; a broken socket:
    /// 1006). The app hears `Closed` once; nothing is sent.
    pub fn transport_closed(&mut self, code: CloseCode, reason: &str, out: &mut dyn Sink) {
        if !self.is_closed() {
            let acked = self.acknowledged();
            self.shut();
            end(out, code, reason, acked, false);
        }
    }

    /// Whether the session is over (it produces nothing more).
    pub fn is_closed(&self) -> bool {
        self.stage.is_closed()
    }

    /// Whether the app accepted the connection (and it is still open).
    pub fn acknowledged(&self) -> bool {
        self.stage.is_acked()
    }

    /// The serial of the operation holding `id`, if it is active.
    pub fn serial(&self, id: &str) -> Option<OpSerial> {
        self.stage.ids().and_then(|ids| ids.serial(id))
    }

    /// Whether `id` is held by operation `serial` (0: by any), so results for it may be sent.
    pub fn is_active(&self, id: &str, serial: OpSerial) -> bool {
        self.stage
            .ids()
            .is_some_and(|ids| ids.is_active(id, serial))
    }

    /// Whether operation `serial` is active, told without its id (a scan of serials);
    /// None when only [`Session::is_active`] can tell.
    pub fn holds(&self, serial: OpSerial) -> Option<bool> {
        self.stage
            .ids()
            .map_or(Some(false), |ids| ids.holds(serial))
    }

    /// Active operations.
    pub fn active(&self) -> usize {
        self.stage.ids().map_or(0, Ids::len)
    }

    // ---- the steps a dialect's message handling takes ----

    /// Still waiting for `connection_init`.
    pub(super) fn awaiting_init(&self) -> bool {
        matches!(self.stage, Stage::AwaitInit)
    }

    /// `connection_init` went to the app, which has not decided yet.
    pub(super) fn deciding(&self) -> bool {
        self.stage.is_deciding()
    }

    /// `maxSubscriptionsPerConnection`.
    pub(super) fn max_ops(&self) -> u32 {
        self.max_ops
    }

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
    fn emit(
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

    fn shut(&mut self) {
        self.stage = Stage::Closed;
        self.deadline = None;
    }
}

/// Ends a session: the close (when the session initiates it) and the app's `Closed`.
fn end(out: &mut dyn Sink, code: CloseCode, reason: &str, acknowledged: bool, send_close: bool) {
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
