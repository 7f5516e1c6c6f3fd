//! `graphql-transport-ws` (graphql-ws v6, its PROTOCOL.md): one connection's state machine.
//!
//! Sans-IO: the reactor (through [`super::Session`]) feeds it decoded text messages, the
//! app's decisions and results, and the time; it answers through a [`Sink`]. It reads no
//! clock and touches no socket.
//!
//! Client → server: `connection_init` {payload?: object}, `subscribe` {id, payload}, `complete`
//! {id}, `ping` {payload?: object}, `pong` {payload?: object}.
//! Server → client: `connection_ack` {payload?: object}, `next` {id, payload}, `error` {id,
//! payload: GraphQL errors}, `complete` {id}, `pong` (answered here, with the ping's payload
//! echoed when it had one; never a JS round trip).
//!
//! Close codes (reasons as graphql-ws sends them, except 4400's, which says what was wrong):
//! - 4400 `<what was wrong>`: not JSON; not an object; `type` missing, empty or not a string;
//!   an unknown type or one only servers send (`connection_ack`, `next`, `error`); `id` absent,
//!   not a string or empty (`subscribe`, `complete`); `payload` of the wrong type (not an
//!   object or null for `connection_init`/`ping`/`pong`; for `subscribe` not an object, or
//!   `query` not a string, or `variables`/`extensions` not objects, or `operationName` not a
//!   string, when present and not null). A message is checked before the state is.
//! - 4401 `Unauthorized`: `subscribe` before the app accepted the connection.
//! - 4403 `Forbidden`: the app rejected `connection_init` (`reject_init`).
//! - 4408 `Connection initialisation timeout`: no `connection_init` within the init timeout
//!   (the deadline stops counting when `connection_init` arrives, even if the app is slow).
//! - 4409 `Subscriber for <id> already exists`: `subscribe` with the id of an active operation.
//! - 4429 `Too many initialisation requests`: a second `connection_init`.
//! - 4500 `<message>`: `internal_error` from the app (it decides the message, e.g. only
//!   "Internal server error" in production).
//! - (4406, no subprotocol, and 1000/1001 server closes are [`super::Session`]'s.)
//!
//! Every reason is cut to 123 bytes at a UTF-8 boundary. An id is active from the client's
//! `subscribe` until the client's `complete`, or the server's `error` or `complete`; then it
//! may be used again. Results for an id that is not active are dropped (the client completed
//! it first), as graphql-ws does.

use bytes::Bytes;
use std::borrow::Cow;
use std::time::Instant;

use super::ids::{Ids, OpSerial};
use super::output::{AppEvent, Outgoing, Payload, Sink};
use super::parse::{self, BadMessage};
use super::{close_codes as code, end, too_many_operations, Settings};

/// Where the connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for `connection_init` (the init deadline runs).
    AwaitInit,
    /// `connection_init` went to the app; waiting for its decision.
    Deciding,
    /// The app accepted: operations may run.
    Acked,
    /// Closed; every input is ignored.
    Closed,
}

/// One graphql-transport-ws connection.
#[derive(Debug)]
pub struct TransportWs {
    deadline: Option<Instant>,
    ids: Ids,
    phase: Phase,
    /// `maxSubscriptionsPerConnection`.
    max_ops: u32,
}

