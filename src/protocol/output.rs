//! What a session produces: messages for the client, events for the app, a close.
//!
//! Owned by the protocol layer; the reactor implements [`Sink`] (messages → its outbound
//! queue, events → the batch for JS, close → a close frame), tests use the recording
//! `Vec<Output>` sink. Everything a session hands to a sink borrows from the message it
//! was given or from the app's arguments, so a session call allocates nothing on its happy
//! path: the sink decides what to copy.

use bytes::Bytes;
use serde_json::value::RawValue;

use super::ids::OpSerial;
use crate::ws::CloseCode;

/// The longest close reason a close frame can carry (125-byte payload minus the code).
pub const MAX_REASON: usize = 123;

/// Where a session puts its output, in the order it must take effect.
pub trait Sink {
    /// A text message for the client.
    fn send(&mut self, msg: Outgoing<'_>);
    /// Something the app must hear about.
    fn app(&mut self, event: AppEvent<'_>);
    /// Close the WebSocket with this code and reason (already cut to [`MAX_REASON`] bytes).
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

/// A payload inside an outgoing message, written as given (never re-serialized).
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    /// JSON text, e.g. the client's ping payload echoed, or the app's ack payload.
    Json(&'a str),
    /// JSON bytes from the app that many frames may share (`next`/`data`, `error`).
    Shared(&'a Bytes),
    /// `{"message":<this text as a JSON string>}`, the legacy protocol's error shape.
    Message(&'a str),
    /// The WHOLE message, as the app serialized it (graphql-ws's `jsonMessageReplacer`
    /// applies to the whole message): `id` and `kind` are only for the session's books.
    Whole(&'a Bytes),
}

/// One outgoing message: `{"id":<id>,"type":<kind>,"payload":<payload>}`, with `id` and
/// `payload` left out when `None` (the key order graphql-ws and subscriptions-transport-ws use).
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub id: Option<&'a str>,
    pub kind: &'static str,
    pub payload: Option<Payload<'a>>,
}

impl<'a> Outgoing<'a> {
    pub(crate) fn bare(kind: &'static str) -> Self {
        Outgoing {
            id: None,
            kind,
            payload: None,
        }
    }

    /// The whole message as a static string when it has no id and no payload
    /// (`{"type":"pong"}`, `{"type":"ka"}`, …), so a sink can send it without building it.
    pub fn as_static(&self) -> Option<&'static str> {
        if self.id.is_some() || self.payload.is_some() {
            return None;
        }
        Some(match self.kind {
            "connection_ack" => r#"{"type":"connection_ack"}"#,
            "pong" => r#"{"type":"pong"}"#,
            "ping" => r#"{"type":"ping"}"#,
            "ka" => r#"{"type":"ka"}"#,
            _ => return None,
        })
    }

    /// The whole message, when the app wrote it (send it as it is; nothing is framed around).
    pub fn whole(&self) -> Option<&'a Bytes> {
        match self.payload {
            Some(Payload::Whole(b)) => Some(b),
            _ => None,
        }
    }

    /// The shared payload, if the message carries one: a sink that keeps [`Bytes`] frames
    /// queues `head`, a clone of this, and [`Outgoing::tail`] instead of copying it.
    pub fn shared(&self) -> Option<&'a Bytes> {
        match self.payload {
            Some(Payload::Shared(b)) => Some(b),
            _ => None,
        }
    }

    /// `"}"` after a shared payload, `""` otherwise.
    pub fn tail(&self) -> &'static str {
        if self.shared().is_some() {
            "}"
        } else {
            ""
        }
    }

    /// Appends everything before the shared payload: the whole message when there is none
    /// (nothing for a [`Payload::Whole`] message: see [`Outgoing::encode`]).
    pub fn write_head(&self, buf: &mut Vec<u8>) {
        if self.whole().is_some() {
            return;
        }
        buf.push(b'{');
        if let Some(id) = self.id {
            buf.extend_from_slice(br#""id":"#);
            write_json_str(buf, id);
            buf.push(b',');
        }
        buf.extend_from_slice(br#""type":""#);
        buf.extend_from_slice(self.kind.as_bytes());
        buf.push(b'"');
        match self.payload {
            None => buf.push(b'}'),
            Some(p) => {
                buf.extend_from_slice(br#","payload":"#);
                match p {
                    Payload::Json(json) => buf.extend_from_slice(json.as_bytes()),
                    Payload::Shared(_) | Payload::Whole(_) => return,
                    Payload::Message(text) => {
                        buf.extend_from_slice(br#"{"message":"#);
                        write_json_str(buf, text);
                        buf.push(b'}');
                    }
                }
                buf.push(b'}');
            }
        }
    }

    /// Appends the whole message.
    pub fn encode(&self, buf: &mut Vec<u8>) {
        if let Some(whole) = self.whole() {
            return buf.extend_from_slice(whole);
        }
        self.write_head(buf);
        if let Some(shared) = self.shared() {
            buf.extend_from_slice(shared);
            buf.extend_from_slice(self.tail().as_bytes());
        }
    }
}

/// Appends `s` as a JSON string literal (quotes and escapes included).
pub fn write_json_str(buf: &mut Vec<u8>, s: &str) {
    // Writing a str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *buf, s);
}

/// Cuts a close reason to [`MAX_REASON`] bytes at a UTF-8 character boundary.
pub fn cut_reason(reason: &str) -> &str {
    let mut n = reason.len().min(MAX_REASON);
    while !reason.is_char_boundary(n) {
        n -= 1; // stops at 0 at the latest
    }
    &reason[..n]
}

/// An [`AppEvent`] that owns its data, as recorded by the `Vec<Output>` sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Init {
        payload: Option<String>,
    },
    Subscribe {
        id: String,
        payload: String,
    },
    Complete {
        id: String,
    },
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
        match e {
            AppEvent::Init { payload } => Event::Init {
                payload: payload.map(|p| p.get().to_owned()),
            },
            AppEvent::Subscribe { id, payload, .. } => Event::Subscribe {
                id: id.to_owned(),
                payload: payload.get().to_owned(),
            },
            AppEvent::Complete { id } => Event::Complete { id: id.to_owned() },
            AppEvent::Ping { payload } => Event::Ping {
                payload: payload.map(|p| p.get().to_owned()),
            },
            AppEvent::Pong { payload } => Event::Pong {
                payload: payload.map(|p| p.get().to_owned()),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn text(msg: Outgoing<'_>) -> String {
        let mut buf = Vec::new();
        msg.encode(&mut buf);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn shapes() {
        let shared = Bytes::from_static(br#"{"data":1}"#);
        let next = Outgoing {
            id: Some("a\"b"),
            kind: "next",
            payload: Some(Payload::Shared(&shared)),
        };
        assert_eq!(
            text(next),
            r#"{"id":"a\"b","type":"next","payload":{"data":1}}"#
        );
        let mut head = Vec::new();
        next.write_head(&mut head);
        assert_eq!(head, br#"{"id":"a\"b","type":"next","payload":"#);
        assert_eq!(next.tail(), "}");
        let err = Outgoing {
            id: None,
            kind: "connection_error",
            payload: Some(Payload::Message("no\nway")),
        };
        assert_eq!(
            text(err),
            r#"{"type":"connection_error","payload":{"message":"no\nway"}}"#
        );
        let whole = Bytes::from_static(br#"{"type":"CONNECTION_ACK"}"#);
        let w = Outgoing {
            id: Some("1"),
            kind: "next",
            payload: Some(Payload::Whole(&whole)),
        };
        assert_eq!(text(w), r#"{"type":"CONNECTION_ACK"}"#, "sent as it is");
        assert!(w.shared().is_none() && w.as_static().is_none());
        let mut head = Vec::new();
        w.write_head(&mut head);
        assert!(head.is_empty());
        for kind in ["connection_ack", "pong", "ping", "ka"] {
            let o = Outgoing::bare(kind);
            assert_eq!(o.as_static().unwrap(), text(o));
        }
        assert!(Outgoing::bare("complete").as_static().is_none());
    }

    #[test]
    fn reasons_are_cut_at_char_boundaries() {
        assert_eq!(cut_reason("short"), "short");
        let s = "é".repeat(70); // 140 bytes, boundaries at even offsets
        assert_eq!(cut_reason(&s).len(), 122);
        let s = "x".repeat(200);
        assert_eq!(cut_reason(&s).len(), MAX_REASON);
    }
}
