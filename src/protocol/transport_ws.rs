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
//! echoed when it had one; never a JS round trip, unless the app answers pings itself).
//!
//! What the app may take over ([`super::AppHandles`], for graphql-ws options that need
//! JavaScript): reading every message (`jsonMessageReviver`: the text goes to the app as
//! [`AppEvent::Message`], and the app hands back an envelope whose payload is a token of its
//! own, [`TransportWs::on_app_message`]; the rules below still apply to it, bar the
//! payload's shape), answering pings ([`AppEvent::Ping`], then [`TransportWs::pong`]), and
//! hearing pongs ([`AppEvent::Pong`]). Server messages may come whole from the app
//! (`jsonMessageReplacer`: [`Payload::Whole`]), with the same id rules.
//!
//! While the app decides on `connection_init`, `subscribe` and `complete` wait in order and
//! are handled right after the ack (`stage.rs`; past its bounds: 1008); `ping`, `pong` and
//! a second `connection_init` are handled at once, as graphql-ws does.
//!
//! Close codes (reasons as graphql-ws sends them, except 4400's, which says what was wrong):
//! - 4400 `<what was wrong>`: not JSON; not an object; `type` missing, empty or not a string;
//!   an unknown type or one only servers send (`connection_ack`, `next`, `error`); `id` absent,
//!   not a string or empty (`subscribe`, `complete`); `payload` of the wrong type (not an
//!   object or null for `connection_init`/`ping`/`pong`; for `subscribe` not an object, or
//!   `query` not a string, or `variables`/`extensions` not objects, or `operationName` not a
//!   string, when present and not null). A message is checked before the state is.
//! - 4401 `Unauthorized`: `subscribe` before `connection_init`.
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
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::time::Instant;

use super::ids::OpSerial;
use super::output::{AppEvent, Outgoing, Payload, Sink};
use super::parse::{self, BadMessage};
use super::stage::{max_waiting, Stage, TOO_MANY_WAITING};
use super::{end, too_many_operations, AppHandles, Settings, WholeKind};
use crate::ws::CloseCode as code;

/// One graphql-transport-ws connection.
#[derive(Debug)]
pub struct TransportWs {
    deadline: Option<Instant>,
    stage: Stage,
    /// `maxSubscriptionsPerConnection`.
    max_ops: u32,
    app: AppHandles,
}

/// A failure that closes the connection.
struct Fail(code, Cow<'static, str>);

/// A payload that must be an object or absent/null; an app envelope's is the app's token,
/// passed back as it is.
fn optional<'a>(msg: &parse::Msg<'a>, checked: bool) -> Result<Option<&'a RawValue>, String> {
    if checked {
        Ok(msg.payload)
    } else {
        msg.optional_object()
    }
}

impl TransportWs {
    /// A connection whose WebSocket opened at `now`.
    pub fn new(settings: &Settings, now: Instant) -> Self {
        TransportWs {
            deadline: settings.init_timeout.and_then(|d| now.checked_add(d)),
            stage: Stage::AwaitInit,
            max_ops: settings.max_operations,
            app: settings.app,
        }
    }

    pub fn is_closed(&self) -> bool {
        self.stage.is_closed()
    }

    pub fn acknowledged(&self) -> bool {
        self.stage.is_acked()
    }

    /// The serial of the operation holding `id`, if it is active.
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

    /// How many operations are active.
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

    /// Closes with 4408 if the init deadline has passed without `connection_init`.
    pub fn on_timeout(&mut self, now: Instant, out: &mut dyn Sink) {
        if matches!(self.stage, Stage::AwaitInit) && self.deadline.is_some_and(|d| now >= d) {
            self.fail(
                Fail(
                    code::INIT_TIMEOUT,
                    "Connection initialisation timeout".into(),
                ),
                out,
            );
        }
    }

    /// One text message from the client (to the app unread, when it parses messages).
    pub fn on_text(&mut self, text: &str, out: &mut dyn Sink) {
        if self.is_closed() {
            return;
        }
        if self.app.parse {
            return out.app(AppEvent::Message { text });
        }
        self.input(text, false, out);
    }

    /// A client message the app parsed and checked, as its envelope (see
    /// [`super::Session::on_app_message`]).
    pub fn on_app_message(&mut self, envelope: &str, out: &mut dyn Sink) {
        if !self.is_closed() {
            self.input(envelope, true, out);
        }
    }

    /// Handles one message; `checked`: an app envelope, whose payload is the app's token.
    fn input(&mut self, text: &str, checked: bool, out: &mut dyn Sink) {
        if let Err(f) = self.handle(text, checked, out) {
            self.fail(f, out);
        }
    }

