//! What a session produces and where it goes: messages for the client, events for the app,
//! a close.
//!
//! A session writes into a [`Sink`]: the reactor's (messages → its outbound queue, events →
//! the batch for JS, close → a close frame), or the recording `Vec<Output>` of tests.
//! Everything a session hands to a sink borrows from the message it was given or from the
//! app's arguments ([`AppEvent`]), so a session call allocates nothing on its happy path:
//! the sink decides what to copy. [`Event`] is the one owned form of an app event, which the
//! reactor sends to JS and the recording sink keeps.

use serde_json::value::RawValue;

use super::ids::OpSerial;
use super::wire::Outgoing;
use crate::ws::CloseCode;

/// Where a session puts its output, in the order it must take effect.
pub trait Sink {
    /// A text message for the client.
    fn send(&mut self, msg: Outgoing<'_>);
    /// Something the app must hear about.
    fn app(&mut self, event: AppEvent<'_>);
    /// Close the WebSocket with this code and reason (already cut to
    /// [`crate::ws::close::MAX_REASON`] bytes).
    /// The session produces nothing after it.
    fn close(&mut self, code: CloseCode, reason: &str);
}

/// What the app (JS) is told. Ids and payloads borrow from the client's message.
#[derive(Debug, Clone, Copy)]
pub enum AppEvent<'a> {
    /// `connection_init` arrived: the app decides with `accept_init` or `reject_init`.
    /// `payload` is the raw JSON given by the client (an object, except on the legacy
    /// protocol, which passes any non-null value through), `None` when absent or null.
    Init { payload: Option<&'a RawValue> },
    /// Start an operation. `payload` is the raw JSON object (`query`, `variables`,
    /// `operationName`, `extensions`), already checked for the field types.
    /// `serial` names this operation (an id may be reused once it is free; see `ids.rs`).
    Subscribe {
        id: &'a str,
        serial: OpSerial,
        payload: &'a RawValue,
    },
    /// The client stopped an active operation: end its source stream, send nothing more.
    Complete { id: &'a str },
    /// graphql-transport-ws `ping`, when the app answers pings itself (`AppHandles::ping`):
    /// it sends the pong (`Session::pong`). `payload`: the raw JSON (an object or `null`),
    /// `None` when absent.
    Ping { payload: Option<&'a RawValue> },
    /// graphql-transport-ws `pong`, when the app wants to hear of them (`AppHandles::pong`).
    Pong { payload: Option<&'a RawValue> },
    /// A client text message, unread, when the app parses messages itself
    /// (`AppHandles::parse`); it answers with `Session::on_app_message`.
    Message { text: &'a str },
    /// An app-parsed `subscribe` that starts no operation but stays open (one operation too
    /// many: the session sent `error`): the app may forget what it kept for `payload`.
    Refused { id: &'a str, payload: &'a RawValue },
    /// The connection is over (whoever closed it); every operation of it ends. Emitted once.
    Closed {
        code: CloseCode,
        reason: &'a str,
        /// Whether the app had accepted the connection (graphql-ws calls `onDisconnect` then).
        acknowledged: bool,
    },
}

/// An app event that owns its data: what crosses to the JS thread, and what the recording
/// sink keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Init {
        payload: Option<String>,
    },
    Subscribe {
        id: String,
        serial: OpSerial,
        payload: String,
    },
    Complete {
        id: String,
    },
    /// A connection's first event when it is not `Init` (a `Message`, `Ping` or `Pong`
    /// before `connection_init`), carrying what `Init` would have carried about the upgrade
    /// request. Made by the reactor, never by a session.
    Opened,
    Ping {
        payload: Option<String>,
    },
    Pong {
        payload: Option<String>,
    },
    Message {
        text: String,
    },
    Refused {
        id: String,
        payload: String,
    },
    Closed {
        code: CloseCode,
        reason: String,
        acknowledged: bool,
    },
}

impl From<AppEvent<'_>> for Event {
    fn from(e: AppEvent<'_>) -> Event {
        let own = |p: Option<&RawValue>| p.map(|p| p.get().to_owned());
        match e {
            AppEvent::Init { payload } => Event::Init {
                payload: own(payload),
            },
            AppEvent::Subscribe {
                id,
                serial,
                payload,
            } => Event::Subscribe {
                id: id.to_owned(),
                serial,
                payload: payload.get().to_owned(),
            },
            AppEvent::Complete { id } => Event::Complete { id: id.to_owned() },
            AppEvent::Ping { payload } => Event::Ping {
                payload: own(payload),
            },
            AppEvent::Pong { payload } => Event::Pong {
                payload: own(payload),
            },
            AppEvent::Message { text } => Event::Message {
                text: text.to_owned(),
            },
            AppEvent::Refused { id, payload } => Event::Refused {
                id: id.to_owned(),
                payload: payload.get().to_owned(),
            },
            AppEvent::Closed {
                code,
                reason,
                acknowledged,
            } => Event::Closed {
                code,
                reason: reason.to_owned(),
                acknowledged,
            },
        }
    }
}

/// One recorded output, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A whole text message (payloads from the app are assumed UTF-8 JSON).
    Send(String),
    App(Event),
    Close {
        code: CloseCode,
        reason: String,
    },
}

/// The simple sink: records everything, owned. For tests and for drivers that are not
/// hot paths.
impl Sink for Vec<Output> {
    fn send(&mut self, msg: Outgoing<'_>) {
        let mut buf = Vec::new();
        msg.encode(&mut buf);
        self.push(Output::Send(String::from_utf8_lossy(&buf).into_owned()));
    }

    fn app(&mut self, event: AppEvent<'_>) {
        self.push(Output::App(event.into()));
    }

    fn close(&mut self, code: CloseCode, reason: &str) {
        self.push(Output::Close {
            code,
            reason: reason.to_owned(),
        });
    }
}
