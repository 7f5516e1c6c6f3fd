//! One connection's session: the shared machine and the protocol it speaks, put together.
//!
//! [`Session`] is what the reactor embeds in each connection and drives (`reactor/session.rs`):
//! decoded text in, the app's decisions and results in, the end of the socket, the time; out
//! through a [`Sink`]. It holds a [`Machine`] (`machine.rs`: phase, deadline, ids, the rules
//! every protocol shares) and a [`Protocol`], the one place that names the protocols and
//! dispatches to their [`Dialect`] (a `match` on a one-byte tag). A third protocol is one
//! more file implementing [`Dialect`] and one more variant here; the compiler points at every
//! `match` to extend.
//!
//! Sans-IO: no clock (every time-driven call takes `now`), no socket.

use bytes::Bytes;
use std::time::Instant;

use super::event::Sink;
use super::ids::{Ids, OpSerial};
use super::legacy_ws::LegacyWs;
use super::machine::{refuse_subprotocol, Dialect, Machine};
use super::transport_ws::TransportWs;
use super::wire::Payload;
use super::{Settings, WholeKind, GRAPHQL_TRANSPORT_WS, GRAPHQL_WS};
use crate::ws::CloseCode;

/// One connection's protocol session.
#[derive(Debug)]
pub struct Session {
    m: Machine,
    protocol: Protocol,
}

/// The protocol a session speaks, with that protocol's own settings.
#[derive(Debug, Clone, Copy)]
enum Protocol {
    /// No usable subprotocol (closed with 4406), or no GraphQL at all (echo and broadcast).
    None,
    TransportWs(TransportWs),
    LegacyWs(LegacyWs),
}

/// Calls `$method` on the session's dialect, if it speaks one.
macro_rules! dialect {
    ($session:expr, $method:ident($($arg:expr),*)) => {
        match $session.protocol {
            Protocol::TransportWs(d) => d.$method(&mut $session.m, $($arg),*),
            Protocol::LegacyWs(d) => d.$method(&mut $session.m, $($arg),*),
            Protocol::None => {}
        }
    };
}

impl Default for Session {
    /// A session that speaks no protocol: closed, it produces nothing.
    fn default() -> Self {
        Session {
            m: Machine::closed(),
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
        let protocol = match protocol {
            Some(GRAPHQL_TRANSPORT_WS) => Protocol::TransportWs(TransportWs::new(settings)),
            Some(GRAPHQL_WS) => Protocol::LegacyWs(LegacyWs::new(settings)),
            _ => {
                refuse_subprotocol(out);
                return Session::default();
            }
        };
        Session {
            m: Machine::new(settings, now),
            protocol,
        }
    }

    /// The subprotocol spoken, `None` after a 4406.
    pub fn protocol(&self) -> Option<&'static str> {
        match self.protocol {
            Protocol::TransportWs(_) => Some(GRAPHQL_TRANSPORT_WS),
            Protocol::LegacyWs(_) => Some(GRAPHQL_WS),
            Protocol::None => None,
        }
    }

    /// One text message from the client. (`now` is unused today; it is part of the
    /// contract so that time-dependent rules never need a clock.)
    pub fn on_text(&mut self, text: &str, _now: Instant, out: &mut dyn Sink) {
        if !self.m.is_closed() {
            dialect!(self, on_text(text, out));
        }
    }

    /// A client message the app read itself ([`super::AppHandles::parse`]), as its envelope:
    /// `{"type":…,"id"?:…,"payload"?:<token>}`. The session applies its rules as to a client
    /// message, except the payload's shape (the app checked it); `<token>` (any JSON value,
    /// e.g. a number naming what the app kept) comes back as the payload of the event the
    /// message produces (`Init`, `Subscribe`, `Ping`, `Pong`, `Refused`).
    /// graphql-transport-ws only; ignored otherwise.
    pub fn on_app_message(&mut self, envelope: &str, out: &mut dyn Sink) {
        if !self.m.is_closed() {
            dialect!(self, on_envelope(envelope, out));
        }
    }

    /// The app's `pong` (after a [`super::AppEvent::Ping`]): the whole message as it wrote
    /// it. graphql-transport-ws only; nothing once closed.
    pub fn pong(&mut self, message: &Bytes, out: &mut dyn Sink) {
        if !self.m.is_closed() {
            dialect!(self, pong(message, out));
        }
    }