    fn handle(&mut self, text: &str, checked: bool, out: &mut dyn Sink) -> Result<(), Fail> {
        let msg = parse::message(text).map_err(|e| match e {
            BadMessage::Syntax(r) | BadMessage::Shape(r) => Fail(code::BAD_REQUEST, r.into()),
        })?;
        let bad = |r: String| Fail(code::BAD_REQUEST, r.into());
        match &*msg.kind {
            "connection_init" => {
                let payload = optional(&msg, checked).map_err(bad)?;
                if !matches!(self.stage, Stage::AwaitInit) {
                    return Err(Fail(
                        code::TOO_MANY_INITS,
                        "Too many initialisation requests".into(),
                    ));
                }
                self.stage = Stage::Deciding(None);
                self.deadline = None;
                out.app(AppEvent::Init { payload });
            }
            "subscribe" => {
                let id = msg.id(true).map_err(bad)?;
                let payload = match msg.payload {
                    Some(token) if checked => token,
                    _ => msg.operation().map_err(bad)?,
                };
                match &self.stage {
                    Stage::AwaitInit => {
                        return Err(Fail(code::UNAUTHORIZED, "Unauthorized".into()))
                    }
                    Stage::Deciding(_) => return self.wait(text),
                    _ => {}
                }
                let max_ops = self.max_ops;
                let Some(ids) = self.stage.ids_mut() else {
                    return Ok(());
                };
                if ids.contains(&id) {
                    return Err(Fail(
                        code::SUBSCRIBER_EXISTS,
                        format!("Subscriber for {id} already exists").into(),
                    ));
                }
                if ids.len() >= max_ops as usize {
                    let errors = too_many_operations(max_ops, true);
                    out.send(Outgoing {
                        id: Some(&id),
                        kind: "error",
                        payload: Some(Payload::Json(&errors)),
                    });
                    if checked {
                        out.app(AppEvent::Refused { id: &id, payload });
                    }
                    return Ok(());
                }
                if let Some(serial) = ids.insert(&id) {
                    out.app(AppEvent::Subscribe {
                        id: &id,
                        serial,
                        payload,
                    });
                }
            }
            "complete" => {
                let id = msg.id(true).map_err(bad)?;
                if self.stage.is_deciding() {
                    // After a subscribe that waits, it must wait too.
                    return self.wait(text);
                }
                if self.stage.ids_mut().is_some_and(|ids| ids.remove(&id)) {
                    out.app(AppEvent::Complete { id: &id });
                }
            }
            "ping" => {
                let payload = optional(&msg, checked).map_err(bad)?;
                if self.app.ping {
                    // As the client sent it (`null` too): the app passes it to onPing.
                    out.app(AppEvent::Ping {
                        payload: msg.payload,
                    });
                } else {
                    out.send(Outgoing {
                        id: None,
                        kind: "pong",
                        payload: payload.map(|p| Payload::Json(p.get())),
                    });
                }
            }
            "pong" => {
                optional(&msg, checked).map_err(bad)?;
                if self.app.pong {
                    out.app(AppEvent::Pong {
                        payload: msg.payload,
                    });
                }
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

    /// Keeps a message that needs the app's decision on `connection_init`.
    fn wait(&mut self, text: &str) -> Result<(), Fail> {
        if self.stage.hold(text, max_waiting(self.max_ops)) {
            Ok(())
        } else {
            Err(Fail(code::POLICY_VIOLATION, TOO_MANY_WAITING.into()))
        }
    }

    /// The app accepted `connection_init`: `connection_ack`, with `ack` (a JSON object, as
    /// given, not checked; or the whole message) when there is one; then the messages that
    /// waited, in order. Ignored unless a decision was pending.
    pub fn accept_init(&mut self, ack: Option<Payload<'_>>, out: &mut dyn Sink) {
        if !self.stage.is_deciding() {
            return;
        }
        let waited = self.stage.acknowledge();
        out.send(Outgoing {
            id: None,
            kind: "connection_ack",
            payload: ack,
        });
        for text in waited {
            if self.is_closed() {
                break;
            }
            self.input(&text, self.app.parse, out);
        }
    }

    /// The app rejected `connection_init`: close 4403 `Forbidden`.
    pub fn reject_init(&mut self, out: &mut dyn Sink) {
        if self.stage.is_deciding() {
            self.fail(Fail(code::FORBIDDEN, "Forbidden".into()), out);
        }
    }

    /// The app's answer to a `ping` it was given: `message` is the whole `pong`.
    pub fn pong(&mut self, message: &Bytes, out: &mut dyn Sink) {
        if !self.is_closed() {
            out.send(Outgoing {
                id: None,
                kind: "pong",
                payload: Some(Payload::Whole(message)),
            });
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
        self.stage.emit(
            id,
            serial,
            "next",
            Some(Payload::Shared(payload)),
            false,
            out,
        )
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
        self.stage.emit(
            id,
            serial,
            "error",
            Some(Payload::Shared(errors)),
            true,
            out,
        )
    }

    /// Operation `id` is done: `complete`; the id is free again. Returns whether it was sent.
    pub fn complete(&mut self, id: &str, serial: OpSerial, out: &mut dyn Sink) -> bool {
        self.stage.emit(id, serial, "complete", None, true, out)
    }

    /// `next`, `error` or `complete` for `id`, written whole by the app.
    pub fn send_whole(
        &mut self,
        kind: WholeKind,
        id: &str,
        serial: OpSerial,
        message: &Bytes,
        out: &mut dyn Sink,
    ) -> bool {
        let (kind, ends) = kind.kind(false);
        self.stage
            .emit(id, serial, kind, Some(Payload::Whole(message)), ends, out)
    }

    /// Closes with `code` and `reason` (internal error 4500, normal 1000, going away 1001).
    pub fn close(&mut self, code: code, reason: &str, out: &mut dyn Sink) {
        if !self.is_closed() {
            let acked = self.acknowledged();
            self.shut();
            end(out, code, reason, acked, true);
        }
    }

    /// The WebSocket ended without the session closing it (peer close frame, socket error):
    /// tells the app, once.
    pub fn transport_closed(&mut self, code: code, reason: &str, out: &mut dyn Sink) {
        if !self.is_closed() {
            let acked = self.acknowledged();
            self.shut();
            end(out, code, reason, acked, false);
        }
    }

    fn fail(&mut self, Fail(code, reason): Fail, out: &mut dyn Sink) {
        self.close(code, &reason, out);
    }

    fn shut(&mut self) {
        self.stage = Stage::Closed;
        self.deadline = None;
    }
}