/// A failure that closes the connection.
struct Fail(u16, Cow<'static, str>);

impl TransportWs {
    /// A connection whose WebSocket opened at `now`.
    pub fn new(settings: &Settings, now: Instant) -> Self {
        TransportWs {
            deadline: settings.init_timeout.and_then(|d| now.checked_add(d)),
            ids: Ids::default(),
            phase: Phase::AwaitInit,
            max_ops: settings.max_operations,
        }
    }

    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    pub fn acknowledged(&self) -> bool {
        self.phase == Phase::Acked
    }

    /// Whether operation `id` is active.
    pub fn serial(&self, id: &str) -> Option<OpSerial> {
        self.ids.serial(id)
    }

    pub fn is_active(&self, id: &str, serial: OpSerial) -> bool {
        self.ids.is_active(id, serial)
    }

    pub fn holds(&self, serial: OpSerial) -> Option<bool> {
        self.ids.holds(serial)
    }

    /// How many operations are active.
    pub fn active(&self) -> usize {
        self.ids.len()
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Closes with 4408 if the init deadline has passed without `connection_init`.
    pub fn on_timeout(&mut self, now: Instant, out: &mut dyn Sink) {
        if self.phase == Phase::AwaitInit && self.deadline.is_some_and(|d| now >= d) {
            self.fail(
                Fail(
                    code::INIT_TIMEOUT,
                    "Connection initialisation timeout".into(),
                ),
                out,
            );
        }
    }

    /// One text message from the client.
    pub fn on_text(&mut self, text: &str, out: &mut dyn Sink) {
        if self.phase == Phase::Closed {
            return;
        }
        if let Err(f) = self.handle(text, out) {
            self.fail(f, out);
        }
    }

    fn handle(&mut self, text: &str, out: &mut dyn Sink) -> Result<(), Fail> {
        let msg = parse::message(text).map_err(|e| match e {
            BadMessage::Syntax(r) | BadMessage::Shape(r) => Fail(code::BAD_REQUEST, r.into()),
        })?;
        let bad = |r: String| Fail(code::BAD_REQUEST, r.into());
        match &*msg.kind {
            "connection_init" => {
                let payload = msg.optional_object().map_err(bad)?;
                if self.phase != Phase::AwaitInit {
                    return Err(Fail(
                        code::TOO_MANY_INITS,
                        "Too many initialisation requests".into(),
                    ));
                }
                self.phase = Phase::Deciding;
                self.deadline = None;
                out.app(AppEvent::Init { payload });
            }
            "subscribe" => {
                let id = msg.id(true).map_err(bad)?;
                let payload = msg.operation().map_err(bad)?;
                if self.phase != Phase::Acked {
                    return Err(Fail(code::UNAUTHORIZED, "Unauthorized".into()));
                }
                if self.ids.contains(&id) {
                    return Err(Fail(
                        code::SUBSCRIBER_EXISTS,
                        format!("Subscriber for {id} already exists").into(),
                    ));
                }
                if self.ids.len() >= self.max_ops as usize {
                    let errors = too_many_operations(self.max_ops, true);
                    out.send(Outgoing {
                        id: Some(&id),
                        kind: "error",
                        payload: Some(Payload::Json(&errors)),
                    });
                    return Ok(());
                }
                if let Some(serial) = self.ids.insert(&id) {
                    out.app(AppEvent::Subscribe {
                        id: &id,
                        serial,
                        payload,
                    });
                }
            }
            "complete" => {
                let id = msg.id(true).map_err(bad)?;
                if self.ids.remove(&id) {
                    out.app(AppEvent::Complete { id: &id });
                }
            }
            "ping" => {
                let payload = msg.optional_object().map_err(bad)?;
                out.send(Outgoing {
                    id: None,
                    kind: "pong",
                    payload: payload.map(|p| Payload::Json(p.get())),
                });
            }
            "pong" => {
                msg.optional_object().map_err(bad)?;
            }
            "connection_ack" | "next" | "error" => {
                return Err(bad(format!(
                    "'{}' is a server message; a client may not send it",
                    msg.kind
                )))
            }
            other => return Err(bad(format!("Unknown message type '{other}'"))),
        }
        Ok(())
    }

    /// The app accepted `connection_init`: `connection_ack`, with `payload` (a JSON object,
    /// as given, not checked) when there is one. Ignored unless a decision was pending.
    pub fn accept_init(&mut self, payload: Option<&str>, out: &mut dyn Sink) {
        if self.phase != Phase::Deciding {
            return;
        }
        self.phase = Phase::Acked;
        out.send(Outgoing {
            id: None,
            kind: "connection_ack",
            payload: payload.map(Payload::Json),
        });
    }

    /// The app rejected `connection_init`: close 4403 `Forbidden`.
    pub fn reject_init(&mut self, out: &mut dyn Sink) {
        if self.phase == Phase::Deciding {
            self.fail(Fail(code::FORBIDDEN, "Forbidden".into()), out);
        }
    }

    /// A result for operation `id`: `{"id":<id>,"type":"next","payload":` + `payload` + `}`.
    /// Returns whether it was sent (false: `id` is not active).
    pub fn next(
        &mut self,
        id: &str,
        serial: OpSerial,
        payload: &Bytes,
        out: &mut dyn Sink,
    ) -> bool {
        self.ids.emit(id, serial, "next", Some(payload), false, out)
    }

    /// Operation `id` failed: `error` with `errors` (a JSON array of GraphQL errors, as given);
    /// the id is free again. Returns whether it was sent.
    pub fn error(
        &mut self,
        id: &str,
        serial: OpSerial,
        errors: &Bytes,
        out: &mut dyn Sink,
    ) -> bool {
        self.ids.emit(id, serial, "error", Some(errors), true, out)
    }

    /// Operation `id` is done: `complete`; the id is free again. Returns whether it was sent.
    pub fn complete(&mut self, id: &str, serial: OpSerial, out: &mut dyn Sink) -> bool {
        self.ids.emit(id, serial, "complete", None, true, out)
    }

    /// Closes with `code` and `reason` (internal error 4500, normal 1000, going away 1001).
    pub fn close(&mut self, code: u16, reason: &str, out: &mut dyn Sink) {
        if self.phase != Phase::Closed {
            let acked = self.acknowledged();
            self.shut();
            end(out, code, reason, acked, true);
        }
    }

    /// The WebSocket ended without the session closing it (peer close frame, socket error):
    /// tells the app, once.
    pub fn transport_closed(&mut self, code: u16, reason: &str, out: &mut dyn Sink) {
        if self.phase != Phase::Closed {
            let acked = self.acknowledged();
            self.shut();
            end(out, code, reason, acked, false);
        }
    }

    fn fail(&mut self, Fail(code, reason): Fail, out: &mut dyn Sink) {
        self.close(code, &reason, out);
    }

    fn shut(&mut self) {
        self.phase = Phase::Closed;
        self.deadline = None;
        self.ids.clear();
    }
}