    /// The one instant at which [`Session::on_timeout`] has something to do, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.m.deadline()
    }

    /// Time passed: acts on the deadline if `now` reached it (nothing happens before):
    /// 4408 while waiting for `connection_init`, the protocol's business once acknowledged.
    pub fn on_timeout(&mut self, now: Instant, out: &mut dyn Sink) {
        let Some(due) = self.m.deadline().filter(|d| now >= *d) else {
            return;
        };
        if self.m.awaiting_init() {
            let code = CloseCode::INIT_TIMEOUT;
            self.m.close(code, code.reason(), out);
        } else if self.m.acknowledged() {
            dialect!(self, on_acked_deadline(due, now, out));
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
        if !self.m.deciding() {
            return;
        }
        let waited = self.m.acknowledge();
        dialect!(self, acknowledge(ack, now, out));
        for text in waited {
            if self.m.is_closed() {
                break;
            }
            dialect!(self, on_waited(&text, out));
        }
    }

    /// The app rejected the connection: 4403 `Forbidden`, or legacy `connection_error`
    /// {message} then 1011. Ignored unless a decision was pending.
    pub fn reject_init(&mut self, message: &str, out: &mut dyn Sink) {
        if self.m.deciding() {
            dialect!(self, reject(message, out));
        }
    }

    /// An internal error (a hook threw): 4500 with `message`, or legacy `connection_error`
    /// {message} then 1011.
    pub fn internal_error(&mut self, message: &str, out: &mut dyn Sink) {
        if !self.m.is_closed() {
            dialect!(self, internal_error(message, out));
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
        let kind = self.next_kind();
        self.m
            .emit(id, serial, kind, Some(Payload::Shared(payload)), false, out)
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
        self.m.emit(
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
        self.m.emit(id, serial, "complete", None, true, out)
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
            WholeKind::Next => (self.next_kind(), false),
            WholeKind::Error => ("error", true),
            WholeKind::Complete => ("complete", true),
        };
        let payload = Some(Payload::Whole(message));
        self.m.emit(id, serial, name, payload, ends, out)
    }

    /// The server closes the connection with `code` and `reason` (1000 normal, 1001 on
    /// dispose), telling the app. Nothing once closed.
    pub fn close(&mut self, code: CloseCode, reason: &str, out: &mut dyn Sink) {
        self.m.close(code, reason, out);
    }

    /// The socket ended by itself (the peer's close frame: its code or 1005; a broken socket:
    /// 1006). The app hears `Closed` once; nothing is sent.
    pub fn transport_closed(&mut self, code: CloseCode, reason: &str, out: &mut dyn Sink) {
        self.m.transport_closed(code, reason, out);
    }

    /// Whether the session is over (it produces nothing more).
    pub fn is_closed(&self) -> bool {
        self.m.is_closed()
    }

    /// Whether the app accepted the connection (and it is still open).
    pub fn acknowledged(&self) -> bool {
        self.m.acknowledged()
    }

    /// The serial of the operation holding `id`, if it is active.
    pub fn serial(&self, id: &str) -> Option<OpSerial> {
        self.m.ids().and_then(|ids| ids.serial(id))
    }

    /// Whether `id` is held by operation `serial` (0: by any), so results for it may be sent.
    pub fn is_active(&self, id: &str, serial: OpSerial) -> bool {
        self.m.ids().is_some_and(|ids| ids.is_active(id, serial))
    }

    /// Whether operation `serial` is active, told without its id (a scan of serials);
    /// None when only [`Session::is_active`] can tell.
    pub fn holds(&self, serial: OpSerial) -> Option<bool> {
        self.m.ids().map_or(Some(false), |ids| ids.holds(serial))
    }

    /// Active operations.
    pub fn active(&self) -> usize {
        self.m.ids().map_or(0, Ids::len)
    }

    /// The `type` of a result message in this protocol.
    fn next_kind(&self) -> &'static str {
        match self.protocol {
            Protocol::LegacyWs(_) => LegacyWs::NEXT,
            Protocol::TransportWs(_) | Protocol::None => TransportWs::NEXT,
        }
    }
}
