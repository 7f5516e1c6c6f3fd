//! What one protocol adds to the session machine, and which protocol a session speaks.
//!
//! [`Dialect`] is the per-protocol part: implemented by a small `Copy` value holding that
//! protocol's settings (`transport_ws.rs`: what the app takes over; `legacy_ws.rs`: the `ka`
//! interval), whose methods act on the [`Session`] through its `pub(super)` steps. [`Protocol`]
//! is the session's field naming its dialect, and the one place that dispatches to it (a
//! `match` on a one-byte tag, as cheap as the enum of whole sessions it replaced). A third
//! protocol is one more file implementing [`Dialect`] and one more variant here; the compiler
//! points at every `match` to extend.

use bytes::Bytes;
use std::time::Instant;

use super::event::Sink;
use super::legacy_ws::LegacyWs;
use super::session::Session;
use super::transport_ws::TransportWs;
use super::wire::Payload;
use super::{Settings, GRAPHQL_TRANSPORT_WS, GRAPHQL_WS};

/// What one protocol adds to the machine.
pub(super) trait Dialect: Copy {
    /// The `type` of a result message (`next`; legacy `data`).
    const NEXT: &'static str;
    /// One text message from the client (the session is not closed).
    fn on_text(self, s: &mut Session, text: &str, out: &mut dyn Sink);
    /// A message that waited for the ack, handled now (in arrival order).
    fn on_waited(self, s: &mut Session, text: &str, out: &mut dyn Sink);
    /// The app accepted `connection_init`: send the ack (`ack`: its payload, or the whole
    /// message the app wrote) and start whatever follows it.
    fn acknowledge(
        self,
        s: &mut Session,
        ack: Option<Payload<'_>>,
        now: Instant,
        out: &mut dyn Sink,
    );
    /// The app refused `connection_init` (the session was deciding).
    fn reject(self, s: &mut Session, message: &str, out: &mut dyn Sink);
    /// A hook threw (the session is not closed).
    fn internal_error(self, s: &mut Session, message: &str, out: &mut dyn Sink);
    /// The deadline, due at `due`, passed while acknowledged.
    fn on_acked_deadline(self, _: &mut Session, _due: Instant, _now: Instant, _: &mut dyn Sink) {}
    /// A client message the app read itself, as its envelope (`Session::on_app_message`).
    fn on_envelope(self, _: &mut Session, _envelope: &str, _: &mut dyn Sink) {}
    /// The app's whole `pong`, after it was handed a `ping` (the session is not closed).
    fn pong(self, _: &mut Session, _message: &Bytes, _: &mut dyn Sink) {}
}

/// The protocol a session speaks, with that protocol's own settings.
#[derive(Debug, Clone, Copy)]
pub(super) enum Protocol {
    /// No usable subprotocol (closed with 4406), or no GraphQL at all (echo and broadcast).
    None,
    TransportWs(TransportWs),
    LegacyWs(LegacyWs),
}

/// Calls `$method` on the session's dialect, if it speaks one.
macro_rules! dispatch {
    ($p:expr, $method:ident($($arg:expr),*)) => {
        match $p {
            Protocol::TransportWs(d) => d.$method($($arg),*),
            Protocol::LegacyWs(d) => d.$method($($arg),*),
            Protocol::None => {}
        }
    };
}

impl Protocol {
    /// The dialect for the subprotocol chosen at upgrade; `None` when there is none.
    pub(super) fn named(name: Option<&str>, settings: &Settings) -> Option<Protocol> {
        match name {
            Some(GRAPHQL_TRANSPORT_WS) => Some(Protocol::TransportWs(TransportWs::new(settings))),
            Some(GRAPHQL_WS) => Some(Protocol::LegacyWs(LegacyWs::new(settings))),
            _ => None,
        }
    }

    /// The subprotocol's name.
    pub(super) fn name(self) -> Option<&'static str> {
        match self {
            Protocol::TransportWs(_) => Some(GRAPHQL_TRANSPORT_WS),
            Protocol::LegacyWs(_) => Some(GRAPHQL_WS),
            Protocol::None => None,
        }
    }

    /// The `type` of a result message.
    pub(super) fn next_kind(self) -> &'static str {
        match self {
            Protocol::LegacyWs(_) => LegacyWs::NEXT,
            Protocol::TransportWs(_) | Protocol::None => TransportWs::NEXT,
        }
    }

    pub(super) fn on_text(self, s: &mut Session, text: &str, out: &mut dyn Sink) {
        dispatch!(self, on_text(s, text, out))
    }

    pub(super) fn on_waited(self, s: &mut Session, text: &str, out: &mut dyn Sink) {
        dispatch!(self, on_waited(s, text, out))
    }

    pub(super) fn acknowledge(
        self,
        s: &mut Session,
        ack: Option<Payload<'_>>,
        now: Instant,
        out: &mut dyn Sink,
    ) {
        dispatch!(self, acknowledge(s, ack, now, out))
    }

    pub(super) fn reject(self, s: &mut Session, message: &str, out: &mut dyn Sink) {
        dispatch!(self, reject(s, message, out))
    }

    pub(super) fn internal_error(self, s: &mut Session, message: &str, out: &mut dyn Sink) {
        dispatch!(self, internal_error(s, message, out))
    }

    pub(super) fn on_acked_deadline(
        self,
        s: &mut Session,
        due: Instant,
        now: Instant,
        out: &mut dyn Sink,
    ) {
        dispatch!(self, on_acked_deadline(s, due, now, out))
    }

    pub(super) fn on_envelope(self, s: &mut Session, envelope: &str, out: &mut dyn Sink) {
        dispatch!(self, on_envelope(s, envelope, out))
    }

    pub(super) fn pong(self, s: &mut Session, message: &Bytes, out: &mut dyn Sink) {
        dispatch!(self, pong(s, message, out))
    }
}

/// What `Session::subscribe` did.
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
