//! `graphql-transport-ws` (graphql-ws v6, its PROTOCOL.md): one connection's state machine.
//!
//! This protocol's part of the session machine ([`super::machine`], which holds the phase,
//! the deadline and the ids): its messages, its close codes, what the app may take over.
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
//! own, `Session::on_app_message`; the rules below still apply to it, bar the
//! payload's shape), answering pings ([`AppEvent::Ping`], then `Session::pong`), and
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
//! - 4403 `Forbidden`: the app rejected `connection_init` (`Session::reject_init`).
//! - 4408 `Connection initialisation timeout`: no `connection_init` within the init timeout
//!   (the deadline stops counting when `connection_init` arrives, even if the app is slow).
//! - 4409 `Subscriber for <id> already exists`: `subscribe` with the id of an active operation.
//! - 4429 `Too many initialisation requests`: a second `connection_init`.
//! - 4500 `<message>`: `internal_error` from the app (it decides the message, e.g. only
//!   "Internal server error" in production).
//! - (4406, no subprotocol; 4408 and 1008, which both protocols share; 1000/1001 server
//!   closes: the machine's.)
//!
//! Every reason is cut to 123 bytes at a UTF-8 boundary. An id is active from the client's
//! `subscribe` until the client's `complete`, or the server's `error` or `complete`; then it
//! may be used again. Results for an id that is not active are dropped (the client completed
//! it first), as graphql-ws does.

use bytes::Bytes;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::time::Instant;

use super::event::{AppEvent, Sink};
use super::machine::{Dialect, Machine, Start};
use super::parse::{self, BadMessage};
use super::wire::{Outgoing, Payload};
use super::{too_many_operations, AppHandles, Settings};
use crate::ws::CloseCode;

/// graphql-transport-ws's settings: what the app takes over.
#[derive(Debug, Clone, Copy)]
pub(super) struct TransportWs {
    app: AppHandles,
}

/// A failure that closes the connection.
struct Fail(CloseCode, Cow<'static, str>);

impl Fail {
    /// With the code's own reason.
    fn of(code: CloseCode) -> Fail {
        Fail(code, code.reason().into())
    }

    fn bad(reason: String) -> Fail {
        Fail(CloseCode::BAD_REQUEST, reason.into())
    }
}

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
    pub(super) fn new(settings: &Settings) -> Self {
        TransportWs { app: settings.app }
    }

    /// Handles one message; `checked`: an app envelope, whose payload is the app's token.
    fn input(self, m: &mut Machine, text: &str, checked: bool, out: &mut dyn Sink) {
        if let Err(Fail(code, reason)) = handle(self.app, m, text, checked, out) {
            m.close(code, &reason, out);
        }
    }
}

impl Dialect for TransportWs {
    const NEXT: &'static str = "next";

    /// To the app unread, when it parses messages itself.
    fn on_text(self, m: &mut Machine, text: &str, out: &mut dyn Sink) {
        if self.app.parse {
            return out.app(AppEvent::Message { text });
        }
        self.input(m, text, false, out);
    }

    fn on_envelope(self, m: &mut Machine, envelope: &str, out: &mut dyn Sink) {
        self.input(m, envelope, true, out);
    }

    /// What waited came as an envelope when the app parses messages.
    fn on_waited(self, m: &mut Machine, text: &str, out: &mut dyn Sink) {
        self.input(m, text, self.app.parse, out);
    }

    /// `connection_ack`, with `ack` (a JSON object, as given, not checked; or the whole
    /// message) when there is one.
    fn acknowledge(
        self,
        _: &mut Machine,
        ack: Option<Payload<'_>>,
        _: Instant,
        out: &mut dyn Sink,
    ) {
        out.send(Outgoing {
            id: None,
            kind: "connection_ack",
            payload: ack,
        });
    }

    /// Close 4403 `Forbidden`.
    fn reject(self, m: &mut Machine, _message: &str, out: &mut dyn Sink) {
        let code = CloseCode::FORBIDDEN;
        m.close(code, code.reason(), out);
    }

    /// Close 4500 with the app's message.
    fn internal_error(self, m: &mut Machine, message: &str, out: &mut dyn Sink) {
        m.close(CloseCode::INTERNAL_SERVER_ERROR, message, out);
    }

    /// The app's answer to a `ping` it was given: `message` is the whole `pong`.
    fn pong(self, _: &mut Machine, message: &Bytes, out: &mut dyn Sink) {
        out.send(Outgoing {
            id: None,
            kind: "pong",
            payload: Some(Payload::Whole(message)),
        });
    }
}

/// One client message, checked before the phase is.
fn handle(
    app: AppHandles,
    m: &mut Machine,
    text: &str,
    checked: bool,
    out: &mut dyn Sink,
) -> Result<(), Fail> {
    let msg = parse::message(text).map_err(|e| match e {
        BadMessage::Syntax(r) | BadMessage::Shape(r) => Fail::bad(r),
    })?;
    match &*msg.kind {
        "connection_init" => {
            let payload = optional(&msg, checked).map_err(Fail::bad)?;
            if !m.awaiting_init() {
                return Err(Fail::of(CloseCode::TOO_MANY_INITS));
            }
            m.init(payload, out);
        }
        "subscribe" => {
            let id = msg.id(true).map_err(Fail::bad)?;
            let payload = match msg.payload {
                Some(token) if checked => token,
                _ => msg.operation().map_err(Fail::bad)?,
            };
            if m.awaiting_init() {
                return Err(Fail::of(CloseCode::UNAUTHORIZED));
            }
            if m.deciding() {
                m.wait(text, out);
                return Ok(());
            }
            match m.subscribe(&id, payload, out) {
                Start::Exists => {
                    return Err(Fail(
                        CloseCode::SUBSCRIBER_EXISTS,
                        format!("Subscriber for {id} already exists").into(),
                    ))
                }
                Start::Full => {
                    let errors = too_many_operations(m.max_ops(), true);
                    out.send(Outgoing {
                        id: Some(&id),
                        kind: "error",
                        payload: Some(Payload::Json(&errors)),
                    });
                    if checked {
                        out.app(AppEvent::Refused { id: &id, payload });
                    }
                }
                Start::Started | Start::Refused => {}
            }
        }
        "complete" => {
            let id = msg.id(true).map_err(Fail::bad)?;
            if m.deciding() {
                // After a subscribe that waits, it must wait too.
                m.wait(text, out);
            } else {
                m.unsubscribe(&id, out);
            }
        }
        "ping" => {
            let payload = optional(&msg, checked).map_err(Fail::bad)?;
            if app.ping {
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
            optional(&msg, checked).map_err(Fail::bad)?;
            if app.pong {
                out.app(AppEvent::Pong {
                    payload: msg.payload,
                });
            }
        }
        "connection_ack" | "next" | "error" => {
            return Err(Fail::bad(format!(
                "'{}' is a server message; a client may not send it",
                msg.kind
            )))
        }
        other => return Err(Fail::bad(format!("Unknown message type '{other}'"))),
    }
    Ok(())
}
